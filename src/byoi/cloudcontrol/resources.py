"""The resource types Cloud Control serves, each mapped onto byoi's SageMaker services.

A handler turns CloudFormation resource models (``ImageRoleArn``,
``ImageDisplayName``, ...) into the same service calls the SageMaker API makes,
so a resource made through one API is the same resource in the other. Every
call's parameters first pass the SageMaker API's own validator, so Cloud Control
can never store what the SageMaker API would refuse.

Handler contract:
* ``planned_identifier(scope, model)``: the identifier a create will produce
  when it is known in advance (used to refuse concurrent operations), else None;
* ``create`` returns the new identifier; ``update`` gets the current and the
  desired model; ``delete`` starts deletion; all raise ``AwsError``s;
* ``read`` returns the model (write-only properties omitted) or None;
* ``state`` says whether the resource is ready, still settling, failed or gone;
* ``list`` returns (identifier, model) pairs.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from byoi.aws.arns import IMAGE, IMAGE_VERSION, parse_sagemaker_arn, sagemaker_arn
from byoi.aws.errors import ResourceNotFound
from byoi.aws.model import operation_model
from byoi.aws.protocol import Scope
from byoi.aws.validate import parse_input
from byoi.cloudcontrol.schema import ResourceSchema
from byoi.services.app_image_configs import config_arn, modes_given
from byoi.services.image_versions import METADATA_FIELDS, arns_of
from byoi.services.images import image_arn
from byoi.services.wiring import Services
from byoi.vocabulary import CONFIG_COLUMNS, ImageStatus


class Readiness(Enum):
    READY = "ready"
    SETTLING = "settling"
    FAILED = "failed"
    GONE = "gone"


@dataclass
class State:
    readiness: Readiness
    reason: str | None = None


def sagemaker_params(operation: str, params: dict) -> dict:
    """``params`` (None values dropped) validated as the SageMaker API validates them."""
    present = {k: v for k, v in params.items() if v is not None}
    return parse_input(operation_model("sagemaker", operation).input_shape, present)


def state_of(resource_status: str | None, failure_reason: str | None = None) -> State:
    if resource_status is None:
        return State(Readiness.GONE)
    if resource_status == ImageStatus.CREATED:
        return State(Readiness.READY)
    if resource_status.endswith("_FAILED"):
        return State(Readiness.FAILED, failure_reason or f"resource is {resource_status}")
    return State(Readiness.SETTLING)


class TaggedResource:
    """Shared tag handling for the types whose schema has ``Tags``."""

    def __init__(self, services: Services):
        self.services = services

    def tags_of(self, arn: str) -> list[dict]:
        return [{"Key": t.key, "Value": t.value} for t in self.services.tags.list(arn, 50, None).items]

    def sync_tags(self, arn: str, previous: list[dict] | None, desired: list[dict] | None) -> None:
        old = {t["Key"]: t["Value"] for t in previous or []}
        new = {t["Key"]: t["Value"] for t in desired or []}
        gone = [k for k in old if k not in new]
        if gone:
            self.services.tags.delete(arn, gone)
        changed = [{"Key": k, "Value": v} for k, v in new.items() if old.get(k) != v]
        if changed:
            params = sagemaker_params("AddTags", {"ResourceArn": arn, "Tags": changed})
            self.services.tags.add(arn, params["Tags"])


class ImageResource(TaggedResource):
    schema = ResourceSchema.load("AWS::SageMaker::Image")
    #: CloudFormation property -> UpdateImage member.
    FIELDS = {"ImageRoleArn": "RoleArn", "ImageDisplayName": "DisplayName", "ImageDescription": "Description"}

    def planned_identifier(self, scope: Scope, model: dict) -> str | None:
        name = model.get("ImageName")
        return sagemaker_arn(scope, IMAGE, name) if isinstance(name, str) else None

    def create(self, scope: Scope, model: dict, token: str) -> str:
        p = sagemaker_params(
            "CreateImage",
            {
                "ImageName": model.get("ImageName"),
                "RoleArn": model.get("ImageRoleArn"),
                "DisplayName": model.get("ImageDisplayName"),
                "Description": model.get("ImageDescription"),
                "Tags": model.get("Tags"),
            },
        )
        return self.services.images.create(
            scope, p["ImageName"], p["RoleArn"], p.get("DisplayName"), p.get("Description"), p.get("Tags")
        )

    def _name(self, scope: Scope, identifier: str) -> str | None:
        parsed = parse_sagemaker_arn(identifier)
        if parsed is None or parsed.resource_type != IMAGE or parsed.scope != scope or len(parsed.path) != 1:
            return None
        return parsed.path[0]

    def _image(self, scope: Scope, identifier: str):
        name = self._name(scope, identifier)
        if name is None:
            return None
        try:
            return self.services.images.describe(scope, name)
        except ResourceNotFound:
            return None

    def read(self, scope: Scope, identifier: str) -> dict | None:
        image = self._image(scope, identifier)
        return None if image is None else self._model(image)

    def _model(self, image) -> dict:
        arn = image_arn(image)
        model = {"ImageArn": arn, "ImageName": image.name, "ImageRoleArn": image.role_arn}
        if image.display_name is not None:
            model["ImageDisplayName"] = image.display_name
        if image.description is not None:
            model["ImageDescription"] = image.description
        tags = self.tags_of(arn)
        if tags:
            model["Tags"] = tags
        return model

    def state(self, scope: Scope, identifier: str) -> State:
        image = self._image(scope, identifier)
        return state_of(image and image.status, image and image.failure_reason)

    def update(self, scope: Scope, identifier: str, previous: dict, desired: dict) -> None:
        name = self._name(scope, identifier)
        changes, deleted = {}, []
        for prop, member in self.FIELDS.items():
            if desired.get(prop) != previous.get(prop):
                if desired.get(prop) is None:
                    deleted.append(member)
                else:
                    changes[member] = desired[prop]
        if changes or deleted:
            p = sagemaker_params("UpdateImage", {"ImageName": name, "DeleteProperties": deleted or None, **changes})
            self.services.images.update(
                scope, name, p.get("DeleteProperties"), p.get("DisplayName"), p.get("Description"), p.get("RoleArn")
            )
        self.sync_tags(identifier, previous.get("Tags"), desired.get("Tags"))

    def delete(self, scope: Scope, identifier: str) -> None:
        self.services.images.delete(scope, self._name(scope, identifier))

    def list(self, scope: Scope, filter_model: dict) -> list[tuple[str, dict]]:
        return [(image_arn(i), self._model(i)) for i in self.services.images.all(scope)]


class ImageVersionResource:
    schema = ResourceSchema.load("AWS::SageMaker::ImageVersion")

    def __init__(self, services: Services):
        self.services = services

    def planned_identifier(self, scope: Scope, model: dict) -> str | None:
        return None  # the version number is chosen when the version is created

    def create(self, scope: Scope, model: dict, token: str) -> str:
        aliases = model.get("Aliases") or ([model["Alias"]] if model.get("Alias") else None)
        p = sagemaker_params(
            "CreateImageVersion",
            {
                "ImageName": model.get("ImageName"),
                "BaseImage": model.get("BaseImage"),
                "ClientToken": token,
                "Aliases": aliases,
                **{member: model.get(member) for member in METADATA_FIELDS},
            },
        )
        return self.services.image_versions.create(
            scope, p["ImageName"], p["BaseImage"], p["ClientToken"], p.get("Aliases"), {m: p.get(m) for m in METADATA_FIELDS}
        )

    def _key(self, scope: Scope, identifier: str) -> tuple[str, int] | None:
        parsed = parse_sagemaker_arn(identifier)
        if (
            parsed is None
            or parsed.resource_type != IMAGE_VERSION
            or parsed.scope != scope
            or len(parsed.path) != 2
            or not parsed.path[1].isdigit()
        ):
            return None
        return parsed.path[0], int(parsed.path[1])

    def _view(self, scope: Scope, identifier: str):
        key = self._key(scope, identifier)
        if key is None:
            return None
        try:
            return self.services.image_versions.describe(scope, key[0], key[1], None)
        except ResourceNotFound:
            return None

    @staticmethod
    def _model(version) -> dict:
        image_arn_, version_arn_ = arns_of(version)
        model = {
            "ImageArn": image_arn_,
            "ImageVersionArn": version_arn_,
            "ImageName": version.image_name,
            "BaseImage": version.base_image,
            "Version": version.version,
        }
        if version.container_image is not None:
            model["ContainerImage"] = version.container_image
        for member, column in METADATA_FIELDS.items():
            if getattr(version, column) is not None:
                model[member] = getattr(version, column)
        return model

    def read(self, scope: Scope, identifier: str) -> dict | None:
        view = self._view(scope, identifier)
        return None if view is None else self._model(view.version)

    def state(self, scope: Scope, identifier: str) -> State:
        view = self._view(scope, identifier)
        return state_of(view and view.version.status, view and view.version.failure_reason)

    def update(self, scope: Scope, identifier: str, previous: dict, desired: dict) -> None:
        name, number = self._key(scope, identifier)
        current = set(self.services.image_versions.describe(scope, name, number, None).aliases)
        # Aliases are write-only: a desired model without them leaves them as they are.
        wanted = set(desired["Aliases"]) if "Aliases" in desired else current
        metadata = {m: desired.get(m) for m in METADATA_FIELDS if desired.get(m) != previous.get(m)}
        to_add, to_delete = sorted(wanted - current), sorted(current - wanted)
        if not (to_add or to_delete or metadata):
            return
        p = sagemaker_params(
            "UpdateImageVersion",
            {
                "ImageName": name,
                "Version": number,
                "AliasesToAdd": to_add or None,
                "AliasesToDelete": to_delete or None,
                **metadata,
            },
        )
        self.services.image_versions.update(
            scope, name, number, None, p.get("AliasesToAdd"), p.get("AliasesToDelete"), {m: p.get(m) for m in METADATA_FIELDS}
        )

    def delete(self, scope: Scope, identifier: str) -> None:
        name, number = self._key(scope, identifier)
        self.services.image_versions.delete(scope, name, number, None)

    def list(self, scope: Scope, filter_model: dict) -> list[tuple[str, dict]]:
        models = [self._model(v) for v in self.services.image_versions.all(scope, filter_model.get("ImageName"))]
        return [(model["ImageVersionArn"], model) for model in models]


class AppImageConfigResource(TaggedResource):
    schema = ResourceSchema.load("AWS::SageMaker::AppImageConfig")

    def planned_identifier(self, scope: Scope, model: dict) -> str | None:
        name = model.get("AppImageConfigName")
        return name if isinstance(name, str) else None

    def create(self, scope: Scope, model: dict, token: str) -> str:
        params = {"AppImageConfigName": model.get("AppImageConfigName"), "Tags": model.get("Tags")}
        p = sagemaker_params("CreateAppImageConfig", {**params, **{m: model.get(m) for m in CONFIG_COLUMNS}})
        self.services.app_image_configs.create(scope, p["AppImageConfigName"], modes_given(p), p.get("Tags"))
        return p["AppImageConfigName"]

    def _config(self, scope: Scope, identifier: str):
        try:
            return self.services.app_image_configs.describe(scope, identifier)
        except ResourceNotFound:
            return None

    def _model(self, config) -> dict:
        arn = config_arn(config)
        model = {"AppImageConfigArn": arn, "AppImageConfigName": config.name}
        for member, column in CONFIG_COLUMNS.items():
            if getattr(config, column) is not None:
                model[member] = getattr(config, column)
        tags = self.tags_of(arn)
        if tags:
            model["Tags"] = tags
        return model

    def read(self, scope: Scope, identifier: str) -> dict | None:
        config = self._config(scope, identifier)
        return None if config is None else self._model(config)

    def state(self, scope: Scope, identifier: str) -> State:
        return State(Readiness.READY if self._config(scope, identifier) else Readiness.GONE)

    def update(self, scope: Scope, identifier: str, previous: dict, desired: dict) -> None:
        if any(desired.get(m) != previous.get(m) for m in CONFIG_COLUMNS):
            p = sagemaker_params(
                "UpdateAppImageConfig", {"AppImageConfigName": identifier, **{m: desired.get(m) for m in CONFIG_COLUMNS}}
            )
            self.services.app_image_configs.update(scope, identifier, modes_given(p))
        self.sync_tags(previous["AppImageConfigArn"], previous.get("Tags"), desired.get("Tags"))

    def delete(self, scope: Scope, identifier: str) -> None:
        self.services.app_image_configs.delete(scope, identifier)

    def list(self, scope: Scope, filter_model: dict) -> list[tuple[str, dict]]:
        return [(c.name, self._model(c)) for c in self.services.app_image_configs.all(scope)]


def resource_types(services: Services) -> dict:
    """Type name -> handler, for every type byoi serves through Cloud Control."""
    handlers = (ImageResource(services), ImageVersionResource(services), AppImageConfigResource(services))
    return {h.schema.type_name: h for h in handlers}
