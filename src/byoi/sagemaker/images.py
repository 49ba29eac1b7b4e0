"""Handlers for Image, ImageVersion and alias operations."""

from __future__ import annotations

from byoi.aws.protocol import Handler, RequestContext
from byoi.sagemaker.list_query import list_query
from byoi.services.image_versions import METADATA_FIELDS, arns_of
from byoi.services.images import image_arn
from byoi.services.wiring import Services


def image_summary(image) -> dict:
    """The members DescribeImage and ListImages share (``image``: a row of the images table)."""
    return {
        "CreationTime": image.created_ms,
        "Description": image.description,
        "DisplayName": image.display_name,
        "FailureReason": image.failure_reason,
        "ImageArn": image_arn(image),
        "ImageName": image.name,
        "ImageStatus": image.status,
        "LastModifiedTime": image.modified_ms,
    }


def version_summary(version) -> dict:
    """The members DescribeImageVersion and ListImageVersions share (``version``: a version row, with ``image_name``)."""
    image_arn_, version_arn_ = arns_of(version)
    return {
        "CreationTime": version.created_ms,
        "FailureReason": version.failure_reason,
        "ImageArn": image_arn_,
        "ImageVersionArn": version_arn_,
        "ImageVersionStatus": version.status,
        "LastModifiedTime": version.modified_ms,
        "Version": version.version,
    }


def version_metadata(params: dict) -> dict:
    return {member: params.get(member) for member in METADATA_FIELDS}


#: None: image writes settle image versions, whose BaseImage is resolved in Docker.
STORE_ONLY: frozenset[str] = frozenset()


def handlers(services: Services) -> dict[str, Handler]:
    images, versions = services.images, services.image_versions

    def create_image(ctx: RequestContext, p: dict) -> dict:
        arn = images.create(
            ctx.scope, p["ImageName"], p["RoleArn"], p.get("DisplayName"), p.get("Description"), p.get("Tags")
        )
        return {"ImageArn": arn}

    def describe_image(ctx: RequestContext, p: dict) -> dict:
        image = images.describe(ctx.scope, p["ImageName"])
        return {**image_summary(image), "RoleArn": image.role_arn}

    def update_image(ctx: RequestContext, p: dict) -> dict:
        arn = images.update(
            ctx.scope,
            p["ImageName"],
            p.get("DeleteProperties"),
            p.get("DisplayName"),
            p.get("Description"),
            p.get("RoleArn"),
        )
        return {"ImageArn": arn}

    def delete_image(ctx: RequestContext, p: dict) -> None:
        images.delete(ctx.scope, p["ImageName"])

    def list_images(ctx: RequestContext, p: dict) -> dict:
        result = images.list(ctx.scope, list_query(p, "CREATION_TIME"))
        return {"Images": [image_summary(i) for i in result.items], "NextToken": result.next_token}

    def create_image_version(ctx: RequestContext, p: dict) -> dict:
        arn = versions.create(
            ctx.scope, p["ImageName"], p["BaseImage"], p["ClientToken"], p.get("Aliases"), version_metadata(p)
        )
        return {"ImageVersionArn": arn}

    def describe_image_version(ctx: RequestContext, p: dict) -> dict:
        view = versions.describe(ctx.scope, p["ImageName"], p.get("Version"), p.get("Alias"))
        v = view.version
        return {
            **version_summary(v),
            "BaseImage": v.base_image,
            "ContainerImage": v.container_image,
            **{member: getattr(v, column) for member, column in METADATA_FIELDS.items()},
        }

    def update_image_version(ctx: RequestContext, p: dict) -> dict:
        arn = versions.update(
            ctx.scope,
            p["ImageName"],
            p.get("Version"),
            p.get("Alias"),
            p.get("AliasesToAdd"),
            p.get("AliasesToDelete"),
            version_metadata(p),
        )
        return {"ImageVersionArn": arn}

    def delete_image_version(ctx: RequestContext, p: dict) -> None:
        versions.delete(ctx.scope, p["ImageName"], p.get("Version"), p.get("Alias"))

    def list_image_versions(ctx: RequestContext, p: dict) -> dict:
        result = versions.list(ctx.scope, p["ImageName"], list_query(p, "CREATION_TIME"))
        return {"ImageVersions": [version_summary(v) for v in result.items], "NextToken": result.next_token}

    def list_aliases(ctx: RequestContext, p: dict) -> dict:
        result = versions.list_aliases(
            ctx.scope, p["ImageName"], p.get("Alias"), p.get("Version"), p.get("MaxResults", 10), p.get("NextToken")
        )
        return {"SageMakerImageVersionAliases": result.items, "NextToken": result.next_token}

    return {
        "CreateImage": create_image,
        "DescribeImage": describe_image,
        "UpdateImage": update_image,
        "DeleteImage": delete_image,
        "ListImages": list_images,
        "CreateImageVersion": create_image_version,
        "DescribeImageVersion": describe_image_version,
        "UpdateImageVersion": update_image_version,
        "DeleteImageVersion": delete_image_version,
        "ListImageVersions": list_image_versions,
        "ListAliases": list_aliases,
    }
