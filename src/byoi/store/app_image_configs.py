"""The ``app_image_configs`` table: how Studio runs an image as an app.

Statements only; the rules are ``byoi.services.app_image_configs``'. Functions
take the transaction to run in (a ``Transaction``, or a ``Session`` whose
transaction they join).
"""

from __future__ import annotations

from sqlalchemy import bindparam, delete, select
from sqlalchemy.orm import Session

from byoi.store.listing import Listing
from byoi.store.lookups import Lookup, by_columns
from byoi.store.models import AppImageConfig
from byoi.store.raw import Prepared, Transaction
from byoi.store.writes import Inserts, Updates

#: App image configs by name (``name_key``: the name lower-cased; names are unique whatever their case).
CONFIG_BY_NAME: Lookup = by_columns(AppImageConfig, "account_id", "region", "name_key")

CONFIG_SORTS = {
    "CreationTime": AppImageConfig.created_ms,
    "LastModifiedTime": AppImageConfig.modified_ms,
    "Name": AppImageConfig.name,
}
_IN_SCOPE = (AppImageConfig.account_id == bindparam("account_id"), AppImageConfig.region == bindparam("region"))
#: ListAppImageConfigs (parameters ``account_id`` and ``region``).
CONFIGS = Listing(
    "configs",
    select(AppImageConfig).where(*_IN_SCOPE),
    CONFIG_SORTS, AppImageConfig.id,
    created=AppImageConfig.created_ms, modified=AppImageConfig.modified_ms, name=AppImageConfig.name,
)

insert_config = Inserts(AppImageConfig).run
#: ``update_config(tx, config_key, **columns)``.
update_config = Updates(AppImageConfig).run

_DELETE = Prepared(delete(AppImageConfig).where(AppImageConfig.id == bindparam("config_id")))


def delete_config(source: Session | Transaction, config_key: int) -> None:
    Transaction.of(source).execute(_DELETE, {"config_id": config_key})
