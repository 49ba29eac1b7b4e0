"""Signed, expiring tokens (HMAC-SHA256 over JSON) for presigned URLs and sessions."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
from collections.abc import Callable
from pathlib import Path

from byoi.store.files import PRIVATE_FILE, private_dir, tighten


def load_secret(data_dir: Path, configured: str | None, stored: Callable[[Callable[[], bytes]], bytes] | None = None) -> bytes:
    """The configured secret, else the one kept in the database (``stored``: the store's
    ``shared_key`` for 'gateway', made on first use), so every replica serving one database
    signs and accepts the same sessions and presigned URLs and derives the same app tokens.
    The first key stored is an older byoi's <data dir>/gateway.key when there is one (its
    sessions and running apps stay valid), else a random one. Without ``stored``, the key
    is kept in that file (made on first use, mode 600; a looser one is tightened)."""
    if configured:
        return configured.encode()
    path = data_dir / "gateway.key"
    if stored is not None:
        if path.exists():
            tighten(path)
        return stored(lambda: path.read_bytes() if path.exists() else secrets.token_bytes(32))
    if path.exists():
        tighten(path)
    else:
        private_dir(data_dir)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE)
        with os.fdopen(fd, "wb") as f:
            f.write(secrets.token_bytes(32))
    return path.read_bytes()


class TokenSigner:
    def __init__(self, secret: bytes):
        self._secret = secret

    def sign(self, payload: dict) -> str:
        body = base64.urlsafe_b64encode(json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()).decode().rstrip("=")
        mac = hmac.new(self._secret, body.encode(), hashlib.sha256).hexdigest()
        return f"{body}.{mac}"

    def verify(self, token: str, kind: str, now_ms: int) -> dict | None:
        """The payload of a genuine, unexpired token of ``kind``; None otherwise."""
        body, _, mac = token.partition(".")
        expected = hmac.new(self._secret, body.encode(), hashlib.sha256).hexdigest()
        if not mac or not hmac.compare_digest(mac, expected):
            return None
        try:
            payload = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
        except ValueError:
            return None
        if not isinstance(payload, dict) or payload.get("kind") != kind or payload.get("exp", 0) < now_ms:
            return None
        return payload


# --- secrets that let byoi (and nobody else) into an app ----------------------------------
# byoi's injected kernel gateway refuses every request without ``Authorization: token <t>``
# for a token whose SHA-256 digest is in the app's /opt/ml/metadata/gateway-tokens. Tokens are
# derived from byoi's secret, so they survive a restart without being stored anywhere.


def derive(secret: bytes, purpose: str) -> str:
    """A token for ``purpose``, derived from byoi's secret (HMAC-SHA256, hex)."""
    return hmac.new(secret, f"byoi:{purpose}".encode(), hashlib.sha256).hexdigest()


def app_token(secret: bytes, app_id: int) -> str:
    """What byoi's gateway and readiness checks present to one app (by its store id)."""
    return derive(secret, f"app:{app_id}")


def app_authorization(secret: bytes, app_type: str, app_id: int) -> str | None:
    """The Authorization header byoi (its gateway, its readiness checks) presents to an app: the
    app's token for byoi's kernel gateway in a KernelGateway app; None for apps whose servers
    are the image's own."""
    return f"token {app_token(secret, app_id)}" if app_type == "KernelGateway" else None


def owner_token(secret: bytes, domain_id: str, home_uid: int) -> str:
    """What a user's JupyterServer app presents to that user's KernelGateway apps."""
    return derive(secret, f"owner:{domain_id}:{home_uid}")


def lifecycle_nonce(secret: bytes, app_id: int) -> str:
    """What marks an app's lifecycle script output in its log (``byoi_lifecycle``): unguessable by
    the app, and the same after byoi restarts."""
    return derive(secret, f"lifecycle:{app_id}")[:24]


def token_digest(token: str) -> str:
    """The form an app keeps a token in (it never holds the token itself)."""
    return hashlib.sha256(token.encode()).hexdigest()
