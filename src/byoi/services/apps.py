"""Studio apps: CreateApp, DescribeApp, DeleteApp, ListApps.

CreateApp decides, synchronously and as Studio does, what the app will run:

1. the app's ResourceSpec is the request's over the DefaultResourceSpec of the
   owner's settings (user profile's UserSettings or space's SpaceSettings, then
   the domain's DefaultSpaceSettings/DefaultUserSettings);
2. the image (SageMakerImageArn, or the image of SageMakerImageVersionArn) must
   be attached: listed in the CustomImages of the app type's settings, where a
   profile's (or space's) list overrides the domain's;
3. the version is SageMakerImageVersionArn, SageMakerImageVersionAlias, the
   CustomImage's ImageVersionNumber, or the latest CREATED version;
4. the CustomImage's AppImageConfig must have the mode for the app type;
5. the lifecycle configuration (ResourceSpec.LifecycleConfigArn, else the first
   DefaultResourceSpec.LifecycleConfigArn along the settings) must exist, be for
   the app type and be attached (in LifecycleConfigArns of the owner's or the
   domain's settings); the app's ResourceSpec records it, and the runtime runs
   it when the app starts.

Anything wrong there is a ValidationException naming what to fix; nothing is
recorded. The app is then Pending until the runtime (``byoi.runtime.app_settler``)
has it serving (InService) or gives up (Failed, with a FailureReason).
DeleteApp makes it Deleting, then Deleted; Deleted apps stay listed.
"""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError

from byoi.app_settings import attached_images, attached_lifecycle_configs, default_lifecycle_config, settings_chain
from byoi.aws.arns import APP, IMAGE, IMAGE_VERSION, STUDIO_LIFECYCLE_CONFIG, app_arn, parse_sagemaker_arn, sagemaker_arn
from byoi.aws.errors import ResourceInUse, ResourceNotFound, ValidationException
from byoi.aws.pagination import Page
from byoi.aws.protocol import Scope
from byoi.clock import Clock
from byoi.services.app_image_configs import find_config
from byoi.services.domains import get_domain, get_member
from byoi.services.image_versions import version_arn
from byoi.services.images import find_image
from byoi.services.settling import Settling
from byoi.services.studio_lifecycle_configs import find_lifecycle_config
from byoi.services.tags import insert_tags
from byoi.store.apps import (
    APP_BY_LIVE_KEY,
    APPS,
    app_id_by_live_key,
    image_version_aliased,
    image_version_numbered,
    insert_app,
    latest_app,
    latest_created_image_version,
    serving_app,
    update_app,
)
from byoi.store.database import Database
from byoi.store.listing import ListQuery
from byoi.store.raw import Transaction
from byoi.vocabulary import CUSTOM_IMAGE_APPS, AppStatus, ImageVersionStatus, StudioStatus


def live_key(domain, kind: str, owner: str, app_type: str, name: str) -> str:
    return f"{domain.id}/{kind}/{owner.lower()}/{app_type}/{name.lower()}"


def owner_of(user_profile: str | None, space: str | None) -> tuple[str, str]:
    if bool(user_profile) == bool(space):
        raise ValidationException("Specify exactly one of UserProfileName and SpaceName")
    return ("user", user_profile) if user_profile else ("space", space)


