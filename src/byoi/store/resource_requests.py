"""The ``resource_requests`` table: Cloud Control's resource operation requests.

Statements only; the rules (client-token idempotency, which states count as in
flight, the 7-day retention, what a cancel may do) are
``byoi.cloudcontrol.requests``' and its settler's. Functions take the
transaction to run in (a ``Transaction``, or a ``Session`` whose transaction
they join).

Conditions on a list of values (the states a request may be in, a
ListResourceRequests filter) are one placeholder per value, OR-ed (an IN list
would need SQLAlchemy at run time); each count of values has its statement,
built on first use (the API's enum validation bounds the counts).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import cache

from sqlalchemy import ColumnElement, bindparam, delete, or_, select, tuple_
from sqlalchemy.orm import InstrumentedAttribute, Session

from byoi.aws.pagination import Page, Paginator
from byoi.store.database import Database
from byoi.store.lookups import Lookup, by_columns
from byoi.store.models import ResourceRequest
from byoi.store.raw import Prepared, Transaction
from byoi.store.transitions import Lease, Transitions
from byoi.store.writes import Inserts, Updates

#: Requests by their RequestToken.
REQUEST_BY_TOKEN: Lookup = by_columns(ResourceRequest, "request_token")

insert_request = Inserts(ResourceRequest).run
#: ``update_request(tx, request_token, **columns)``.
update_request = Updates(ResourceRequest).run


def request_transitions(db: Database, states: Iterable[str], delay_seconds: float = 0, lease: Lease | None = None) -> Transitions:
    """The requests in ``states``, due ``delay_seconds`` after they were created (for the settler)."""
    return Transitions(
        db, ResourceRequest, states, delay_seconds, key=ResourceRequest.request_token, since=ResourceRequest.created_ms,
        lease=lease,
    )


def _any_of(column: InstrumentedAttribute, prefix: str, count: int) -> ColumnElement[bool]:
    """``column`` equals one of the parameters ``<prefix>_0`` .. ``<prefix>_<count - 1>``."""
    return or_(*(column == bindparam(f"{prefix}_{i}") for i in range(count)))


def _each(prefix: str, values: Sequence[str]) -> dict[str, str]:
    """The parameters ``_any_of(column, prefix, len(values))`` takes."""
    return {f"{prefix}_{i}": value for i, value in enumerate(values)}


_IN_SCOPE = (ResourceRequest.account_id == bindparam("account_id"), ResourceRequest.region == bindparam("region"))

_LATEST_WITH_CLIENT_TOKEN = Prepared(
    select(ResourceRequest)
    .where(
        *_IN_SCOPE,
        ResourceRequest.client_token == bindparam("client_token"),
        ResourceRequest.created_ms >= bindparam("since_ms"),
    )
    .order_by(ResourceRequest.created_ms.desc())
    .limit(1)
)


@cache
def _in_states_on(count: int) -> Prepared:
    """Tokens of the requests on one resource that are in one of ``count`` states."""
    return Prepared(
        select(ResourceRequest.request_token).where(
            *_IN_SCOPE,
            ResourceRequest.type_name == bindparam("type_name"),
            ResourceRequest.identifier == bindparam("identifier"),
            _any_of(ResourceRequest.status, "state", count),
        )
    )


_DELETE_CREATED_BEFORE = Prepared(delete(ResourceRequest).where(ResourceRequest.created_ms < bindparam("before_ms")))


def latest_request_with_client_token(source: Session | Transaction, account_id: str, region: str, client_token: str, since_ms: int):
    """The newest request given ``client_token`` created at ``since_ms`` or later (a row), or None."""
    params = {"account_id": account_id, "region": region, "client_token": client_token, "since_ms": since_ms}
    return Transaction.of(source).first(_LATEST_WITH_CLIENT_TOKEN, params)


def request_token_in_states(
    source: Session | Transaction, account_id: str, region: str, type_name: str, identifier: str, states: Sequence[str]
) -> str | None:
    """The RequestToken of a request on the resource that is in one of ``states``, or None."""
    params = {"account_id": account_id, "region": region, "type_name": type_name, "identifier": identifier}
    return Transaction.of(source).scalar(_in_states_on(len(states)), {**params, **_each("state", states)})


def delete_requests_created_before(source: Session | Transaction, before_ms: int) -> None:
    Transaction.of(source).execute(_DELETE_CREATED_BEFORE, {"before_ms": before_ms})


# --- ListResourceRequests ------------------------------------------------------

_NEWEST_FIRST = (ResourceRequest.created_ms, ResourceRequest.request_token)
#: ListResourceRequests pages: newest first, by creation time and then token.
REQUEST_PAGES: Paginator = Paginator("requests", lambda r: (r.created_ms, r.request_token), arity=2, descending=True)


@cache
def _request_page_statement(operations: int, statuses: int, resumed: bool) -> Prepared:
    """A page's statement, for that many Operations and OperationStatuses (0: no filter)."""
    stmt = select(
        ResourceRequest.request_token,
        ResourceRequest.type_name,
        ResourceRequest.identifier,
        ResourceRequest.operation,
        ResourceRequest.status,
        ResourceRequest.event_ms,
        ResourceRequest.resource_model,
        ResourceRequest.status_message,
        ResourceRequest.error_code,
        ResourceRequest.created_ms,
    ).where(*_IN_SCOPE, ResourceRequest.created_ms >= bindparam("since_ms"))
    if operations:
        stmt = stmt.where(_any_of(ResourceRequest.operation, "operation", operations))
    if statuses:
        stmt = stmt.where(_any_of(ResourceRequest.status, "status", statuses))
    if resumed:
        stmt = stmt.where(tuple_(*_NEWEST_FIRST) < tuple_(bindparam("after_created_ms"), bindparam("after_token")))
    return Prepared(stmt.order_by(*(c.desc() for c in _NEWEST_FIRST)).limit(bindparam("limit")))


def request_page(
    source: Session | Transaction,
    account_id: str,
    region: str,
    since_ms: int,
    operations: Iterable[str],
    statuses: Iterable[str],
    limit: int,
    next_token: str | None,
) -> Page:
    """A page of the requests created at ``since_ms`` or later, newest first, as rows.

    ``operations`` and ``statuses``: the values a request's must be one of
    (empty: any). The rows hold a ProgressEvent's columns and ``created_ms``.
    """
    operations, statuses = sorted(set(operations)), sorted(set(statuses))
    params = {
        "account_id": account_id,
        "region": region,
        "since_ms": since_ms,
        "limit": limit + 1,
        **_each("operation", operations),
        **_each("status", statuses),
    }
    after = REQUEST_PAGES.after(next_token)
    if after is not None:
        params["after_created_ms"], params["after_token"] = after
    stmt = _request_page_statement(len(operations), len(statuses), after is not None)
    return REQUEST_PAGES.page(Transaction.of(source).all(stmt, params), limit)
