"""SQLAlchemy 2.0 typed models: the durable state of byoi.

Conventions:
* Times are integer epoch **milliseconds** (``*_ms``): exact, sortable, and
  identical on SQLite and PostgreSQL; AWS reports timestamps to the millisecond.
* ``name_key`` is the lower-cased name. Uniqueness is enforced by the database
  on (account_id, region, name_key), so concurrent creates of one name leave
  exactly one row (see ``byoi.aws.arns`` for why case is ignored).
* Child rows cascade on delete in the database itself.

Schema changes go through an alembic migration in ``migrations/versions``;
``tests/store/test_migrations.py`` fails if the two drift apart.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, ForeignKey, Index, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class Base(DeclarativeBase):
    pass


class Image(Base):
    __tablename__ = "images"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[str] = mapped_column(String(12))
    region: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(63))
    name_key: Mapped[str] = mapped_column(String(63))
    role_arn: Mapped[str] = mapped_column(String(2048))
    display_name: Mapped[str | None] = mapped_column(String(128))
    description: Mapped[str | None] = mapped_column(String(512))
    status: Mapped[str] = mapped_column(String(16))
    failure_reason: Mapped[str | None] = mapped_column(Text)
    created_ms: Mapped[int] = mapped_column(BigInteger)
    modified_ms: Mapped[int] = mapped_column(BigInteger)
    #: The number the next version gets; numbers are never reused.
    next_version: Mapped[int] = mapped_column(Integer, default=1)

    versions: Mapped[list[ImageVersion]] = relationship(
        back_populates="image", cascade="all, delete-orphan", passive_deletes=True
    )

    __table_args__ = (
        UniqueConstraint("account_id", "region", "name_key", name="uq_images_name"),
        Index("ix_images_created", "account_id", "region", "created_ms"),
        Index("ix_images_modified", "account_id", "region", "modified_ms"),
        Index("ix_images_name", "account_id", "region", "name"),
        Index("ix_images_status", "status"),
    )


class ImageVersion(Base):
    __tablename__ = "image_versions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    image_id: Mapped[int] = mapped_column(ForeignKey("images.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    base_image: Mapped[str] = mapped_column(String(255))
    container_image: Mapped[str | None] = mapped_column(String(512))
    status: Mapped[str] = mapped_column(String(16))
    failure_reason: Mapped[str | None] = mapped_column(Text)
    client_token: Mapped[str] = mapped_column(String(36))
    vendor_guidance: Mapped[str | None] = mapped_column(String(16))
    job_type: Mapped[str | None] = mapped_column(String(16))
    ml_framework: Mapped[str | None] = mapped_column(String(128))
    programming_lang: Mapped[str | None] = mapped_column(String(128))
    processor: Mapped[str | None] = mapped_column(String(8))
    horovod: Mapped[bool | None] = mapped_column(Boolean)
    release_notes: Mapped[str | None] = mapped_column(String(255))
    created_ms: Mapped[int] = mapped_column(BigInteger)
    modified_ms: Mapped[int] = mapped_column(BigInteger)

    image: Mapped[Image] = relationship(back_populates="versions")
    aliases: Mapped[list[ImageVersionAlias]] = relationship(
        back_populates="version", cascade="all, delete-orphan", passive_deletes=True, order_by="ImageVersionAlias.id"
    )

    __table_args__ = (
        UniqueConstraint("image_id", "version", name="uq_image_versions_version"),
        UniqueConstraint("image_id", "client_token", name="uq_image_versions_token"),
        Index("ix_image_versions_status", "status"),
    )


class ImageVersionAlias(Base):
    __tablename__ = "image_version_aliases"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    image_id: Mapped[int] = mapped_column(ForeignKey("images.id", ondelete="CASCADE"))
    version_id: Mapped[int] = mapped_column(ForeignKey("image_versions.id", ondelete="CASCADE"))
    alias: Mapped[str] = mapped_column(String(128))

    version: Mapped[ImageVersion] = relationship(back_populates="aliases")

    __table_args__ = (UniqueConstraint("image_id", "alias", name="uq_image_version_aliases_alias"),)


class AppImageConfig(Base):
    __tablename__ = "app_image_configs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[str] = mapped_column(String(12))
    region: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(63))
    name_key: Mapped[str] = mapped_column(String(63))
    created_ms: Mapped[int] = mapped_column(BigInteger)
    modified_ms: Mapped[int] = mapped_column(BigInteger)
    #: The three app modes, stored as the API's own JSON (exactly one is set).
    kernel_gateway: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    jupyter_lab: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    code_editor: Mapped[dict[str, Any] | None] = mapped_column(JSON)

    __table_args__ = (
        UniqueConstraint("account_id", "region", "name_key", name="uq_app_image_configs_name"),
        Index("ix_app_image_configs_created", "account_id", "region", "created_ms"),
        Index("ix_app_image_configs_modified", "account_id", "region", "modified_ms"),
        Index("ix_app_image_configs_name", "account_id", "region", "name"),
    )


class StudioLifecycleConfig(Base):
    """A Studio lifecycle configuration: a shell script an app runs when it starts."""

    __tablename__ = "studio_lifecycle_configs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[str] = mapped_column(String(12))
    region: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(63))
    name_key: Mapped[str] = mapped_column(String(63))
    app_type: Mapped[str] = mapped_column(String(16))
    #: The script, base64-encoded as the API carries it.
    content: Mapped[str] = mapped_column(Text)
    created_ms: Mapped[int] = mapped_column(BigInteger)
    modified_ms: Mapped[int] = mapped_column(BigInteger)

    __table_args__ = (
        UniqueConstraint("account_id", "region", "name_key", name="uq_studio_lifecycle_configs_name"),
        Index("ix_studio_lifecycle_configs_created", "account_id", "region", "created_ms"),
        Index("ix_studio_lifecycle_configs_modified", "account_id", "region", "modified_ms"),
        Index("ix_studio_lifecycle_configs_name", "account_id", "region", "name"),
    )


class Tag(Base):
    __tablename__ = "tags"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    resource_arn: Mapped[str] = mapped_column(String(256))
    key: Mapped[str] = mapped_column(String(128))
    value: Mapped[str] = mapped_column(String(256))

    __table_args__ = (UniqueConstraint("resource_arn", "key", name="uq_tags_key"),)


class ResourceRequest(Base):
    """A Cloud Control resource operation request; kept 7 days, as AWS keeps them."""

    __tablename__ = "resource_requests"

    request_token: Mapped[str] = mapped_column(String(128), primary_key=True)
    account_id: Mapped[str] = mapped_column(String(12))
    region: Mapped[str] = mapped_column(String(32))
    client_token: Mapped[str] = mapped_column(String(128))
    #: Digest of what was asked, to tell a retry from a ClientToken reused for another request.
    request_hash: Mapped[str] = mapped_column(String(64))
    type_name: Mapped[str] = mapped_column(String(196))
    operation: Mapped[str] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(24))
    identifier: Mapped[str | None] = mapped_column(String(1024))
    #: The model to create, or the patched model to update to (JSON).
    desired_state: Mapped[str | None] = mapped_column(Text)
    resource_model: Mapped[str | None] = mapped_column(Text)
    error_code: Mapped[str | None] = mapped_column(String(32))
    status_message: Mapped[str | None] = mapped_column(Text)
    #: Whether the operation was carried out (then only stabilization remains).
    executed: Mapped[bool] = mapped_column(Boolean, default=False)
    created_ms: Mapped[int] = mapped_column(BigInteger)
    event_ms: Mapped[int] = mapped_column(BigInteger)

    __table_args__ = (
        Index("ix_resource_requests_client_token", "account_id", "region", "client_token"),
        Index("ix_resource_requests_created", "account_id", "region", "created_ms"),
        Index("ix_resource_requests_status", "status"),
    )


class Domain(Base):
    """A Studio domain; its settings are kept as the API's own JSON."""

    __tablename__ = "domains"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    domain_id: Mapped[str] = mapped_column(String(63), unique=True)
    account_id: Mapped[str] = mapped_column(String(12))
    region: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(63))
    status: Mapped[str] = mapped_column(String(16))
    failure_reason: Mapped[str | None] = mapped_column(Text)
    #: Every other member of CreateDomain (AuthMode, DefaultUserSettings, ...), as given.
    settings: Mapped[dict[str, Any]] = mapped_column(JSON)
    next_home_uid: Mapped[int] = mapped_column(Integer, default=200001)
    created_ms: Mapped[int] = mapped_column(BigInteger)
    modified_ms: Mapped[int] = mapped_column(BigInteger)

    __table_args__ = (Index("ix_domains_scope", "account_id", "region", "created_ms"),)


