"""INSERTs and keyed UPDATEs of one table, for whatever columns a call sets.

A service's writes set different columns from call to call (UpdateImage sets
the DisplayName only when given, a settler sets a state with or without a
FailureReason). ``Inserts`` and ``Updates`` build the statement for each set of
column names once, as a ``Prepared`` statement (``byoi.store.raw``), and run it
in the caller's transaction, so the tables' modules need not write one
statement per combination.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import bindparam, insert, inspect, update
from sqlalchemy.orm import InstrumentedAttribute, Session

from byoi.store.raw import Prepared, Transaction


class Inserts:
    """``INSERT INTO model (<columns given>)``; the database fills the rest (ids, defaults)."""

    def __init__(self, model: type):
        self._model = model
        self._statements: dict[tuple[str, ...], Prepared] = {}

    def run(self, source: Session | Transaction, **values: Any) -> None:
        names = tuple(sorted(values))
        stmt = self._statements.get(names)
        if stmt is None:
            stmt = self._statements[names] = Prepared(insert(self._model).values({n: bindparam(n) for n in names}))
        Transaction.of(source).execute(stmt, values)


class Updates:
    """``UPDATE model SET <columns given> WHERE key = :key`` (and, when asked, ``AND guard = :expected``).

    ``key`` is the primary key unless said otherwise; ``guard`` a column a
    compare-and-set checks (a row's state).
    """

    def __init__(self, model: type, key: InstrumentedAttribute | None = None, guard: InstrumentedAttribute | None = None):
        self._model = model
        self._key = key if key is not None else getattr(model, inspect(model).primary_key[0].key)
        self._guard = guard
        self._statements: dict[tuple[tuple[str, ...], bool], Prepared] = {}

    def run(self, source: Session | Transaction, key: Any, *, expected: Any = None, **values: Any) -> int:
        """Set ``values`` on row ``key`` (only if its guard column is ``expected``, when given); rows changed."""
        guarded = expected is not None
        names = tuple(sorted(values))
        stmt = self._statements.get((names, guarded))
        if stmt is None:
            where = [self._key == bindparam("key")]
            if guarded:
                where.append(self._guard == bindparam("expected"))
            stmt = Prepared(update(self._model).where(*where).values({n: bindparam(f"v_{n}") for n in names}))
            self._statements[(names, guarded)] = stmt
        params = {"key": key, **{f"v_{n}": v for n, v in values.items()}}
        if guarded:
            params["expected"] = expected
        return Transaction.of(source).execute(stmt, params)
