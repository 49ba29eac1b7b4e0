"""Studio's rules over an owner's settings: which custom images and lifecycle configurations
its apps may run and when they idle out. Pure functions of the settings documents (a domain's
and a user profile's or space's ``settings``), used by the services (CreateApp) and the
runtime (idle shutdown) alike.
"""

from __future__ import annotations

from byoi.vocabulary import CUSTOM_IMAGE_APPS, LIFECYCLE_SETTINGS, SPACE_APPS


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
