"""Presigned domain URLs open one session each: the ids of the used ones are kept in the
store (table ``used_presigned_urls``) until the URL would have expired anyway, so a replay
is refused across restarts and by every byoi process that shares the database."""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError

from byoi.store.database import Database
from byoi.store.used_presigned_urls import delete_used_presigned_urls_expired_before, insert_used_presigned_url

#: Rows are kept this much past their URL's expiry, for clocks of processes that disagree a little.
GRACE_MS = 60_000


class PresignLedger:
    def __init__(self, db: Database):
        self._db = db

    def spend(self, token_id: str, expires_ms: int, now_ms: int) -> bool:
        """True the first time a URL's id is spent, False ever after (its row's primary key is
        the database's to keep unique, whichever process asks). Rows of URLs that can no
        longer be used (expired) are pruned in the same transaction."""
        try:
            with self._db.raw_write() as tx:
                delete_used_presigned_urls_expired_before(tx, now_ms - GRACE_MS)
                insert_used_presigned_url(tx, token_id, expires_ms)
        except IntegrityError:
            return False
        return True
