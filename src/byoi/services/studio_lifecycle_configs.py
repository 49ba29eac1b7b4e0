"""Studio lifecycle configurations: CreateStudioLifecycleConfig, Describe..., Delete..., List....

A lifecycle configuration is a shell script, base64-encoded in
``StudioLifecycleConfigContent``, that an app of its ``StudioLifecycleConfigAppType``
runs when it starts (``byoi.runtime`` runs it). Rules (AWS's; see
docs/aws-behaviour.md):
* the content must be base64 that decodes to at most 16384 bytes; anything else
  is a ``ValidationException``;
* names are unique per account and region whatever their case;
* a config cannot be deleted while a domain, user profile or space names it in
  its settings, or a running app uses it (``ResourceInUse``), as AWS documents.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable

from byoi.aws.arns import STUDIO_LIFECYCLE_CONFIG, sagemaker_arn
from byoi.aws.errors import ResourceInUse, ResourceNotFound, ValidationException
from byoi.aws.pagination import Page
from byoi.aws.protocol import Scope
from byoi.clock import Clock
from byoi.services.named_resources import create_named, describe_named
from byoi.store.database import Database
from byoi.store.listing import ListQuery
from byoi.store.raw import Transaction
from byoi.store.studio_lifecycle_configs import (
    LIFECYCLE_CONFIG_BY_NAME,
    LIFECYCLE_CONFIGS,
    delete_lifecycle_config,
    insert_lifecycle_config,
)
from byoi.store.tags import delete_tags_of

#: The decoded script's size limit (the API's content limit, 16384 characters of base64, allows more).
MAX_SCRIPT_BYTES = 16384

#: Says what holds a lifecycle config (by ARN) so it cannot be deleted, or None; runs in the caller's transaction.
UsersOf = Callable[[Transaction, str], "str | None"]


def lifecycle_config_arn(config) -> str:
    """The ARN of ``config`` (a row of the studio_lifecycle_configs table)."""
    return sagemaker_arn(Scope(config.account_id, config.region), STUDIO_LIFECYCLE_CONFIG, config.name)


def find_lifecycle_config(tx: Transaction, scope: Scope, name: str):
    """Lifecycle config ``name`` as a row, or None."""
    return LIFECYCLE_CONFIG_BY_NAME.row(tx, account_id=scope.account_id, region=scope.region, name_key=name.lower())


def decode_script(content: str) -> bytes:
    """The script ``content`` carries, or ValidationException when it is not base64."""
    try:
        script = base64.b64decode(content, validate=True)
    except (binascii.Error, ValueError):
        raise ValidationException("StudioLifecycleConfigContent must be base64-encoded") from None
    if len(script) > MAX_SCRIPT_BYTES:
        raise ValidationException(f"The decoded StudioLifecycleConfigContent is {len(script)} bytes; the limit is {MAX_SCRIPT_BYTES}")
    return script


def lifecycle_config_not_found(scope: Scope, name: str) -> ResourceNotFound:
    return ResourceNotFound(f"Unable to describe Studio Lifecycle Config '{sagemaker_arn(scope, STUDIO_LIFECYCLE_CONFIG, name)}' because it does not exist")


class StudioLifecycleConfigService:
    def __init__(self, db: Database, clock: Clock, users_of: UsersOf | None = None):
        self._db = db
        self._clock = clock
        self._users_of = users_of or (lambda tx, arn: None)

    def create(self, scope: Scope, name: str, content: str, app_type: str, tags: list[dict] | None = None) -> str:
        decode_script(content)
        arn = sagemaker_arn(scope, STUDIO_LIFECYCLE_CONFIG, name)
        in_use = ResourceInUse(f"Studio Lifecycle Config {arn} already exists")
        now = self._clock.now_ms()
        values = dict(account_id=scope.account_id, region=scope.region, name=name, name_key=name.lower(),
                      app_type=app_type, content=content, created_ms=now, modified_ms=now)
        create_named(self._db, lambda tx: find_lifecycle_config(tx, scope, name), lambda tx: insert_lifecycle_config(tx, **values),
                     arn, tags, in_use)
        return arn

    def describe(self, scope: Scope, name: str):
        """The config as a row (its columns as attributes)."""
        return describe_named(self._db, lambda tx: find_lifecycle_config(tx, scope, name), lambda: lifecycle_config_not_found(scope, name))

    def delete(self, scope: Scope, name: str) -> None:
        with self._db.raw_write() as tx:
            config = find_lifecycle_config(tx, scope, name)
            if config is None:
                raise lifecycle_config_not_found(scope, name)
            arn = lifecycle_config_arn(config)
            holder = self._users_of(tx, arn)
            if holder is not None:
                raise ResourceInUse(f"Studio Lifecycle Config {arn} is in use by {holder}; detach it first")
            delete_tags_of(tx, [arn])
            delete_lifecycle_config(tx, config.id)

    def list(self, scope: Scope, query: ListQuery, app_type: str | None = None) -> Page:
        """A page of configs, as rows."""
        with self._db.raw_read() as tx:
            return LIFECYCLE_CONFIGS.page(tx, query, account_id=scope.account_id, region=scope.region, app_type=app_type)

    def exists(self, tx: Transaction, scope: Scope, name: str) -> bool:
        return find_lifecycle_config(tx, scope, name) is not None
