"""The ``tags`` table: tags of SageMaker resources, by resource ARN.

Statements only; the rules (reserved keys, the per-resource limit, whether an
ARN names a resource) are ``byoi.services.tags``'. Every function takes the
transaction to run in (a ``Transaction``, or a ``Session`` whose transaction it
joins).
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import bindparam, delete, insert, select, update
from sqlalchemy.orm import Session

from byoi.aws.pagination import Page, Paginator
from byoi.store.models import Tag
from byoi.store.raw import Prepared, Transaction

_KEYS_OF = Prepared(select(Tag.key).where(Tag.resource_arn == bindparam("arn")))
_PAGE = Prepared(
    select(Tag.id, Tag.key, Tag.value)
    .where(Tag.resource_arn == bindparam("arn"), Tag.id > bindparam("after_id"))
    .order_by(Tag.id)
    .limit(bindparam("limit"))
)
#: Tags page in the order they were first added (their row id).
PAGES = Paginator("tags", lambda row: (row.id,))
_INSERT = Prepared(insert(Tag).values(resource_arn=bindparam("arn"), key=bindparam("key"), value=bindparam("value")))
_SET_VALUE = Prepared(
    update(Tag).where(Tag.resource_arn == bindparam("arn"), Tag.key == bindparam("key")).values(value=bindparam("value"))
)
_DELETE_KEY = Prepared(delete(Tag).where(Tag.resource_arn == bindparam("arn"), Tag.key == bindparam("key")))
_DELETE_ALL = Prepared(delete(Tag).where(Tag.resource_arn == bindparam("arn")))


def tag_keys(source: Session | Transaction, arn: str) -> set[str]:
    """The keys ``arn`` has."""
    return {row.key for row in Transaction.of(source).all(_KEYS_OF, {"arn": arn})}


def tag_page(source: Session | Transaction, arn: str, limit: int, next_token: str | None) -> Page:
    """A page of ``arn``'s tags (rows with ``key`` and ``value``), oldest first."""
    (after_id,) = PAGES.after(next_token) or (0,)
    rows = Transaction.of(source).all(_PAGE, {"arn": arn, "after_id": after_id, "limit": limit + 1})
    return PAGES.page(rows, limit)


def put_tags(source: Session | Transaction, arn: str, values: dict[str, str], existing: set[str] = frozenset()) -> None:
    """Insert each key of ``values``, or set its value where the key is in ``existing``."""
    tx = Transaction.of(source)
    for key, value in values.items():
        tx.execute(_SET_VALUE if key in existing else _INSERT, {"arn": arn, "key": key, "value": value})


def delete_tag_keys(source: Session | Transaction, arn: str, keys: Iterable[str]) -> None:
    """Remove ``keys`` from ``arn`` (keys it does not have are ignored)."""
    tx = Transaction.of(source)
    for key in keys:
        tx.execute(_DELETE_KEY, {"arn": arn, "key": key})


def delete_tags_of(source: Session | Transaction, arns: Iterable[str]) -> None:
    """Remove every tag of the resources ``arns`` (used when they are deleted)."""
    tx = Transaction.of(source)
    for arn in arns:
        tx.execute(_DELETE_ALL, {"arn": arn})
