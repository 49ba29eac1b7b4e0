"""Builds the services from their dependencies (no module-level singletons)."""

from __future__ import annotations

from dataclasses import dataclass

from byoi.aws.arns import APP_IMAGE_CONFIG, IMAGE, IMAGE_VERSION, STUDIO_LIFECYCLE_CONFIG, parse_sagemaker_arn
from byoi.clock import Clock
from byoi.services.app_image_configs import AppImageConfigService, find_config
from byoi.services.apps import AppService
from byoi.services.base_images import BaseImageResolver
from byoi.services.domains import DomainService, DomainSettler, lifecycle_config_holder, studio_resource_exists
from byoi.services.image_settler import ImageSettler
from byoi.services.image_versions import ImageVersionService
from byoi.services.images import ImageService, find_image, has_version
from byoi.services.settling import Settling
from byoi.services.studio_lifecycle_configs import StudioLifecycleConfigService, find_lifecycle_config
from byoi.services.tags import TagService
from byoi.store.database import Database
from byoi.store.raw import Transaction
from byoi.store.transitions import PROCESS_LEASE, Lease
from byoi.studio_urls import StudioOrigins, default_studio_url


@dataclass
class Services:
    images: ImageService
    image_versions: ImageVersionService
    app_image_configs: AppImageConfigService
    tags: TagService
    domains: DomainService
    apps: AppService
    studio_lifecycle_configs: StudioLifecycleConfigService
    settling: Settling


def resource_exists(tx: Transaction, arn: str) -> bool:
    """Whether ``arn`` names an existing resource byoi tags (an image, version, config or Studio resource)."""
    parsed = parse_sagemaker_arn(arn)
    if parsed is None:
        return False
    if parsed.resource_type == IMAGE and len(parsed.path) == 1:
        return find_image(tx, parsed.scope, parsed.path[0]) is not None
    if parsed.resource_type == IMAGE_VERSION and len(parsed.path) == 2 and parsed.path[1].isdigit():
        image = find_image(tx, parsed.scope, parsed.path[0])
        return image is not None and has_version(tx, image.id, int(parsed.path[1]))
    if parsed.resource_type == APP_IMAGE_CONFIG and len(parsed.path) == 1:
        return find_config(tx, parsed.scope, parsed.path[0]) is not None
    if parsed.resource_type == STUDIO_LIFECYCLE_CONFIG and len(parsed.path) == 1:
        return find_lifecycle_config(tx, parsed.scope, parsed.path[0]) is not None
    return studio_resource_exists(tx, parsed)


def build_services(
    db: Database,
    clock: Clock,
    resolver: BaseImageResolver,
    transition_seconds: float = 0.0,
    max_images: int = 0,
    max_versions_per_image: int = 0,
    public_url: str = "http://127.0.0.1:8080",
    jupyter_server_image: str | None = None,
    origins: StudioOrigins | None = None,
    lease: Lease = PROCESS_LEASE,
) -> Services:
    settling = Settling(transition_seconds, lease)
    settling.add(ImageSettler(db, clock, resolver, transition_seconds, lease))
    settling.add(DomainSettler(db, clock, transition_seconds, lease))
    return Services(
        images=ImageService(db, clock, settling, max_images),
        image_versions=ImageVersionService(db, clock, settling, max_versions_per_image),
        app_image_configs=AppImageConfigService(db, clock),
        tags=TagService(db, resource_exists),
        domains=DomainService(db, clock, settling, origins or StudioOrigins(default_studio_url(public_url))),
        apps=AppService(db, clock, settling, jupyter_server_image),
        studio_lifecycle_configs=StudioLifecycleConfigService(db, clock, lifecycle_config_holder),
        settling=settling,
    )