class AppService:
    """Apps are given as rows of ``byoi.store.apps`` (an app's columns and its domain's
    ``domain_id``, ``account_id`` and ``region``)."""

    def __init__(self, db: Database, clock: Clock, settling: Settling, jupyter_server_image: str | None = None):
        self._db = db
        self._clock = clock
        self._settling = settling
        self._jupyter_server_image = jupyter_server_image

    def create(
        self,
        scope: Scope,
        domain_id: str,
        user_profile: str | None,
        space: str | None,
        app_type: str,
        name: str,
        resource_spec: dict | None,
        tags: list[dict] | None = None,
    ):
        """The new app, Pending, as a row."""
        kind, owner = owner_of(user_profile, space)
        if app_type == "JupyterServer":
            if kind != "user":
                raise ValidationException("A JupyterServer app belongs to a user profile, not a space")
            if not self._jupyter_server_image:
                raise ValidationException("This byoi runs no JupyterServer apps: set BYOI_JUPYTER_SERVER_IMAGE to an image with jupyterlab")
        elif app_type not in CUSTOM_IMAGE_APPS:
            raise ValidationException(f"byoi runs KernelGateway, JupyterLab and CodeEditor apps with custom images, not {app_type}")
        try:
            with self._db.raw_write() as tx:
                domain = get_domain(tx, scope, domain_id)
                if domain.status == StudioStatus.Deleting:
                    raise ResourceInUse(f"Domain {domain_id} is being deleted")
                member = get_member(tx, domain, kind, owner)
                key = live_key(domain, kind, member.name, app_type, name)
                if app_id_by_live_key(tx, key) is not None:
                    raise ResourceInUse(f"App {name} of type {app_type} already exists for {member.name}")
                if app_type == "JupyterServer":
                    spec, container_image, version_arn_, config = {"InstanceType": "system", **(resource_spec or {})}, self._jupyter_server_image, None, {}
                else:
                    spec, version, image, config = self._resolve(tx, scope, domain, member, app_type, resource_spec or {})
                    container_image, version_arn_ = version.container_image or version.base_image, version_arn(image, version.version)
                lifecycle = self._lifecycle(tx, scope, domain, member, app_type, resource_spec or {})
                spec = {k: v for k, v in spec.items() if k != "LifecycleConfigArn"}
                if lifecycle:
                    spec["LifecycleConfigArn"] = lifecycle
                now = self._clock.now_ms()
                insert_app(
                    tx,
                    domain_pk=domain.id,
                    member_pk=member.id,
                    owner_kind=kind,
                    owner_name=member.name,
                    app_type=app_type,
                    name=name,
                    live_key=key,
                    status=AppStatus.Pending,
                    resource_spec=spec,
                    container_image=container_image,
                    image_version_arn=version_arn_,
                    app_image_config=config,
                    created_ms=now,
                    modified_ms=now,
                )
                app = APP_BY_LIVE_KEY.row(tx, live_key=key)
                insert_tags(tx, app_arn(app), tags or [])
        except IntegrityError:
            raise ResourceInUse(f"App {name} of type {app_type} already exists for {owner}") from None
        self._settling.changed("apps")
        return app

    def _resolve(self, tx: Transaction, scope: Scope, domain, member, app_type: str, requested: dict):
        kind = CUSTOM_IMAGE_APPS[app_type]
        levels = settings_chain(domain.settings, member)
        chain = [s.get(kind.settings) or {} for s in levels]
        default_spec = next((s["DefaultResourceSpec"] for s in chain if s.get("DefaultResourceSpec")), {})
        spec = {**default_spec, **requested}
        image_arn = spec.get("SageMakerImageArn")
        if not image_arn and spec.get("SageMakerImageVersionArn"):
            parsed = parse_sagemaker_arn(spec["SageMakerImageVersionArn"])
            if parsed is None or parsed.resource_type != IMAGE_VERSION or len(parsed.path) != 2:
                raise ValidationException(f"SageMakerImageVersionArn {spec['SageMakerImageVersionArn']} is not an image version ARN")
            image_arn = sagemaker_arn(scope, IMAGE, parsed.path[0])
        if not image_arn:
            raise ValidationException(
                "byoi runs custom images only: give ResourceSpec.SageMakerImageArn (or a DefaultResourceSpec with one)"
            )
        if app_type == "KernelGateway" and not spec.get("InstanceType"):
            raise ValidationException(
                "InstanceType must be specified for a KernelGateway app, in ResourceSpec or a DefaultResourceSpec"
            )
        parsed = parse_sagemaker_arn(image_arn)
        if parsed is None or parsed.resource_type != IMAGE or len(parsed.path) != 1:
            raise ValidationException(f"SageMakerImageArn {image_arn} is not an image ARN")
        image = find_image(tx, scope, parsed.path[0])
        if image is None:
            raise ValidationException(f"Image {image_arn} does not exist")
        attached = [c for c in attached_images(app_type, levels) if c["ImageName"].lower() == image.name.lower()]
        if not attached:
            owner = "user profile" if member.kind == "user" else "space"
            raise ValidationException(
                f"Image {image.name} is not attached to {owner} {member.name} or domain {domain.domain_id}: "
                f"add it to {kind.settings}.CustomImages"
            )
        custom = attached[0]
        version = self._version(tx, image, spec, custom)
        config = find_config(tx, scope, custom["AppImageConfigName"])
        mode = getattr(config, kind.config_column) if config is not None else None
        if mode is None:
            raise ValidationException(
                f"AppImageConfig {custom['AppImageConfigName']} has no {kind.config}, which a {app_type} app needs"
            )
        effective = {**spec, "SageMakerImageArn": sagemaker_arn(scope, IMAGE, image.name), "SageMakerImageVersionArn": version_arn(image, version.version)}
        return effective, version, image, mode

    @staticmethod
    def _lifecycle(tx: Transaction, scope: Scope, domain, member, app_type: str, requested: dict) -> str | None:
        """The lifecycle configuration (ARN) the app runs, checked as CreateApp checks it; None: none."""
        levels = settings_chain(domain.settings, member)
        arn = requested.get("LifecycleConfigArn") or default_lifecycle_config(app_type, levels)
        if not arn:
            return None
        parsed = parse_sagemaker_arn(arn)
        if parsed is None or parsed.resource_type != STUDIO_LIFECYCLE_CONFIG or len(parsed.path) != 1:
            raise ValidationException(f"LifecycleConfigArn {arn} is not a Studio Lifecycle Config ARN")
        config = find_lifecycle_config(tx, parsed.scope, parsed.path[0])
        if config is None or parsed.scope != scope:
            raise ValidationException(f"Studio Lifecycle Config {arn} does not exist")
        if config.app_type != app_type:
            raise ValidationException(f"Studio Lifecycle Config {arn} is for {config.app_type} apps, not {app_type}")
        if arn.lower() not in {a.lower() for a in attached_lifecycle_configs(app_type, levels)}:
            owner = "user profile" if member.kind == "user" else "space"
            raise ValidationException(
                f"Studio Lifecycle Config {arn} is not attached to {owner} {member.name} or domain {domain.domain_id}: "
                f"add it to {app_type}AppSettings.LifecycleConfigArns"
            )
        return arn

    @staticmethod
    def _version(tx: Transaction, image, spec: dict, custom: dict):
        """The image version (a row) the app runs; ValidationException if it is not there or not CREATED."""
        if spec.get("SageMakerImageVersionArn"):
            parsed = parse_sagemaker_arn(spec["SageMakerImageVersionArn"])
            number = int(parsed.path[1]) if parsed and len(parsed.path) == 2 and parsed.path[1].isdigit() else -1
            version = image_version_numbered(tx, image.id, number)
            wanted = spec["SageMakerImageVersionArn"]
        elif spec.get("SageMakerImageVersionAlias"):
            alias = spec["SageMakerImageVersionAlias"]
            version = image_version_aliased(tx, image.id, alias)
            wanted = f"alias {alias} of image {image.name}"
        elif custom.get("ImageVersionNumber") is not None:
            version = image_version_numbered(tx, image.id, custom["ImageVersionNumber"])
            wanted = f"version {custom['ImageVersionNumber']} of image {image.name}"
        else:
            version = latest_created_image_version(tx, image.id)
            wanted = f"a CREATED version of image {image.name}"
        if version is None:
            raise ValidationException(f"There is no {wanted}")
        if version.status != ImageVersionStatus.CREATED:
            raise ValidationException(
                f"Image version {version.version} of {image.name} is {version.status}"
                + (f": {version.failure_reason}" if version.failure_reason else "")
            )
        return version

    def _find(self, tx: Transaction, scope: Scope, domain_id: str, user_profile, space, app_type: str, name: str):
        kind, owner = owner_of(user_profile, space)
        domain = get_domain(tx, scope, domain_id)
        app = latest_app(tx, domain.id, kind, owner, app_type, name)
        if app is None:
            arn = sagemaker_arn(scope, APP, domain_id, owner, app_type.lower(), name)
            raise ResourceNotFound(f"App with ARN {arn} does not exist")
        return app

    def describe(self, scope: Scope, domain_id: str, user_profile, space, app_type: str, name: str):
        """The app (the live one by that name, else the latest Deleted one) as a row."""
        with self._db.raw_read() as tx:
            return self._find(tx, scope, domain_id, user_profile, space, app_type, name)

    def delete(self, scope: Scope, domain_id: str, user_profile, space, app_type: str, name: str) -> None:
        with self._db.raw_write() as tx:
            app = self._find(tx, scope, domain_id, user_profile, space, app_type, name)
            if app.status == AppStatus.Deleted:
                raise ResourceNotFound(f"App with ARN {app_arn(app)} is already deleted")
            if app.status == AppStatus.Deleting:
                return
            update_app(tx, app.id, status=AppStatus.Deleting, modified_ms=self._clock.now_ms())
        self._settling.changed("apps")

    def serving(self, domain_id: str, kind: str, owner: str, app_type: str, name: str):
        """The InService app of a user profile or space (``kind``) at a gateway path, as a row
        (id, app_type, owner_kind, owner_name, endpoint_host, endpoint_port, domain_id and
        the owner's settings as ``owner_settings`` and HomeEfsFileSystemUid as ``owner_uid``), or None."""
        with self._db.raw_read() as tx:
            return serving_app(tx, domain_id, kind, owner, app_type.lower(), name)

    def record_activity(self, app_id: int, now_ms: int) -> None:
        """A user just used the app (LastUserActivityTimestamp)."""
        with self._db.raw_write() as tx:
            update_app(tx, app_id, last_activity_ms=now_ms)

    def list(
        self,
        scope: Scope,
        query: ListQuery,
        domain_id: str | None,
        user_profile: str | None,
        space: str | None,
        owner_kind: str | None = None,
        live_only: bool = False,
    ) -> Page:
        """A page of apps, as rows: ListApps' (Deleted ones included), or, for Cloud Control, only
        the apps of user profiles or spaces (``owner_kind``) and only those not Deleted (``live_only``)."""
        with self._db.raw_read() as tx:
            return APPS.page(
                tx, query, account_id=scope.account_id, region=scope.region,
                domain_id=domain_id, user_profile=user_profile, space=space,
                owner_kind=owner_kind, status_not=AppStatus.Deleted if live_only else None,
            )
