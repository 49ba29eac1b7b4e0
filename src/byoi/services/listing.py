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

from sqlalchemy import Connection, Select, tuple_
from sqlalchemy.orm import InstrumentedAttribute, Session

from byoi.aws.pagination import decode_token, encode_token
from byoi.services.clock import to_ms

T = TypeVar("T")


@dataclass
class Page(Generic[T]):
    items: list[T]
    next_token: str | None


@dataclass
class ListQuery:
    """The parameters every List operation shares (each may leave some unused)."""

    sort_by: str
    ascending: bool = False
    max_results: int = 10
    next_token: str | None = None
    name_contains: str | None = None
    created_after: datetime | None = None
    created_before: datetime | None = None
    modified_after: datetime | None = None
    modified_before: datetime | None = None


def filtered(
    stmt: Select,
    query: ListQuery,
    created: InstrumentedAttribute,
    modified: InstrumentedAttribute,
    name: InstrumentedAttribute | None = None,
) -> Select:
    """Apply the query's name and time filters to ``stmt``."""
    if name is not None:
        stmt = name_contains(stmt, name, query.name_contains)
    stmt = time_window(stmt, created, query.created_after, query.created_before)
    return time_window(stmt, modified, query.modified_after, query.modified_before)


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


def page(
    source: Session | Connection,
    stmt: Select,
    query: ListQuery,
    column: InstrumentedAttribute,
    tiebreak: InstrumentedAttribute,
    kind: str,
) -> Page[Any]:
    """One page of ``stmt`` sorted by ``column`` then ``tiebreak``; see the module docstring.

    ``kind`` names the listing in its NextToken, so a token is only honoured by
    the same listing under the same sort. From a ``Session`` the items are ORM
    objects; from a ``Connection`` (``Database.rows()``) they are rows.
    """
    sort_name = f"{kind}:{query.sort_by}:{'asc' if query.ascending else 'desc'}"
    keys = tuple_(column, tiebreak)
    if query.next_token:
        last = decode_token(query.next_token, sort_name, 2)
        stmt = stmt.where(keys > tuple_(*last) if query.ascending else keys < tuple_(*last))
    if query.ascending:
        stmt = stmt.order_by(column.asc(), tiebreak.asc())
    else:
        stmt = stmt.order_by(column.desc(), tiebreak.desc())
    stmt = stmt.limit(query.max_results + 1)
    rows = list(source.scalars(stmt) if isinstance(source, Session) else source.execute(stmt))
    if len(rows) <= query.max_results:
        return Page(rows, None)
    rows = rows[: query.max_results]
    token = encode_token(sort_name, [getattr(rows[-1], column.key), getattr(rows[-1], tiebreak.key)])
    return Page(rows, token)
