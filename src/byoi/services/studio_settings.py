"""What the settings of a domain, user profile or space must hold, as AWS checks them when one
is created or updated, and the values Studio derives from them.

* Every ``CustomImages`` entry names an existing Image (and version, if given) and
  AppImageConfig, and every lifecycle configuration exists and is for the app type whose
  settings name it (``check_settings``).
* ``DefaultLandingUri`` ``studio::`` needs ``StudioWebPortal`` ENABLED (``check_portal``).
* A space's EBS volume size lies within the ``MaximumEbsVolumeSizeInGb`` that applies to it
  and never shrinks (``space_settings``).
* UpdateDomain refuses, while the domain has apps in InService, Pending or Deleting, the
  changes the model says need none (``domain_update_refusal``).
"""

from __future__ import annotations

from byoi.app_settings import (
    landing_refusal,
    named_lifecycle_configs,
    space_size_gib,
    space_storage,
    storage_refusal,
    value_at,
)
from byoi.aws.arns import STUDIO_LIFECYCLE_CONFIG, parse_sagemaker_arn
from byoi.aws.errors import ValidationException
from byoi.aws.protocol import Scope
from byoi.services.app_image_configs import find_config
from byoi.services.images import find_image, has_version
from byoi.services.studio_lifecycle_configs import find_lifecycle_config
from byoi.store.raw import Transaction
from byoi.vocabulary import CUSTOM_IMAGE_APPS

APP_SETTINGS = tuple(kind.settings for kind in CUSTOM_IMAGE_APPS.values())


def check_settings(source: Transaction, scope: Scope, settings: dict | None, where: str) -> None:
    """What ``settings`` names exists: each CustomImages entry's image (version) and config, and each
    lifecycle configuration, for the app type whose settings name it."""
    tx = Transaction.of(source)
    for app_type, arn, path in named_lifecycle_configs(settings or {}):
        parsed = parse_sagemaker_arn(arn)
        config = None
        if (
            parsed is not None
            and parsed.resource_type == STUDIO_LIFECYCLE_CONFIG
            and len(parsed.path) == 1
            and parsed.scope == scope
        ):
            config = find_lifecycle_config(tx, scope, parsed.path[0])
        if config is None:
            raise ValidationException(f"{where}.{path}: Studio Lifecycle Config {arn} does not exist")
        if config.app_type != app_type:
            raise ValidationException(
                f"{where}.{path}: Studio Lifecycle Config {arn} is for {config.app_type} apps, not {app_type}"
            )
    for app_settings in APP_SETTINGS:
        for i, custom in enumerate(((settings or {}).get(app_settings) or {}).get("CustomImages") or [], 1):
            path = f"{where}.{app_settings}.CustomImages.{i}"
            image = find_image(tx, scope, custom["ImageName"])
            if image is None:
                raise ValidationException(f"{path}: Image {custom['ImageName']} does not exist")
            number = custom.get("ImageVersionNumber")
            if number is not None and not has_version(tx, image.id, number):
                raise ValidationException(f"{path}: Image {custom['ImageName']} has no version {number}")
            if find_config(tx, scope, custom["AppImageConfigName"]) is None:
                raise ValidationException(f"{path}: AppImageConfig {custom['AppImageConfigName']} does not exist")


def check_portal(levels: list[dict], where: str) -> None:
    """``levels`` (a user's settings first, then the domain's DefaultUserSettings) agree on
    where the user lands: ValidationException otherwise."""
    reason = landing_refusal(levels) or storage_refusal(levels[:1])
    if reason:
        raise ValidationException(f"{where}: {reason}")


def space_settings(settings: dict, levels: list[dict], previous: dict | None = None) -> dict:
    """A space's ``settings`` (its CreateSpace or merged UpdateSpace members) with its EBS volume
    size checked against the limits of ``levels`` (its owner's UserSettings, the domain's
    DefaultSpaceSettings and DefaultUserSettings). ``previous``: the space's settings before an
    update (a size never shrinks)."""
    size = space_size_gib(settings.get("SpaceSettings") or {})
    if size is None:
        return settings
    maximum = space_storage(levels)[1]
    where = "SpaceSettings.SpaceStorageSettings.EbsStorageSettings.EbsVolumeSizeInGb"
    if size > maximum:
        raise ValidationException(
            f"{where} ({size}) cannot be larger than MaximumEbsVolumeSizeInGb ({maximum}) that applies to the space"
        )
    before = space_size_gib((previous or {}).get("SpaceSettings") or {})
    if before is not None and size < before:
        raise ValidationException(
            f"{where} ({size}) cannot be smaller than the space's current size ({before}): an EBS volume only grows"
        )
    return settings


def domain_update_refusal(stored: dict, changes: dict) -> str | None:
    """The member of ``changes`` (UpdateDomain's) that cannot change while the domain has live
    apps, or None: a new AppNetworkAccessType, SubnetIds that drop a subnet, or a new
    DomainSettings.ExecutionRoleIdentityConfig."""
    if "AppNetworkAccessType" in changes and changes["AppNetworkAccessType"] != stored.get(
        "AppNetworkAccessType", "PublicInternetOnly"
    ):
        return "AppNetworkAccessType"
    if "SubnetIds" in changes and set(stored.get("SubnetIds") or []) - set(changes["SubnetIds"]):
        return "SubnetIds (removing subnets)"
    identity = value_at(changes, "DomainSettingsForUpdate", "ExecutionRoleIdentityConfig")
    if identity is not None and identity != (value_at(stored, "DomainSettings", "ExecutionRoleIdentityConfig") or "DISABLED"):
        return "DomainSettingsForUpdate.ExecutionRoleIdentityConfig"
    return None
