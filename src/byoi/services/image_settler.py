"""Settles Images and ImageVersions out of CREATING, UPDATING and DELETING.

A row is due once it has sat in its state for ``transition_seconds``:

* Image CREATING/UPDATING -> CREATED;
* ImageVersion CREATING -> CREATED with ContainerImage resolved, or
  CREATE_FAILED with the resolver's FailureReason;
* DELETING -> the row, its children and their tags removed.

Every step is a compare-and-set on the row's state (see ``byoi.services.settling``).
"""

from __future__ import annotations

import logging

from sqlalchemy import delete, func, select, update

from byoi.aws.arns import IMAGE, IMAGE_VERSION, sagemaker_arn
from byoi.aws.protocol import Scope
from byoi.clock import Clock
from byoi.services.base_images import BaseImageError, BaseImageResolver
from byoi.services.tags import delete_tags_of
from byoi.store.database import Database
from byoi.store.models import Image, ImageVersion
from byoi.vocabulary import IMAGE_TRANSITIONAL, VERSION_TRANSITIONAL, ImageStatus, ImageVersionStatus

log = logging.getLogger(__name__)


class ImageSettler:
    kind = "images"

    def __init__(self, db: Database, clock: Clock, resolver: BaseImageResolver, transition_seconds: float):
        self._db = db
        self._clock = clock
        self._resolver = resolver
        self._delay_ms = int(round(transition_seconds * 1000))

    def settle_due(self) -> float | None:
        """Settle every due row; return seconds until the next one falls due, or None."""
        now = self._clock.now_ms()
        cutoff = now - self._delay_ms
        with self._db.read() as session:
            versions = session.execute(
                select(ImageVersion.id, ImageVersion.status, ImageVersion.base_image).where(
                    ImageVersion.status.in_(VERSION_TRANSITIONAL), ImageVersion.modified_ms <= cutoff
                )
            ).all()
            images = session.execute(
                select(Image.id, Image.status).where(
                    Image.status.in_(IMAGE_TRANSITIONAL), Image.modified_ms <= cutoff
                )
            ).all()
        for version_id, state, base_image in versions:
            if state == ImageVersionStatus.CREATING:
                self._finish_version_create(version_id, base_image)
            else:
                self._finish_version_delete(version_id)
        for image_id, state in images:
            if state == ImageStatus.DELETING:
                self._finish_image_delete(image_id)
            else:
                self._finish_image_change(image_id, state)
        return self._seconds_until_next_due()

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
        new_state = ImageVersionStatus.CREATE_FAILED if reason else ImageVersionStatus.CREATED
        with self._db.write() as session:
            session.execute(
                update(ImageVersion)
                .where(ImageVersion.id == version_id, ImageVersion.status == ImageVersionStatus.CREATING)
                .values(
                    status=new_state,
                    container_image=container_image,
                    failure_reason=reason,
                    modified_ms=self._clock.now_ms(),
                )
            )

    def _finish_version_delete(self, version_id: int) -> None:
        with self._db.write() as session:
            row = session.execute(
                select(Image.account_id, Image.region, Image.name, ImageVersion.version)
                .join(ImageVersion.image)
                .where(ImageVersion.id == version_id, ImageVersion.status == ImageVersionStatus.DELETING)
            ).first()
            if row is None:
                return
            account_id, region, name, number = row
            delete_tags_of(session, [sagemaker_arn(Scope(account_id, region), IMAGE_VERSION, name, number)])
            session.execute(delete(ImageVersion).where(ImageVersion.id == version_id))

    def _finish_image_delete(self, image_id: int) -> None:
        with self._db.write() as session:
            image = session.get(Image, image_id)
            if image is None or image.status != ImageStatus.DELETING:
                return
            scope = Scope(image.account_id, image.region)
            numbers = session.scalars(select(ImageVersion.version).where(ImageVersion.image_id == image_id))
            arns = [sagemaker_arn(scope, IMAGE, image.name)]
            arns += [sagemaker_arn(scope, IMAGE_VERSION, image.name, n) for n in numbers]
            delete_tags_of(session, arns)
            session.execute(delete(Image).where(Image.id == image_id))

    def _finish_image_change(self, image_id: int, state: str) -> None:
        with self._db.write() as session:
            session.execute(
                update(Image)
                .where(Image.id == image_id, Image.status == state)
                .values(status=ImageStatus.CREATED, modified_ms=self._clock.now_ms())
            )

    def _seconds_until_next_due(self) -> float | None:
        with self._db.read() as session:
            oldest = [
                session.scalar(select(func.min(Image.modified_ms)).where(Image.status.in_(IMAGE_TRANSITIONAL))),
                session.scalar(
                    select(func.min(ImageVersion.modified_ms)).where(
                        ImageVersion.status.in_(VERSION_TRANSITIONAL)
                    )
                ),
            ]
        pending = [ms for ms in oldest if ms is not None]
        if not pending:
            return None
        return max(0.0, (min(pending) + self._delay_ms - self._clock.now_ms()) / 1000)
