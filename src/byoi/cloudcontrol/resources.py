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
* ``list(scope, filter_model, max_results, next_token)`` returns one ``Page``
  of (identifier, model) pairs, oldest first: it reads one keyset page of rows
  through the SageMaker service's own List (``byoi.store.listing``) and builds
  models for that page only. ``list_requires`` names the ResourceModel
  properties a child type's ListResources needs (its parent's identifier),
  ``list_filters`` those it may narrow the list with.

Identifiers are the schema's primary identifier: one property's value, or the
values of a compound identifier joined with ``|`` in the schema's order
(``ResourceSchema.identifier_of``).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from byoi.aws.arns import IMAGE, IMAGE_VERSION, app_arn, parse_sagemaker_arn, sagemaker_arn
from byoi.aws.errors import ResourceNotFound
from byoi.aws.model import operation_model
from byoi.aws.pagination import Page
from byoi.aws.protocol import Scope
from byoi.aws.validate import parse_input
from byoi.cloudcontrol.schema import ResourceSchema
from byoi.sagemaker.studio import DOMAIN_MEMBERS, SPACE_MEMBERS, USER_MEMBERS, pick
from byoi.services.app_image_configs import config_arn, modes_given
from byoi.services.domains import domain_arn, home_file_system_id, member_arn
from byoi.services.image_versions import METADATA_FIELDS, arns_of
from byoi.services.images import image_arn
from byoi.services.studio_lifecycle_configs import lifecycle_config_arn
from byoi.services.wiring import Services
from byoi.store.listing import ListQuery
from byoi.vocabulary import CONFIG_COLUMNS, AppStatus, ImageStatus, StudioStatus


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


def oldest_first(sort_by: str, max_results: int, next_token: str | None) -> ListQuery:
    """The ListQuery of one ListResources page: creation order, oldest first (a keyset page)."""
    return ListQuery(sort_by=sort_by, ascending=True, max_results=max_results, next_token=next_token)


def state_of(resource_status: str | None, failure_reason: str | None = None) -> State:
    if resource_status is None:
        return State(Readiness.GONE)
    if resource_status == ImageStatus.CREATED:
        return State(Readiness.READY)
    if resource_status.endswith("_FAILED"):
        return State(Readiness.FAILED, failure_reason or f"resource is {resource_status}")
    return State(Readiness.SETTLING)


#: Domain, user profile, space and app states that are on their way somewhere.
STUDIO_SETTLING = (StudioStatus.Pending, StudioStatus.Updating, StudioStatus.Deleting, AppStatus.Deleting)
STUDIO_FAILED = (StudioStatus.Failed, StudioStatus.Update_Failed, StudioStatus.Delete_Failed)


def studio_state(status: str | None, failure_reason: str | None = None) -> State:
    """Readiness of a domain, user profile, space or app from its Status (None or Deleted: gone)."""
    if status is None or status == AppStatus.Deleted:
        return State(Readiness.GONE)
    if status in STUDIO_FAILED:
        return State(Readiness.FAILED, failure_reason or f"resource is {status}")
    if status in STUDIO_SETTLING:
        return State(Readiness.SETTLING)
    return State(Readiness.READY)


def changed_members(previous: dict, desired: dict, members) -> dict:
    """The ``members`` whose desired value is given and differs from the previous one.

    A member the desired model leaves out is left as it is: the Update
    operations have no way to remove one (docs/aws-behaviour.md)."""
    return {m: desired[m] for m in members if m in desired and desired[m] != previous.get(m)}


class TaggedResource:
    """Shared tag handling for the types whose schema has ``Tags``."""

    list_requires: tuple[str, ...] = ()
    list_filters: tuple[str, ...] = ()

    def __init__(self, services: Services):
        self.services = services

    def tags_of(self, arn: str) -> list[dict]:
        return [{"Key": t.key, "Value": t.value} for t in self.services.tags.list(arn, 50, None).items]

    def add_tags(self, model: dict, arn: str) -> None:
        """``model`` with ``arn``'s tags as its ``Tags``, when it has any."""
        tags = self.tags_of(arn)
        if tags:
            model["Tags"] = tags

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


