"""Tags on SageMaker resources: AddTags, ListTags, DeleteTags.

Tags are stored by resource ARN. Rules (AWS's, see docs/aws-behaviour.md):
* the ARN must name an existing resource, else ``ValidationException``
  ("Resource does not exist"), as SageMaker answers;
* AddTags adds new keys and overwrites the values of existing ones;
* at most 50 tags per resource; keys starting with ``aws:`` are reserved;
* DeleteTags ignores keys the resource does not have;
* ListTags returns tags in the order they were first added.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from sqlalchemy import bindparam, delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from byoi.aws.errors import ValidationException
from byoi.aws.pagination import Page, Paginator
from byoi.store.database import Database
from byoi.store.models import Tag
from byoi.store.raw import Prepared, Transaction

MAX_TAGS_PER_RESOURCE = 50
RESERVED_PREFIX = "aws:"

#: Decides whether an ARN names an existing resource, inside a transaction.
ResourceExists = Callable[[Transaction, str], bool]

_TAGS_OF = Prepared(select(Tag.key, Tag.value).where(Tag.resource_arn == bindparam("arn")).order_by(Tag.id))
_TAGS_PAGE = Prepared(
    select(Tag.id, Tag.key, Tag.value)
    .where(Tag.resource_arn == bindparam("arn"), Tag.id > bindparam("after_id"))
    .order_by(Tag.id)
    .limit(bindparam("limit"))
)
_PAGES: Paginator = Paginator("tags", lambda row: (row.id,))
_INSERT = Prepared(insert(Tag).values(resource_arn=bindparam("arn"), key=bindparam("key"), value=bindparam("value")))
_UPDATE = Prepared(
    update(Tag).where(Tag.resource_arn == bindparam("arn"), Tag.key == bindparam("key")).values(value=bindparam("value"))
)
_DELETE_KEY = Prepared(delete(Tag).where(Tag.resource_arn == bindparam("arn"), Tag.key == bindparam("key")))
_DELETE_ALL = Prepared(delete(Tag).where(Tag.resource_arn == bindparam("arn")))


def delete_tags_of(source: Session | Transaction, arns: Iterable[str]) -> None:
    """Remove every tag of the resources ``arns`` (used when they are deleted)."""
    tx = Transaction.of(source)
    for arn in arns:
        tx.execute(_DELETE_ALL, {"arn": arn})


def insert_tags(source: Session | Transaction, arn: str, tags: list[dict]) -> None:
    """Tag a resource being created (it has no tags yet)."""
    check_tag_keys(tags)
    tx = Transaction.of(source)
    for key, value in {t["Key"]: t["Value"] for t in tags}.items():
        tx.execute(_INSERT, {"arn": arn, "key": key, "value": value})


def check_tag_keys(tags: list[dict]) -> None:
    reserved = [t["Key"] for t in tags if t["Key"].lower().startswith(RESERVED_PREFIX)]
    if reserved:
        raise ValidationException(
            f"Tag keys starting with '{RESERVED_PREFIX}' are reserved for AWS use: {', '.join(reserved)}"
        )


class TagService:
    def __init__(self, db: Database, exists: ResourceExists):
        self._db = db
        self._exists = exists

    def add(self, arn: str, tags: list[dict]) -> list[dict]:
        """Add or overwrite ``tags`` on ``arn``; returns the tags as given."""
        check_tag_keys(tags)
        merged = {t["Key"]: t["Value"] for t in tags}
        for attempt in range(3):
            try:
                with self._db.raw_write() as tx:
                    self._require(tx, arn)
                    existing = {t.key for t in tx.all(_TAGS_OF, {"arn": arn})}
                    new_keys = [k for k in merged if k not in existing]
                    if len(existing) + len(new_keys) > MAX_TAGS_PER_RESOURCE:
                        raise ValidationException(
                            f"Resource {arn} would have {len(existing) + len(new_keys)} tags; "
                            f"the limit is {MAX_TAGS_PER_RESOURCE} tags per resource"
                        )
                    for key, value in merged.items():
                        tx.execute(_UPDATE if key in existing else _INSERT, {"arn": arn, "key": key, "value": value})
                return tags
            except IntegrityError:
                # A concurrent AddTags inserted one of our keys first; redo as an update.
                if attempt == 2:
                    raise
        return tags

    def list(self, arn: str, max_results: int | None, next_token: str | None) -> Page:
        """A page of the resource's tags (rows with ``key`` and ``value``), oldest first."""
        limit = max_results or MAX_TAGS_PER_RESOURCE
        (after_id,) = _PAGES.after(next_token) or (0,)
        with self._db.raw_read() as tx:
            self._require(tx, arn)
            rows = tx.all(_TAGS_PAGE, {"arn": arn, "after_id": after_id, "limit": limit + 1})
        return _PAGES.page(rows, limit)

    def delete(self, arn: str, keys: list[str]) -> None:
        with self._db.raw_write() as tx:
            self._require(tx, arn)
            for key in keys:
                tx.execute(_DELETE_KEY, {"arn": arn, "key": key})

    def _require(self, tx: Transaction, arn: str) -> None:
        if not self._exists(tx, arn):
            raise ValidationException(f"Resource {arn} does not exist")
