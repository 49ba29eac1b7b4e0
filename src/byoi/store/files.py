"""File modes for byoi's state: private directories (0700) and files (0600).

byoi's data directory holds secrets: the SQLite database (access keys' secrets,
which SigV4 needs in the clear) and ``gateway.key`` (which signs presigned URLs
and session cookies). So byoi creates its files 0600 and its directories 0700,
whatever the umask, and tightens ones that already exist with looser modes
(chmod only: contents are never touched, so nothing is lost).

Directories byoi does not own are left alone with a warning: a data directory
owned by another user, or a shared one with the sticky bit (``/tmp``), must not
be chmodded shut for everyone else.
"""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

log = logging.getLogger(__name__)

PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600
#: The sidecar files SQLite keeps beside a database (they take the database's mode when SQLite creates them).
SQLITE_SIDECARS = ("-wal", "-shm", "-journal")


def is_private(mode: int) -> bool:
    """Whether a mode grants nothing to group or others."""
    return stat.S_IMODE(mode) & 0o077 == 0


def tighten(path: Path) -> bool:
    """Remove group and other permissions from an existing file or directory, keeping the owner's.

    True when ``path`` is private afterwards; False (with a warning) when it
    cannot be made so, and when it does not exist."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return False
    mode = stat.S_IMODE(st.st_mode)
    if is_private(mode):
        return True
    if stat.S_ISDIR(st.st_mode) and (mode & stat.S_ISVTX or st.st_uid != os.geteuid()):
        log.warning(
            "%s is readable by others (mode %o) but is a shared directory (not owned by this user, or sticky): "
            "leaving it as it is; keep byoi's state in a directory of its own",
            path, mode,
        )
        return False
    try:
        os.chmod(path, mode & ~0o077)
    except OSError as exc:
        log.warning("%s is readable by others (mode %o) and cannot be made private: %s", path, mode, exc)
        return False
    log.info("tightened %s from mode %o to %o", path, mode, mode & ~0o077)
    return True


def private_dir(path: Path) -> Path:
    """Make ``path`` a directory only its owner can enter: created 0700, or tightened if it exists."""
    path.mkdir(mode=PRIVATE_DIR, parents=True, exist_ok=True)
    tighten(path)
    return path


def private_file(path: Path) -> Path:
    """Make ``path`` a file only its owner can read: created empty with mode 0600 if missing, else tightened."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE)
    except FileExistsError:
        tighten(path)
    else:
        os.close(fd)
    return path


def private_sqlite(path: Path) -> Path:
    """A SQLite database file 0600, and any sidecar files it already has tightened too.

    SQLite creates the WAL, shared-memory and journal files with the database
    file's mode, so a database created 0600 keeps its sidecars 0600."""
    private_file(path)
    for suffix in SQLITE_SIDECARS:
        tighten(path.with_name(path.name + suffix))
    return path