class RowResource(TaggedResource):
    """A type whose resource is one row, found by its identifier: ``read`` and ``state`` come from
    ``_find`` (the row, or None once it is gone), ``_model`` (the row as a resource model) and
    ``_state`` (how ready a row that exists is: by its Status, as Studio's resources settle)."""

    def _find(self, scope: Scope, identifier: str):
        raise NotImplementedError

    def _model(self, row) -> dict:
        raise NotImplementedError

    def _state(self, row) -> State:
        return studio_state(row.status, row.failure_reason)

    def read(self, scope: Scope, identifier: str) -> dict | None:
        row = self._find(scope, identifier)
        return None if row is None else self._model(row)

    def state(self, scope: Scope, identifier: str) -> State:
        row = self._find(scope, identifier)
        return State(Readiness.GONE) if row is None else self._state(row)


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
        self.add_tags(model, arn)
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

    def list(self, scope: Scope, filter_model: dict, max_results: int, next_token: str | None) -> Page:
        page = self.services.images.list(scope, oldest_first("CREATION_TIME", max_results, next_token))
        return Page([(image_arn(i), self._model(i)) for i in page.items], page.next_token)


class ImageVersionResource:
    schema = ResourceSchema.load("AWS::SageMaker::ImageVersion")
    list_requires = ("ImageName",)
    list_filters = ()

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

    def list(self, scope: Scope, filter_model: dict, max_results: int, next_token: str | None) -> Page:
        query = oldest_first("CREATION_TIME", max_results, next_token)
        try:
            page = self.services.image_versions.list(scope, filter_model["ImageName"], query)
        except ResourceNotFound:
            return Page([], None)  # no such image: no versions
        models = [self._model(v) for v in page.items]
        return Page([(model["ImageVersionArn"], model) for model in models], page.next_token)


class AppImageConfigResource(RowResource):
    schema = ResourceSchema.load("AWS::SageMaker::AppImageConfig")

    def planned_identifier(self, scope: Scope, model: dict) -> str | None:
        name = model.get("AppImageConfigName")
        return name if isinstance(name, str) else None

    def create(self, scope: Scope, model: dict, token: str) -> str:
        params = {"AppImageConfigName": model.get("AppImageConfigName"), "Tags": model.get("Tags")}
        p = sagemaker_params("CreateAppImageConfig", {**params, **{m: model.get(m) for m in CONFIG_COLUMNS}})
        self.services.app_image_configs.create(scope, p["AppImageConfigName"], modes_given(p), p.get("Tags"))
        return p["AppImageConfigName"]

    def _find(self, scope: Scope, identifier: str):
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
        self.add_tags(model, arn)
        return model

    def _state(self, config) -> State:
        return State(Readiness.READY)

    def update(self, scope: Scope, identifier: str, previous: dict, desired: dict) -> None:
        if any(desired.get(m) != previous.get(m) for m in CONFIG_COLUMNS):
            p = sagemaker_params(
                "UpdateAppImageConfig", {"AppImageConfigName": identifier, **{m: desired.get(m) for m in CONFIG_COLUMNS}}
            )
            self.services.app_image_configs.update(scope, identifier, modes_given(p))
        self.sync_tags(previous["AppImageConfigArn"], previous.get("Tags"), desired.get("Tags"))

    def delete(self, scope: Scope, identifier: str) -> None:
        self.services.app_image_configs.delete(scope, identifier)

    def list(self, scope: Scope, filter_model: dict, max_results: int, next_token: str | None) -> Page:
        page = self.services.app_image_configs.list(scope, oldest_first("CreationTime", max_results, next_token))
        return Page([(c.name, self._model(c)) for c in page.items], page.next_token)


def _strings(model: dict, names) -> bool:
    return all(isinstance(model.get(n), str) and model[n] for n in names)


