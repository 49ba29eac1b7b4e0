"""The Cloud Control API over byoi's SageMaker resources.

``cloudcontrol_service(services, db, clock)`` builds the request service,
registers its settler with ``services.settling`` and returns the
``JsonService`` (JSON 1.0, ``X-Amz-Target: CloudApiService.<Op>``) to mount.
"""

from __future__ import annotations

from byoi.aws.protocol import Handler, JsonService, RequestContext
from byoi.clock import Clock
from byoi.cloudcontrol.requests import CloudControlService
from byoi.cloudcontrol.resources import resource_types
from byoi.cloudcontrol.settler import RequestFollower, RequestSettler
from byoi.services.wiring import Services
from byoi.store.database import Database

DEFAULT_MAX_RESULTS = 20


def handlers(cc: CloudControlService) -> dict[str, Handler]:
    def create_resource(ctx: RequestContext, p: dict) -> dict:
        return {"ProgressEvent": cc.create(ctx.scope, p["TypeName"], p["DesiredState"], client_token(ctx, p))}

    def update_resource(ctx: RequestContext, p: dict) -> dict:
        event = cc.update(ctx.scope, p["TypeName"], p["Identifier"], p["PatchDocument"], client_token(ctx, p))
        return {"ProgressEvent": event}

    def delete_resource(ctx: RequestContext, p: dict) -> dict:
        return {"ProgressEvent": cc.delete(ctx.scope, p["TypeName"], p["Identifier"], client_token(ctx, p))}

    def get_resource(ctx: RequestContext, p: dict) -> dict:
        found = cc.get(ctx.scope, p["TypeName"], p["Identifier"])
        return {"TypeName": p["TypeName"], "ResourceDescription": {"Identifier": found.identifier, "Properties": found.properties}}

    def list_resources(ctx: RequestContext, p: dict) -> dict:
        found, token = cc.list(
            ctx.scope, p["TypeName"], p.get("ResourceModel"), p.get("MaxResults", DEFAULT_MAX_RESULTS), p.get("NextToken")
        )
        descriptions = [{"Identifier": d.identifier, "Properties": d.properties} for d in found]
        return {"TypeName": p["TypeName"], "ResourceDescriptions": descriptions, "NextToken": token}

    def get_resource_request_status(ctx: RequestContext, p: dict) -> dict:
        return {"ProgressEvent": cc.status(ctx.scope, p["RequestToken"])}

    def list_resource_requests(ctx: RequestContext, p: dict) -> dict:
        filters = p.get("ResourceRequestStatusFilter", {})
        events, token = cc.list_requests(
            ctx.scope,
            filters.get("Operations"),
            filters.get("OperationStatuses"),
            p.get("MaxResults", DEFAULT_MAX_RESULTS),
            p.get("NextToken"),
        )
        return {"ResourceRequestStatusSummaries": events, "NextToken": token}

    def cancel_resource_request(ctx: RequestContext, p: dict) -> dict:
        return {"ProgressEvent": cc.cancel(ctx.scope, p["RequestToken"])}

    return {
        "CreateResource": create_resource,
        "UpdateResource": update_resource,
        "DeleteResource": delete_resource,
        "GetResource": get_resource,
        "ListResources": list_resources,
        "GetResourceRequestStatus": get_resource_request_status,
        "ListResourceRequests": list_resource_requests,
        "CancelResourceRequest": cancel_resource_request,
    }


def client_token(ctx: RequestContext, p: dict) -> str:
    """The request's ClientToken; SDKs always send one, so a missing one is unique to this request."""
    return p.get("ClientToken") or ctx.request_id


def cloudcontrol_service(services: Services, db: Database, clock: Clock) -> JsonService:
    cc = CloudControlService(db, clock, services.settling, resource_types(services))
    settler = RequestSettler(db, clock, cc, services.settling.transition_seconds, services.settling.lease)
    services.settling.add(settler)
    services.settling.add(RequestFollower(settler), background_only=True)
    return JsonService(target_prefix="CloudApiService", model_name="cloudcontrol", handlers=handlers(cc))
