"""The ``used_presigned_urls`` table: ids of presigned domain URLs that have opened a session.

Statements only; the rule (a URL opens one session; its id is kept until the
URL would have expired anyway) is ``byoi.gateway.ledger``'. Functions take the
transaction to run in (a ``Transaction``, or a ``Session`` whose transaction
they join).
"""

from __future__ import annotations

from sqlalchemy import bindparam, delete, insert
from sqlalchemy.orm import Session

from byoi.store.models import UsedPresignedUrl
from byoi.store.raw import Prepared, Transaction

_INSERT = Prepared(insert(UsedPresignedUrl).values(token_id=bindparam("token_id"), expires_ms=bindparam("expires_ms")))
_DELETE_EXPIRED = Prepared(delete(UsedPresignedUrl).where(UsedPresignedUrl.expires_ms < bindparam("before_ms")))


def insert_used_presigned_url(source: Session | Transaction, token_id: str, expires_ms: int) -> None:
    """Record the URL ``token_id`` as used; ``IntegrityError`` if it already was (its id is the primary key)."""
    Transaction.of(source).execute(_INSERT, {"token_id": token_id, "expires_ms": expires_ms})


def delete_used_presigned_urls_expired_before(source: Session | Transaction, before_ms: int) -> None:
    """Forget the URLs that expired before ``before_ms``."""
    Transaction.of(source).execute(_DELETE_EXPIRED, {"before_ms": before_ms})
