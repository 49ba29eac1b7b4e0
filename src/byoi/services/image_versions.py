"""Image versions and their aliases.

CreateImageVersion, DescribeImageVersion, UpdateImageVersion,
DeleteImageVersion, ListImageVersions, ListAliases.

* Versions are numbered 1, 2, ... per image; a number is never reused.
* ``ClientToken`` makes CreateImageVersion idempotent per image: the same token
  with the same parameters returns the version it first created.
* A version is chosen by ``Version``, by ``Alias``, or (neither given) is the
  latest, i.e. highest-numbered, version. Giving both is a ValidationException.
* An alias names at most one version of an image.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.exc import IntegrityError

from byoi.aws.arns import IMAGE, IMAGE_VERSION, sagemaker_arn
from byoi.aws.errors import ResourceInUse, ResourceLimitExceeded, ResourceNotFound, ValidationException
from byoi.aws.pagination import Page
from byoi.aws.protocol import Scope
from byoi.clock import Clock
from byoi.services.images import get_image, image_arn
from byoi.services.settling import Settling
from byoi.store.database import Database
from byoi.store.image_versions import (
    LATEST_VERSION,
    VERSION_BY_ALIAS,
    VERSION_BY_NUMBER,
    VERSION_BY_TOKEN,
    VERSIONS,
    alias_holders,
    alias_page,
    aliases_of_version,
    count_versions,
    delete_aliases,
    insert_alias,
    insert_version,
    update_version,
)
from byoi.store.images import update_image
from byoi.store.listing import ListQuery
from byoi.store.raw import Transaction
from byoi.vocabulary import ImageStatus, ImageVersionStatus

#: Version attributes a caller may set, API member -> column.
METADATA_FIELDS = {
    "VendorGuidance": "vendor_guidance",
    "JobType": "job_type",
    "MLFramework": "ml_framework",
    "ProgrammingLang": "programming_lang",
    "Processor": "processor",
    "Horovod": "horovod",
    "ReleaseNotes": "release_notes",
}


def version_arn(image, version: int) -> str:
    """The ARN of version number ``version`` of ``image`` (a row of the images table)."""
    return sagemaker_arn(Scope(image.account_id, image.region), IMAGE_VERSION, image.name, version)


def arns_of(version) -> tuple[str, str]:
    """(ImageArn, ImageVersionArn) of ``version``, a version row (with its image's ``account_id``, ``region``, ``image_name``)."""
    scope = Scope(version.account_id, version.region)
    return sagemaker_arn(scope, IMAGE, version.image_name), sagemaker_arn(scope, IMAGE_VERSION, version.image_name, version.version)


@dataclass
class VersionView:
    """A version (a row with its image's ``account_id``, ``region`` and ``image_name``) and its aliases, for Describe."""

    version: Any
    aliases: list[str]


class ImageVersionService:
    def __init__(self, db: Database, clock: Clock, settling: Settling, max_versions_per_image: int = 0):
        self._db = db
        self._clock = clock
        self._settling = settling
        self._max_versions = max_versions_per_image

    # --- create ---------------------------------------------------------------

    def create(
        self,
        scope: Scope,
        image_name: str,
        base_image: str,
        client_token: str,
        aliases: list[str] | None = None,
        metadata: dict | None = None,
    ) -> str:
        aliases = aliases or []
        metadata = {k: v for k, v in (metadata or {}).items() if v is not None}
        if len(set(aliases)) != len(aliases):
            raise ValidationException("Aliases must not contain the same alias twice")
        # Two concurrent creates may both pick the same next number or token;
        # the database rejects the loser, which then retries and either gets
        # the next number or finds the winner's version for its token.
        for attempt in range(5):
            try:
                arn = self._create_once(scope, image_name, base_image, client_token, aliases, metadata)
                break
            except IntegrityError:
                if attempt == 4:
                    raise ResourceInUse(f"Image {image_name} is being changed concurrently; retry") from None
        self._settling.changed("images")
        return arn

    def _create_once(
        self, scope: Scope, image_name: str, base_image: str, token: str, aliases: list[str], metadata: dict
    ) -> str:
        with self._db.raw_write() as tx:
            image = get_image(tx, scope, image_name)  # locked until this transaction ends
            if image.status == ImageStatus.DELETING:
                raise ResourceInUse(f"Image with ARN {image_arn(image)} is being deleted")
            existing = VERSION_BY_TOKEN.row(tx, image_id=image.id, client_token=token)
            if existing is not None:
                return self._replay(tx, image, existing, base_image, aliases, metadata)
            self._check_quota(tx, image)
            self._check_aliases_free(tx, image, aliases)
            number = image.next_version
            update_image(tx, image.id, next_version=number + 1)
            now = self._clock.now_ms()
            insert_version(
                tx,
                image_id=image.id,
                version=number,
                base_image=base_image,
                status=ImageVersionStatus.CREATING,
                client_token=token,
                created_ms=now,
                modified_ms=now,
                **{METADATA_FIELDS[k]: v for k, v in metadata.items()},
            )
            if aliases:
                version_key = VERSION_BY_NUMBER.row(tx, image_id=image.id, version=number).id
                for alias in aliases:
                    insert_alias(tx, image_id=image.id, version_id=version_key, alias=alias)
            return version_arn(image, number)

    @staticmethod
    def _replay(tx: Transaction, image, existing, base_image: str, aliases: list[str], metadata: dict) -> str:
        same = (
            existing.base_image == base_image
            and sorted(aliases_of_version(tx, existing.id)) == sorted(aliases)
            and all(getattr(existing, METADATA_FIELDS[k]) == v for k, v in metadata.items())
        )
        if not same:
            raise ValidationException(
                f"ClientToken {existing.client_token} was already used to create version {existing.version} "
                f"of image {image.name} with different parameters"
            )
        return version_arn(image, existing.version)

    # --- read -----------------------------------------------------------------

    def describe(self, scope: Scope, image_name: str, version: int | None, alias: str | None) -> VersionView:
        with self._db.raw_read() as tx:
            image = get_image(tx, scope, image_name)
            row = self._select(tx, image, version, alias)
            return VersionView(row, aliases_of_version(tx, row.id))

    def list(self, scope: Scope, image_name: str, query: ListQuery) -> Page:
        """A page of the image's versions, as rows with their image's ``account_id``, ``region`` and ``image_name``."""
        with self._db.raw_read() as tx:
            image = get_image(tx, scope, image_name)
            return VERSIONS.page(tx, query, image_id=image.id)

    def list_aliases(
        self,
        scope: Scope,
        image_name: str,
        alias: str | None,
        version: int | None,
        max_results: int = 10,
        next_token: str | None = None,
    ) -> Page[str]:
        """Aliases of the image, of one version (``version``), or just ``alias`` if it exists."""
        with self._db.raw_read() as tx:
            image = get_image(tx, scope, image_name)
            version_key = self._select(tx, image, version, None).id if version is not None else None
            return alias_page(tx, image.id, max_results, next_token, version_key=version_key, alias=alias)

    # --- update / delete -------------------------------------------------------

    def update(
        self,
        scope: Scope,
        image_name: str,
        version: int | None,
        alias: str | None,
        aliases_to_add: list[str] | None = None,
        aliases_to_delete: list[str] | None = None,
        metadata: dict | None = None,
    ) -> str:
        to_add, to_delete = aliases_to_add or [], aliases_to_delete or []
        both = sorted(set(to_add) & set(to_delete))
        if both:
            raise ValidationException(f"Aliases {', '.join(both)} cannot be both added and deleted")
        metadata = {k: v for k, v in (metadata or {}).items() if v is not None}
        try:
            with self._db.raw_write() as tx:
                image = get_image(tx, scope, image_name)
                row = self._select(tx, image, version, alias)
                if row.status != ImageVersionStatus.CREATED:
                    raise ResourceInUse(f"Image version {version_arn(image, row.version)} is {row.status}")
                current = aliases_of_version(tx, row.id)
                missing = [a for a in to_delete if a not in current]
                if missing:
                    raise ValidationException(
                        f"Aliases {', '.join(missing)} are not aliases of version {row.version} of image {image.name}"
                    )
                new = [a for a in dict.fromkeys(to_add) if a not in current]
                self._check_aliases_free(tx, image, new)
                delete_aliases(tx, row.id, to_delete)
                for name in new:
                    insert_alias(tx, image_id=image.id, version_id=row.id, alias=name)
                values = {METADATA_FIELDS[k]: v for k, v in metadata.items()}
                update_version(tx, row.id, modified_ms=self._clock.now_ms(), **values)
                arn = version_arn(image, row.version)
        except IntegrityError:
            raise ResourceInUse(f"An alias in {to_add} was just given to another version of {image_name}") from None
        return arn

    def delete(self, scope: Scope, image_name: str, version: int | None, alias: str | None) -> None:
        if version is None and alias is None:
            raise ValidationException("Either Version or Alias must be specified to delete an image version")
        with self._db.raw_write() as tx:
            image = get_image(tx, scope, image_name)
            row = self._select(tx, image, version, alias)
            if row.status == ImageVersionStatus.DELETING:
                return
            if row.status == ImageVersionStatus.CREATING:
                raise ResourceInUse(f"Image version {version_arn(image, row.version)} is CREATING; delete it once that ends")
            update_version(tx, row.id, status=ImageVersionStatus.DELETING, modified_ms=self._clock.now_ms())
        self._settling.changed("images")

    # --- helpers --------------------------------------------------------------

    @staticmethod
    def _select(tx: Transaction, image, version: int | None, alias: str | None):
        """The version chosen by number, by alias, or (neither given) the latest; ResourceNotFound if none."""
        if version is not None and alias is not None:
            raise ValidationException("Specify either Version or Alias, not both")
        if version is not None:
            row = VERSION_BY_NUMBER.row(tx, image_id=image.id, version=version)
            missing = f"Image version {version_arn(image, version)} does not exist"
        elif alias is not None:
            row = VERSION_BY_ALIAS.row(tx, image_id=image.id, alias=alias)
            missing = f"Image version with alias {alias} of image {image_arn(image)} does not exist"
        else:
            row = LATEST_VERSION.row(tx, image_id=image.id)
            missing = f"Image {image_arn(image)} has no versions"
        if row is None:
            raise ResourceNotFound(missing)
        return row

    @staticmethod
    def _check_aliases_free(tx: Transaction, image, aliases: list[str]) -> None:
        taken = alias_holders(tx, image.id, aliases)
        if taken:
            detail = ", ".join(f"{row.alias} (version {row.version})" for row in taken)
            raise ResourceInUse(f"Aliases already in use on image {image.name}: {detail}")

    def _check_quota(self, tx: Transaction, image) -> None:
        if not self._max_versions:
            return
        count = count_versions(tx, image.id)
        if count >= self._max_versions:
            raise ResourceLimitExceeded(
                f"Image {image.name} already has {count} versions; the limit is {self._max_versions} "
                "(BYOI_MAX_VERSIONS_PER_IMAGE)"
            )
