"""Builds the kernel gateway bundle that byoi mounts at /opt/.sagemakerinternal.

Studio injects its own kernel gateway into custom images, so an image needs
only a kernel (e.g. ``python3`` with ``ipykernel``). byoi does the same with a
directory built from the Python that runs byoi:

    python/   the interpreter (sys.base_prefix: binary, libpython, stdlib)
              with the kernel gateway's distributions, ``byoi_kgw`` and
              ``byoi_lifecycle`` (which runs lifecycle scripts) in its
              site-packages
    lib/      every shared library those binaries need, glibc's own included,
              and glibc's dynamic loader (ld-linux-x86-64.so.2)

The interpreter is started through the bundled loader, isolated from the
image's Python settings (``ld-linux-x86-64.so.2 --library-path <bundle libs>
python3 -I``, see ``loader_command``; it finds its own prefix from its path), so
it needs nothing from the image: no C library of the image's (any glibc, musl,
or none), no shell, as Studio's mounted gateway environment does. No variable is
set for this, so nothing of the bundle leaks into the kernels the gateway
starts.
``ensure_bundle`` builds once per byoi/Python/dependency version and reuses the
result.
"""

from __future__ import annotations

import hashlib
import importlib.metadata as metadata
import os
import re
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

from packaging.requirements import Requirement

HERE = Path(__file__).parent
ROOT_DISTRIBUTION = "jupyter-kernel-gateway"
#: The dynamic loader, in the bundle's lib/ (the x86-64 ABI's name).
LOADER = "ld-linux-x86-64.so.2"


def loader_command(bundle: str) -> list[str]:
    """Run the bundle (mounted at ``bundle``)'s Python with its own loader and libraries, not
    the image's, and isolated (``-I``) from the image's PYTHONPATH, PYTHONHOME and user site:
    append the Python's arguments. The library path is the loader's option, not
    LD_LIBRARY_PATH, and the environment is left as it is, so processes the Python starts
    (kernels) run entirely on the image's own libraries and environment."""
    return [f"{bundle}/lib/{LOADER}", "--library-path", f"{bundle}/lib:{bundle}/python/lib", f"{bundle}/python/bin/python3", "-I"]

#: Standard library parts a kernel gateway never uses.
STDLIB_SKIP = {"test", "idlelib", "tkinter", "turtledemo", "ensurepip", "lib2to3", "site-packages", "__pycache__", "venv"}


def gateway_distributions() -> list[metadata.Distribution]:
    """The kernel gateway's distribution and everything it requires (no extras)."""
    found: dict[str, metadata.Distribution] = {}
    pending = [ROOT_DISTRIBUTION]
    while pending:
        name = pending.pop()
        key = re.sub(r"[-_.]+", "-", name).lower()
        if key in found:
            continue
        dist = metadata.distribution(name)
        found[key] = dist
        for text in dist.requires or []:
            requirement = Requirement(text)
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                pending.append(requirement.name)
    return sorted(found.values(), key=lambda d: d.metadata["Name"].lower())


def bundle_key() -> str:
    """Changes whenever anything that goes into the bundle changes."""
    parts = [sys.version, sys.base_prefix, *(f"{d.metadata['Name']}=={d.version}" for d in gateway_distributions())]
    for path in sorted((HERE / "byoi_kgw").glob("*.py")) + [HERE / "byoi_lifecycle.py", HERE / "bundle.py"]:
        parts.append(hashlib.sha256(path.read_bytes()).hexdigest())
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]


def ensure_bundle(cache_dir: Path) -> Path:
    """The bundle for this byoi, built under ``cache_dir`` if it is not there yet."""
    dest = cache_dir / f"kgw-{bundle_key()}"
    if (dest / "lib" / LOADER).exists():  # made whole in staging, then renamed
        return dest
    staging = cache_dir / f".{dest.name}.{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    build_bundle(staging)
    try:
        staging.rename(dest)
    except OSError:  # another process finished first; theirs is identical
        shutil.rmtree(staging, ignore_errors=True)
    return dest


def build_bundle(dest: Path) -> None:
    python = dest / "python"
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    base = Path(sys.base_prefix)
    (python / "bin").mkdir(parents=True)
    shutil.copy2(os.path.realpath(sys._base_executable), python / "bin" / "python3")
    (python / "lib").mkdir()
    libpython = sysconfig.get_config_var("INSTSONAME")
    if sysconfig.get_config_var("Py_ENABLE_SHARED") and libpython:
        shutil.copy2(base / "lib" / libpython, python / "lib" / libpython)
    shutil.copytree(
        base / "lib" / version,
        python / "lib" / version,
        ignore=lambda _dir, names: [
            n for n in names if n in STDLIB_SKIP or n.startswith(("config-", "_tkinter", "_curses", "readline"))
        ],
        symlinks=False,
    )
    site = python / "lib" / version / "site-packages"
    site.mkdir()
    for dist in gateway_distributions():
        for file in dist.files or []:
            if file.parts[0] == ".." or "__pycache__" in file.parts:
                continue  # console scripts and caches are not needed
            source = Path(dist.locate_file(file))
            if source.is_file():
                target = site / file
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(source, target)
    shutil.copytree(HERE / "byoi_kgw", site / "byoi_kgw", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy2(HERE / "byoi_lifecycle.py", site / "byoi_lifecycle.py")
    copy_shared_libraries(dest, extra_search=[base / "lib"])


def elf_files(root: Path) -> list[Path]:
    result = []
    for path in root.rglob("*"):
        if path.is_file() and not path.is_symlink():
            with open(path, "rb") as f:
                if f.read(4) == b"\x7fELF":
                    result.append(path)
    return result


def copy_shared_libraries(dest: Path, extra_search: list[Path]) -> None:
    """Copy into dest/lib every library any binary in ``dest`` loads, glibc's included, and the loader."""
    lib = dest / "lib"
    lib.mkdir(exist_ok=True)
    env = {**os.environ, "LD_LIBRARY_PATH": ":".join(str(p) for p in extra_search)}
    todo = elf_files(dest)
    seen: set[str] = set()
    while todo:
        binary = todo.pop()
        out = subprocess.run(["ldd", str(binary)], capture_output=True, text=True, env=env).stdout
        for line in out.splitlines():
            loader = re.match(r"\s*(/\S*ld-linux\S*)\s+\(", line)
            if loader and not (lib / LOADER).exists():
                shutil.copy2(os.path.realpath(loader.group(1)), lib / LOADER)
                continue
            match = re.match(r"\s*(\S+)\s+=>\s+(/\S+)", line)
            if not match:
                continue
            soname, path = match.groups()
            if soname in seen:
                continue
            seen.add(soname)
            if any(dest.joinpath(p).exists() for p in (f"lib/{soname}", f"python/lib/{soname}")):
                continue
            shutil.copy2(os.path.realpath(path), lib / soname)
            todo.append(lib / soname)
