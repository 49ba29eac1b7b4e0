"""The ``studio_lifecycle_configs`` table: scripts Studio apps run when they start.

Statements only; the rules are ``byoi.services.studio_lifecycle_configs``'.
Functions take the transaction to run in (a ``Transaction``, or a ``Session``
whose transaction they join).
"""

from __future__ import annotations

from sqlalchemy import bindparam, delete, select
from sqlalchemy.orm import Session

from byoi.store.listing import Listing
from byoi.store.lookups import Lookup, by_columns
from byoi.store.models import StudioLifecycleConfig
from byoi.store.raw import Prepared, Transaction
from byoi.store.writes import Inserts

#: Lifecycle configs by name (``name_key``: the name lower-cased; names are unique whatever their case).
LIFECYCLE_CONFIG_BY_NAME: Lookup = by_columns(StudioLifecycleConfig, "account_id", "region", "name_key")

LIFECYCLE_CONFIG_SORTS = {
    "CreationTime": StudioLifecycleConfig.created_ms,
    "LastModifiedTime": StudioLifecycleConfig.modified_ms,
    "Name": StudioLifecycleConfig.name,
}
_IN_SCOPE = (
    StudioLifecycleConfig.account_id == bindparam("account_id"),
    StudioLifecycleConfig.region == bindparam("region"),
)
#: ListStudioLifecycleConfigs (parameters ``account_id``, ``region`` and, optionally, ``app_type``).
LIFECYCLE_CONFIGS = Listing(
    "lifecycle-configs",
    select(StudioLifecycleConfig).where(*_IN_SCOPE),
    LIFECYCLE_CONFIG_SORTS,
    StudioLifecycleConfig.id,
    created=StudioLifecycleConfig.created_ms,
    modified=StudioLifecycleConfig.modified_ms,
    name=StudioLifecycleConfig.name,
    equals={"app_type": lambda value: StudioLifecycleConfig.app_type == value},
)

insert_lifecycle_config = Inserts(StudioLifecycleConfig).run

_DELETE = Prepared(delete(StudioLifecycleConfig).where(StudioLifecycleConfig.id == bindparam("config_id")))


def delete_lifecycle_config(source: Session | Transaction, config_key: int) -> None:
    Transaction.of(source).execute(_DELETE, {"config_id": config_key})
