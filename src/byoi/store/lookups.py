"""Rows found by their key: one statement, one read path, one locking rule per lookup.

Each table's keyed reads are defined once, as a ``Lookup``, in the table's
module (``byoi.store.images``' ``IMAGE_BY_NAME``, say):

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


def by_columns(model: type, *columns: str) -> Lookup:
    """The lookup of ``model``'s row whose ``columns`` equal the parameters of the same names."""
    return Lookup(select(model).where(*(getattr(model, c) == bindparam(c) for c in columns)))
