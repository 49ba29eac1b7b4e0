"""Handlers for Domain, UserProfile and Space operations."""

from __future__ import annotations

from byoi.aws.protocol import Handler, RequestContext
from byoi.sagemaker.list_query import list_query
from byoi.services.domains import domain_arn, home_file_system_id, member_arn
from byoi.services.wiring import Services

#: CreateDomain members kept verbatim as the domain's settings.
DOMAIN_MEMBERS = (
    "AuthMode", "DefaultUserSettings", "DomainSettings", "SubnetIds", "VpcId", "AppNetworkAccessType",
    "HomeEfsFileSystemKmsKeyId", "KmsKeyId", "AppSecurityGroupManagement", "HomeEfsFileSystemCreation",
    "TagPropagation", "DefaultSpaceSettings",
)
USER_MEMBERS = ("SingleSignOnUserIdentifier", "SingleSignOnUserValue", "UserSettings")
SPACE_MEMBERS = ("SpaceSettings", "OwnershipSettings", "SpaceSharingSettings", "SpaceDisplayName")


def pick(p: dict, names) -> dict:
    return {n: p[n] for n in names if n in p}


#: Writes that touch only the store (``JsonService.store_only``): domains, profiles
#: and spaces settle in the store; their home volumes are the apps' business.
STORE_ONLY = frozenset({
    f"{verb}{noun}" for verb in ("Create", "Update", "Delete") for noun in ("Domain", "UserProfile", "Space")
})


def handlers(services: Services) -> dict[str, Handler]:
    domains = services.domains

    # Domains, user profiles and spaces are rows (``byoi.store.domains``').

    def domain_summary(d) -> dict:
        return {
            "DomainArn": domain_arn(d),
            "DomainId": d.domain_id,
            "DomainName": d.name,
            "Status": d.status,
            "CreationTime": d.created_ms,
            "LastModifiedTime": d.modified_ms,
            "Url": domains.url(d),
        }

    def create_domain(ctx: RequestContext, p: dict) -> dict:
        d = domains.create(ctx.scope, p["DomainName"], pick(p, DOMAIN_MEMBERS), p.get("Tags"))
        return {"DomainArn": domain_arn(d), "DomainId": d.domain_id, "Url": domains.url(d)}

    def describe_domain(ctx: RequestContext, p: dict) -> dict:
        d = domains.describe(ctx.scope, p["DomainId"])
        return {**domain_summary(d), **d.settings, "FailureReason": d.failure_reason, "HomeEfsFileSystemId": home_file_system_id(d)}

    def update_domain(ctx: RequestContext, p: dict) -> dict:
        changes = {k: v for k, v in p.items() if k != "DomainId"}
        return {"DomainArn": domain_arn(domains.update(ctx.scope, p["DomainId"], changes))}

    def delete_domain(ctx: RequestContext, p: dict) -> None:
        domains.delete(ctx.scope, p["DomainId"])

    def list_domains(ctx: RequestContext, p: dict) -> dict:
        result = domains.list(ctx.scope, list_query(p, "CreationTime"))
        return {"Domains": [domain_summary(d) for d in result.items], "NextToken": result.next_token}

    def member_summary(m, name_key: str) -> dict:
        return {
            "DomainId": m.domain_id,
            name_key: m.name,
            "Status": m.status,
            "CreationTime": m.created_ms,
            "LastModifiedTime": m.modified_ms,
        }

    def space_summary(m, name_key: str) -> dict:
        """ListSpaces' SpaceDetails: the member summary with the space's settings summarised."""
        settings = m.settings
        summary = member_summary(m, name_key)
        if "SpaceDisplayName" in settings:
            summary["SpaceDisplayName"] = settings["SpaceDisplayName"]
        owner = (settings.get("OwnershipSettings") or {}).get("OwnerUserProfileName")
        if owner:
            summary["OwnershipSettingsSummary"] = {"OwnerUserProfileName": owner}
        sharing = (settings.get("SpaceSharingSettings") or {}).get("SharingType")
        if sharing:
            summary["SpaceSharingSettingsSummary"] = {"SharingType": sharing}
        space = settings.get("SpaceSettings") or {}
        brief = {k: space[k] for k in ("AppType", "RemoteAccess") if k in space}
        size = ((space.get("SpaceStorageSettings") or {}).get("EbsStorageSettings") or {}).get("EbsVolumeSizeInGb")
        if size is not None:
            brief["SpaceStorageSettings"] = {"EbsStorageSettings": {"EbsVolumeSizeInGb": size}}
        if brief:
            summary["SpaceSettingsSummary"] = brief
        return summary

    def member_handlers(kind: str, noun: str, members: tuple[str, ...]) -> dict[str, Handler]:
        name_key, arn_key = f"{noun}Name", f"{noun}Arn"
        plural = "UserProfiles" if kind == "user" else "Spaces"
        summary = member_summary if kind == "user" else space_summary

        def create(ctx: RequestContext, p: dict) -> dict:
            member = domains.create_member(ctx.scope, p["DomainId"], kind, p[name_key], pick(p, members), p.get("Tags"))
            return {arn_key: member_arn(member)}

        def describe(ctx: RequestContext, p: dict) -> dict:
            m = domains.describe_member(ctx.scope, p["DomainId"], kind, p[name_key])
            return {
                **member_summary(m, name_key),
                **m.settings,
                arn_key: member_arn(m),
                **({"Url": domains.space_url(m)} if kind == "space" else {}),
                "HomeEfsFileSystemUid": str(m.home_uid),
                "FailureReason": m.failure_reason,
            }

        def update(ctx: RequestContext, p: dict) -> dict:
            member = domains.update_member(ctx.scope, p["DomainId"], kind, p[name_key], pick(p, members))
            return {arn_key: member_arn(member)}

        def delete(ctx: RequestContext, p: dict) -> None:
            domains.delete_member(ctx.scope, p["DomainId"], kind, p[name_key])

        def list_members(ctx: RequestContext, p: dict) -> dict:
            query = list_query(p, "CreationTime", default_order="Ascending")
            query.name_contains = p.get(f"{noun}NameContains")
            result = domains.list_members(ctx.scope, kind, p.get("DomainIdEquals"), query)
            return {plural: [summary(m, name_key) for m in result.items], "NextToken": result.next_token}

        return {
            f"Create{noun}": create,
            f"Describe{noun}": describe,
            f"Update{noun}": update,
            f"Delete{noun}": delete,
            f"List{plural}": list_members,
        }

    return {
        "CreateDomain": create_domain,
        "DescribeDomain": describe_domain,
        "UpdateDomain": update_domain,
        "DeleteDomain": delete_domain,
        "ListDomains": list_domains,
        **member_handlers("user", "UserProfile", USER_MEMBERS),
        **member_handlers("space", "Space", SPACE_MEMBERS),
    }