class StudioLifecycleConfigResource(RowResource):
    schema = ResourceSchema.load("AWS::SageMaker::StudioLifecycleConfig")
    MEMBERS = ("StudioLifecycleConfigName", "StudioLifecycleConfigContent", "StudioLifecycleConfigAppType", "Tags")

    def planned_identifier(self, scope: Scope, model: dict) -> str | None:
        return model["StudioLifecycleConfigName"] if _strings(model, ("StudioLifecycleConfigName",)) else None

    def create(self, scope: Scope, model: dict, token: str) -> str:
        p = sagemaker_params("CreateStudioLifecycleConfig", {m: model.get(m) for m in self.MEMBERS})
        self.services.studio_lifecycle_configs.create(
            scope,
            p["StudioLifecycleConfigName"],
            p["StudioLifecycleConfigContent"],
            p["StudioLifecycleConfigAppType"],
            p.get("Tags"),
        )
        return p["StudioLifecycleConfigName"]

    def _find(self, scope: Scope, identifier: str):
        try:
            return self.services.studio_lifecycle_configs.describe(scope, identifier)
        except ResourceNotFound:
            return None

    def _model(self, config) -> dict:
        arn = lifecycle_config_arn(config)
        model = {
            "StudioLifecycleConfigArn": arn,
            "StudioLifecycleConfigName": config.name,
            "StudioLifecycleConfigAppType": config.app_type,
            "StudioLifecycleConfigContent": config.content,
        }
        self.add_tags(model, arn)
        return model

    def _state(self, config) -> State:
        return State(Readiness.READY)

    def update(self, scope: Scope, identifier: str, previous: dict, desired: dict) -> None:
        """Nothing to do: every property is create-only or read-only (patches to them are refused)."""

    def delete(self, scope: Scope, identifier: str) -> None:
        self.services.studio_lifecycle_configs.delete(scope, identifier)

    def list(self, scope: Scope, filter_model: dict, max_results: int, next_token: str | None) -> Page:
        page = self.services.studio_lifecycle_configs.list(scope, oldest_first("CreationTime", max_results, next_token))
        return Page([(c.name, self._model(c)) for c in page.items], page.next_token)


class DomainResource(RowResource):
    schema = ResourceSchema.load("AWS::SageMaker::Domain")
    #: Properties UpdateDomain takes under the same name (DomainSettings goes as DomainSettingsForUpdate).
    UPDATABLE = (
        "DefaultUserSettings",
        "DefaultSpaceSettings",
        "AppSecurityGroupManagement",
        "SubnetIds",
        "AppNetworkAccessType",
        "TagPropagation",
        "VpcId",
    )
    #: DomainSettings members -> their DomainSettingsForUpdate members (a test checks it covers the schema's).
    SETTINGS_FOR_UPDATE = {
        **{m: m for m in operation_model("sagemaker", "UpdateDomain").input_shape.members["DomainSettingsForUpdate"].members},
        "RStudioServerProDomainSettings": "RStudioServerProDomainSettingsForUpdate",
    }

    def planned_identifier(self, scope: Scope, model: dict) -> str | None:
        return None  # the domain id is chosen when the domain is created

    def create(self, scope: Scope, model: dict, token: str) -> str:
        p = sagemaker_params(
            "CreateDomain", {**pick(model, DOMAIN_MEMBERS), "DomainName": model.get("DomainName"), "Tags": model.get("Tags")}
        )
        return self.services.domains.create(scope, p["DomainName"], pick(p, DOMAIN_MEMBERS), p.get("Tags")).domain_id

    def _find(self, scope: Scope, identifier: str):
        try:
            return self.services.domains.describe(scope, identifier)
        except ResourceNotFound:
            return None

    def _model(self, domain) -> dict:
        arn = domain_arn(domain)
        model = {
            **domain.settings,
            "DomainArn": arn,
            "DomainId": domain.domain_id,
            "DomainName": domain.name,
            "Url": self.services.domains.url(domain),
            "HomeEfsFileSystemId": home_file_system_id(domain),
        }
        self.add_tags(model, arn)
        return self.schema.project(model)


    def update(self, scope: Scope, identifier: str, previous: dict, desired: dict) -> None:
        changes = changed_members(previous, desired, self.UPDATABLE)
        settings, before = desired.get("DomainSettings"), previous.get("DomainSettings") or {}
        if settings is not None and settings != before:
            # (every member the schema's DomainSettings has, DomainSettingsForUpdate has too)
            changed = {k: v for k, v in settings.items() if v != before.get(k)}
            changes["DomainSettingsForUpdate"] = {self.SETTINGS_FOR_UPDATE[k]: v for k, v in changed.items()}
        if changes:
            p = sagemaker_params("UpdateDomain", {"DomainId": identifier, **changes})
            self.services.domains.update(scope, identifier, {k: v for k, v in p.items() if k != "DomainId"})
        self.sync_tags(previous["DomainArn"], previous.get("Tags"), desired.get("Tags"))

    def delete(self, scope: Scope, identifier: str) -> None:
        self.services.domains.delete(scope, identifier)

    def list(self, scope: Scope, filter_model: dict, max_results: int, next_token: str | None) -> Page:
        page = self.services.domains.list(scope, oldest_first("CreationTime", max_results, next_token))
        return Page([(d.domain_id, self._model(d)) for d in page.items], page.next_token)


