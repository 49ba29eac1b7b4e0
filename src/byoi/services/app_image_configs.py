"""AppImageConfigs: how Studio runs an image as a KernelGateway, JupyterLab or Code Editor app.

Rules (see docs/aws-behaviour.md):
* Create needs exactly one of the three modes (``KernelGatewayImageConfig``,
  ``JupyterLabAppImageConfig``, ``CodeEditorAppImageConfig``).
* A ``FileSystemConfig`` that is given is completed with the documented
  defaults: MountPath ``/home/sagemaker-user``, DefaultUid 1000, DefaultGid 100.
  One that is not given stays absent.
* Update takes at most one mode; the mode given replaces the stored
  configuration (and clears any other mode). With none given, only
  LastModifiedTime changes.
"""

from __future__ import annotations

import copy

from byoi.aws.arns import APP_IMAGE_CONFIG, sagemaker_arn
from byoi.aws.errors import ResourceInUse, ResourceNotFound, ValidationException
from byoi.aws.pagination import Page
from byoi.aws.protocol import Scope
from byoi.clock import Clock
from byoi.services.named_resources import create_named, describe_named
from byoi.store.app_image_configs import CONFIG_BY_NAME, CONFIGS, delete_config, insert_config, update_config
from byoi.store.database import Database
from byoi.store.listing import ListQuery
from byoi.store.raw import Transaction
from byoi.store.tags import delete_tags_of
from byoi.vocabulary import CONFIG_COLUMNS, DEFAULT_FILE_SYSTEM


def config_arn(config) -> str:
    """The ARN of ``config`` (a row or object of the app_image_configs table)."""
    return sagemaker_arn(Scope(config.account_id, config.region), APP_IMAGE_CONFIG, config.name)


def find_config(source: Transaction, scope: Scope, name: str):
    """Config ``name`` as a row (its columns as attributes), or None."""
    return CONFIG_BY_NAME.row(source, account_id=scope.account_id, region=scope.region, name_key=name.lower())


def get_config(tx: Transaction, scope: Scope, name: str):
    """Config ``name`` as a row, or ResourceNotFound in AWS's words."""
    config = find_config(tx, scope, name)
    if config is None:
        raise config_not_found(scope, name)
    return config


def config_not_found(scope: Scope, name: str) -> ResourceNotFound:
    return ResourceNotFound(f"AppImageConfig with ARN {sagemaker_arn(scope, APP_IMAGE_CONFIG, name)} does not exist")


def with_defaults(mode_config: dict) -> dict:
    """A mode's configuration with a given FileSystemConfig completed by the defaults."""
    result = copy.deepcopy(mode_config)
    if "FileSystemConfig" in result:
        result["FileSystemConfig"] = {**DEFAULT_FILE_SYSTEM, **result["FileSystemConfig"]}
    return result


def modes_given(params: dict) -> dict[str, dict]:
    return {member: params[member] for member in CONFIG_COLUMNS if params.get(member) is not None}


class AppImageConfigService:
    def __init__(self, db: Database, clock: Clock):
        self._db = db
        self._clock = clock

    def create(self, scope: Scope, name: str, modes: dict[str, dict], tags: list[dict] | None = None) -> str:
        if len(modes) != 1:
            raise ValidationException(
                "Exactly one of KernelGatewayImageConfig, JupyterLabAppImageConfig or CodeEditorAppImageConfig "
                f"must be specified; got {len(modes)}"
            )
        arn = sagemaker_arn(scope, APP_IMAGE_CONFIG, name)
        in_use = ResourceInUse(f"AppImageConfig with ARN {arn} already exists")
        now = self._clock.now_ms()
        values = {
            "account_id": scope.account_id, "region": scope.region, "name": name, "name_key": name.lower(),
            "created_ms": now, "modified_ms": now,
            **{column: with_defaults(modes[member]) if member in modes else None for member, column in CONFIG_COLUMNS.items()},
        }
        create_named(self._db, lambda tx: find_config(tx, scope, name), lambda tx: insert_config(tx, **values), arn, tags, in_use)
        return arn

    def describe(self, scope: Scope, name: str):
        """The config as a row (its columns as attributes)."""
        return describe_named(self._db, lambda tx: find_config(tx, scope, name), lambda: config_not_found(scope, name))

    def update(self, scope: Scope, name: str, modes: dict[str, dict]) -> str:
        if len(modes) > 1:
            raise ValidationException(
                "At most one of KernelGatewayImageConfig, JupyterLabAppImageConfig or CodeEditorAppImageConfig "
                f"may be specified; got {len(modes)}"
            )
        values: dict = {"modified_ms": self._clock.now_ms()}
        if modes:
            values.update({column: with_defaults(modes[m]) if m in modes else None for m, column in CONFIG_COLUMNS.items()})
        with self._db.raw_write() as tx:
            config = get_config(tx, scope, name)
            update_config(tx, config.id, **values)
            return config_arn(config)

    def delete(self, scope: Scope, name: str) -> None:
        with self._db.raw_write() as tx:
            config = get_config(tx, scope, name)
            delete_tags_of(tx, [config_arn(config)])
            delete_config(tx, config.id)

    def list(self, scope: Scope, query: ListQuery) -> Page:
        """A page of configs, as rows (their columns as attributes)."""
        with self._db.raw_read() as tx:
            return CONFIGS.page(tx, query, account_id=scope.account_id, region=scope.region)
