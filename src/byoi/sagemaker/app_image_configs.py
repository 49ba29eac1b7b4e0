"""Handlers for AppImageConfig operations."""

from __future__ import annotations

from byoi.aws.protocol import Handler, RequestContext
from byoi.sagemaker.list_query import list_query
from byoi.services.app_image_configs import config_arn, modes_given
from byoi.services.wiring import Services
from byoi.store.models import AppImageConfig
from byoi.vocabulary import CONFIG_COLUMNS


def config_details(config: AppImageConfig) -> dict:
    """The members DescribeAppImageConfig and ListAppImageConfigs share."""
    return {
        "AppImageConfigArn": config_arn(config),
        "AppImageConfigName": config.name,
        "CreationTime": config.created_ms,
        "LastModifiedTime": config.modified_ms,
        **{member: getattr(config, column) for member, column in CONFIG_COLUMNS.items()},
    }


#: Writes that touch only the store (``JsonService.store_only``).
STORE_ONLY = frozenset({"CreateAppImageConfig", "UpdateAppImageConfig", "DeleteAppImageConfig"})


def handlers(services: Services) -> dict[str, Handler]:
    configs = services.app_image_configs

    def create(ctx: RequestContext, p: dict) -> dict:
        arn = configs.create(ctx.scope, p["AppImageConfigName"], modes_given(p), p.get("Tags"))
        return {"AppImageConfigArn": arn}

    def describe(ctx: RequestContext, p: dict) -> dict:
        return config_details(configs.describe(ctx.scope, p["AppImageConfigName"]))

    def update(ctx: RequestContext, p: dict) -> dict:
        return {"AppImageConfigArn": configs.update(ctx.scope, p["AppImageConfigName"], modes_given(p))}

    def delete(ctx: RequestContext, p: dict) -> None:
        configs.delete(ctx.scope, p["AppImageConfigName"])

    def list_configs(ctx: RequestContext, p: dict) -> dict:
        result = configs.list(ctx.scope, list_query(p, "CreationTime", modified="ModifiedTime"))
        return {"AppImageConfigs": [config_details(c) for c in result.items], "NextToken": result.next_token}

    return {
        "CreateAppImageConfig": create,
        "DescribeAppImageConfig": describe,
        "UpdateAppImageConfig": update,
        "DeleteAppImageConfig": delete,
        "ListAppImageConfigs": list_configs,
    }
