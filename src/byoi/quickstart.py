"""``byoi quickstart IMAGE``: from a local JupyterLab or Code Editor image to a browser tab in
one command.

Against a running byoi (``--endpoint-url``), through the SageMaker API as any client would:
the image and a version of it, an AppImageConfig for the app type, a domain that attaches the
image for that app type (``quickstart``, made once and reused), a user profile, a Private
space of that user's, and the space's app; then a presigned URL that opens the app on the
space's own origin. Each step is skipped when already done, so it can be run again
(for another image, user or space) and reports what it does as it goes.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable

from byoi.vocabulary import SPACE_APPS

ROLE = "arn:aws:iam::123456789012:role/byoi-quickstart"
DOMAIN = "quickstart"
#: Where a presigned URL lands in each app type a space runs (tests/test_vocabulary.py checks
#: that these are SPACE_APPS), and the space it runs in unless told.
LANDING = {"JupyterLab": "lab", "CodeEditor": ""}
DEFAULT_SPACE = {"JupyterLab": "my-space", "CodeEditor": "my-editor"}


class QuickstartError(Exception):
    """A step failed; the message says which and why."""


def image_name(tag: str) -> str:
    """A SageMaker image name from a Docker tag: ``registry/my_lab:1`` -> ``my-lab``."""
    base = tag.rsplit("/", 1)[-1].split("@", 1)[0].split(":", 1)[0]
    name = re.sub(r"[^a-zA-Z0-9]+", "-", base).strip("-")[:63]
    return name or "image"


def _wait(what: str, state: Callable[[], tuple[str, str | None]], done: set[str], timeout: float) -> None:
    """Polls ``state()`` (status, failure reason or None) until the status is one of ``done``;
    raises QuickstartError on a failure reason or after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        status, reason = state()
        if status in done:
            return
        if reason is not None:
            raise QuickstartError(f"{what} failed: {reason}")
        if time.monotonic() > deadline:
            raise QuickstartError(f"{what} is still {status} after {timeout:.0f} s")
        time.sleep(1)


def quickstart(sm, tag: str, user: str, space: str | None, say: Callable[[str], None], timeout: float = 600,
               app_type: str = "JupyterLab") -> str:
    """Runs ``tag`` as the ``app_type`` app (JupyterLab or CodeEditor) of ``user``'s space
    ``space`` (None: ``DEFAULT_SPACE``); the presigned URL."""
    if app_type not in LANDING:
        raise QuickstartError(f"a space runs {' or '.join(LANDING)} apps, not {app_type}")
    space = space or DEFAULT_SPACE[app_type]
    errors = sm.exceptions
    name = image_name(tag)
    config = f"{name}-{app_type.lower()}"
    members = {"config": SPACE_APPS[app_type].config, "settings": SPACE_APPS[app_type].settings}

    try:
        sm.describe_image(ImageName=name)
    except errors.ResourceNotFound:
        say(f"creating image {name}")
        sm.create_image(ImageName=name, RoleArn=ROLE)
    versions = sm.list_image_versions(ImageName=name, SortBy="VERSION", SortOrder="DESCENDING")["ImageVersions"]
    if not versions or sm.describe_image_version(ImageName=name)["BaseImage"] != tag:
        say(f"creating a version of {name} from {tag}")
        sm.create_image_version(ImageName=name, BaseImage=tag)

    def version() -> tuple[str, str | None]:
        described = sm.describe_image_version(ImageName=name)
        status = described["ImageVersionStatus"]
        return status, described.get("FailureReason") if status.endswith("FAILED") else None

    _wait(f"image version of {name}", version, {"CREATED"}, timeout)

    try:
        sm.describe_app_image_config(AppImageConfigName=config)
    except errors.ResourceNotFound:
        say(f"creating AppImageConfig {config}")
        sm.create_app_image_config(AppImageConfigName=config, **{members["config"]: {}})

    domain = next((d for d in sm.list_domains()["Domains"] if d["DomainName"] == DOMAIN), None)
    attached = {"ImageName": name, "AppImageConfigName": config}
    if domain is None:
        say(f"creating domain {DOMAIN}")
        domain_id = sm.create_domain(
            DomainName=DOMAIN, AuthMode="IAM", SubnetIds=["subnet-byoi"], VpcId="vpc-byoi",
            DefaultUserSettings={"ExecutionRole": ROLE, members["settings"]: {"CustomImages": [attached]}},
        )["DomainId"]
    else:
        domain_id = domain["DomainId"]
        settings = sm.describe_domain(DomainId=domain_id)["DefaultUserSettings"]
        app_settings = settings.setdefault(members["settings"], {})
        if attached not in app_settings.get("CustomImages", []):
            say(f"attaching {name} to domain {DOMAIN} for {app_type} apps")
            app_settings["CustomImages"] = [c for c in app_settings.get("CustomImages", []) if c["ImageName"] != name] + [attached]
            sm.update_domain(DomainId=domain_id, DefaultUserSettings=settings)

    try:
        sm.describe_user_profile(DomainId=domain_id, UserProfileName=user)
    except errors.ResourceNotFound:
        say(f"creating user profile {user}")
        sm.create_user_profile(DomainId=domain_id, UserProfileName=user)
    try:
        existing = sm.describe_space(DomainId=domain_id, SpaceName=space)
    except errors.ResourceNotFound:
        say(f"creating space {space}, private to {user}")
        sm.create_space(DomainId=domain_id, SpaceName=space, OwnershipSettings={"OwnerUserProfileName": user},
                        SpaceSharingSettings={"SharingType": "Private"}, SpaceSettings={"AppType": app_type})
    else:
        theirs = (existing.get("SpaceSettings") or {}).get("AppType")
        if theirs and theirs != app_type:
            raise QuickstartError(f"space {space} is a {theirs} space; name another with --space")

    key = {"DomainId": domain_id, "SpaceName": space, "AppType": app_type, "AppName": "default"}

    def app() -> dict:
        try:
            return sm.describe_app(**key)
        except errors.ResourceNotFound:
            return {"Status": "Deleted"}

    def app_state(reason_counts: bool = False) -> tuple[str, str | None]:
        described = app()
        failed = reason_counts and described["Status"] == "Failed"
        return described["Status"], described.get("FailureReason") if failed else None

    current = app()
    if current["Status"] == "InService" and not current["ResourceSpec"].get("SageMakerImageArn", "").endswith(f"/{name}"):
        say(f"stopping the space's {app_type} app, which runs another image")
        sm.delete_app(**key)
        current = app()
    if current["Status"] == "Deleting":
        _wait("the old app", app_state, {"Deleted", "Failed"}, timeout)
        current = app()
    if current["Status"] in ("Deleted", "Failed"):
        if current["Status"] == "Failed":
            sm.delete_app(**key)
            _wait("the failed app", app_state, {"Deleted"}, timeout)
        say(f"starting {app_type} from {tag} in space {space}")
        sm.create_app(**key, ResourceSpec={"SageMakerImageArn": sm.describe_image(ImageName=name)["ImageArn"], "InstanceType": "ml.t3.medium"})
    _wait(f"the {app_type} app", lambda: app_state(reason_counts=True), {"InService"}, timeout)
    say(f"{app_type} is running")
    return sm.create_presigned_domain_url(DomainId=domain_id, UserProfileName=user, SpaceName=space,
                                          LandingUri=f"app:{app_type}:{LANDING[app_type]}")["AuthorizedUrl"]
