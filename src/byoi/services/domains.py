"""Studio domains, user profiles and spaces.

* A domain gets an id ``d-`` + 12 characters; its status goes Pending ->
  InService (settled like images) and Deleting before it disappears.
* User profiles and spaces ("members") belong to one domain, have unique names
  in it (regardless of case) and own a home (HomeEfsFileSystemUid, counted up
  from 200001 per domain, as Studio does).
* Every ``CustomImages`` entry in the settings given (KernelGatewayAppSettings,
  JupyterLabAppSettings, CodeEditorAppSettings of DefaultUserSettings,
  DefaultSpaceSettings, UserSettings or SpaceSettings) must name an existing
  Image (and version, if given) and AppImageConfig: ``ValidationException``.
* A domain cannot be deleted while it has user profiles, spaces or live apps; a
  member cannot be deleted while it has live apps (``ResourceInUse``).
"""

from __future__ import annotations

import secrets
import string

from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, contains_eager

from byoi.aws.arns import DOMAIN, SPACE, USER_PROFILE, sagemaker_arn
from byoi.aws.errors import ResourceInUse, ResourceNotFound, ValidationException
from byoi.aws.pagination import Page
from byoi.aws.protocol import Scope
from byoi.clock import Clock
from byoi.services.app_image_configs import find_config
from byoi.services.images import find_image, has_version
from byoi.services.settling import Settling
from byoi.services.tags import insert_tags
from byoi.store.database import Database
from byoi.store.domains import DOMAIN_BY_ID, MEMBER_BY_NAME
from byoi.store.listing import Listing, ListQuery
from byoi.store.models import App, Domain, DomainMember
from byoi.store.raw import Prepared, Transaction
from byoi.store.tags import delete_tags_of
from byoi.store.transitions import Transitions
from byoi.studio_urls import StudioOrigins
from byoi.vocabulary import CUSTOM_IMAGE_APPS, LIVE_APP_STATES, AppStatus, StudioStatus

MEMBER_KINDS = {"user": ("user profile", USER_PROFILE), "space": ("space", SPACE)}
APP_SETTINGS = tuple(kind.settings for kind in CUSTOM_IMAGE_APPS.values())


def domain_arn(domain: Domain) -> str:
    return sagemaker_arn(Scope(domain.account_id, domain.region), DOMAIN, domain.domain_id)


def member_arn(member: DomainMember) -> str:
    d = member.domain
    return sagemaker_arn(Scope(d.account_id, d.region), MEMBER_KINDS[member.kind][1], d.domain_id, member.name)


#: Built once: constructing a SQLAlchemy expression costs more than running it.
_LIVE_APP_ID = Prepared(
    select(App.id).where(
        App.domain_pk == bindparam("domain_pk"),
        func.lower(App.owner_name) == bindparam("owner"),
        func.lower(App.app_type) == bindparam("app_type"),
        func.lower(App.name) == bindparam("name"),
        App.status != AppStatus.Deleted,
    )
)
_SCOPE_OF = Prepared(select(Domain.account_id, Domain.region).where(Domain.domain_id == bindparam("domain_id")))
_MEMBER_IN_DOMAIN = (
    Domain.domain_id == bindparam("domain_id"), DomainMember.kind == bindparam("kind"), DomainMember.name_key == bindparam("name_key"),
)
#: The gateway's check of a session's identity, on every proxied request: the uid alone.
_HOME_UID = Prepared(select(DomainMember.home_uid).join(Domain, Domain.id == DomainMember.domain_pk).where(*_MEMBER_IN_DOMAIN))
_MEMBER_IN = Prepared(
    select(DomainMember.name, DomainMember.home_uid, DomainMember.settings).join(Domain, Domain.id == DomainMember.domain_pk).where(*_MEMBER_IN_DOMAIN)
)
_INSERT_DOMAIN = Prepared(insert(Domain).values({
    c: bindparam(c) for c in (
        "domain_id", "account_id", "region", "name", "status", "failure_reason", "settings", "next_home_uid",
        "created_ms", "modified_ms",
    )
}))
_DOMAINS = Listing(
    "domains",
    select(Domain).where(Domain.account_id == bindparam("account_id"), Domain.region == bindparam("region")),
    {"CreationTime": Domain.created_ms}, Domain.id,
)
_MEMBERS = Listing(
    "members",
    select(DomainMember).join(DomainMember.domain).options(contains_eager(DomainMember.domain)).where(
        Domain.account_id == bindparam("account_id"), Domain.region == bindparam("region"),
        DomainMember.kind == bindparam("kind"),
    ),
    {"CreationTime": DomainMember.created_ms, "LastModifiedTime": DomainMember.modified_ms}, DomainMember.id,
    created=DomainMember.created_ms, modified=DomainMember.modified_ms, name=DomainMember.name,
    equals={"domain_id": lambda value: Domain.domain_id == value},
)


