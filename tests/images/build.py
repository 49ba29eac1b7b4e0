"""Builds the test images offline, as DEVELOPERS.md describes.

1. ``build_debian_python_image`` makes ``byoi/debian-python:<release>`` with
   debootstrap + docker import (no registry), for each release an image needs;
2. the host's pip downloads wheels for the image's Python (manylinux x86_64);
3. a Node.js app an image carries (``NODE_APPS``: code-server, the real editor of the
   ``code-server`` image) is installed on the host by npm, from the npm registry, with the
   host's Node.js, which goes into the context beside it;
4. each ``tests/images/<name>/Dockerfile`` is built with ``--network none``
   from a context holding the image's folder, those wheels and that app.

An image with a Node.js app is slow to install and large to send, so it is rebuilt only when
its inputs change (its folder, the app's version, the host's Node.js, its base image): they
are hashed into the image's ``byoi.test-image-key`` label.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import docker

from byoi.images.debian import DEFAULT_PACKAGES, build_debian_python_image

HERE = Path(__file__).parent
#: Wheel sets: the image Python's version and the packages (with dependencies).
WHEELS = {
    "py311": ("3.11", ["ipykernel", "jupyterlab"]),
    "py313": ("3.13", ["ipykernel"]),
    # pip download evaluates markers for the running Python, so the backports an older Python
    # needs are named here.
    "py39": ("3.9", ["ipykernel", "exceptiongroup", "typing_extensions", "importlib_metadata", "zipp"]),
}
#: Base images, debootstrapped: name -> (tag, Debian release, packages).
BASES = {
    "bookworm": ("byoi/debian-python:bookworm", "bookworm", DEFAULT_PACKAGES),
    "trixie": ("byoi/debian-python:trixie", "trixie", DEFAULT_PACKAGES),
    "bullseye": ("byoi/debian-python:bullseye", "bullseye", DEFAULT_PACKAGES),
    "bookworm-r": ("byoi/debian-r:bookworm", "bookworm", ("r-cran-irkernel",)),
}
#: Test image -> (its base in BASES, wheel set or None). Images are built in this
#: order, so an image may build FROM one listed before it.
IMAGES = {
    "sample": ("bookworm", "py311"),
    "conda": ("bookworm", "py311"),
    "root": ("bookworm", "py311"),
    "broken": ("bookworm", "py311"),
    "jupyterlab": ("bookworm", "py311"),
    "python313": ("trixie", "py313"),
    "bullseye": ("bullseye", "py39"),  # glibc 2.31: older than the bundle's
    "venv": ("bookworm", "py311"),  # a venv on PATH, kernelspec argv[0] "python"
    "no-shell": ("bookworm", None),  # no /bin/sh; PYTHONPATH in its ENV
    "r-kernel": ("bookworm-r", None),  # Debian's IRkernel, no Python kernel
    # byoi check's corpus: one image per failure cause, built on sample.
    "codeeditor": ("bookworm", None),
    "codeeditor-below": ("bookworm", None),
    "kernel-relative": ("bookworm", None),
    "kernel-absent-binary": ("bookworm", None),
    "kernel-dies": ("bookworm", None),
    "wrong-user": ("bookworm", None),
    "high-owner": ("bookworm", None),
    "home-files": ("bookworm", None),
    "opt-ml": ("bookworm", None),
    # A Code Editor app with a real editor in it, for the browser tests (built on sample).
    "code-server": ("bookworm", None),
}
#: Image -> (npm package spec, the Node.js major version it needs). code-server stands in for
#: sagemaker-code-editor (not reachable offline); 4.100.3 is the newest release on Node.js 20,
#: the version this machine has (later releases need 22 or 24).
NODE_APPS = {"code-server": ("code-server@4.100.3", 20)}
#: @vscode/ripgrep's install step downloads ripgrep from outside the registries; the file it
#: would download (under $TMPDIR/vscode-ripgrep-cache-<package version>/) is made from Debian's
#: ripgrep instead. (package version, ripgrep release) as code-server 4.100.3's shrinkwrap pins them.
RIPGREP_DOWNLOADS = [("1.15.11", "v13.0.0-10")]
WHEEL_PLATFORMS = ("manylinux2014_x86_64", "manylinux_2_17_x86_64", "manylinux_2_28_x86_64", "linux_x86_64")


def download_wheels(dest: Path, python_version: str, packages: list[str]) -> None:
    marker = dest / ".complete"
    if marker.exists():
        return
    platforms = [arg for p in WHEEL_PLATFORMS for arg in ("--platform", p)]
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "-q", "--only-binary=:all:", "--python-version", python_version,
         "--implementation", "cp", *platforms, "-d", str(dest), *packages],
        check=True,
    )
    marker.touch()


def node_version() -> tuple[str, int]:
    """The host's Node.js: its path and major version."""
    node = shutil.which("node")
    if not node:
        raise RuntimeError("Node.js is not installed: the code-server test image needs the host's node and npm")
    version = subprocess.run([node, "--version"], check=True, capture_output=True, text=True).stdout.strip()
    return node, int(version.lstrip("v").split(".")[0])


