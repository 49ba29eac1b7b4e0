"""Studio's rules over an owner's settings: which custom images and lifecycle configurations
its apps may run and when they idle out, where a user lands, how large a space is and whose
files a home holds; how updates merge settings. Pure functions of the settings documents (a domain's
and a user profile's or space's ``settings``), used by the services (CreateApp) and the
runtime (idle shutdown) alike.
"""

from __future__ import annotations

from byoi.vocabulary import CUSTOM_IMAGE_APPS, DEFAULT_SPACE_EBS_GIB, LIFECYCLE_SETTINGS, MAX_SPACE_EBS_GIB, SPACE_APPS


def settings_chain(domain_settings: dict, member) -> list[dict]:
    """The owner's settings first, then the domain's defaults for that kind of owner.

    ``member`` is the owner (a row with its ``kind`` and ``settings``), ``domain_settings``
    its domain's ``settings``."""
    if member.kind == "user":
        return [member.settings.get("UserSettings") or {}, domain_settings.get("DefaultUserSettings") or {}]
    return [
        member.settings.get("SpaceSettings") or {},
        domain_settings.get("DefaultSpaceSettings") or {},
        domain_settings.get("DefaultUserSettings") or {},
    ]


def attached_images(app_type: str, chain: list[dict]) -> list[dict]:
    """The CustomImages an owner's apps of ``app_type`` may run: those of the first level of
    ``chain`` (``settings_chain``) that attaches any."""
    key = CUSTOM_IMAGE_APPS[app_type].settings
    return next(((level.get(key) or {})["CustomImages"] for level in chain if (level.get(key) or {}).get("CustomImages")), [])


def attached_lifecycle_configs(app_type: str, chain: list[dict]) -> list[str]:
    """The lifecycle configurations (ARNs) an owner's apps of ``app_type`` may run: those every
    level of ``chain`` attaches (a domain's apply to its user profiles and spaces, as Studio's do)."""
    key = LIFECYCLE_SETTINGS.get(app_type)
    arns: list[str] = []
    for level in chain if key else []:
        for arn in (level.get(key) or {}).get("LifecycleConfigArns") or []:
            if arn not in arns:
                arns.append(arn)
    return arns


def default_lifecycle_config(app_type: str, chain: list[dict]) -> str | None:
    """The lifecycle configuration an app of ``app_type`` runs when CreateApp names none: the
    ``DefaultResourceSpec.LifecycleConfigArn`` of the first level of ``chain`` that sets one."""
    key = LIFECYCLE_SETTINGS.get(app_type)
    specs = (((level.get(key) or {}).get("DefaultResourceSpec") or {}) for level in chain) if key else ()
    return next((spec["LifecycleConfigArn"] for spec in specs if spec.get("LifecycleConfigArn")), None)


def named_lifecycle_configs(settings: dict) -> list[tuple[str, str, str]]:
    """(app type, ARN, where) for each lifecycle configuration one settings document (a
    UserSettings, SpaceSettings, DefaultUserSettings or DefaultSpaceSettings) names."""
    named = []
    for app_type, key in LIFECYCLE_SETTINGS.items():
        member = settings.get(key) or {}
        for arn in member.get("LifecycleConfigArns") or []:
            named.append((app_type, arn, f"{key}.LifecycleConfigArns"))
        default = (member.get("DefaultResourceSpec") or {}).get("LifecycleConfigArn")
        if default:
            named.append((app_type, default, f"{key}.DefaultResourceSpec.LifecycleConfigArn"))
    return named


def idle_timeout_minutes(app_type: str, chain: list[dict]) -> int | None:
    """How long a JupyterLab or Code Editor app may stay idle before Studio shuts it down, from
    ``AppLifecycleManagement.IdleSettings`` of the app type's settings along ``chain``
    (``settings_chain``: the owner's first, then the domain's defaults); None: never.

    Each field is taken from the first level that sets it. Idle shutdown applies when
    LifecycleManagement is ENABLED; IdleTimeoutInMinutes (a space's own, or a user's, or the
    domain's) is then kept within MinIdleTimeoutInMinutes and MaxIdleTimeoutInMinutes."""
    if app_type not in SPACE_APPS:  # the app types whose settings have AppLifecycleManagement
        return None
    key = SPACE_APPS[app_type].settings
    levels = [((level.get(key) or {}).get("AppLifecycleManagement") or {}).get("IdleSettings") or {} for level in chain]

    def first(field: str):
        return next((level[field] for level in levels if level.get(field) is not None), None)

    timeout = first("IdleTimeoutInMinutes")
    if first("LifecycleManagement") != "ENABLED" or timeout is None:
        return None
    low, high = first("MinIdleTimeoutInMinutes"), first("MaxIdleTimeoutInMinutes")
    if low is not None:
        timeout = max(timeout, low)
    if high is not None:
        timeout = min(timeout, high)
    return timeout


def merged(stored: dict, given: dict) -> dict:
    """``stored`` settings updated with ``given`` as UpdateDomain, UpdateUserProfile and
    UpdateSpace do: a structure given merges into the stored one member by member (members
    left out keep their values), a list or a value given replaces the stored one."""
    result = dict(stored)
    for key, value in given.items():
        if isinstance(value, dict) and isinstance(result.get(key), dict):
            result[key] = merged(result[key], value)
        else:
            result[key] = value
    return result