def find_domain(source: Session | Transaction, scope: Scope, domain_id: str, as_object: bool = True):
    """Domain ``domain_id`` (an ORM object of the session ``source``, or with ``as_object=False`` a row), or None."""
    return DOMAIN_BY_ID.find(source, as_object, domain_id=domain_id, account_id=scope.account_id, region=scope.region)


def get_domain(session: Session, scope: Scope, domain_id: str) -> Domain:
    domain = find_domain(session, scope, domain_id)
    if domain is None:
        raise domain_not_found(scope, domain_id)
    return domain


def domain_not_found(scope: Scope, domain_id: str) -> ResourceNotFound:
    return ResourceNotFound(f"Domain with ARN {sagemaker_arn(scope, DOMAIN, domain_id)} does not exist")


def find_member(source: Session | Transaction, domain: Domain, kind: str, name: str, as_object: bool = True):
    """Domain member ``name`` of ``kind`` (an ORM object of the session ``source``, or with ``as_object=False`` a row), or None."""
    return MEMBER_BY_NAME.find(source, as_object, domain_pk=domain.id, kind=kind, name_key=name.lower())


def get_member(session: Session, domain: Domain, kind: str, name: str) -> DomainMember:
    member = find_member(session, domain, kind, name)
    if member is None:
        scope = Scope(domain.account_id, domain.region)
        arn = sagemaker_arn(scope, MEMBER_KINDS[kind][1], domain.domain_id, name)
        raise ResourceNotFound(f"{MEMBER_KINDS[kind][0].capitalize()} with ARN {arn} does not exist")
    return member


def check_custom_images(source: Session | Transaction, scope: Scope, settings: dict | None, where: str) -> None:
    """Every CustomImages entry in ``settings`` names an existing image (version) and config."""
    tx = Transaction.of(source)
    for app_settings in APP_SETTINGS:
        for i, custom in enumerate(((settings or {}).get(app_settings) or {}).get("CustomImages") or [], 1):
            path = f"{where}.{app_settings}.CustomImages.{i}"
            image = find_image(tx, scope, custom["ImageName"], as_object=False)
            if image is None:
                raise ValidationException(f"{path}: Image {custom['ImageName']} does not exist")
            number = custom.get("ImageVersionNumber")
            if number is not None and not has_version(tx, image.id, number):
                raise ValidationException(f"{path}: Image {custom['ImageName']} has no version {number}")
            if find_config(tx, scope, custom["AppImageConfigName"], as_object=False) is None:
                raise ValidationException(f"{path}: AppImageConfig {custom['AppImageConfigName']} does not exist")


_ID_ALPHABET = string.ascii_lowercase + string.digits


def new_domain_id() -> str:
    """``d-`` and 12 random lower-case letters or digits (from one call to the OS's random source)."""
    number = secrets.randbits(72)  # 36**12 < 2**62: the extra bits keep every digit uniform
    chars = []
    for _ in range(12):
        number, digit = divmod(number, 36)
        chars.append(_ID_ALPHABET[digit])
    return "d-" + "".join(chars)


