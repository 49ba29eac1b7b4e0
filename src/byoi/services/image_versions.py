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

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from byoi.aws.arns import IMAGE_VERSION, sagemaker_arn
from byoi.aws.errors import ResourceInUse, ResourceLimitExceeded, ResourceNotFound, ValidationException
from byoi.aws.pagination import Page, Paginator
from byoi.aws.protocol import Scope
from byoi.clock import Clock
from byoi.services.images import get_image, image_arn
from byoi.services.settling import Settling
from byoi.store.database import Database
from byoi.store.listing import Listing, ListQuery
from byoi.store.models import Image, ImageVersion, ImageVersionAlias
from byoi.vocabulary import ImageStatus, ImageVersionStatus

VERSION_SORTS = {
    "CREATION_TIME": ImageVersion.created_ms,
    "LAST_MODIFIED_TIME": ImageVersion.modified_ms,
    "VERSION": ImageVersion.version,
}

_VERSIONS = Listing(
    "versions", select(ImageVersion).where(ImageVersion.image_id == bindparam("image_id")), VERSION_SORTS, ImageVersion.id,
    created=ImageVersion.created_ms, modified=ImageVersion.modified_ms,
)
#: ListAliases pages: alias names, in order.
_ALIAS_PAGES: Paginator = Paginator("aliases", lambda alias: (alias,))

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


def version_arn(image: Image, version: int) -> str:
    return sagemaker_arn(Scope(image.account_id, image.region), IMAGE_VERSION, image.name, version)