class DomainMember(Base):
    """A user profile or a space of a domain (``kind`` says which); both own a home."""

    __tablename__ = "domain_members"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    domain_pk: Mapped[int] = mapped_column(ForeignKey("domains.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(8))  # "user" | "space"
    name: Mapped[str] = mapped_column(String(63))
    name_key: Mapped[str] = mapped_column(String(63))
    status: Mapped[str] = mapped_column(String(16))
    failure_reason: Mapped[str | None] = mapped_column(Text)
    #: UserSettings / SpaceSettings and the other members given, as the API's JSON.
    settings: Mapped[dict[str, Any]] = mapped_column(JSON)
    home_uid: Mapped[int] = mapped_column(Integer)
    created_ms: Mapped[int] = mapped_column(BigInteger)
    modified_ms: Mapped[int] = mapped_column(BigInteger)

    #: Always loaded: a member's ARN and settings chain need its domain.
    domain: Mapped[Domain] = relationship()

    __table_args__ = (
        UniqueConstraint("domain_pk", "kind", "name_key", name="uq_domain_members_name"),
        Index("ix_domain_members_created", "domain_pk", "kind", "created_ms"),
    )


class App(Base):
    """A Studio app. Deleted apps stay listed (status Deleted) like on AWS."""

    __tablename__ = "apps"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    domain_pk: Mapped[int] = mapped_column(ForeignKey("domains.id", ondelete="CASCADE"))
    member_pk: Mapped[int | None] = mapped_column(ForeignKey("domain_members.id", ondelete="SET NULL"))
    owner_kind: Mapped[str] = mapped_column(String(8))  # "user" | "space"
    owner_name: Mapped[str] = mapped_column(String(63))
    app_type: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(63))
    #: Unique among live apps; a Deleted app's key is freed (set to its id).
    live_key: Mapped[str] = mapped_column(String(400), unique=True)
    status: Mapped[str] = mapped_column(String(16))
    failure_reason: Mapped[str | None] = mapped_column(Text)
    resource_spec: Mapped[dict[str, Any]] = mapped_column(JSON)
    #: What the runtime runs: the resolved container image and the AppImageConfig mode.
    container_image: Mapped[str | None] = mapped_column(String(512))
    image_version_arn: Mapped[str | None] = mapped_column(String(256))
    app_image_config: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    container_name: Mapped[str | None] = mapped_column(String(255))
    endpoint_host: Mapped[str | None] = mapped_column(String(255))
    endpoint_port: Mapped[int | None] = mapped_column(Integer)
    started_ms: Mapped[int | None] = mapped_column(BigInteger)
    last_activity_ms: Mapped[int | None] = mapped_column(BigInteger)
    last_health_ms: Mapped[int | None] = mapped_column(BigInteger)
    created_ms: Mapped[int] = mapped_column(BigInteger)
    modified_ms: Mapped[int] = mapped_column(BigInteger)

    #: Always loaded: an app's ARN and settings need its domain.
    domain: Mapped[Domain] = relationship()

    __table_args__ = (
        Index("ix_apps_domain", "domain_pk", "created_ms"),
        Index("ix_apps_status", "status"),
    )


class AccessKey(Base):
    """An access key that may sign requests (SigV4); see ``byoi.auth.keys``."""

    __tablename__ = "access_keys"

    access_key_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    #: Stored as given: SigV4 verification needs the secret itself (an HMAC key).
    secret_access_key: Mapped[str] = mapped_column(String(128))
    description: Mapped[str] = mapped_column(String(256), default="")
    created_ms: Mapped[int] = mapped_column(BigInteger)


class UsedPresignedUrl(Base):
    """A presigned domain URL that has opened a session; refused if presented again.
    Kept until the URL would have expired anyway (see ``byoi.gateway.ledger``)."""

    __tablename__ = "used_presigned_urls"

    token_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    expires_ms: Mapped[int] = mapped_column(BigInteger)

    __table_args__ = (Index("ix_used_presigned_urls_expires", "expires_ms"),)


class SettlerClaim(Base):
    """A replica's lease on one transitional row: while unexpired, only ``holder`` settles it
    (``byoi.store.transitions``). ``kind`` is the row's table, ``key`` its key as text."""

    __tablename__ = "settler_claims"

    kind: Mapped[str] = mapped_column(String(64), primary_key=True)
    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    holder: Mapped[str] = mapped_column(String(128))
    expires_ms: Mapped[int] = mapped_column(BigInteger)

    __table_args__ = (Index("ix_settler_claims_holder", "holder"),)


class InstanceKey(Base):
    """A secret every replica of one byoi shares (``name`` 'gateway': the key that signs
    sessions and presigned URLs and derives apps' tokens; see ``byoi.auth.tokens``)."""

    __tablename__ = "instance_keys"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    value: Mapped[bytes] = mapped_column(LargeBinary)