class DomainService:
    def __init__(self, db: Database, clock: Clock, settling: Settling, origins: StudioOrigins):
        self._db = db
        self._clock = clock
        self._settling = settling
        self._origins = origins

    def url(self, domain: Domain) -> str:
        """DescribeDomain's Url: the origin of the domain's Studio."""
        return self._origins.domain(domain.domain_id)

    def space_url(self, member: DomainMember) -> str:
        """DescribeSpace's Url: the origin of the space's apps."""
        return self._origins.space(member.domain.domain_id, member.home_uid)

    # --- domains --------------------------------------------------------------

    def create(self, scope: Scope, name: str, settings: dict, tags: list[dict] | None):
        """The new domain as a row (its columns as attributes), as ``describe`` gives it."""
        now = self._clock.now_ms()
        values = dict(
            domain_id=new_domain_id(),
            account_id=scope.account_id,
            region=scope.region,
            name=name,
            # With no transition delay there is nothing to wait for: settled at once.
            status=StudioStatus.Pending if self._settling.transition_seconds else StudioStatus.InService,
            failure_reason=None,
            settings=settings,
            next_home_uid=200001,
            created_ms=now,
            modified_ms=now,
        )
        with self._db.raw_write() as tx:
            check_custom_images(tx, scope, settings.get("DefaultUserSettings"), "DefaultUserSettings")
            check_custom_images(tx, scope, settings.get("DefaultSpaceSettings"), "DefaultSpaceSettings")
            tx.execute(_INSERT_DOMAIN, values)
            domain = find_domain(tx, scope, values["domain_id"], as_object=False)
            insert_tags(tx, domain_arn(domain), tags or [])
        if domain.status == StudioStatus.Pending:
            self._settling.changed("domains")
        return domain

    def describe(self, scope: Scope, domain_id: str):
        """The domain as a row (its columns as attributes)."""
        with self._db.raw_read() as tx:
            row = find_domain(tx, scope, domain_id, as_object=False)
        if row is None:
            raise domain_not_found(scope, domain_id)
        return row

    def update(self, scope: Scope, domain_id: str, changes: dict) -> Domain:
        with self._db.write() as session:
            domain = get_domain(session, scope, domain_id)
            if domain.status != StudioStatus.InService:
                raise ResourceInUse(f"Domain {domain_id} is {domain.status} and cannot be updated now")
            check_custom_images(session, scope, changes.get("DefaultUserSettings"), "DefaultUserSettings")
            check_custom_images(session, scope, changes.get("DefaultSpaceSettings"), "DefaultSpaceSettings")
            settings = dict(domain.settings)
            for member, value in changes.items():
                if member == "DomainSettingsForUpdate":
                    settings["DomainSettings"] = {**settings.get("DomainSettings", {}), **value}
                elif isinstance(value, dict) and isinstance(settings.get(member), dict):
                    settings[member] = {**settings[member], **value}
                else:
                    settings[member] = value
            domain.settings = settings
            domain.modified_ms = self._clock.now_ms()
            return domain

    def delete(self, scope: Scope, domain_id: str) -> None:
        with self._db.write() as session:
            domain = get_domain(session, scope, domain_id)
            if domain.status == StudioStatus.Deleting:
                return
            members = session.scalar(select(func.count()).select_from(DomainMember).where(DomainMember.domain_pk == domain.id))
            apps = session.scalar(
                select(func.count()).select_from(App).where(App.domain_pk == domain.id, App.status.in_(LIVE_APP_STATES))
            )
            if members or apps:
                raise ResourceInUse(
                    f"Domain {domain_id} still has {members} user profiles or spaces and {apps} apps; delete them first"
                )
            if not self._settling.transition_seconds:
                remove_domain(session, domain)
                return
            session.execute(
                update(Domain).where(Domain.id == domain.id).values(status=StudioStatus.Deleting, modified_ms=self._clock.now_ms())
            )
        self._settling.changed("domains")

    def list(self, scope: Scope, query: ListQuery) -> Page:
        """A page of domains, as rows (their columns as attributes)."""
        with self._db.raw_read() as tx:
            return _DOMAINS.page(tx, query, account_id=scope.account_id, region=scope.region)

    # --- user profiles and spaces ---------------------------------------------

    def create_member(self, scope: Scope, domain_id: str, kind: str, name: str, settings: dict, tags: list[dict] | None) -> DomainMember:
        label = MEMBER_KINDS[kind][0]
        settings_key = "UserSettings" if kind == "user" else "SpaceSettings"
        try:
            with self._db.write() as session:
                domain = get_domain(session, scope, domain_id)
                if domain.status == StudioStatus.Deleting:
                    raise ResourceInUse(f"Domain {domain_id} is being deleted")
                if find_member(session, domain, kind, name) is not None:
                    raise ResourceInUse(f"{label.capitalize()} {name} already exists in domain {domain_id}")
                check_custom_images(session, scope, settings.get(settings_key), settings_key)
                now = self._clock.now_ms()
                member = DomainMember(
                    domain_pk=domain.id,
                    kind=kind,
                    name=name,
                    name_key=name.lower(),
                    status=StudioStatus.InService,
                    settings=settings,
                    home_uid=domain.next_home_uid,
                    created_ms=now,
                    modified_ms=now,
                )
                domain.next_home_uid += 1
                member.domain = domain
                session.add(member)
                session.flush()
                insert_tags(session, member_arn(member), tags or [])
                return member
        except IntegrityError:
            raise ResourceInUse(f"{label.capitalize()} {name} already exists in domain {domain_id}") from None

    def describe_member(self, scope: Scope, domain_id: str, kind: str, name: str) -> DomainMember:
        with self._db.read() as session:
            return get_member(session, get_domain(session, scope, domain_id), kind, name)

    def home_uid(self, domain_id: str, kind: str, name: str) -> int | None:
        """The HomeEfsFileSystemUid of a user profile or space, None if there is none by that name.
        A member deleted and created again gets a new one, so it tells the two apart."""
        with self._db.raw_read() as tx:
            return tx.scalar(_HOME_UID, {"domain_id": domain_id, "kind": kind, "name_key": name.lower()})

    def scope_of(self, domain_id: str) -> Scope | None:
        """The account and region a domain belongs to (domain ids are unique across them)."""
        with self._db.raw_read() as tx:
            row = tx.first(_SCOPE_OF, {"domain_id": domain_id})
        return Scope(row.account_id, row.region) if row else None

    def member_in(self, domain_id: str, kind: str, name: str):
        """A user profile or space of a domain by id (whatever its account), as a row of its name,
        home_uid and settings; None if there is none by that name."""
        with self._db.raw_read() as tx:
            return tx.first(_MEMBER_IN, {"domain_id": domain_id, "kind": kind, "name_key": name.lower()})

    def update_member(self, scope: Scope, domain_id: str, kind: str, name: str, changes: dict) -> DomainMember:
        settings_key = "UserSettings" if kind == "user" else "SpaceSettings"
        with self._db.write() as session:
            domain = get_domain(session, scope, domain_id)
            member = get_member(session, domain, kind, name)
            check_custom_images(session, scope, changes.get(settings_key), settings_key)
            settings = dict(member.settings)
            for key, value in changes.items():
                if isinstance(value, dict) and isinstance(settings.get(key), dict):
                    settings[key] = {**settings[key], **value}
                else:
                    settings[key] = value
            member.settings = settings
            member.modified_ms = self._clock.now_ms()
            return member

    def delete_member(self, scope: Scope, domain_id: str, kind: str, name: str) -> None:
        with self._db.write() as session:
            domain = get_domain(session, scope, domain_id)
            member = get_member(session, domain, kind, name)
            live = session.scalar(
                select(func.count()).select_from(App).where(App.member_pk == member.id, App.status.in_(LIVE_APP_STATES))
            )
            if live:
                raise ResourceInUse(
                    f"{MEMBER_KINDS[kind][0].capitalize()} {name} has {live} apps that are not deleted; delete them first"
                )
            delete_tags_of(session, [member_arn(member)])
            session.delete(member)

    def list_members(self, scope: Scope, kind: str, domain_id: str | None, query: ListQuery) -> Page[DomainMember]:
        with self._db.read() as session:
            return _MEMBERS.orm_page(
                session, query, f"members:{kind}",
                account_id=scope.account_id, region=scope.region, kind=kind, domain_id=domain_id or None,
            )


