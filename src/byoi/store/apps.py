"""The ``apps`` table: Studio apps (and the image versions CreateApp resolves for one).

Statements only; the rules are ``byoi.services.apps``' (and the runtime's,
``byoi.runtime.app_settler``). Functions take the transaction to run in (a
``Transaction``, or a ``Session`` whose transaction they join).

An app's rows carry its domain's ``domain_id``, ``account_id`` and ``region``
beside its own columns (its ARN and its log stream are built from them), so
no caller needs the domain's row to name an app.
"""

from __future__ import annotations

from sqlalchemy import and_, bindparam, func, or_, select
from sqlalchemy.orm import Session

from byoi.store.listing import Listing
from byoi.store.lookups import Lookup
from byoi.store.models import App, Domain, DomainMember, ImageVersion, ImageVersionAlias
from byoi.store.raw import Prepared, Transaction
from byoi.store.writes import Inserts, Updates
from byoi.vocabulary import LIVE_APP_STATES, AppStatus, ImageVersionStatus

#: An app's columns and its domain's that name it.
_APP_WITH_DOMAIN = (
    select(App, Domain.domain_id, Domain.account_id, Domain.region)
    .join(Domain, Domain.id == App.domain_pk)
)

#: Apps by their ``live_key`` (unique among apps that are not Deleted).
APP_BY_LIVE_KEY: Lookup = Lookup(_APP_WITH_DOMAIN.where(App.live_key == bindparam("live_key")))
#: An app by its key (``id``) with, for the runtime, its domain's settings as ``domain_settings``.
APP_TO_RUN: Lookup = Lookup(
    _APP_WITH_DOMAIN.add_columns(Domain.settings.label("domain_settings")).where(App.id == bindparam("id"))
)

#: ListApps (parameters ``account_id`` and ``region``; DomainIdEquals as ``domain_id``,
#: UserProfileNameEquals as ``user_profile``, SpaceNameEquals as ``space``; for Cloud Control,
#: ``owner_kind`` ("user" or "space") and ``status_not``, a status to leave out).
APPS = Listing(
    "apps",
    _APP_WITH_DOMAIN.where(Domain.account_id == bindparam("account_id"), Domain.region == bindparam("region")),
    {"CreationTime": App.created_ms}, App.id,
    equals={
        "domain_id": lambda value: Domain.domain_id == value,
        "user_profile": lambda value: and_(App.owner_kind == "user", App.owner_name == value),
        "space": lambda value: and_(App.owner_kind == "space", App.owner_name == value),
        "owner_kind": lambda value: App.owner_kind == value,
        "status_not": lambda value: App.status != value,
    },
)

insert_app = Inserts(App).run
#: ``update_app(tx, app_key, **columns)``.
update_app = Updates(App).run

_LIVE = or_(*(App.status == state for state in LIVE_APP_STATES))
#: DescribeApp's and DeleteApp's app: the live one by that name, else the latest Deleted one.
_LATEST = Prepared(
    _APP_WITH_DOMAIN.where(
        App.domain_pk == bindparam("domain_pk"),
        App.owner_kind == bindparam("kind"),
        App.owner_name == bindparam("owner"),
        App.app_type == bindparam("app_type"),
        App.name == bindparam("name"),
    )
    .order_by((App.status == AppStatus.Deleted).asc(), App.id.desc())
    .limit(1),
    locks=App,
)
#: Whether an ARN names a live app (its parts compared regardless of case).
_LIVE_ID_BY_NAME = Prepared(
    select(App.id).where(
        App.domain_pk == bindparam("domain_pk"),
        func.lower(App.owner_name) == bindparam("owner"),
        func.lower(App.app_type) == bindparam("app_type"),
        func.lower(App.name) == bindparam("name"),
        App.status != AppStatus.Deleted,
    )
)
_ID_BY_LIVE_KEY = Prepared(select(App.id).where(App.live_key == bindparam("live_key")))
_COUNT_LIVE_OF_DOMAIN = Prepared(select(func.count()).select_from(App).where(App.domain_pk == bindparam("domain_pk"), _LIVE))
_COUNT_LIVE_OF_MEMBER = Prepared(select(func.count()).select_from(App).where(App.member_pk == bindparam("member_pk"), _LIVE))
#: The gateway's lookup, on every proxied request.
_SERVING = Prepared(
    select(
        App.id, App.app_type, App.owner_kind, App.owner_name, App.endpoint_host, App.endpoint_port,
        Domain.domain_id, DomainMember.settings.label("owner_settings"), DomainMember.home_uid.label("owner_uid"),
    )
    .join(Domain, Domain.id == App.domain_pk)
    .outerjoin(DomainMember, DomainMember.id == App.member_pk)
    .where(
        Domain.domain_id == bindparam("domain_id"),
        App.owner_kind == bindparam("kind"),
        App.owner_name == bindparam("owner"),
        func.lower(App.app_type) == bindparam("app_type"),
        App.name == bindparam("name"),
        App.status == AppStatus.InService,
    )
    .limit(1)
)


