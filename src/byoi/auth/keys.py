"""The access keys byoi accepts: from a credentials file and from the database.

* **File** (``BYOI_CREDENTIALS_FILE``): the AWS shared-credentials format, so
  ``~/.aws/credentials`` itself works. Every section with
  ``aws_access_key_id`` and ``aws_secret_access_key`` (and optionally
  ``aws_session_token``) is one key. The file is re-read when it changes.
* **Database** (``byoi keys create|list|delete``): the ``access_keys`` table,
  shared by every byoi process on one database.

``KeyStore.lookup`` answers from memory and reloads both sources every
``refresh_seconds``; a key it does not know is looked for in both at once (a
stat of the file, one primary-key read), so a new key works immediately and a
deleted key stops working within ``refresh_seconds``.
SigV4 needs the secret itself on the server (it is an HMAC key), so secrets are
stored as given: protect the database and the file like any credential store.
"""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from botocore.configloader import raw_config_parse
from botocore.exceptions import ConfigNotFound, ConfigParseError

from byoi.auth.sigv4 import Credential
from byoi.clock import Clock
from byoi.store.access_keys import (
    ACCESS_KEY_BY_ID,
    access_key_secrets,
    delete_access_key,
    described_access_keys,
    insert_access_key,
)
from byoi.store.database import Database

_ID_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
_SECRET_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"


class CredentialsFileError(ValueError):
    """The credentials file cannot be read or parsed; the message says which and why."""


def read_credentials_file(path: Path) -> dict[str, Credential]:
    """The keys in an AWS shared-credentials file, by access key id.

    Parsed by botocore's own loader (what the AWS CLI reads the file with)."""
    try:
        # raw_config_parse skips a file it cannot open and answers no profiles;
        # opening it first says why it cannot be read.
        with open(path, "rb"):
            pass
        profiles = raw_config_parse(str(path), parse_subsections=False)
    except OSError as exc:
        raise CredentialsFileError(f"cannot read credentials file {path}: {exc}") from None
    except ConfigNotFound:
        raise CredentialsFileError(f"cannot read credentials file {path}: not a file") from None
    except ConfigParseError as exc:
        raise CredentialsFileError(f"cannot read credentials file {path}: {exc.kwargs.get('error', exc)}") from None
    keys: dict[str, Credential] = {}
    for profile in profiles.values():
        key_id = profile.get("aws_access_key_id", "").strip()
        secret = profile.get("aws_secret_access_key", "").strip()
        if key_id and secret:
            token = profile.get("aws_session_token", "").strip() or None
            keys[key_id] = Credential(key_id, secret, token)
    return keys


@dataclass(frozen=True)
class NewKey:
    access_key_id: str
    secret_access_key: str


def generate_key() -> NewKey:
    """A fresh key in AWS's shapes: a 20-character id starting AKIA, a 40-character secret."""
    key_id = "AKIA" + "".join(secrets.choice(_ID_ALPHABET) for _ in range(16))
    secret = "".join(secrets.choice(_SECRET_ALPHABET) for _ in range(40))
    return NewKey(key_id, secret)


class AccessKeys:
    """The database's access keys: what ``byoi keys`` manages."""

    def __init__(self, db: Database, clock: Clock):
        self._db = db
        self._clock = clock

    def create(self, description: str = "") -> NewKey:
        key = generate_key()
        with self._db.raw_write() as tx:
            insert_access_key(
                tx,
                access_key_id=key.access_key_id,
                secret_access_key=key.secret_access_key,
                description=description,
                created_ms=self._clock.now_ms(),
            )
        return key

    def list(self) -> list:
        """Every key, oldest first, as rows of ``access_key_id``, ``description`` and ``created_ms`` (no secrets)."""
        with self._db.raw_read() as tx:
            return described_access_keys(tx)

    def delete(self, access_key_id: str) -> bool:
        """Remove a key; False if there was none with that id."""
        with self._db.raw_write() as tx:
            return delete_access_key(tx, access_key_id)

    def get(self, access_key_id: str) -> Credential | None:
        with self._db.raw_read() as tx:
            row = ACCESS_KEY_BY_ID.row(tx, access_key_id=access_key_id)
        return Credential(row.access_key_id, row.secret_access_key) if row else None

    def all(self) -> dict[str, Credential]:
        with self._db.raw_read() as tx:
            secrets_by_id = access_key_secrets(tx)
        return {key_id: Credential(key_id, secret) for key_id, secret in secrets_by_id.items()}


class KeyStore:
    """Looks up access keys for SigV4 verification; thread-safe.

    CredentialsFileError when ``file`` cannot be read at construction; later, a
    file that became unreadable keeps its last good keys."""

    def __init__(self, db_keys: AccessKeys | None, file: Path | None, refresh_seconds: float = 5.0):
        self._db_keys = db_keys
        self._file = file
        self._refresh_seconds = refresh_seconds
        self._lock = threading.Lock()
        self._keys: dict[str, Credential] = {}
        self._loaded_at = float("-inf")
        self._file_stamp: tuple[int, int] | None = None
        self._file_keys: dict[str, Credential] = {}
        if file is not None:
            stamp = _stamp(file)
            self._file_keys = read_credentials_file(file)
            self._file_stamp = stamp
        self.reload()

    def lookup(self, access_key_id: str) -> Credential | None:
        if time.monotonic() - self._loaded_at > self._refresh_seconds:
            self.reload()
        found = self._keys.get(access_key_id)
        if found is None:
            found = self._find_new(access_key_id)
        return found

    def _find_new(self, access_key_id: str) -> Credential | None:
        with self._lock:
            found = self._read_file().get(access_key_id) if self._file is not None else None
            if found is None and self._db_keys is not None:
                found = self._db_keys.get(access_key_id)
            if found is not None:
                self._keys = {**self._keys, access_key_id: found}
            return found

    def count(self) -> int:
        return len(self._keys)

    def reload(self) -> None:
        """Read both sources again. A file that became unreadable keeps its last good keys."""
        with self._lock:
            keys: dict[str, Credential] = {}
            if self._file is not None:
                keys.update(self._read_file())
            if self._db_keys is not None:
                keys.update(self._db_keys.all())
            self._keys = keys
            self._loaded_at = time.monotonic()

    def _read_file(self) -> dict[str, Credential]:
        assert self._file is not None
        try:
            stamp = _stamp(self._file)
        except CredentialsFileError:
            return self._file_keys
        if stamp != self._file_stamp:
            try:
                self._file_keys = read_credentials_file(self._file)
                self._file_stamp = stamp
            except CredentialsFileError:
                pass
        return self._file_keys


def _stamp(path: Path) -> tuple[int, int]:
    """What tells a changed file: its modification time and size."""
    try:
        stat = path.stat()
    except OSError as exc:
        raise CredentialsFileError(f"cannot read credentials file {path}: {exc}") from None
    return stat.st_mtime_ns, stat.st_size
