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

from sqlalchemy import bindparam, delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from byoi.aws.errors import ValidationException
from byoi.aws.pagination import decode_token, encode_token
from byoi.services.listing import Page
from byoi.store.database import Database
from byoi.store.models import Tag

MAX_TAGS_PER_RESOURCE = 50
RESERVED_PREFIX = "aws:"

#: Decides whether an ARN names an existing resource, inside a session.
ResourceExists = Callable[[Session, str], bool]


def delete_tags_of(session: Session, arns: Iterable[str]) -> None:
    """Remove every tag of the resources ``arns`` (used when they are deleted)."""
    arns = list(arns)
    if arns:
        session.execute(delete(Tag).where(Tag.resource_arn.in_(arns)))


def insert_tags(session: Session, arn: str, tags: list[dict]) -> None:
    """Tag a resource being created (it has no tags yet)."""
    check_tag_keys(tags)
    merged = {t["Key"]: t["Value"] for t in tags}
    session.add_all(Tag(resource_arn=arn, key=k, value=v) for k, v in merged.items())


def check_tag_keys(tags: list[dict]) -> None:
    reserved = [t["Key"] for t in tags if t["Key"].lower().startswith(RESERVED_PREFIX)]
    if reserved:
        raise ValidationException(
            f"Tag keys starting with '{RESERVED_PREFIX}' are reserved for AWS use: {', '.join(reserved)}"
        )


#: Built once: constructing a SQLAlchemy expression costs more than running it.
_TAGS_OF = select(Tag).where(Tag.resource_arn == bindparam("arn"))
_TAGS_PAGE = _TAGS_OF.where(Tag.id > bindparam("after_id")).order_by(Tag.id).limit(bindparam("limit"))


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
                with self._db.write() as session:
                    self._require(session, arn)
                    existing = {t.key: t for t in session.scalars(_TAGS_OF, {"arn": arn})}
                    new_keys = [k for k in merged if k not in existing]
                    if len(existing) + len(new_keys) > MAX_TAGS_PER_RESOURCE:
                        raise ValidationException(
                            f"Resource {arn} would have {len(existing) + len(new_keys)} tags; "
                            f"the limit is {MAX_TAGS_PER_RESOURCE} tags per resource"
                        )
                    for key, value in merged.items():
                        if key in existing:
                            existing[key].value = value
                        else:
                            session.add(Tag(resource_arn=arn, key=key, value=value))
                return tags
            except IntegrityError:
                # A concurrent AddTags inserted one of our keys first; redo as an update.
                if attempt == 2:
                    raise
        return tags

    def list(self, arn: str, max_results: int | None, next_token: str | None) -> Page[Tag]:
        limit = max_results or MAX_TAGS_PER_RESOURCE
        with self._db.read() as session:
            self._require(session, arn)
            after_id = decode_token(next_token, "tags", 1)[0] if next_token else 0
            rows = list(session.scalars(_TAGS_PAGE, {"arn": arn, "after_id": after_id, "limit": limit + 1}))
        if len(rows) <= limit:
            return Page(rows, None)
        return Page(rows[:limit], encode_token("tags", [rows[limit - 1].id]))

    def delete(self, arn: str, keys: list[str]) -> None:
        with self._db.write() as session:
            self._require(session, arn)
            session.execute(delete(Tag).where(Tag.resource_arn == arn, Tag.key.in_(keys)))

    def _require(self, session: Session, arn: str) -> None:
        if not self._exists(session, arn):
            raise ValidationException(f"Resource {arn} does not exist")
