"""Creating and reading resources whose names are unique per account and region (images, app image
configs, lifecycle configs): the same steps for each, written once.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy.exc import IntegrityError

from byoi.aws.errors import AwsError
from byoi.services.tags import insert_tags
from byoi.store.database import Database
from byoi.store.raw import Transaction


def create_named(
    db: Database,
    find: Callable[[Transaction], Any],
    insert: Callable[[Transaction], None],
    arn: str,
    tags: list[dict] | None,
    in_use: AwsError,
    check: Callable[[Transaction], None] | None = None,
) -> None:
    """Insert a resource and its tags in one transaction, unless ``find`` sees one of its name.

    ``check`` runs in the transaction first (a quota, say). Of two concurrent creates of one
    name the second meets the unique constraint; both ways it answers ``in_use``.
    """
    try:
        with db.raw_write() as tx:
            if find(tx) is not None:
                raise in_use
            if check is not None:
                check(tx)
            insert(tx)
            insert_tags(tx, arn, tags or [])
    except IntegrityError:
        raise in_use from None


def describe_named(db: Database, find: Callable[[Transaction], Any], not_found: Callable[[], AwsError]):
    """The resource ``find`` reads, as a row, or ``not_found()`` raised."""
    with db.raw_read() as tx:
        row = find(tx)
    if row is None:
        raise not_found()
    return row
