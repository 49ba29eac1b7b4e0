"""Handlers for CreateApp, DescribeApp, DeleteApp and ListApps."""

from __future__ import annotations

from byoi.aws.arns import app_arn
from byoi.aws.protocol import Handler, RequestContext
from byoi.sagemaker.list_query import list_query
from byoi.services.wiring import Services


def app_details(app) -> dict:
    """ListApps' AppDetails of ``app`` (a row of ``byoi.store.apps``)."""
    owner = {"UserProfileName": app.owner_name} if app.owner_kind == "user" else {"SpaceName": app.owner_name}
    return {
        "DomainId": app.domain_id,
        **owner,
        "AppType": app.app_type,
        "AppName": app.name,
        "Status": app.status,
        "CreationTime": app.created_ms,
        "ResourceSpec": app.resource_spec,
    }


#: Writes that touch only the store (``JsonService.store_only``): containers are
#: started and removed by the background settler, never inside the call.
STORE_ONLY = frozenset({"CreateApp", "DeleteApp"})


def handlers(services: Services) -> dict[str, Handler]:
    apps = services.apps

    def owner(p: dict) -> tuple:
        return p["DomainId"], p.get("UserProfileName"), p.get("SpaceName"), p["AppType"], p["AppName"]

    def create_app(ctx: RequestContext, p: dict) -> dict:
        app = apps.create(ctx.scope, *owner(p), p.get("ResourceSpec"), p.get("Tags"))
        return {"AppArn": app_arn(app)}

    def describe_app(ctx: RequestContext, p: dict) -> dict:
        app = apps.describe(ctx.scope, *owner(p))
        return {
            **app_details(app),
            "AppArn": app_arn(app),
            "FailureReason": app.failure_reason,
            "LastHealthCheckTimestamp": app.last_health_ms,
            "LastUserActivityTimestamp": app.last_activity_ms,
        }

    def delete_app(ctx: RequestContext, p: dict) -> None:
        apps.delete(ctx.scope, *owner(p))

    def list_apps(ctx: RequestContext, p: dict) -> dict:
        result = apps.list(ctx.scope, list_query(p, "CreationTime", default_order="Ascending"), p.get("DomainIdEquals"), p.get("UserProfileNameEquals"), p.get("SpaceNameEquals"))
        return {"Apps": [app_details(a) for a in result.items], "NextToken": result.next_token}

    return {"CreateApp": create_app, "DescribeApp": describe_app, "DeleteApp": delete_app, "ListApps": list_apps}
