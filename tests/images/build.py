"""Builds the test images offline, as DEVELOPERS' docs describe (DEVELOPERS.md).

1. ``byoi image build-base``'s function makes byoi/debian-python:bookworm with
   debootstrap + docker import (no registry);
2. the host's pip downloads ipykernel and its dependencies as wheels for the
   image's Python (3.11, manylinux x86_64);
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

from byoi.images.debian import build_debian_python_image

HERE = Path(__file__).parent
IMAGES = ("sample", "conda", "root", "broken")
WHEEL_PLATFORMS = ("manylinux2014_x86_64", "manylinux_2_17_x86_64", "manylinux_2_28_x86_64", "linux_x86_64")


def download_wheels(dest: Path) -> None:
    if dest.exists() and any(dest.glob("ipykernel-*.whl")):
        return
    platforms = [arg for p in WHEEL_PLATFORMS for arg in ("--platform", p)]
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "-q", "--only-binary=:all:", "--python-version", "3.11",
         "--implementation", "cp", *platforms, "-d", str(dest), "ipykernel"],
        check=True,
    )


def build_test_images(cache: Path) -> dict[str, str]:
    """Build every test image (reusing what exists); name -> image tag."""
    client = docker.from_env()
    build_debian_python_image(client)
    wheels = cache / "wheels"
    download_wheels(wheels)
    tags = {}
    for name in IMAGES:
        tag = f"byoi-test/{name}:1"
        with tempfile.TemporaryDirectory() as tmp:
            context = Path(tmp)
            shutil.copy(HERE / name / "Dockerfile", context / "Dockerfile")
            shutil.copytree(wheels, context / "wheels")
            subprocess.run(["docker", "build", "-q", "--network", "none", "-t", tag, str(context)], check=True, capture_output=True)
        tags[name] = tag
    return tags
