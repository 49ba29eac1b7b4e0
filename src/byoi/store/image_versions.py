"""The ``image_versions`` table (and ``image_version_aliases``): the versions of SageMaker Images.

Statements only; the rules are ``byoi.services.image_versions``'. Functions
take the transaction to run in (a ``Transaction``, or a ``Session`` whose
transaction they join).
"""

from __future__ import annotations

from sqlalchemy import bindparam, update
from sqlalchemy.orm import Session

from byoi.store.lookups import Lookup, by_columns
from byoi.store.models import ImageVersion
from byoi.store.raw import Prepared, Transaction

#: One version of an image by its number.
VERSION_BY_NUMBER: Lookup = by_columns(ImageVersion, "image_id", "version")

_SET_STATUS_OF_IMAGE = Prepared(
    update(ImageVersion)
    .where(ImageVersion.image_id == bindparam("image_id"))
    .values(status=bindparam("status"), modified_ms=bindparam("modified_ms"))
)


def set_status_of_image_versions(source: Session | Transaction, image_key: int, status: str, modified_ms: int) -> None:
    """Put every version of the image in ``status`` (e.g. DELETING, with the image)."""
    Transaction.of(source).execute(_SET_STATUS_OF_IMAGE, {"image_id": image_key, "status": status, "modified_ms": modified_ms})
