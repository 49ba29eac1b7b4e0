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

from sqlalchemy.exc import IntegrityError

from byoi.app_settings import merged, named_lifecycle_configs, space_owner_name, space_storage_levels, storage_refusal
from byoi.aws.arns import DOMAIN, SPACE, USER_PROFILE, parse_sagemaker_arn, sagemaker_arn
from byoi.aws.errors import ResourceInUse, ResourceNotFound, ValidationException
from byoi.aws.pagination import Page
from byoi.aws.protocol import Scope
from byoi.clock import Clock
from byoi.services.settling import Settling
from byoi.services.studio_settings import check_portal, check_settings, domain_update_refusal, space_settings
from byoi.services.tags import insert_tags
from byoi.store.apps import count_live_apps_of_domain, count_live_apps_of_member, live_app_id_named, live_app_specs_in
from byoi.store.database import Database
from byoi.store.domains import (
    DOMAIN_BY_ID,
    DOMAIN_BY_KEY,
    DOMAINS,
    MEMBER_BY_NAME,
    MEMBERS,
    count_members,
    delete_domain,
    delete_member,
    domain_scope,
    domain_settings_in,
    insert_domain,
    insert_member,
    member_home_uid,
    member_in_domain,
    member_settings_in,
    update_domain,
    update_member,
)
from byoi.store.listing import ListQuery
from byoi.store.models import Domain
from byoi.store.raw import Transaction
from byoi.store.tags import delete_tags_of
from byoi.store.transitions import PROCESS_LEASE, Lease, Transitions
from byoi.studio_urls import StudioOrigins
from byoi.vocabulary import StudioStatus

MEMBER_KINDS = {"user": ("user profile", USER_PROFILE), "space": ("space", SPACE)}


def domain_arn(domain) -> str:
    """The ARN of ``domain`` (a row of the domains table)."""
    return sagemaker_arn(Scope(domain.account_id, domain.region), DOMAIN, domain.domain_id)


def home_file_system_id(domain) -> str:
    """DescribeDomain's HomeEfsFileSystemId of ``domain`` (a row): one per domain, named after it."""
    return f"fs-{domain.domain_id[2:]}"


def member_arn(member) -> str:
    """The ARN of ``member`` (a row of ``byoi.store.domains``' members, which carry their domain's
    ``domain_id``, ``account_id`` and ``region``)."""
    scope = Scope(member.account_id, member.region)
    return sagemaker_arn(scope, MEMBER_KINDS[member.kind][1], member.domain_id, member.name)


def find_domain(source: Transaction, scope: Scope, domain_id: str):
    """Domain ``domain_id`` as a row, or None."""
    return DOMAIN_BY_ID.row(source, domain_id=domain_id, account_id=scope.account_id, region=scope.region)


def get_domain(source: Transaction, scope: Scope, domain_id: str):
    """Domain ``domain_id`` as a row, or ResourceNotFound in AWS's words."""
    domain = find_domain(source, scope, domain_id)
    if domain is None:
        raise domain_not_found(scope, domain_id)
    return domain


def domain_not_found(scope: Scope, domain_id: str) -> ResourceNotFound:
    return ResourceNotFound(f"Domain with ARN {sagemaker_arn(scope, DOMAIN, domain_id)} does not exist")


def find_member(source: Transaction, domain, kind: str, name: str):
    """Member ``name`` of ``kind`` of the ``domain`` row, as a row (with its domain's names), or None."""
    return MEMBER_BY_NAME.row(source, domain_pk=domain.id, kind=kind, name_key=name.lower())


def get_member(source: Transaction, domain, kind: str, name: str):
    """Member ``name`` of ``kind`` of the ``domain`` row, as ``find_member`` gives it, or ResourceNotFound."""
    member = find_member(source, domain, kind, name)
    if member is None:
        scope = Scope(domain.account_id, domain.region)
        arn = sagemaker_arn(scope, MEMBER_KINDS[kind][1], domain.domain_id, name)
        raise ResourceNotFound(f"{MEMBER_KINDS[kind][0].capitalize()} with ARN {arn} does not exist")
    return member


