"""Learning an image's facts from its layers, without running it.

``scan_image(client, reference)`` saves the image (``docker save``) to a
temporary file and walks its layers in order, applying whiteouts, so it knows
the final file system, every layer's file owners (Studio fails on ids above
65535 in *any* layer), /etc/passwd and /etc/group, and each Jupyter kernelspec
(``*/share/jupyter/kernels/<name>/kernel.json``), plus conda environments with
ipykernel (``conda-env-<env>-py``, as the injected gateway names them).
"""

from __future__ import annotations

import json
import posixpath
import re
import tarfile
import tempfile
from pathlib import Path

from byoi.check.static import MAX_ID, ImageFacts

KERNEL_JSON = re.compile(r"^(/.*)/share/jupyter/kernels/([^/]+)/kernel\.json$")
CONDA_IPYKERNEL = re.compile(r"^(/[^/]+(?:/[^/]+)*?)/envs/([^/]+)/lib/python[^/]+/site-packages/ipykernel/__init__\.py$")


def scan_image(client, reference: str, workdir: Path | None = None) -> ImageFacts:
    image = client.images.get(reference)
    facts = ImageFacts(
        reference=reference,
        size=image.attrs.get("Size") or 0,
        architecture=image.attrs.get("Architecture") or "",
        user=(image.attrs.get("Config") or {}).get("User") or "",
        **image_path(image.attrs.get("Config") or {}),
    )
    contents: dict[str, bytes] = {}
    with tempfile.TemporaryDirectory(dir=workdir, prefix="byoi-check-") as tmp:
        saved = Path(tmp) / "image.tar"
        with open(saved, "wb") as f:
            for chunk in image.save(named=False):
                f.write(chunk)
        with tarfile.open(saved) as outer:
            manifest = json.load(outer.extractfile("manifest.json"))
            for layer_name in manifest[0]["Layers"]:
                with tarfile.open(fileobj=outer.extractfile(layer_name)) as layer:
                    apply_layer(facts, contents, layer, layer_name.split("/")[0][:12])
    facts.passwd = parse_passwd(contents.get("/etc/passwd", b""))
    facts.groups = parse_group(contents.get("/etc/group", b""))
    for path, data in sorted(contents.items()):
        match = KERNEL_JSON.match(path)
        # Kernelspecs inside a virtualenv or conda env are not on Jupyter's search path.
        if match and path in facts.files and not in_environment(match.group(1), facts.files):
            try:
                argv = json.loads(data).get("argv") or []
            except (ValueError, AttributeError):
                argv = []
            facts.kernelspecs.setdefault(match.group(2), argv)
            facts.kernelspec_paths.setdefault(match.group(2), path)
    for path in facts.files:
        match = CONDA_IPYKERNEL.match(path)
        if match:
            facts.kernelspecs.setdefault(f"conda-env-{match.group(2)}-py", [f"{match.group(1)}/envs/{match.group(2)}/bin/python"])
    return facts


def in_environment(prefix: str, files: set[str]) -> bool:
    return "/envs/" in prefix + "/" or f"{prefix}/pyvenv.cfg" in files


def apply_layer(facts: ImageFacts, contents: dict[str, bytes], layer: tarfile.TarFile, layer_id: str) -> None:
    """Apply one layer to the facts: whiteouts remove, members add (and are owner-checked)."""
    for member in layer:
        path = "/" + posixpath.normpath(member.name).lstrip("./")
        directory, base = posixpath.split(path)
        if base == ".wh..wh..opq":
            prefix = directory.rstrip("/") + "/"
            facts.files = {f for f in facts.files if not f.startswith(prefix)}
            continue
        if base.startswith(".wh."):
            gone = posixpath.join(directory, base[4:])
            facts.files = {f for f in facts.files if f != gone and not f.startswith(gone + "/")}
            continue
        if member.uid > MAX_ID or member.gid > MAX_ID:
            facts.high_owners.append((path, member.uid, member.gid, layer_id))
        if member.isdir():
            continue
        facts.files.add(path)
        if member.isfile() and (path in ("/etc/passwd", "/etc/group") or path.endswith("/kernel.json")):
            contents[path] = layer.extractfile(member).read()


def parse_passwd(data: bytes) -> dict[str, tuple[int, int]]:
    users = {}
    for line in data.decode(errors="replace").splitlines():
        parts = line.split(":")
        if len(parts) >= 4 and parts[2].isdigit() and parts[3].isdigit():
            users[parts[0]] = (int(parts[2]), int(parts[3]))
    return users


def parse_group(data: bytes) -> dict[str, int]:
    groups = {}
    for line in data.decode(errors="replace").splitlines():
        parts = line.split(":")
        if len(parts) >= 3 and parts[2].isdigit():
            groups[parts[0]] = int(parts[2])
    return groups


def image_path(config: dict) -> dict:
    """``{"path": <the image's PATH>}`` when its ENV sets one (else ImageFacts keeps Docker's default)."""
    for entry in config.get("Env") or []:
        if entry.startswith("PATH="):
            return {"path": entry[5:]}
    return {}