def latest_app(source: Session | Transaction, domain_key: int, kind: str, owner: str, app_type: str, name: str):
    """The app of ``owner`` (a user profile or space, ``kind``) by type and name: the live one, else
    the latest Deleted one, as a row; None if it never existed."""
    params = {"domain_pk": domain_key, "kind": kind, "owner": owner, "app_type": app_type, "name": name}
    return Transaction.of(source).first(_LATEST, params)


def live_app_id_named(source: Session | Transaction, domain_key: int, owner: str, app_type: str, name: str) -> int | None:
    """The id of the domain's live app of ``owner`` by type and name, which are compared with its
    columns lower-cased (as an ARN spells them); None if there is none."""
    params = {"domain_pk": domain_key, "owner": owner, "app_type": app_type, "name": name}
    return Transaction.of(source).scalar(_LIVE_ID_BY_NAME, params)


def app_id_by_live_key(source: Session | Transaction, live_key: str) -> int | None:
    return Transaction.of(source).scalar(_ID_BY_LIVE_KEY, {"live_key": live_key})


def count_live_apps_of_domain(source: Session | Transaction, domain_key: int) -> int:
    return Transaction.of(source).scalar(_COUNT_LIVE_OF_DOMAIN, {"domain_pk": domain_key})


def count_live_apps_of_member(source: Session | Transaction, member_key: int) -> int:
    return Transaction.of(source).scalar(_COUNT_LIVE_OF_MEMBER, {"member_pk": member_key})


def serving_app(source: Session | Transaction, domain_id: str, kind: str, owner: str, app_type: str, name: str):
    """The InService app at a gateway path (``app_type`` lower-cased) as a row of id, app_type,
    owner_kind, owner_name, endpoint_host, endpoint_port, domain_id, ``owner_settings`` and
    ``owner_uid`` (its owner's settings and HomeEfsFileSystemUid); None if there is none."""
    params = {"domain_id": domain_id, "kind": kind, "owner": owner, "app_type": app_type, "name": name}
    return Transaction.of(source).first(_SERVING, params)


# --- the image version an app runs (CreateApp's resolution; never locked: an app only reads it) ---

_VERSIONS_OF_IMAGE = select(ImageVersion).where(ImageVersion.image_id == bindparam("image_id"))
_VERSION_NUMBERED = Prepared(_VERSIONS_OF_IMAGE.where(ImageVersion.version == bindparam("version")))
_VERSION_ALIASED = Prepared(
    _VERSIONS_OF_IMAGE.join(ImageVersionAlias, ImageVersionAlias.version_id == ImageVersion.id)
    .where(ImageVersionAlias.alias == bindparam("alias"))
)
_LATEST_CREATED_VERSION = Prepared(
    _VERSIONS_OF_IMAGE.where(ImageVersion.status == ImageVersionStatus.CREATED).order_by(ImageVersion.version.desc()).limit(1)
)


def image_version_numbered(source: Session | Transaction, image_key: int, version: int):
    """Version ``version`` of the image as a row, or None."""
    return Transaction.of(source).first(_VERSION_NUMBERED, {"image_id": image_key, "version": version})


def image_version_aliased(source: Session | Transaction, image_key: int, alias: str):
    """The version of the image that has ``alias``, as a row, or None."""
    return Transaction.of(source).first(_VERSION_ALIASED, {"image_id": image_key, "alias": alias})


def latest_created_image_version(source: Session | Transaction, image_key: int):
    """The image's highest-numbered CREATED version as a row, or None."""
    return Transaction.of(source).first(_LATEST_CREATED_VERSION, {"image_id": image_key})



_LIVE_SPECS = Prepared(
    select(Domain.domain_id, App.owner_name, App.app_type, App.name, App.resource_spec)
    .join(Domain, Domain.id == App.domain_pk)
    .where(Domain.account_id == bindparam("account_id"), Domain.region == bindparam("region"), _LIVE)
    .order_by(App.id)
)


def live_app_specs_in(source: Session | Transaction, account_id: str, region: str) -> list:
    """Rows of ``domain_id``, ``owner_name``, ``app_type``, ``name`` and ``resource_spec`` of every live app there."""
    return Transaction.of(source).all(_LIVE_SPECS, {"account_id": account_id, "region": region})


_APP_COUNTS = Prepared(select(App.app_type, App.status, func.count().label("n")).group_by(App.app_type, App.status))


def count_apps(db) -> list[tuple[str, str, int]]:
    """(app type, status, how many) for each combination in the store, across accounts (metrics)."""
    with db.raw_read() as tx:
        return [tuple(row) for row in tx.all(_APP_COUNTS)]
