"""Handlers for Studio lifecycle configuration operations."""

from __future__ import annotations

from byoi.aws.protocol import Handler, RequestContext
from byoi.sagemaker.list_query import list_query
from byoi.services.studio_lifecycle_configs import lifecycle_config_arn
from byoi.services.wiring import Services


def lifecycle_config_summary(config) -> dict:
    """The members DescribeStudioLifecycleConfig and ListStudioLifecycleConfigs share."""
    return {
        "StudioLifecycleConfigArn": lifecycle_config_arn(config),
        "StudioLifecycleConfigName": config.name,
        "CreationTime": config.created_ms,
        "LastModifiedTime": config.modified_ms,
        "StudioLifecycleConfigAppType": config.app_type,
    }


#: Writes that touch only the store (``JsonService.store_only``).
STORE_ONLY = frozenset({"CreateStudioLifecycleConfig", "DeleteStudioLifecycleConfig"})


def handlers(services: Services) -> dict[str, Handler]:
    configs = services.studio_lifecycle_configs

    def create(ctx: RequestContext, p: dict) -> dict:
        arn = configs.create(
            ctx.scope, p["StudioLifecycleConfigName"], p["StudioLifecycleConfigContent"],
            p["StudioLifecycleConfigAppType"], p.get("Tags"),
        )
        return {"StudioLifecycleConfigArn": arn}

    def describe(ctx: RequestContext, p: dict) -> dict:
        config = configs.describe(ctx.scope, p["StudioLifecycleConfigName"])
        return {**lifecycle_config_summary(config), "StudioLifecycleConfigContent": config.content}

    def delete(ctx: RequestContext, p: dict) -> None:
        configs.delete(ctx.scope, p["StudioLifecycleConfigName"])

    def list_configs(ctx: RequestContext, p: dict) -> dict:
        result = configs.list(ctx.scope, list_query(p, "CreationTime", modified="ModifiedTime"), p.get("AppTypeEquals"))
        return {"StudioLifecycleConfigs": [lifecycle_config_summary(c) for c in result.items], "NextToken": result.next_token}

    return {
        "CreateStudioLifecycleConfig": create,
        "DescribeStudioLifecycleConfig": describe,
        "DeleteStudioLifecycleConfig": delete,
        "ListStudioLifecycleConfigs": list_configs,
    }
