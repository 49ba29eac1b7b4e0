"""State transitions of one table's rows: the one mechanism every settler uses.

An API call only records intent (a row in a transitional state, such as an
Image CREATING); a settler (``byoi.services.settling``) finishes it later. Each
settler does the same three things, which live here:

* **due rows**: ``scan()`` reads, in one transaction, the rows in the watched
  states; a row is *due* once it has been in its state for the table's delay
  (its ``since`` column, ``modified_ms`` unless said otherwise, at least
  ``delay_seconds`` ago). The scan also says when the next row falls due.
* **compare-and-set**: ``advance(key, expected, **values)`` changes a row only
  if it is still in the state the settler saw, in a transaction of its own;
  ``holds(session, key, expected)`` checks (and locks) it inside a larger one,
  for steps that delete a row with its children. Several threads or processes
  can share the work, and a restart resumes whatever was interrupted.
* **next-due time**: ``Scan.next_in``, seconds until the earliest row not yet
  due is (None: none waits), and ``soonest()`` to combine such waits.

Statements are ``Prepared`` (``byoi.store.raw``): a settler runs inside API
calls when byoi settles at once, so this path is as cheap as a hot one.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, inspect, or_, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from byoi.store.database import Database
from byoi.store.raw import Prepared, Transaction
from byoi.store.writes import Updates


def soonest(*waits: float | None) -> float | None:
    """The shortest of the waits that are not None (None if every one is)."""
    pending = [w for w in waits if w is not None]
    return min(pending) if pending else None


@dataclass(frozen=True)
class Scan:
    #: The due rows: named tuples of ``key``, ``status``, ``since`` and the extra columns asked for.
    due: list
    #: Seconds until the next row not yet due falls due; None when none waits.
    next_in: float | None


class Transitions:
    """The transitional rows of one table; see the module docstring.

    ``states`` are the states watched; ``delay_seconds`` how long a row sits in one
    before it is due (0: at once; byoi's ``transition_seconds``); ``key`` the column naming a row (the primary
    key unless said otherwise); ``since`` when the row entered its state;
    ``columns`` extra columns the settler reads with each due row.
    """

    def __init__(
        self,
        db: Database,
        model: type,
        states: Iterable[str],
        delay_seconds: float = 0,
        key: InstrumentedAttribute | None = None,
        since: InstrumentedAttribute | None = None,
        columns: Iterable[InstrumentedAttribute] = (),
    ):
        self._db = db
        self._delay_ms = int(round(delay_seconds * 1000))
        self._key = key if key is not None else getattr(model, inspect(model).primary_key[0].key)
        self._since = since if since is not None else model.modified_ms
        status = model.status
        # One placeholder per state (an IN list would need SQLAlchemy at run time).
        self._scan = Prepared(
            select(self._key.label("key"), status.label("status"), self._since.label("since"), *columns).where(
                or_(*(status == state for state in states))
            )
        )
        self._holds = Prepared(select(status).where(self._key == bindparam("key")), locks=model)
        self._updates = Updates(model, key=self._key, guard=status)

    def scan(self, now_ms: int) -> Scan:
        """The due rows and when the next one falls due, as of ``now_ms``."""
        with self._db.raw_read() as tx:
            rows = tx.all(self._scan)
        due, waits = [], []
        for row in rows:
            due_ms = row.since + self._delay_ms
            if due_ms <= now_ms:
                due.append(row)
            else:
                waits.append((due_ms - now_ms) / 1000)
        return Scan(due, soonest(*waits))

    def advance(self, key: Any, expected: str, **values: Any) -> bool:
        """Set ``values`` on the row ``key`` if it is still ``expected``; whether it was."""
        with self._db.raw_write() as tx:
            return self._updates.run(tx, key, expected=expected, **values) > 0

    def record(self, key: Any, **values: Any) -> None:
        """Set ``values`` on the row ``key`` whatever its state (facts that are not a state change)."""
        with self._db.raw_write() as tx:
            self._updates.run(tx, key, **values)

    def holds(self, source: Session | Transaction, key: Any, expected: str) -> bool:
        """Whether row ``key`` is ``expected``, locked until the caller's (write) transaction ends."""
        return Transaction.of(source).scalar(self._holds, {"key": key}) == expected