class MemberResource(RowResource):
    """User profiles and spaces: a domain's members, identified by their domain and name."""

    kind: str  # "user" or "space"
    noun: str  # "UserProfile" or "Space"
    members: tuple[str, ...]  # their Create operation's members kept as settings
    updatable: tuple[str, ...]  # their Update operation's members
    list_requires = ("DomainId",)

    def planned_identifier(self, scope: Scope, model: dict) -> str | None:
        names = self.schema.identifier_properties
        return self.schema.identifier_of(model) if _strings(model, names) else None

    def create(self, scope: Scope, model: dict, token: str) -> str:
        name_key = f"{self.noun}Name"
        params = {"DomainId": model.get("DomainId"), name_key: model.get(name_key), "Tags": model.get("Tags")}
        p = sagemaker_params(f"Create{self.noun}", {**params, **pick(model, self.members)})
        member = self.services.domains.create_member(
            scope, p["DomainId"], self.kind, p[name_key], pick(p, self.members), p.get("Tags")
        )
        return self.schema.identifier_of({"DomainId": member.domain_id, name_key: member.name})

    def _key(self, identifier: str) -> tuple[str, str] | None:
        values = self.schema.identifier_values(identifier)
        return None if values is None else (values["DomainId"], values[f"{self.noun}Name"])

    def _find(self, scope: Scope, identifier: str):
        key = self._key(identifier)
        if key is None:
            return None
        try:
            return self.services.domains.describe_member(scope, key[0], self.kind, key[1])
        except ResourceNotFound:
            return None

    def _model(self, member) -> dict:
        arn = member_arn(member)
        model = {**member.settings, "DomainId": member.domain_id, f"{self.noun}Name": member.name, f"{self.noun}Arn": arn}
        if self.kind == "space":
            model["Url"] = self.services.domains.space_url(member)
        if "Tags" not in self.schema.write_only:
            self.add_tags(model, arn)
        return self.schema.project(model)


    def update(self, scope: Scope, identifier: str, previous: dict, desired: dict) -> None:
        domain_id, name = self._key(identifier)
        changes = changed_members(previous, desired, self.updatable)
        if changes:
            p = sagemaker_params(f"Update{self.noun}", {"DomainId": domain_id, f"{self.noun}Name": name, **changes})
            self.services.domains.update_member(scope, domain_id, self.kind, name, pick(p, self.updatable))
        self.sync_tags(previous[f"{self.noun}Arn"], previous.get("Tags"), desired.get("Tags"))

    def delete(self, scope: Scope, identifier: str) -> None:
        domain_id, name = self._key(identifier)
        self.services.domains.delete_member(scope, domain_id, self.kind, name)

    def list(self, scope: Scope, filter_model: dict, max_results: int, next_token: str | None) -> Page:
        query = oldest_first("CreationTime", max_results, next_token)
        page = self.services.domains.list_members(scope, self.kind, filter_model["DomainId"], query)
        models = [self._model(m) for m in page.items]
        return Page([(self.schema.identifier_of(m), m) for m in models], page.next_token)


