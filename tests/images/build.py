"""Builds the test images offline, as DEVELOPERS.md describes.

1. ``build_debian_python_image`` makes ``byoi/debian-python:<release>`` with
   debootstrap + docker import (no registry), for each release an image needs;
2. the host's pip downloads wheels for the image's Python (manylinux x86_64);
3. each ``tests/images/<name>/Dockerfile`` is built with ``--network none``
   from a context holding the Dockerfile and those wheels.
"""

from __future__ import annotations

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
}
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


def build_test_images(cache: Path, names: list[str] | None = None) -> dict[str, str]:
    """Build the test images (reusing what exists); name -> image tag."""
    client = docker.from_env()
    tags = {}
    for name in names or list(IMAGES):
        base, wheel_set = IMAGES[name]
        base_tag, release, packages = BASES[base]
        build_debian_python_image(client, tag=base_tag, release=release, packages=packages)
        tag = f"byoi-test/{name}:1"
        with tempfile.TemporaryDirectory() as tmp:
            context = Path(tmp)
            shutil.copy(HERE / name / "Dockerfile", context / "Dockerfile")
            if wheel_set:
                wheels = cache / wheel_set
                download_wheels(wheels, *WHEELS[wheel_set])
                shutil.copytree(wheels, context / "wheels")
            subprocess.run(["docker", "build", "-q", "--network", "none", "-t", tag, str(context)], check=True, capture_output=True)
        tags[name] = tag
    return tags
