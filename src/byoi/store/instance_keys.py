"""Secrets every replica of one byoi shares, kept in the database (``instance_keys``).

``shared_key(db, name, first)`` returns the key ``name``; the first process to ask
stores ``first()`` (of replicas racing to store one, the database keeps exactly
one and every replica reads that one back).
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import bindparam, insert, select
from sqlalchemy.exc import IntegrityError

from byoi.store.database import Database
from byoi.store.models import InstanceKey
from byoi.store.raw import Prepared

_KEY = Prepared(select(InstanceKey.value).where(InstanceKey.name == bindparam("name")))
_ADD = Prepared(insert(InstanceKey).values(name=bindparam("name"), value=bindparam("value")))


def shared_key(db: Database, name: str, first: Callable[[], bytes]) -> bytes:
    """The key ``name``, stored as ``first()`` if there is none yet."""
    with db.raw_read() as tx:
        value = tx.scalar(_KEY, {"name": name})
    if value is not None:
        return bytes(value)
    candidate = first()
    try:
        with db.raw_write() as tx:
            tx.execute(_ADD, {"name": name, "value": candidate})
    except IntegrityError:  # another replica stored it first: use theirs
        pass
    with db.raw_read() as tx:
        return bytes(tx.scalar(_KEY, {"name": name}))
