"""The ``image_versions`` table (and ``image_version_aliases``): the versions of SageMaker Images.

Statements only; the rules are ``byoi.services.image_versions``'. Functions
take the transaction to run in (a ``Transaction``, or a ``Session`` whose
transaction they join).

Every version read here is a row of the version's columns and its image's
``account_id``, ``region`` and ``image_name`` (the image's name), which is all
a version's ARNs need.
"""

from __future__ import annotations

from collections.abc import Iterable
from itertools import product

from sqlalchemy import bindparam, delete, func, select, update
from sqlalchemy.orm import Session

from byoi.aws.pagination import Page, Paginator
from byoi.store.listing import Listing
from byoi.store.lookups import Lookup
from byoi.store.models import Image, ImageVersion, ImageVersionAlias
from byoi.store.raw import Prepared, Transaction
from byoi.store.writes import Inserts, Updates

#: A version with the image columns its ARNs need.
_WITH_IMAGE = select(ImageVersion, Image.account_id, Image.region, Image.name.label("image_name")).join(
    Image, Image.id == ImageVersion.image_id
)
_OF_IMAGE = ImageVersion.image_id == bindparam("image_id")

#: One version of an image (``image_id``) by its number (``version``).
VERSION_BY_NUMBER = Lookup(_WITH_IMAGE.where(_OF_IMAGE, ImageVersion.version == bindparam("version")))
#: The version of an image (``image_id``) that carries ``alias``.
VERSION_BY_ALIAS = Lookup(
    _WITH_IMAGE.join(ImageVersionAlias, ImageVersionAlias.version_id == ImageVersion.id).where(
        _OF_IMAGE, ImageVersionAlias.alias == bindparam("alias")
    )
)
#: The latest (highest-numbered) version of an image (``image_id``).
LATEST_VERSION = Lookup(_WITH_IMAGE.where(_OF_IMAGE).order_by(ImageVersion.version.desc()).limit(1))
#: The version of an image (``image_id``) that CreateImageVersion's ``client_token`` made.
VERSION_BY_TOKEN = Lookup(_WITH_IMAGE.where(_OF_IMAGE, ImageVersion.client_token == bindparam("client_token")))
#: A version by its key (``id``).
VERSION_BY_KEY = Lookup(_WITH_IMAGE.where(ImageVersion.id == bindparam("id")))

VERSION_SORTS = {
    "CREATION_TIME": ImageVersion.created_ms,
    "LAST_MODIFIED_TIME": ImageVersion.modified_ms,
    "VERSION": ImageVersion.version,
}
#: ListImageVersions (parameter ``image_id``).
VERSIONS = Listing(
    "versions", _WITH_IMAGE.where(_OF_IMAGE), VERSION_SORTS, ImageVersion.id,
    created=ImageVersion.created_ms, modified=ImageVersion.modified_ms,
)

insert_version = Inserts(ImageVersion).run
#: ``update_version(tx, version_key, **columns)``.
update_version = Updates(ImageVersion).run
insert_alias = Inserts(ImageVersionAlias).run

_COUNT = Prepared(select(func.count()).select_from(ImageVersion).where(_OF_IMAGE))
_DELETE = Prepared(delete(ImageVersion).where(ImageVersion.id == bindparam("version_id")))
_SET_STATUS_OF_IMAGE = Prepared(
    update(ImageVersion).where(_OF_IMAGE).values(status=bindparam("status"), modified_ms=bindparam("modified_ms"))
)

_ALIASES_OF = Prepared(
    select(ImageVersionAlias.alias)
    .where(ImageVersionAlias.version_id == bindparam("version_id"))
    .order_by(ImageVersionAlias.id)
)
_ALIAS_HOLDER = Prepared(
    select(ImageVersionAlias.alias, ImageVersion.version)
    .join(ImageVersion, ImageVersion.id == ImageVersionAlias.version_id)
    .where(ImageVersionAlias.image_id == bindparam("image_id"), ImageVersionAlias.alias == bindparam("alias"))
)
_DELETE_ALIAS = Prepared(
    delete(ImageVersionAlias).where(
        ImageVersionAlias.version_id == bindparam("version_id"), ImageVersionAlias.alias == bindparam("alias")
    )
)

#: ListAliases pages: alias names, in order.
ALIAS_PAGES: Paginator = Paginator("aliases", lambda alias: (alias,))


def _alias_page_statement(of_version: bool, named: bool, resumed: bool) -> Prepared:
    stmt = select(ImageVersionAlias.alias).where(ImageVersionAlias.image_id == bindparam("image_id"))
    if of_version:
        stmt = stmt.where(ImageVersionAlias.version_id == bindparam("version_id"))
    if named:
        stmt = stmt.where(ImageVersionAlias.alias == bindparam("alias"))
    if resumed:
        stmt = stmt.where(ImageVersionAlias.alias > bindparam("after"))
    return Prepared(stmt.order_by(ImageVersionAlias.alias).limit(bindparam("limit")))


#: One ListAliases statement per shape: (of one version, one alias named, a later page).
_ALIAS_PAGE = {shape: _alias_page_statement(*shape) for shape in product((False, True), repeat=3)}


def count_versions(source: Session | Transaction, image_key: int) -> int:
    """How many versions the image has."""
    return Transaction.of(source).scalar(_COUNT, {"image_id": image_key})


def delete_version(source: Session | Transaction, version_key: int) -> None:
    """Delete the version and, by the foreign key's cascade, its aliases."""
    Transaction.of(source).execute(_DELETE, {"version_id": version_key})


def set_status_of_image_versions(source: Session | Transaction, image_key: int, status: str, modified_ms: int) -> None:
    """Put every version of the image in ``status`` (e.g. DELETING, with the image)."""
    Transaction.of(source).execute(_SET_STATUS_OF_IMAGE, {"image_id": image_key, "status": status, "modified_ms": modified_ms})


def aliases_of_version(source: Session | Transaction, version_key: int) -> list[str]:
    """The version's aliases, in the order they were given."""
    return [row.alias for row in Transaction.of(source).all(_ALIASES_OF, {"version_id": version_key})]


def alias_holders(source: Session | Transaction, image_key: int, aliases: Iterable[str]) -> list:
    """Rows (``alias``, ``version``: its number) for each of ``aliases`` that a version of the image has, by alias."""
    tx = Transaction.of(source)
    found = (tx.first(_ALIAS_HOLDER, {"image_id": image_key, "alias": alias}) for alias in aliases)
    return sorted((row for row in found if row is not None), key=lambda row: row.alias)


def delete_aliases(source: Session | Transaction, version_key: int, aliases: Iterable[str]) -> None:
    """Take ``aliases`` off the version (those it does not have are ignored)."""
    tx = Transaction.of(source)
    for alias in aliases:
        tx.execute(_DELETE_ALIAS, {"version_id": version_key, "alias": alias})


def alias_page(
    source: Session | Transaction,
    image_key: int,
    limit: int,
    next_token: str | None,
    version_key: int | None = None,
    alias: str | None = None,
) -> Page[str]:
    """A page of the image's alias names in order: of one version (``version_key``), or only ``alias``, when given."""
    params = {"image_id": image_key, "limit": limit + 1}
    if version_key is not None:
        params["version_id"] = version_key
    if alias is not None:
        params["alias"] = alias
    after = ALIAS_PAGES.after(next_token)
    if after is not None:
        params["after"] = after[0]
    stmt = _ALIAS_PAGE[(version_key is not None, alias is not None, after is not None)]
    rows = Transaction.of(source).all(stmt, params)
    return ALIAS_PAGES.page([row.alias for row in rows], limit)