def remove_domain(session: Session, domain: Domain) -> None:
    """The end of Deleting: the domain goes, with its tags (members and apps cascade)."""
    delete_tags_of(session, [domain_arn(domain)])
    session.delete(domain)


class DomainSettler:
    """Domains go Pending -> InService, and Deleting -> removed with their tags."""

    kind = "domains"

    def __init__(self, db: Database, clock: Clock, transition_seconds: float):
        self._db = db
        self._clock = clock
        self._domains = Transitions(db, Domain, (StudioStatus.Pending, StudioStatus.Deleting), transition_seconds)

    def settle_due(self) -> float | None:
        now = self._clock.now_ms()
        scan = self._domains.scan(now)
        for row in scan.due:
            if row.status == StudioStatus.Pending:
                self._domains.advance(row.key, StudioStatus.Pending, status=StudioStatus.InService, modified_ms=now)
                continue
            with self._db.write() as session:
                if self._domains.holds(session, row.key, StudioStatus.Deleting):
                    remove_domain(session, session.get(Domain, row.key))
        return scan.next_in


def studio_resource_exists(tx: Transaction, parsed) -> bool:
    """Whether a parsed ARN names an existing domain, user profile, space or live app."""
    from byoi.aws.arns import APP

    scope = parsed.scope
    domain = find_domain(tx, scope, parsed.path[0], as_object=False)
    if domain is None:
        return False
    if parsed.resource_type == DOMAIN:
        return len(parsed.path) == 1
    kinds = {USER_PROFILE: "user", SPACE: "space"}
    if parsed.resource_type in kinds and len(parsed.path) == 2:
        return find_member(tx, domain, kinds[parsed.resource_type], parsed.path[1], as_object=False) is not None
    if parsed.resource_type == APP and len(parsed.path) == 4:
        owner, app_type, name = parsed.path[1:]
        params = {"domain_pk": domain.id, "owner": owner, "app_type": app_type, "name": name}
        return tx.scalar(_LIVE_APP_ID, params) is not None
    return False
