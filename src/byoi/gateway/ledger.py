"""Presigned domain URLs open one session each: the ids of the used ones are kept in the
store (table ``used_presigned_urls``) until the URL would have expired anyway, so a replay
is refused across restarts and by every byoi process that shares the database."""

from __future__ import annotations

from sqlalchemy import bindparam, delete, insert
from sqlalchemy.exc import IntegrityError

from byoi.store.database import Database
from byoi.store.models import UsedPresignedUrl
from byoi.store.raw import Prepared

#: Rows are kept this much past their URL's expiry, for clocks of processes that disagree a little.
GRACE_MS = 60_000

_PRUNE = Prepared(delete(UsedPresignedUrl).where(UsedPresignedUrl.expires_ms < bindparam("before")))
_SPEND = Prepared(insert(UsedPresignedUrl).values(token_id=bindparam("token_id"), expires_ms=bindparam("expires_ms")))


class PresignLedger:
    def __init__(self, db: Database):
        self._db = db

    def spend(self, token_id: str, expires_ms: int, now_ms: int) -> bool:
        """True the first time a URL's id is spent, False ever after (its row's primary key is
        the database's to keep unique, whichever process asks). Rows of URLs that can no
        longer be used (expired) are pruned in the same transaction."""
        try:
            with self._db.raw_write() as tx:
                tx.execute(_PRUNE, {"before": now_ms - GRACE_MS})
                tx.execute(_SPEND, {"token_id": token_id, "expires_ms": expires_ms})
        except IntegrityError:
            return False
        return True