def install_node_app(dest: Path, downloads: Path, spec: str) -> None:
    """``npm install`` ``spec`` into the npm prefix ``dest``, with ``downloads`` as its TMPDIR.
    Native modules are compiled here, so Debian's libkrb5-dev, libxkbfile-dev, libsecret-1-dev,
    pkg-config and ripgrep must be installed (scripts/test.sh installs them)."""
    rg = shutil.which("rg")
    if not rg or Path(rg).name != "rg":
        raise RuntimeError("Debian's ripgrep is not installed (apt-get install ripgrep): @vscode/ripgrep's download is made from it")
    for package_version, release in RIPGREP_DOWNLOADS:
        folder = downloads / f"vscode-ripgrep-cache-{package_version}"
        folder.mkdir(parents=True)
        subprocess.run(["tar", "czf", str(folder / f"ripgrep-{release}-x86_64-unknown-linux-musl.tar.gz"),
                        "-C", str(Path(rg).parent), "rg"], check=True)
    dest.mkdir(parents=True)
    # npm_config_yes: code-server's install runs `npx node-gyp`, which must not stop to ask.
    env = {**os.environ, "TMPDIR": str(downloads), "npm_config_yes": "true"}
    if Path("/usr/include/node/node.h").exists():  # node-gyp's headers from the machine's Node.js, not a download
        env.setdefault("npm_config_nodedir", "/usr")
    proc = subprocess.run(["npm", "install", "--no-save", "--no-fund", "--no-audit", "--unsafe-perm", "--prefix", str(dest), spec],
                          env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"npm install {spec} failed ({proc.returncode}):\n{proc.stdout[-3000:]}{proc.stderr[-3000:]}")


def node_app_key(client, name: str, node: str) -> str:
    """What a cached build of the Node.js app image ``name`` was made from: its folder, its
    base image, the app's npm spec and the ``node`` binary."""
    digest = hashlib.sha256()
    for path in sorted((HERE / name).iterdir()):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    base = next(line.split()[1] for line in (HERE / name / "Dockerfile").read_text().splitlines() if line.startswith("FROM "))
    digest.update(client.images.get(base).id.encode())
    digest.update(NODE_APPS[name][0].encode() + hashlib.sha256(Path(node).read_bytes()).digest())
    return digest.hexdigest()


def build_test_images(cache: Path, names: list[str] | None = None) -> dict[str, str]:
    """Build the test images (reusing what exists); name -> image tag."""
    client = docker.from_env()
    tags = {}
    for name in names or list(IMAGES):
        base, wheel_set = IMAGES[name]
        base_tag, release, packages = BASES[base]
        build_debian_python_image(client, tag=base_tag, release=release, packages=packages)
        tag = f"byoi-test/{name}:1"
        tags[name] = tag
        node, key = None, None
        if name in NODE_APPS:
            spec, needed = NODE_APPS[name]
            node, major = node_version()
            if major != needed:
                raise RuntimeError(f"{spec} needs Node.js {needed}; this machine has Node.js {major}")
            key = node_app_key(client, name, node)
        if key and any(image.labels.get("byoi.test-image-key") == key for image in client.images.list(name=tag)):
            continue
        with tempfile.TemporaryDirectory() as tmp:
            context = Path(tmp) / "context"
            shutil.copytree(HERE / name, context)
            if wheel_set:
                wheels = cache / wheel_set
                download_wheels(wheels, *WHEELS[wheel_set])
                shutil.copytree(wheels, context / "wheels")
            if node:
                install_node_app(context / spec.split("@")[0], Path(tmp) / "npm-tmp", spec)
                shutil.copy(node, context / "node")
            labels = ["--label", f"byoi.test-image-key={key}"] if key else []
            proc = subprocess.run(["docker", "build", "-q", "--network", "none", *labels, "-t", tag, str(context)], capture_output=True, text=True)
            if proc.returncode != 0:
                raise RuntimeError(f"building {tag} failed:\n{proc.stdout[-3000:]}{proc.stderr[-3000:]}")
    return tags