def check_domain_settings(tx: Transaction, scope: Scope, given: dict, settings: dict) -> None:
    """A domain's settings as CreateDomain gives them or UpdateDomain leaves them (``settings``,
    with ``given`` the members sent), checked as AWS checks them."""
    check_settings(tx, scope, given.get("DefaultUserSettings"), "DefaultUserSettings")
    check_settings(tx, scope, given.get("DefaultSpaceSettings"), "DefaultSpaceSettings")
    check_portal([settings.get("DefaultUserSettings") or {}], "DefaultUserSettings")
    storage = storage_refusal([settings.get("DefaultSpaceSettings") or {}])
    if storage:
        raise ValidationException(f"DefaultSpaceSettings: {storage}")


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

    def url(self, domain) -> str:
        """DescribeDomain's Url: the origin of the domain's Studio."""
        return self._origins.domain(domain.domain_id)

    def space_url(self, member) -> str:
        """DescribeSpace's Url: the origin of the space's apps."""
        return self._origins.space(member.domain_id, member.home_uid)

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
            check_domain_settings(tx, scope, settings, settings)
            insert_domain(tx, **values)
            domain = find_domain(tx, scope, values["domain_id"])
            insert_tags(tx, domain_arn(domain), tags or [])
        if domain.status == StudioStatus.Pending:
            self._settling.changed("domains")
        return domain

    def describe(self, scope: Scope, domain_id: str):
        """The domain as a row (its columns as attributes)."""
        with self._db.raw_read() as tx:
            return get_domain(tx, scope, domain_id)

    def update(self, scope: Scope, domain_id: str, changes: dict):
        """The domain, updated, as a row."""
        with self._db.raw_write() as tx:
            domain = get_domain(tx, scope, domain_id)
            if domain.status != StudioStatus.InService:
                raise ResourceInUse(f"Domain {domain_id} is {domain.status} and cannot be updated now")
            updates = {("DomainSettings" if k == "DomainSettingsForUpdate" else k): v for k, v in changes.items()}
            settings = merged(domain.settings, updates)
            check_domain_settings(tx, scope, changes, settings)
            refused = domain_update_refusal(domain.settings, changes)
            if refused and count_live_apps_of_domain(tx, domain.id):
                raise ResourceInUse(
                    f"Domain {domain_id} has apps in InService, Pending or Deleting; {refused} can only be "
                    "changed when it has none. Delete its apps first."
                )
            modified_ms = self._clock.now_ms()
            update_domain(tx, domain.id, settings=settings, modified_ms=modified_ms)
            return domain._replace(settings=settings, modified_ms=modified_ms)

    def delete(self, scope: Scope, domain_id: str) -> None:
        with self._db.raw_write() as tx:
            domain = get_domain(tx, scope, domain_id)
            if domain.status == StudioStatus.Deleting:
                return
            members = count_members(tx, domain.id)
            apps = count_live_apps_of_domain(tx, domain.id)
            if members or apps:
                raise ResourceInUse(
                    f"Domain {domain_id} still has {members} user profiles or spaces and {apps} apps; delete them first"
                )
            if not self._settling.transition_seconds:
                remove_domain(tx, domain)
                return
            update_domain(tx, domain.id, status=StudioStatus.Deleting, modified_ms=self._clock.now_ms())
        self._settling.changed("domains")

    def list(self, scope: Scope, query: ListQuery) -> Page:
        """A page of domains, as rows (their columns as attributes)."""
        with self._db.raw_read() as tx:
            return DOMAINS.page(tx, query, account_id=scope.account_id, region=scope.region)

    # --- user profiles and spaces ---------------------------------------------

    def create_member(self, scope: Scope, domain_id: str, kind: str, name: str, settings: dict, tags: list[dict] | None):
        """The new user profile or space (``kind``) as a row, as ``describe_member`` gives it."""
        label = MEMBER_KINDS[kind][0]
        try:
            with self._db.raw_write() as tx:
                domain = get_domain(tx, scope, domain_id)
                if domain.status == StudioStatus.Deleting:
                    raise ResourceInUse(f"Domain {domain_id} is being deleted")
                if find_member(tx, domain, kind, name) is not None:
                    raise ResourceInUse(f"{label.capitalize()} {name} already exists in domain {domain_id}")
                settings = self._checked_member_settings(tx, scope, domain, kind, settings, settings, None)
                now = self._clock.now_ms()
                insert_member(
                    tx,
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
                update_domain(tx, domain.id, next_home_uid=domain.next_home_uid + 1)
                member = find_member(tx, domain, kind, name)
                insert_tags(tx, member_arn(member), tags or [])
                return member
        except IntegrityError:
            raise ResourceInUse(f"{label.capitalize()} {name} already exists in domain {domain_id}") from None

    def describe_member(self, scope: Scope, domain_id: str, kind: str, name: str):
        """The user profile or space (``kind``) as a row: its columns and its domain's
        ``domain_id``, ``account_id`` and ``region``."""
        with self._db.raw_read() as tx:
            return get_member(tx, get_domain(tx, scope, domain_id), kind, name)

    def home_uid(self, domain_id: str, kind: str, name: str) -> int | None:
        """The HomeEfsFileSystemUid of a user profile or space, None if there is none by that name.
        A member deleted and created again gets a new one, so it tells the two apart."""
        with self._db.raw_read() as tx:
            return member_home_uid(tx, domain_id, kind, name.lower())

    def scope_of(self, domain_id: str) -> Scope | None:
        """The account and region a domain belongs to (domain ids are unique across them)."""
        with self._db.raw_read() as tx:
            row = domain_scope(tx, domain_id)
        return Scope(row.account_id, row.region) if row else None

    def member_in(self, domain_id: str, kind: str, name: str):
        """A user profile or space of a domain by id (whatever its account), as a row of its name,
        home_uid and settings; None if there is none by that name."""
        with self._db.raw_read() as tx:
            return member_in_domain(tx, domain_id, kind, name.lower())

    def update_member(self, scope: Scope, domain_id: str, kind: str, name: str, changes: dict):
        """The user profile or space (``kind``), updated, as a row as ``describe_member`` gives it."""
        with self._db.raw_write() as tx:
            domain = get_domain(tx, scope, domain_id)
            member = get_member(tx, domain, kind, name)
            settings = merged(member.settings, changes)
            settings = self._checked_member_settings(tx, scope, domain, kind, changes, settings, member.settings)
            modified_ms = self._clock.now_ms()
            update_member(tx, member.id, settings=settings, modified_ms=modified_ms)
            return member._replace(settings=settings, modified_ms=modified_ms)

    @staticmethod
    def _checked_member_settings(tx: Transaction, scope: Scope, domain, kind: str, given: dict, settings: dict, previous: dict | None) -> dict:
        """A user profile's or space's ``settings`` (after an update merged ``given`` into
        ``previous``), checked as AWS checks them."""
        if kind == "user":
            check_settings(tx, scope, given.get("UserSettings"), "UserSettings")
            check_portal([settings.get("UserSettings") or {}, domain.settings.get("DefaultUserSettings") or {}], "UserSettings")
            return settings
        check_settings(tx, scope, given.get("SpaceSettings"), "SpaceSettings")
        owner_name = space_owner_name(settings)
        owner = find_member(tx, domain, "user", owner_name) if owner_name else None
        levels = space_storage_levels(domain.settings, owner.settings if owner else None)
        return space_settings(settings, levels, previous)

    def delete_member(self, scope: Scope, domain_id: str, kind: str, name: str) -> None:
        with self._db.raw_write() as tx:
            domain = get_domain(tx, scope, domain_id)
            member = get_member(tx, domain, kind, name)
            live = count_live_apps_of_member(tx, member.id)
            if live:
                raise ResourceInUse(
                    f"{MEMBER_KINDS[kind][0].capitalize()} {name} has {live} apps that are not deleted; delete them first"
                )
            delete_tags_of(tx, [member_arn(member)])
            delete_member(tx, member.id)

    def list_members(self, scope: Scope, kind: str, domain_id: str | None, query: ListQuery) -> Page:
        """A page of user profiles or spaces (``kind``), as rows as ``describe_member`` gives them."""
        with self._db.raw_read() as tx:
            return MEMBERS.page(
                tx, query, f"members:{kind}",
                account_id=scope.account_id, region=scope.region, kind=kind, domain_id=domain_id or None,
            )


def remove_domain(source: Transaction, domain) -> None:
    """The end of Deleting: the ``domain`` row goes, with its tags (members and apps cascade)."""
    delete_tags_of(source, [domain_arn(domain)])
    delete_domain(source, domain.id)


class DomainSettler:
    """Domains go Pending -> InService, and Deleting -> removed with their tags."""

    kind = "domains"

    def __init__(self, db: Database, clock: Clock, transition_seconds: float, lease: Lease = PROCESS_LEASE):
        self._db = db
        self._clock = clock
        self._domains = Transitions(db, Domain, (StudioStatus.Pending, StudioStatus.Deleting), transition_seconds, lease=lease)

    def settle_due(self) -> float | None:
        now = self._clock.now_ms()
        scan = self._domains.scan(now)
        for row in scan.due:
            if row.status == StudioStatus.Pending:
                self._domains.advance(row.key, StudioStatus.Pending, status=StudioStatus.InService, modified_ms=now)
                continue
            with self._db.raw_write() as tx:
                if self._domains.holds(tx, row.key, StudioStatus.Deleting):
                    remove_domain(tx, DOMAIN_BY_KEY.row(tx, id=row.key))
        return scan.next_in


def studio_resource_exists(tx: Transaction, parsed) -> bool:
    """Whether a parsed ARN names an existing domain, user profile, space or live app."""
    from byoi.aws.arns import APP

    scope = parsed.scope
    domain = find_domain(tx, scope, parsed.path[0])
    if domain is None:
        return False
    if parsed.resource_type == DOMAIN:
        return len(parsed.path) == 1
    kinds = {USER_PROFILE: "user", SPACE: "space"}
    if parsed.resource_type in kinds and len(parsed.path) == 2:
        return find_member(tx, domain, kinds[parsed.resource_type], parsed.path[1]) is not None
    if parsed.resource_type == APP and len(parsed.path) == 4:
        owner, app_type, name = parsed.path[1:]
        return live_app_id_named(tx, domain.id, owner, app_type, name) is not None
    return False


def lifecycle_config_holder(tx: Transaction, arn: str) -> str | None:
    """What keeps the lifecycle configuration ``arn`` from being deleted (a domain, user profile or
    space whose settings name it, or a live app that runs it), in words; None: nothing."""
    parsed = parse_sagemaker_arn(arn)
    if parsed is None:
        return None
    scope, wanted = parsed.scope, arn.lower()
    for domain in domain_settings_in(tx, scope.account_id, scope.region):
        for key in ("DefaultUserSettings", "DefaultSpaceSettings"):
            if any(a.lower() == wanted for _, a, _ in named_lifecycle_configs(domain.settings.get(key) or {})):
                return f"domain {domain.domain_id} ({key})"
    for member in member_settings_in(tx, scope.account_id, scope.region):
        key = "UserSettings" if member.kind == "user" else "SpaceSettings"
        if any(a.lower() == wanted for _, a, _ in named_lifecycle_configs(member.settings.get(key) or {})):
            return f"{MEMBER_KINDS[member.kind][0]} {member.name} of domain {member.domain_id}"
    for app in live_app_specs_in(tx, scope.account_id, scope.region):
        if (app.resource_spec.get("LifecycleConfigArn") or "").lower() == wanted:
            return f"app {app.name} ({app.app_type}) of {app.owner_name} in domain {app.domain_id}"
    return None
