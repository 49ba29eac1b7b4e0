"""A Debian base image with Python, built without any registry.

``build_debian_python_image`` runs debootstrap against the Debian mirror this
machine's apt already uses (read from /etc/apt), tars the root file system
and ``docker import``s it. Images for Studio are then built ``FROM`` it with
``docker build --network none``, installing Python wheels that were fetched on
the host with ``pip download``. Needs root (debootstrap) and a Docker engine.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path

from debian.deb822 import Deb822

DEFAULT_TAG = "byoi/debian-python:bookworm"
DEFAULT_PACKAGES = ("python3", "python3-pip", "python3-venv")


# The words apt reads as false in a boolean field such as ``Enabled`` (apt-pkg's StringToBool).
_APT_FALSE = frozenset({"no", "false", "without", "off", "disable", "0"})


class ImageBuildError(Exception):
    """The base image could not be built; the message says why."""


def debian_mirror(apt_dir: Path = Path("/etc/apt"), release: str = "bookworm") -> str:
    """The Debian archive URL apt uses here (deb822 ``.sources`` or one-line ``sources.list``).

    ``.sources`` files are read with python-debian's Deb822 (comments, folded
    fields; stanzas with ``Enabled: no`` are skipped, as apt skips them).

    One archive serves every release, so an archive listed for another release
    is used when none lists ``release`` itself; security mirrors never are.
    """
    entries: list[tuple[str, list[str]]] = []  # (uri, suites)
    for path in sorted(apt_dir.glob("sources.list.d/*.sources")):
        with open(path, encoding="utf-8") as handle:
            for stanza in Deb822.iter_paragraphs(handle, use_apt_pkg=False):
                if stanza.get("Enabled", "yes").strip().lower() in _APT_FALSE:
                    continue
                if "deb" in stanza.get("Types", "").split() and "main" in stanza.get("Components", "").split():
                    entries += [(uri, stanza.get("Suites", "").split()) for uri in stanza.get("URIs", "").split()]
    for path in [apt_dir / "sources.list", *sorted(apt_dir.glob("sources.list.d/*.list"))]:
        if path.exists():
            for uri, suite in re.findall(r"^deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+(\S+)\s+.*\bmain\b", path.read_text(), flags=re.M):
                entries.append((uri, [suite]))
    archives = [(uri, suites) for uri, suites in entries if "security" not in uri and not all(s.endswith("-security") for s in suites)]
    for uri, suites in archives:
        if release in suites:
            return uri
    if archives:
        return archives[0][0]
    raise ImageBuildError(f"no Debian mirror found in {apt_dir}; pass one explicitly (--mirror)")


def build_debian_python_image(
    client,
    tag: str = DEFAULT_TAG,
    release: str = "bookworm",
    packages: tuple[str, ...] = DEFAULT_PACKAGES,
    mirror: str | None = None,
    rebuild: bool = False,
) -> str:
    """Build (or reuse) ``tag`` and return its image id. ``client`` is a docker.DockerClient."""
    import docker.errors

    if not rebuild:
        try:
            return client.images.get(tag).id
        except docker.errors.ImageNotFound:
            pass
    mirror = mirror or debian_mirror(release=release)
    with tempfile.TemporaryDirectory(prefix="byoi-rootfs-") as tmp:
        rootfs = Path(tmp) / "rootfs"
        debootstrap = shutil.which("debootstrap") or "/usr/sbin/debootstrap"
        if not Path(debootstrap).exists():
            raise ImageBuildError("debootstrap is not installed (apt-get install debootstrap)")
        cmd = [debootstrap, "--variant=minbase", f"--include={','.join(packages)}", release, str(rootfs), mirror]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            raise ImageBuildError(f"debootstrap failed ({proc.returncode}):\n{proc.stdout[-2000:]}{proc.stderr[-2000:]}")
        archive = Path(tmp) / "rootfs.tar"
        with tarfile.open(archive, "w") as tar:
            tar.add(rootfs, arcname=".")
        repository, _, version = tag.rpartition(":")
        client.api.import_image(
            src=str(archive),
            repository=repository,
            tag=version,
            changes=[
                "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                "ENV LANG=C.UTF-8",
                'CMD ["/bin/bash"]',
            ],
        )
    return client.images.get(tag).id
