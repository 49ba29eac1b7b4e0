"""Rows found by their key: one statement, one read path, one locking rule per lookup.

Each table's keyed reads are defined once, as a ``Lookup``, in the table's
module (``byoi.store.images``' ``IMAGE_BY_NAME``, say). ``row(source, **params)``
gives the row as a named tuple of the statement's columns, run on the driver
(``byoi.store.raw``; about 12 µs), inside a ``Transaction`` or joined to a
``Session``'s.

**Locking** is the transaction's, never the caller's choice: in a write
transaction (``Database.raw_write()`` / ``write()``) a lookup locks the row it
finds (``SELECT ... FOR UPDATE OF`` its table on PostgreSQL, where writers run
concurrently under READ COMMITTED), so of two transactions changing one row the
second waits and then sees the first one's outcome. On SQLite writers are
serialised anyway and nothing is added. Reads never lock.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, bindparam, select
from sqlalchemy.orm import Session

from byoi.store.raw import Prepared, Transaction


class Lookup:
    """One keyed read of one table; see the module docstring. ``stmt`` selects the model
    (first), and may add columns of tables it joins."""

    def __init__(self, stmt: Select):
        model = stmt.column_descriptions[0]["entity"]
        self._prepared = Prepared(stmt, locks=model)  # only the model's own rows are locked

    def row(self, source: Session | Transaction, **params: Any):
        """The row (a named tuple of its columns), or None."""
        return Transaction.of(source).first(self._prepared, params)


def by_columns(model: type, *columns: str) -> Lookup:
    """The lookup of ``model``'s row whose ``columns`` equal the parameters of the same names."""
    return Lookup(select(model).where(*(getattr(model, c) == bindparam(c) for c in columns)))
