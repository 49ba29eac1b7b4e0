"""Images: CreateImage, DescribeImage, UpdateImage, DeleteImage, ListImages.

An Image is a named, versioned reference to container images. Its status
goes CREATING -> CREATED, UPDATING -> CREATED on update, and DELETING before it
disappears with all its versions (never the container images themselves).
``byoi.services.image_settler`` performs those settlements.
"""

from __future__ import annotations

from byoi.aws.arns import IMAGE, sagemaker_arn
from byoi.aws.errors import ResourceInUse, ResourceLimitExceeded, ResourceNotFound, ValidationException
from byoi.aws.pagination import Page
from byoi.aws.protocol import Scope
from byoi.clock import Clock
from byoi.services.named_resources import create_named
from byoi.services.settling import Settling
from byoi.store.database import Database
from byoi.store.image_versions import VERSION_BY_NUMBER, set_status_of_image_versions
from byoi.store.images import IMAGE_BY_NAME, IMAGES, count_images, insert_image, update_image
from byoi.store.listing import ListQuery
from byoi.store.raw import Transaction
from byoi.vocabulary import IMAGE_TRANSITIONAL, ImageStatus


def image_arn(image) -> str:
    """The ARN of ``image`` (a row or object of the images table)."""
    return sagemaker_arn(Scope(image.account_id, image.region), IMAGE, image.name)


def find_image(source: Transaction, scope: Scope, name: str):
    """Image ``name`` as a row (its columns as attributes), or None."""
    return IMAGE_BY_NAME.row(source, account_id=scope.account_id, region=scope.region, name_key=name.lower())


def has_version(source: Transaction, image_key: int, version: int) -> bool:
    """Whether the image whose key is ``image_key`` has version number ``version``."""
    return VERSION_BY_NUMBER.row(source, image_id=image_key, version=version) is not None


def get_image(source: Transaction, scope: Scope, name: str):
    """The image named ``name`` as a row, or ResourceNotFound in AWS's words."""
    image = find_image(source, scope, name)
    if image is None:
        raise ResourceNotFound(f"Image with ARN {sagemaker_arn(scope, IMAGE, name)} does not exist")
    return image


class ImageService:
    def __init__(self, db: Database, clock: Clock, settling: Settling, max_images: int = 0):
        self._db = db
        self._clock = clock
        self._settling = settling
        self._max_images = max_images

    def create(
        self,
        scope: Scope,
        name: str,
        role_arn: str,
        display_name: str | None = None,
        description: str | None = None,
        tags: list[dict] | None = None,
    ) -> str:
        arn = sagemaker_arn(scope, IMAGE, name)
        in_use = ResourceInUse(f"Image with ARN {arn} already exists")
        now = self._clock.now_ms()
        values = dict(
            account_id=scope.account_id, region=scope.region, name=name, name_key=name.lower(), role_arn=role_arn,
            display_name=display_name, description=description, status=ImageStatus.CREATING,
            created_ms=now, modified_ms=now, next_version=1,
        )
        create_named(self._db, lambda tx: find_image(tx, scope, name), lambda tx: insert_image(tx, **values), arn, tags, in_use,
                     check=lambda tx: self._check_quota(tx, scope))
        self._settling.changed("images")
        return arn

    def describe(self, scope: Scope, name: str):
        """The image as a row (its columns as attributes)."""
        with self._db.raw_read() as tx:
            return get_image(tx, scope, name)

    def update(
        self,
        scope: Scope,
        name: str,
        delete_properties: list[str] | None = None,
        display_name: str | None = None,
        description: str | None = None,
        role_arn: str | None = None,
    ) -> str:
        to_delete = set(delete_properties or [])
        clashes = sorted(p for p, v in (("DisplayName", display_name), ("Description", description)) if v and p in to_delete)
        if clashes:
            raise ValidationException(
                f"Property {', '.join(clashes)} cannot be both set and listed in DeleteProperties"
            )
        with self._db.raw_write() as tx:
            image = get_image(tx, scope, name)
            if image.status in IMAGE_TRANSITIONAL:
                raise ResourceInUse(f"Image with ARN {image_arn(image)} is {image.status} and cannot be updated now")
            values: dict = {"status": ImageStatus.UPDATING, "modified_ms": self._clock.now_ms()}
            if display_name is not None:
                values["display_name"] = display_name
            if description is not None:
                values["description"] = description
            if role_arn is not None:
                values["role_arn"] = role_arn
            for prop in to_delete:
                values["display_name" if prop == "DisplayName" else "description"] = None
            update_image(tx, image.id, **values)
            arn = image_arn(image)
        self._settling.changed("images")
        return arn

    def delete(self, scope: Scope, name: str) -> None:
        """Start deleting the image and all its versions. Deleting twice is harmless."""
        with self._db.raw_write() as tx:
            image = get_image(tx, scope, name)
            if image.status == ImageStatus.DELETING:
                return
            if image.status in (ImageStatus.CREATING, ImageStatus.UPDATING):
                raise ResourceInUse(f"Image with ARN {image_arn(image)} is {image.status}; delete it once that ends")
            now = self._clock.now_ms()
            set_status_of_image_versions(tx, image.id, ImageStatus.DELETING, now)
            update_image(tx, image.id, status=ImageStatus.DELETING, modified_ms=now)
        self._settling.changed("images")

    def list(self, scope: Scope, query: ListQuery) -> Page:
        """A page of images, as rows (their columns as attributes)."""
        with self._db.raw_read() as tx:
            return IMAGES.page(tx, query, account_id=scope.account_id, region=scope.region)

    def _check_quota(self, tx: Transaction, scope: Scope) -> None:
        if not self._max_images:
            return
        count = count_images(tx, scope.account_id, scope.region)
        if count >= self._max_images:
            raise ResourceLimitExceeded(
                f"The account-level service limit 'Maximum number of images' is {self._max_images} Images, "
                f"with current utilization of {count} Images and a request delta of 1 Images. "
                "Raise BYOI_MAX_IMAGES to allow more."
            )
