"""Filtering, sorting and keyset pagination shared by every List operation.

A ``Listing`` is one List operation's query: a base statement (with
``bindparam``s for what each call supplies, such as the account and region),
its sorts, its filters. Each page is ordered by the sort column and then by
primary key (a total order even when sort values repeat), resumes strictly
after the NextToken's key, and reads one row more than asked to know whether
another page exists, so each page costs one indexed range scan whatever its
depth.

The statement for each *shape* of request (sort, order, which filters are
given, first page or not) is built once and kept: building a SQLAlchemy
statement costs more than running it. Every value goes in as a parameter.
``page()`` runs it on the driver (``byoi.store.raw``) and yields rows (a
listing whose rows name a parent, such as a user profile's domain, selects the
parent's columns beside its own). Pages and their tokens are the one
paginator's (``byoi.aws.pagination``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, bindparam, tuple_
from sqlalchemy.orm import InstrumentedAttribute

from byoi.aws.pagination import Page, Paginator
from byoi.clock import to_ms
from byoi.store.raw import Prepared, Transaction


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


#: Escape character for LIKE patterns: a name's own % and _ match literally.
_ESCAPE = "/"


def like_fragment(fragment: str) -> str:
    """The LIKE pattern matching names that contain ``fragment`` (case-sensitive, wildcards literal)."""
    for special in (_ESCAPE, "%", "_"):
        fragment = fragment.replace(special, _ESCAPE + special)
    return f"%{fragment}%"


class Listing:
    """One List operation's statements; see the module docstring.

    ``sorts`` maps each SortBy value to its column; ``created``/``modified``
    take the CreationTime and LastModifiedTime windows (bounds inclusive, as
    AWS's are); ``name`` takes NameContains; ``equals`` maps an optional call
    parameter to the condition it adds when given (e.g. DomainIdEquals).
    ``kind`` names the listing in its NextTokens, so a token is only honoured
    by the same listing under the same sort.
    """

    def __init__(
        self,
        kind: str,
        base: Select,
        sorts: Mapping[str, InstrumentedAttribute],
        tiebreak: InstrumentedAttribute,
        created: InstrumentedAttribute | None = None,
        modified: InstrumentedAttribute | None = None,
        name: InstrumentedAttribute | None = None,
        equals: Mapping[str, Callable[[Any], ColumnElement[bool]]] | None = None,
    ):
        self.kind = kind
        self._base = base
        self._sorts = sorts
        self._tiebreak = tiebreak
        self._filters: dict[str, Callable[[Any], ColumnElement[bool]]] = {}
        if name is not None:
            self._filters["name_contains"] = lambda p: name.like(p, escape=_ESCAPE)
        if created is not None:
            self._filters["created_after"] = lambda p: created >= p
            self._filters["created_before"] = lambda p: created <= p
        if modified is not None:
            self._filters["modified_after"] = lambda p: modified >= p
            self._filters["modified_before"] = lambda p: modified <= p
        self._filters.update(equals or {})
        self._shapes: dict[tuple, Prepared] = {}
        self._paginators: dict[str, Paginator] = {}

    def page(self, tx: Transaction, query: ListQuery, token_kind: str | None = None, **params: Any) -> Page[Any]:
        """One page of rows (named tuples of the base statement's columns)."""
        stmt, values, paginator = self._prepare(query, token_kind, params)
        return paginator.page(tx.all(stmt, values), query.max_results)

    def _prepare(self, query: ListQuery, token_kind: str | None, params: dict[str, Any]):
        """(statement, parameter values, paginator) for one call.

        ``params`` are the base statement's parameters and, under their
        ``equals`` names, the optional conditions (None: not given).
        """
        sort_name = f"{token_kind or self.kind}:{query.sort_by}:{'asc' if query.ascending else 'desc'}"
        values: dict[str, Any] = {"limit": query.max_results + 1}
        given = []
        for filter_name, value in [*params.items(), *self._query_filters(query)]:
            if filter_name not in self._filters:
                values[filter_name] = value  # a parameter of the base statement
            elif value is not None:
                values[filter_name] = value
                given.append(filter_name)
        paginator = self._paginators.get(sort_name)
        if paginator is None:
            column, tiebreak = self._sorts[query.sort_by].key, self._tiebreak.key
            key = lambda row: (getattr(row, column), getattr(row, tiebreak))  # noqa: E731
            paginator = self._paginators[sort_name] = Paginator(sort_name, key, arity=2, descending=not query.ascending)
        after = paginator.after(query.next_token)
        if after is not None:
            values["after_sort"], values["after_id"] = after
        shape = (query.sort_by, query.ascending, after is not None, tuple(given))
        stmt = self._shapes.get(shape)
        if stmt is None:
            stmt = self._shapes[shape] = self._build(*shape)
        return stmt, values, paginator

    def _query_filters(self, query: ListQuery) -> list[tuple[str, Any]]:
        """The query's filters that this listing has and that are given, with their parameter values."""
        given = []
        if query.name_contains and "name_contains" in self._filters:
            given.append(("name_contains", like_fragment(query.name_contains)))
        for name in ("created_after", "created_before", "modified_after", "modified_before"):
            moment = getattr(query, name)
            if moment is not None and name in self._filters:
                given.append((name, to_ms(moment)))
        return given

    def _build(self, sort_by: str, ascending: bool, resumed: bool, filters: tuple[str, ...]) -> Prepared:
        column, tiebreak = self._sorts[sort_by], self._tiebreak
        stmt = self._base
        for filter_name in filters:
            stmt = stmt.where(self._filters[filter_name](bindparam(filter_name)))
        if resumed:
            keys, last = tuple_(column, tiebreak), tuple_(bindparam("after_sort"), bindparam("after_id"))
            stmt = stmt.where(keys > last if ascending else keys < last)
        order = (column.asc(), tiebreak.asc()) if ascending else (column.desc(), tiebreak.desc())
        return Prepared(stmt.order_by(*order).limit(bindparam("limit")))
