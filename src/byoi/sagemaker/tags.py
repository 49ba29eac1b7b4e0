"""Handlers for AddTags, ListTags and DeleteTags."""

from __future__ import annotations

from byoi.aws.protocol import Handler, RequestContext
from byoi.services.wiring import Services

#: Writes that touch only the store (``JsonService.store_only``).
STORE_ONLY = frozenset({"AddTags", "DeleteTags"})


def handlers(services: Services) -> dict[str, Handler]:
    tags = services.tags

    def add_tags(ctx: RequestContext, p: dict) -> dict:
        return {"Tags": tags.add(p["ResourceArn"], p["Tags"])}

    def list_tags(ctx: RequestContext, p: dict) -> dict:
        result = tags.list(p["ResourceArn"], p.get("MaxResults"), p.get("NextToken"))
        return {"Tags": [{"Key": t.key, "Value": t.value} for t in result.items], "NextToken": result.next_token}

    def delete_tags(ctx: RequestContext, p: dict) -> None:
        tags.delete(p["ResourceArn"], p["TagKeys"])

    return {"AddTags": add_tags, "ListTags": list_tags, "DeleteTags": delete_tags}
