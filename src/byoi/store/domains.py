"""The ``domains`` table and ``domain_members`` (user profiles and spaces).

Statements only; the rules are ``byoi.services.domains``'. Functions take the
transaction to run in (a ``Transaction``, or a ``Session`` whose transaction
they join).

A member's rows carry its domain's ``domain_id``, ``account_id`` and
``region`` beside its own columns (its ARN and its space's Url are built from
them), so no caller needs the domain's row to name a member.
"""

from __future__ import annotations

from sqlalchemy import bindparam, delete, func, select
from sqlalchemy.orm import Session

from byoi.store.listing import Listing
from byoi.store.lookups import Lookup, by_columns
from byoi.store.models import Domain, DomainMember
from byoi.store.raw import Prepared, Transaction
from byoi.store.writes import Inserts, Updates

#: Domains by their id (d-...).
DOMAIN_BY_ID: Lookup = by_columns(Domain, "domain_id", "account_id", "region")
#: Domains by their key (``id``).
DOMAIN_BY_KEY: Lookup = by_columns(Domain, "id")

#: ListDomains (parameters ``account_id`` and ``region``).
DOMAINS = Listing(
    "domains",
    select(Domain).where(Domain.account_id == bindparam("account_id"), Domain.region == bindparam("region")),
    {"CreationTime": Domain.created_ms}, Domain.id,
)

insert_domain = Inserts(Domain).run
#: ``update_domain(tx, domain_key, **columns)``.
update_domain = Updates(Domain).run

_SCOPE_OF = Prepared(select(Domain.account_id, Domain.region).where(Domain.domain_id == bindparam("domain_id")))
_DELETE_DOMAIN = Prepared(delete(Domain).where(Domain.id == bindparam("domain_pk")))


def domain_scope(source: Session | Transaction, domain_id: str):
    """The row (``account_id``, ``region``) of domain ``domain_id`` whatever its account, or None."""
    return Transaction.of(source).first(_SCOPE_OF, {"domain_id": domain_id})


def delete_domain(source: Session | Transaction, domain_key: int) -> None:
    """Delete the domain and, by the foreign keys' cascade, its members and apps."""
    Transaction.of(source).execute(_DELETE_DOMAIN, {"domain_pk": domain_key})


# --- domain_members -------------------------------------------------------------

#: A member's columns and its domain's that name it.
_MEMBER_WITH_DOMAIN = (
    select(DomainMember, Domain.domain_id, Domain.account_id, Domain.region)
    .join(Domain, Domain.id == DomainMember.domain_pk)
)
#: A domain's user profiles (``kind`` "user") and spaces ("space") by name (``name_key``: lower-cased).
MEMBER_BY_NAME: Lookup = Lookup(
    _MEMBER_WITH_DOMAIN.where(
        DomainMember.domain_pk == bindparam("domain_pk"),
        DomainMember.kind == bindparam("kind"),
        DomainMember.name_key == bindparam("name_key"),
    )
)
#: Members by their key (``id``).
MEMBER_BY_KEY: Lookup = Lookup(_MEMBER_WITH_DOMAIN.where(DomainMember.id == bindparam("id")))

#: ListUserProfiles and ListSpaces (parameters ``account_id``, ``region`` and ``kind``; DomainIdEquals as ``domain_id``).
MEMBERS = Listing(
    "members",
    _MEMBER_WITH_DOMAIN.where(
        Domain.account_id == bindparam("account_id"), Domain.region == bindparam("region"),
        DomainMember.kind == bindparam("kind"),
    ),
    {"CreationTime": DomainMember.created_ms, "LastModifiedTime": DomainMember.modified_ms}, DomainMember.id,
    created=DomainMember.created_ms, modified=DomainMember.modified_ms, name=DomainMember.name,
    equals={"domain_id": lambda value: Domain.domain_id == value},
)

insert_member = Inserts(DomainMember).run
#: ``update_member(tx, member_key, **columns)``.
update_member = Updates(DomainMember).run

_COUNT_MEMBERS = Prepared(select(func.count()).select_from(DomainMember).where(DomainMember.domain_pk == bindparam("domain_pk")))
_DELETE_MEMBER = Prepared(delete(DomainMember).where(DomainMember.id == bindparam("member_pk")))
_IN_DOMAIN_ID = (
    Domain.domain_id == bindparam("domain_id"), DomainMember.kind == bindparam("kind"), DomainMember.name_key == bindparam("name_key"),
)
#: The gateway's check of a session's identity, on every proxied request: the uid alone.
_HOME_UID = Prepared(select(DomainMember.home_uid).join(Domain, Domain.id == DomainMember.domain_pk).where(*_IN_DOMAIN_ID))
_MEMBER_IN = Prepared(
    select(DomainMember.name, DomainMember.home_uid, DomainMember.settings)
    .join(Domain, Domain.id == DomainMember.domain_pk)
    .where(*_IN_DOMAIN_ID)
)


def count_members(source: Session | Transaction, domain_key: int) -> int:
    """How many user profiles and spaces the domain has."""
    return Transaction.of(source).scalar(_COUNT_MEMBERS, {"domain_pk": domain_key})


def delete_member(source: Session | Transaction, member_key: int) -> None:
    """Delete the member; its apps keep their rows, no longer linked to it (``member_pk`` NULL)."""
    Transaction.of(source).execute(_DELETE_MEMBER, {"member_pk": member_key})


def member_home_uid(source: Session | Transaction, domain_id: str, kind: str, name_key: str) -> int | None:
    """The home uid of member ``name_key`` of ``kind`` in domain ``domain_id`` (any account), or None."""
    return Transaction.of(source).scalar(_HOME_UID, {"domain_id": domain_id, "kind": kind, "name_key": name_key})


def member_in_domain(source: Session | Transaction, domain_id: str, kind: str, name_key: str):
    """The row (``name``, ``home_uid``, ``settings``) of member ``name_key`` of ``kind`` in domain
    ``domain_id`` (any account), or None."""
    return Transaction.of(source).first(_MEMBER_IN, {"domain_id": domain_id, "kind": kind, "name_key": name_key})


# --- settings, for what they name -----------------------------------------------

_IN_SCOPE = (Domain.account_id == bindparam("account_id"), Domain.region == bindparam("region"))
_DOMAIN_SETTINGS = Prepared(select(Domain.domain_id, Domain.settings).where(*_IN_SCOPE).order_by(Domain.id))
_MEMBER_SETTINGS = Prepared(
    select(Domain.domain_id, DomainMember.kind, DomainMember.name, DomainMember.settings)
    .join(Domain, Domain.id == DomainMember.domain_pk)
    .where(*_IN_SCOPE)
    .order_by(DomainMember.id)
)


def domain_settings_in(source: Session | Transaction, account_id: str, region: str) -> list:
    """Rows of ``domain_id`` and ``settings`` of every domain of the account in the region."""
    return Transaction.of(source).all(_DOMAIN_SETTINGS, {"account_id": account_id, "region": region})


def member_settings_in(source: Session | Transaction, account_id: str, region: str) -> list:
    """Rows of ``domain_id``, ``kind``, ``name`` and ``settings`` of every user profile and space there."""
    return Transaction.of(source).all(_MEMBER_SETTINGS, {"account_id": account_id, "region": region})