class UserProfileResource(MemberResource):
    schema = ResourceSchema.load("AWS::SageMaker::UserProfile")
    kind, noun, members, updatable = "user", "UserProfile", USER_MEMBERS, ("UserSettings",)


class SpaceResource(MemberResource):
    schema = ResourceSchema.load("AWS::SageMaker::Space")
    kind, noun, members, updatable = "space", "Space", SPACE_MEMBERS, ("SpaceSettings", "SpaceDisplayName")


class AppResource(RowResource):
    """Apps of user profiles (the CloudFormation type has no SpaceName: spaces' apps are not its)."""

    schema = ResourceSchema.load("AWS::SageMaker::App")
    list_requires = ("DomainId",)
    list_filters = ("UserProfileName",)
    MEMBERS = ("DomainId", "UserProfileName", "AppType", "AppName", "ResourceSpec", "RecoveryMode", "Tags")

    def planned_identifier(self, scope: Scope, model: dict) -> str | None:
        names = self.schema.identifier_properties
        return self.schema.identifier_of(model) if _strings(model, names) else None

    def create(self, scope: Scope, model: dict, token: str) -> str:
        p = sagemaker_params("CreateApp", {m: model.get(m) for m in self.MEMBERS})
        app = self.services.apps.create(
            scope, p["DomainId"], p["UserProfileName"], None, p["AppType"], p["AppName"], p.get("ResourceSpec"), p.get("Tags")
        )
        return self.schema.identifier_of(self._names(app))

    @staticmethod
    def _names(app) -> dict:
        return {"AppName": app.name, "AppType": app.app_type, "DomainId": app.domain_id, "UserProfileName": app.owner_name}

    def _find(self, scope: Scope, identifier: str):
        values = self.schema.identifier_values(identifier)
        if values is None:
            return None
        try:
            app = self.services.apps.describe(
                scope, values["DomainId"], values["UserProfileName"], None, values["AppType"], values["AppName"]
            )
        except ResourceNotFound:
            return None
        return None if app.status == AppStatus.Deleted else app

    def _model(self, app) -> dict:
        arn = app_arn(app)
        model = {**self._names(app), "AppArn": arn, "ResourceSpec": app.resource_spec}
        self.add_tags(model, arn)
        return self.schema.project(model)


    def update(self, scope: Scope, identifier: str, previous: dict, desired: dict) -> None:
        """Only Tags change (RecoveryMode passes the schema and has no effect: byoi has no recovery mode)."""
        self.sync_tags(previous["AppArn"], previous.get("Tags"), desired.get("Tags"))

    def delete(self, scope: Scope, identifier: str) -> None:
        values = self.schema.identifier_values(identifier)
        self.services.apps.delete(
            scope, values["DomainId"], values["UserProfileName"], None, values["AppType"], values["AppName"]
        )

    def list(self, scope: Scope, filter_model: dict, max_results: int, next_token: str | None) -> Page:
        query = oldest_first("CreationTime", max_results, next_token)
        page = self.services.apps.list(
            scope, query, filter_model["DomainId"], filter_model.get("UserProfileName"), None, owner_kind="user", live_only=True
        )
        return Page([(self.schema.identifier_of(self._names(a)), self._model(a)) for a in page.items], page.next_token)


def resource_types(services: Services) -> dict:
    """Type name -> handler, for every type byoi serves through Cloud Control."""
    handlers = (
        ImageResource(services),
        ImageVersionResource(services),
        AppImageConfigResource(services),
        StudioLifecycleConfigResource(services),
        DomainResource(services),
        UserProfileResource(services),
        SpaceResource(services),
        AppResource(services),
    )
    return {h.schema.type_name: h for h in handlers}
