"""Settles Images and ImageVersions out of CREATING, UPDATING and DELETING.

A row is due once it has sat in its state for ``transition_seconds``:

* Image CREATING/UPDATING -> CREATED;
* ImageVersion CREATING -> CREATED with ContainerImage resolved, or
  CREATE_FAILED with the resolver's FailureReason;
* DELETING -> the row, its children and their tags removed.

Every step is a compare-and-set on the row's state (``byoi.store.transitions``).
"""

from __future__ import annotations

import logging

from byoi.aws.arns import IMAGE, IMAGE_VERSION, sagemaker_arn
from byoi.aws.protocol import Scope
from byoi.clock import Clock
from byoi.services.base_images import BaseImageError, BaseImageResolver
from byoi.store.database import Database
from byoi.store.image_versions import VERSION_BY_KEY, delete_version
from byoi.store.images import IMAGE_BY_KEY, delete_image, version_numbers
from byoi.store.models import Image, ImageVersion
from byoi.store.tags import delete_tags_of
from byoi.store.transitions import PROCESS_LEASE, Lease, Transitions, soonest
from byoi.vocabulary import IMAGE_TRANSITIONAL, VERSION_TRANSITIONAL, ImageStatus, ImageVersionStatus

log = logging.getLogger(__name__)


class ImageSettler:
    kind = "images"

    def __init__(self, db: Database, clock: Clock, resolver: BaseImageResolver, transition_seconds: float,
                 lease: Lease = PROCESS_LEASE):
        self._db = db
        self._clock = clock
        self._resolver = resolver
        self._versions = Transitions(db, ImageVersion, VERSION_TRANSITIONAL, transition_seconds, columns=[ImageVersion.base_image],
                                     lease=lease)
        self._images = Transitions(db, Image, IMAGE_TRANSITIONAL, transition_seconds, lease=lease)

    def settle_due(self) -> float | None:
        """Settle every due row; return seconds until the next one falls due, or None."""
        now = self._clock.now_ms()
        versions, images = self._versions.scan(now), self._images.scan(now)
        for row in versions.due:
            if row.status == ImageVersionStatus.CREATING:
                self._finish_version_create(row.key, row.base_image)
            else:
                self._finish_version_delete(row.key)
        for row in images.due:
            if row.status == ImageStatus.DELETING:
                self._finish_image_delete(row.key)
            else:
                self._images.advance(row.key, row.status, status=ImageStatus.CREATED, modified_ms=self._clock.now_ms())
        return soonest(versions.next_in, images.next_in)

    # --- steps ----------------------------------------------------------------

    def _finish_version_create(self, version_id: int, base_image: str) -> None:
        container_image, reason = None, None
        try:
            container_image = self._resolver.resolve(base_image)
        except BaseImageError as exc:
            reason = str(exc)
        except Exception as exc:  # noqa: BLE001 - an engine fault fails the version, not byoi
            log.exception("resolving BaseImage %s failed", base_image)
            reason = f"BaseImage {base_image} could not be resolved: {exc}"
        self._versions.advance(
            version_id,
            ImageVersionStatus.CREATING,
            status=ImageVersionStatus.CREATE_FAILED if reason else ImageVersionStatus.CREATED,
            container_image=container_image,
            failure_reason=reason,
            modified_ms=self._clock.now_ms(),
        )

    def _finish_version_delete(self, version_key: int) -> None:
        with self._db.raw_write() as tx:
            if not self._versions.holds(tx, version_key, ImageVersionStatus.DELETING):
                return
            version = VERSION_BY_KEY.row(tx, id=version_key)
            scope = Scope(version.account_id, version.region)
            delete_tags_of(tx, [sagemaker_arn(scope, IMAGE_VERSION, version.image_name, version.version)])
            delete_version(tx, version_key)

    def _finish_image_delete(self, image_key: int) -> None:
        with self._db.raw_write() as tx:
            if not self._images.holds(tx, image_key, ImageStatus.DELETING):
                return
            image = IMAGE_BY_KEY.row(tx, id=image_key)
            scope = Scope(image.account_id, image.region)
            arns = [sagemaker_arn(scope, IMAGE, image.name)]
            arns += [sagemaker_arn(scope, IMAGE_VERSION, image.name, n) for n in version_numbers(tx, image_key)]
            delete_tags_of(tx, arns)
            delete_image(tx, image_key)