@dataclass
class VersionView:
    """A version with the image it belongs to, for Describe."""

    image: Image
    version: ImageVersion
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
        with self._db.write() as session:
            image = get_image(session, scope, image_name)  # locked until this transaction ends
            if image.status == ImageStatus.DELETING:
                raise ResourceInUse(f"Image with ARN {image_arn(image)} is being deleted")
            existing = session.scalar(
                select(ImageVersion)
                .options(selectinload(ImageVersion.aliases))
                .where(ImageVersion.image_id == image.id, ImageVersion.client_token == token)
            )
            if existing is not None:
                return self._replay(image, existing, base_image, aliases, metadata)
            self._check_quota(session, image)
            self._check_aliases_free(session, image, aliases)
            number = image.next_version
            image.next_version = number + 1
            now = self._clock.now_ms()
            version = ImageVersion(
                image_id=image.id,
                version=number,
                base_image=base_image,
                status=ImageVersionStatus.CREATING,
                client_token=token,
                created_ms=now,
                modified_ms=now,
                **{METADATA_FIELDS[k]: v for k, v in metadata.items()},
            )
            session.add(version)
            session.flush()
            session.add_all(ImageVersionAlias(image_id=image.id, version_id=version.id, alias=a) for a in aliases)
            return version_arn(image, number)

    @staticmethod
    def _replay(image: Image, existing: ImageVersion, base_image: str, aliases: list[str], metadata: dict) -> str:
        same = (
            existing.base_image == base_image
            and sorted(a.alias for a in existing.aliases) == sorted(aliases)
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
        with self._db.read() as session:
            image = get_image(session, scope, image_name)
            row = self._select(session, image, version, alias)
            return VersionView(image, row, [a.alias for a in row.aliases])

    def list(self, scope: Scope, image_name: str, query: ListQuery) -> tuple[Image, Page[ImageVersion]]:
        with self._db.read() as session:
            image = get_image(session, scope, image_name)
            return image, _VERSIONS.orm_page(session, query, image_id=image.id)

    def all(self, scope: Scope, image_name: str | None = None) -> list[tuple[Image, ImageVersion]]:
        """Every version in ``scope`` (of one image when named) with its image, oldest first."""
        with self._db.read() as session:
            stmt = (
                select(Image, ImageVersion)
                .join(ImageVersion.image)
                .where(Image.account_id == scope.account_id, Image.region == scope.region)
                .order_by(ImageVersion.id)
            )
            if image_name is not None:
                stmt = stmt.where(Image.name_key == image_name.lower())
            return [(image, version) for image, version in session.execute(stmt)]

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
        with self._db.read() as session:
            image = get_image(session, scope, image_name)
            stmt = select(ImageVersionAlias).where(ImageVersionAlias.image_id == image.id)
            if version is not None:
                row = self._select(session, image, version, None)
                stmt = stmt.where(ImageVersionAlias.version_id == row.id)
            if alias is not None:
                stmt = stmt.where(ImageVersionAlias.alias == alias)
            after = _ALIAS_PAGES.after(next_token)
            if after is not None:
                stmt = stmt.where(ImageVersionAlias.alias > after[0])
            names = list(session.scalars(stmt.with_only_columns(ImageVersionAlias.alias).order_by(ImageVersionAlias.alias).limit(max_results + 1)))
        return _ALIAS_PAGES.page(names, max_results)

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
            with self._db.write() as session:
                image = get_image(session, scope, image_name)
                row = self._select(session, image, version, alias)
                if row.status != ImageVersionStatus.CREATED:
                    raise ResourceInUse(f"Image version {version_arn(image, row.version)} is {row.status}")
                current = {a.alias: a for a in row.aliases}
                missing = [a for a in to_delete if a not in current]
                if missing:
                    raise ValidationException(
                        f"Aliases {', '.join(missing)} are not aliases of version {row.version} of image {image.name}"
                    )
                new = [a for a in dict.fromkeys(to_add) if a not in current]
                self._check_aliases_free(session, image, new)
                for name in to_delete:
                    session.delete(current[name])
                session.add_all(ImageVersionAlias(image_id=image.id, version_id=row.id, alias=a) for a in new)
                values = {METADATA_FIELDS[k]: v for k, v in metadata.items()}
                session.execute(
                    update(ImageVersion)
                    .where(ImageVersion.id == row.id)
                    .values(modified_ms=self._clock.now_ms(), **values)
                )
                arn = version_arn(image, row.version)
        except IntegrityError:
            raise ResourceInUse(f"An alias in {to_add} was just given to another version of {image_name}") from None
        return arn

    def delete(self, scope: Scope, image_name: str, version: int | None, alias: str | None) -> None:
        if version is None and alias is None:
            raise ValidationException("Either Version or Alias must be specified to delete an image version")
        with self._db.write() as session:
            image = get_image(session, scope, image_name)
            row = self._select(session, image, version, alias)
            if row.status == ImageVersionStatus.DELETING:
                return
            if row.status == ImageVersionStatus.CREATING:
                raise ResourceInUse(f"Image version {version_arn(image, row.version)} is CREATING; delete it once that ends")
            session.execute(
                update(ImageVersion)
                .where(ImageVersion.id == row.id)
                .values(status=ImageVersionStatus.DELETING, modified_ms=self._clock.now_ms())
            )
        self._settling.changed("images")

    # --- helpers --------------------------------------------------------------

    @staticmethod
    def _select(session: Session, image: Image, version: int | None, alias: str | None) -> ImageVersion:
        if version is not None and alias is not None:
            raise ValidationException("Specify either Version or Alias, not both")
        stmt = select(ImageVersion).options(selectinload(ImageVersion.aliases)).where(ImageVersion.image_id == image.id)
        if version is not None:
            row = session.scalar(stmt.where(ImageVersion.version == version))
            missing = f"Image version {version_arn(image, version)} does not exist"
        elif alias is not None:
            stmt = stmt.join(ImageVersionAlias, ImageVersionAlias.version_id == ImageVersion.id)
            row = session.scalar(stmt.where(ImageVersionAlias.alias == alias))
            missing = f"Image version with alias {alias} of image {image_arn(image)} does not exist"
        else:
            row = session.scalar(stmt.order_by(ImageVersion.version.desc()).limit(1))
            missing = f"Image {image_arn(image)} has no versions"
        if row is None:
            raise ResourceNotFound(missing)
        return row

    @staticmethod
    def _check_aliases_free(session: Session, image: Image, aliases: list[str]) -> None:
        if not aliases:
            return
        taken = session.execute(
            select(ImageVersionAlias.alias, ImageVersion.version)
            .join(ImageVersion, ImageVersion.id == ImageVersionAlias.version_id)
            .where(ImageVersionAlias.image_id == image.id, ImageVersionAlias.alias.in_(aliases))
        ).all()
        if taken:
            detail = ", ".join(f"{a} (version {v})" for a, v in taken)
            raise ResourceInUse(f"Aliases already in use on image {image.name}: {detail}")

    def _check_quota(self, session: Session, image: Image) -> None:
        if not self._max_versions:
            return
        count = session.scalar(select(func.count()).select_from(ImageVersion).where(ImageVersion.image_id == image.id))
        if count >= self._max_versions:
            raise ResourceLimitExceeded(
                f"Image {image.name} already has {count} versions; the limit is {self._max_versions} "
                "(BYOI_MAX_VERSIONS_PER_IMAGE)"
            )