def value_at(document, *path: str):
    """The value at ``path`` in a JSON ``document`` (None where any step is missing)."""
    for key in path:
        document = document.get(key) if isinstance(document, dict) else None
    return document


def first_set(levels: list[dict], *path: str):
    """The value at ``path`` in the first of ``levels`` that sets it, else None."""
    return next((value for value in (value_at(level, *path) for level in levels) if value is not None), None)


def web_portal(user_levels: list[dict]) -> dict:
    """The Studio web portal settings that apply to a user, from their UserSettings and the
    domain's DefaultUserSettings (``user_levels``, the user's first): ``StudioWebPortal``
    (ENABLED unless set), ``DefaultLandingUri`` (None unless set), and the
    ``StudioWebPortalSettings`` lists (``HiddenAppTypes``, ``HiddenInstanceTypes``, ...), each
    from the first level that sets it, as a user's settings take priority over the domain's."""
    portal = {
        "StudioWebPortal": first_set(user_levels, "StudioWebPortal") or "ENABLED",
        "DefaultLandingUri": first_set(user_levels, "DefaultLandingUri"),
    }
    for key in ("HiddenAppTypes", "HiddenInstanceTypes", "HiddenMlTools", "HiddenSageMakerImageVersionAliases"):
        portal[key] = first_set(user_levels, "StudioWebPortalSettings", key) or []
    return portal


def landing_refusal(levels: list[dict]) -> str | None:
    """Why a user's settings (``levels``, the user's first) cannot stand, or None:
    ``DefaultLandingUri`` ``studio::`` needs ``StudioWebPortal`` ENABLED (the model's rule)."""
    portal = web_portal(levels)
    landing = portal["DefaultLandingUri"]
    if landing is not None and landing.startswith("studio::") and portal["StudioWebPortal"] != "ENABLED":
        return "DefaultLandingUri studio:: can only be passed if StudioWebPortal is set to ENABLED"
    if landing is not None and not (landing.startswith("studio::") or landing.startswith("app:")):
        return f"DefaultLandingUri {landing!r} must be studio::<path> or app:<AppType>:<path>"
    return None


def space_owner_name(settings: dict) -> str | None:
    """The user profile that owns a space (its ``settings``' OwnershipSettings), or None."""
    return value_at(settings, "OwnershipSettings", "OwnerUserProfileName")


def space_storage_levels(domain_settings: dict, owner_settings: dict | None) -> list[dict]:
    """Where a space's storage default and maximum come from, first to last (``space_storage``'s
    ``levels``): its owner's UserSettings (``owner_settings``: the owner's settings; None
    without an owner), the domain's DefaultSpaceSettings and DefaultUserSettings."""
    return [
        (owner_settings or {}).get("UserSettings") or {},
        domain_settings.get("DefaultSpaceSettings") or {},
        domain_settings.get("DefaultUserSettings") or {},
    ]


def space_storage(levels: list[dict]) -> tuple[int, int]:
    """(default, maximum) EBS volume size in GiB of a space, from the
    ``SpaceStorageSettings.DefaultEbsStorageSettings`` of ``levels`` (the space's owner's
    UserSettings, then the domain's DefaultSpaceSettings and DefaultUserSettings), each from the
    first level that sets it; Studio's 5 GiB and the model's 16384 GiB otherwise."""
    path = ("SpaceStorageSettings", "DefaultEbsStorageSettings")
    default = first_set(levels, *path, "DefaultEbsVolumeSizeInGb")
    maximum = first_set(levels, *path, "MaximumEbsVolumeSizeInGb") or MAX_SPACE_EBS_GIB
    return (default if default is not None else min(DEFAULT_SPACE_EBS_GIB, maximum)), maximum


def space_size_gib(space_settings: dict) -> int | None:
    """The EBS volume size a space's settings give (``SpaceStorageSettings.EbsStorageSettings``)."""
    return value_at(space_settings, "SpaceStorageSettings", "EbsStorageSettings", "EbsVolumeSizeInGb")


def space_home_gib(space_settings: dict, levels: list[dict]) -> int:
    """The size of a space's home in GiB: its own EBS volume size, else the default of ``levels``
    (as ``space_storage`` reads them)."""
    size = space_size_gib(space_settings)
    return size if size is not None else space_storage(levels)[0]


def storage_refusal(levels: list[dict]) -> str | None:
    """Why a settings document's own ``DefaultEbsStorageSettings`` cannot stand, or None."""
    for level in levels:
        own = (level.get("SpaceStorageSettings") or {}).get("DefaultEbsStorageSettings") or {}
        if own and own["DefaultEbsVolumeSizeInGb"] > own["MaximumEbsVolumeSizeInGb"]:
            return (
                f"DefaultEbsVolumeSizeInGb ({own['DefaultEbsVolumeSizeInGb']}) cannot be larger than "
                f"MaximumEbsVolumeSizeInGb ({own['MaximumEbsVolumeSizeInGb']})"
            )
    return None


def posix_user(chain: list[dict]) -> tuple[int, int] | None:
    """(Uid, Gid) of the ``CustomPosixUserConfig`` along ``chain`` (``settings_chain``: a user's
    UserSettings and the domain's DefaultUserSettings; a space's, the domain's
    DefaultSpaceSettings then DefaultUserSettings), from the first level that sets one."""
    config = first_set(chain, "CustomPosixUserConfig")
    return (int(config["Uid"]), int(config["Gid"])) if config else None
