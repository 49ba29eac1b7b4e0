"""Rows found by their key: one statement, one read path, one locking rule per lookup.

Each table's keyed reads are defined here once, as a ``Lookup``:

* ``row(source, **params)``: the row as a named tuple of its columns, run on the
  driver (``byoi.store.raw``; the hot paths' way, about 12 µs), inside a
  ``Transaction`` or joined to a ``Session``'s.
* ``object(session, **params)``: the same row as an ORM object, for paths that
  change it or navigate its relationships.
* ``find(source, as_object, **params)``: either, as the caller asks.

**Locking** is the transaction's, never the caller's choice: in a write
transaction (``Database.write()`` / ``raw_write()``) a lookup locks the row it
finds (``SELECT ... FOR UPDATE OF`` its table on PostgreSQL, where writers run
concurrently under READ COMMITTED), so of two transactions changing one row the
second waits and then sees the first one's outcome. On SQLite writers are
serialised anyway and nothing is added. Reads never lock.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, bindparam, select
from sqlalchemy.orm import Session

from byoi.store.models import AppImageConfig, Domain, DomainMember, Image, ImageVersion
from byoi.store.raw import LOCKING, Prepared, Transaction


class Lookup:
    """One keyed read of one table; see the module docstring. ``stmt`` selects the model."""

    def __init__(self, stmt: Select):
        self._model = stmt.column_descriptions[0]["entity"]
        self._stmt = stmt
        # Only the entity's own table: eager-loaded relationships may be outer-joined.
        self._locked = stmt.with_for_update(of=self._model)
        self._prepared = Prepared(stmt, locks=self._model)

    def row(self, source: Session | Transaction, **params: Any):
        """The row (a named tuple of its columns), or None."""
        return Transaction.of(source).first(self._prepared, params)

    def object(self, session: Session, **params: Any):
        """The row as an ORM object of ``session``, or None."""
        return session.scalar(self._locked if session.info.get(LOCKING) else self._stmt, params)

    def find(self, source: Session | Transaction, as_object: bool, **params: Any):
        """``object(source, ...)`` when ``as_object`` (``source`` a Session), else ``row(source, ...)``."""
        return self.object(source, **params) if as_object else self.row(source, **params)


def _by(model: type, *columns: str) -> Lookup:
    return Lookup(select(model).where(*(getattr(model, c) == bindparam(c) for c in columns)))


#: Images by name (``name_key``: the name lower-cased; names are unique whatever their case).
IMAGE_BY_NAME = _by(Image, "account_id", "region", "name_key")
#: One version of an image by its number.
VERSION_BY_NUMBER = _by(ImageVersion, "image_id", "version")
#: App image configs by name (``name_key`` as for images).
CONFIG_BY_NAME = _by(AppImageConfig, "account_id", "region", "name_key")
#: Domains by their id (d-...).
DOMAIN_BY_ID = _by(Domain, "domain_id", "account_id", "region")
#: A domain's user profiles (``kind`` "user") and spaces ("space") by name.
MEMBER_BY_NAME = _by(DomainMember, "domain_pk", "kind", "name_key")
