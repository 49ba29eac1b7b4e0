"""The ``images`` table: SageMaker Images (their versions are ``byoi.store.image_versions``').

Statements only; the rules are ``byoi.services.images``'. Functions take the
transaction to run in (a ``Transaction``, or a ``Session`` whose transaction
they join).
"""

from __future__ import annotations

from sqlalchemy import bindparam, delete, func, select
from sqlalchemy.orm import Session

from byoi.store.listing import Listing
from byoi.store.lookups import Lookup, by_columns
from byoi.store.models import Image, ImageVersion
from byoi.store.raw import Prepared, Transaction
from byoi.store.writes import Inserts, Updates

#: Images by name (``name_key``: the name lower-cased; names are unique whatever their case).
IMAGE_BY_NAME: Lookup = by_columns(Image, "account_id", "region", "name_key")
#: Images by their key (``id``).
IMAGE_BY_KEY: Lookup = by_columns(Image, "id")

IMAGE_SORTS = {"CREATION_TIME": Image.created_ms, "LAST_MODIFIED_TIME": Image.modified_ms, "IMAGE_NAME": Image.name}
#: ListImages (parameters ``account_id`` and ``region``).
IMAGES = Listing(
    "images",
    select(Image).where(Image.account_id == bindparam("account_id"), Image.region == bindparam("region")),
    IMAGE_SORTS, Image.id, created=Image.created_ms, modified=Image.modified_ms, name=Image.name,
)

insert_image = Inserts(Image).run
#: ``update_image(tx, image_key, **columns)``.
update_image = Updates(Image).run

_IN_SCOPE = (Image.account_id == bindparam("account_id"), Image.region == bindparam("region"))
_COUNT = Prepared(select(func.count()).select_from(Image).where(*_IN_SCOPE))
_VERSION_NUMBERS = Prepared(select(ImageVersion.version).where(ImageVersion.image_id == bindparam("image_id")))
_DELETE = Prepared(delete(Image).where(Image.id == bindparam("image_id")))


def count_images(source: Session | Transaction, account_id: str, region: str) -> int:
    return Transaction.of(source).scalar(_COUNT, {"account_id": account_id, "region": region})


def version_numbers(source: Session | Transaction, image_key: int) -> list[int]:
    """The numbers of the image's versions."""
    return [row.version for row in Transaction.of(source).all(_VERSION_NUMBERS, {"image_id": image_key})]


def delete_image(source: Session | Transaction, image_key: int) -> None:
    """Delete the image and, by the foreign keys' cascade, its versions and their aliases."""
    Transaction.of(source).execute(_DELETE, {"image_id": image_key})
