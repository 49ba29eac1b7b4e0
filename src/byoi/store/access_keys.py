"""The ``access_keys`` table: the access keys ``byoi keys`` manages.

Statements only; the rules (how keys are generated, how the credentials file
and the database combine) are ``byoi.auth.keys``'. Functions take the
transaction to run in (a ``Transaction``, or a ``Session`` whose transaction
they join).
"""

from __future__ import annotations

from sqlalchemy import bindparam, delete, select
from sqlalchemy.orm import Session

from byoi.store.lookups import Lookup, by_columns
from byoi.store.models import AccessKey
from byoi.store.raw import Prepared, Transaction
from byoi.store.writes import Inserts

#: Keys by their id (with their secret).
ACCESS_KEY_BY_ID: Lookup = by_columns(AccessKey, "access_key_id")

insert_access_key = Inserts(AccessKey).run

_DESCRIBED = Prepared(
    select(AccessKey.access_key_id, AccessKey.description, AccessKey.created_ms).order_by(
        AccessKey.created_ms, AccessKey.access_key_id
    )
)
_SECRETS = Prepared(select(AccessKey.access_key_id, AccessKey.secret_access_key))
_DELETE = Prepared(delete(AccessKey).where(AccessKey.access_key_id == bindparam("access_key_id")))


def described_access_keys(source: Session | Transaction) -> list:
    """Every key, oldest first, as rows of its id, description and ``created_ms`` (no secrets)."""
    return Transaction.of(source).all(_DESCRIBED)


def access_key_secrets(source: Session | Transaction) -> dict[str, str]:
    """Every key's secret, by key id."""
    return {row.access_key_id: row.secret_access_key for row in Transaction.of(source).all(_SECRETS)}


def delete_access_key(source: Session | Transaction, access_key_id: str) -> bool:
    """Remove the key; whether there was one."""
    return Transaction.of(source).execute(_DELETE, {"access_key_id": access_key_id}) > 0
