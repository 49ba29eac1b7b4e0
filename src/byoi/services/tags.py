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

from collections.abc import Callable

from sqlalchemy.exc import IntegrityError

from byoi.aws.errors import ValidationException
from byoi.aws.pagination import Page
from byoi.store.database import Database
from byoi.store.raw import Transaction
from byoi.store.tags import delete_tag_keys, put_tags, tag_keys, tag_page

MAX_TAGS_PER_RESOURCE = 50
RESERVED_PREFIX = "aws:"

#: Decides whether an ARN names an existing resource, inside a transaction.
ResourceExists = Callable[[Transaction, str], bool]


def insert_tags(source: Transaction, arn: str, tags: list[dict]) -> None:
    """Tag a resource being created (it has no tags yet)."""
    check_tag_keys(tags)
    put_tags(source, arn, {t["Key"]: t["Value"] for t in tags})


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
                    existing = tag_keys(tx, arn)
                    new_keys = [k for k in merged if k not in existing]
                    if len(existing) + len(new_keys) > MAX_TAGS_PER_RESOURCE:
                        raise ValidationException(
                            f"Resource {arn} would have {len(existing) + len(new_keys)} tags; "
                            f"the limit is {MAX_TAGS_PER_RESOURCE} tags per resource"
                        )
                    put_tags(tx, arn, merged, existing)
                return tags
            except IntegrityError:
                # A concurrent AddTags inserted one of our keys first; redo as an update.
                if attempt == 2:
                    raise
        return tags

    def list(self, arn: str, max_results: int | None, next_token: str | None) -> Page:
        """A page of the resource's tags (rows with ``key`` and ``value``), oldest first."""
        with self._db.raw_read() as tx:
            self._require(tx, arn)
            return tag_page(tx, arn, max_results or MAX_TAGS_PER_RESOURCE, next_token)

    def delete(self, arn: str, keys: list[str]) -> None:
        with self._db.raw_write() as tx:
            self._require(tx, arn)
            delete_tag_keys(tx, arn, keys)

    def _require(self, tx: Transaction, arn: str) -> None:
        if not self._exists(tx, arn):
            raise ValidationException(f"Resource {arn} does not exist")
