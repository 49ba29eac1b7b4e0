"""Filtering, sorting and keyset pagination shared by every List operation.

``page(session, stmt, sort, ...)`` runs ``stmt`` ordered by the sort column and
then by primary key (a total order even when sort values repeat), resuming
strictly after the NextToken's key. It reads one row more than asked to know
whether another page exists, so each page costs one indexed range scan
whatever its depth.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from sqlalchemy import Select, tuple_
from sqlalchemy.orm import InstrumentedAttribute, Session

from byoi.aws.pagination import decode_token, encode_token
from byoi.services.clock import to_ms

T = TypeVar("T")


@dataclass
class Page(Generic[T]):
    items: list[T]
    next_token: str | None


@dataclass(frozen=True)
class Sort:
    """A List sort: the column, its direction, and its name for NextToken checks."""

    column: InstrumentedAttribute
    tiebreak: InstrumentedAttribute
    ascending: bool
    name: str


def time_window(
    stmt: Select, column: InstrumentedAttribute, after: datetime | None, before: datetime | None
) -> Select:
    """Keep rows whose ``column`` lies in [after, before]; AWS's bounds are inclusive."""
    if after is not None:
        stmt = stmt.where(column >= to_ms(after))
    if before is not None:
        stmt = stmt.where(column <= to_ms(before))
    return stmt


def name_contains(stmt: Select, column: InstrumentedAttribute, fragment: str | None) -> Select:
    """Keep rows whose name contains ``fragment`` (case-sensitive, wildcards literal)."""
    if fragment:
        stmt = stmt.where(column.contains(fragment, autoescape=True))
    return stmt


def page(session: Session, stmt: Select, sort: Sort, max_results: int, next_token: str | None) -> Page[Any]:
    """One page of ``stmt`` under ``sort``; see the module docstring."""
    keys = tuple_(sort.column, sort.tiebreak)
    if next_token:
        last = decode_token(next_token, sort.name, 2)
        stmt = stmt.where(keys > tuple_(*last) if sort.ascending else keys < tuple_(*last))
    if sort.ascending:
        stmt = stmt.order_by(sort.column.asc(), sort.tiebreak.asc())
    else:
        stmt = stmt.order_by(sort.column.desc(), sort.tiebreak.desc())
    rows = list(session.scalars(stmt.limit(max_results + 1)))
    if len(rows) <= max_results:
        return Page(rows, None)
    rows = rows[:max_results]
    last_row = rows[-1]
    token = encode_token(sort.name, [getattr(last_row, sort.column.key), getattr(last_row, sort.tiebreak.key)])
    return Page(rows, token)
