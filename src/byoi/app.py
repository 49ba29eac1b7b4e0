"""The ASGI application: wires settings, store, services and protocol together.

``create_app(settings)`` opens and migrates the database, builds everything
from its arguments (tests pass their own resolver or clock) and returns a
Starlette app whose lifespan runs the settling task. It raises
``StartupError`` (or ``ValueError`` for bad settings) when byoi cannot start.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import logging
import os
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import anyio
from sqlalchemy.exc import SQLAlchemyError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from byoi.auth.keys import AccessKeys, CredentialsFileError, KeyStore
from byoi.auth.sigv4 import Caller, SignedRequest, verify
from byoi.auth.tokens import TokenSigner, load_secret
from byoi.aws.protocol import Authenticator, JsonProtocolEndpoint
from byoi.clock import Clock, SystemClock
from byoi.cloudcontrol import cloudcontrol_service
from byoi.cloudwatch_logs import logs_service
from byoi.gateway.ledger import PresignLedger
from byoi.gateway.proxy import Proxy
from byoi.gateway.sessions import Sessions
from byoi.gateway.sites import SITE_KEY, Sites
from byoi.gateway.studio import StudioPages
from byoi.metrics import Metrics
from byoi.runtime.app_logs import AppLogs
from byoi.runtime.app_settler import AppSettler
from byoi.runtime.backend import BackendError, RuntimeBackend
from byoi.sagemaker import sagemaker_service
from byoi.services.base_images import BaseImageError, BaseImageResolver, DockerResolver, PassThroughResolver
from byoi.services.registry import RegistryResolver
from byoi.services.wiring import build_services
from byoi.settings import DockerMode, RuntimeKind, Settings
from byoi.store.apps import count_apps
from byoi.store.database import Database
from byoi.store.files import private_dir
from byoi.store.instance_keys import shared_key
from byoi.store.transitions import Lease, default_holder, release_claims
from byoi.studio_urls import StudioOrigins, default_studio_url

log = logging.getLogger(__name__)


class StartupError(Exception):
    """byoi cannot start as configured; the message says why and what to change."""


def docker_client(mode: DockerMode):
    """A connected docker.DockerClient, or None when byoi runs without an engine."""
    if mode is DockerMode.off:
        return None
    try:
        import docker

        client = docker.from_env(timeout=60)
        client.ping()
    except Exception as exc:  # noqa: BLE001 - any failure means "no usable engine"
        if mode is DockerMode.on:
            raise StartupError(
                f"BYOI_DOCKER=on but no Docker engine answers ({exc}); start dockerd or set DOCKER_HOST"
            ) from None
        log.info("no Docker engine answers: image versions record BaseImage as given and apps cannot run")
        return None
    log.info("using the Docker engine to resolve image versions and run apps")
    return client


def app_runtime(client, settings: Settings, db: Database, clock: Clock, logs: AppLogs, secret: bytes,
                lease: Lease, metrics: Metrics | None = None, backend: RuntimeBackend | None = None) -> AppSettler:
    """The settler that runs apps: on ``backend`` when given (tests), else on the cluster or the Docker
    engine the settings name, or failing them with a reason when there is none."""
    from byoi.runtime.instance_types import InstanceTypes
    from byoi.runtime.kgw.bundle import ensure_bundle

    @functools.cache
    def bundle() -> str:  # built on first use, not at start-up
        return str(ensure_bundle(settings.data_dir / "runtime"))

    try:
        instance_types = InstanceTypes.load(str(settings.instance_types_file) if settings.instance_types_file else None)
    except ValueError as exc:
        raise StartupError(f"{exc} (BYOI_INSTANCE_TYPES_FILE)") from None
    if backend is None and settings.runtime is RuntimeKind.kubernetes:
        backend = kubernetes_backend(settings)
    elif backend is None and client is not None:
        from byoi.runtime.docker_backend import DockerBackend

        app_firewall(settings)
        backend = DockerBackend(client, bundle, settings.data_dir / "apps")
    return AppSettler(
        db,
        clock,
        backend,
        bundle,
        secret,
        logs,
        settings.app_start_timeout_seconds,
        instance_id=instance_id(db),
        idle_timeout=settings.app_idle_timeout_seconds,
        kernel_idle_timeout=settings.kernel_idle_timeout_seconds,
        instance_types=instance_types,
        log_retention_days=settings.log_retention_days,
        lease=lease,
        metrics=metrics,
    )


def kubernetes_backend(settings: Settings):
    """The Kubernetes backend (BYOI_RUNTIME=kubernetes): a kubeconfig, or the pod's service account."""
    from lightkube import Client
    from lightkube.config.kubeconfig import KubeConfig

    from byoi.runtime.kubernetes.backend import KubernetesBackend
    from byoi.runtime.kubernetes.manifests import ClusterSide
    from byoi.settings import parse_labels, parse_tolerations, split_names

    if not settings.kubernetes_gateway_image:
        raise StartupError("BYOI_RUNTIME=kubernetes needs BYOI_KUBERNETES_GATEWAY_IMAGE: the byoi gateway image "
                           "(scripts/build-gateway-image.sh builds it; see docs/runtime.md)")
    try:
        if settings.kubernetes_kubeconfig:
            config = KubeConfig.from_file(settings.kubernetes_kubeconfig)
        else:
            config = KubeConfig.from_env()
        def connect() -> Client:
            return Client(config, namespace=settings.kubernetes_namespace, field_manager="byoi")

        client = connect()
    except Exception as exc:  # noqa: BLE001 - a missing or malformed kubeconfig, no service account
        where = settings.kubernetes_kubeconfig or "the pod's service account, $KUBECONFIG or ~/.kube/config"
        raise StartupError(f"cannot load a Kubernetes configuration from {where}: {exc} (BYOI_KUBERNETES_KUBECONFIG)") from None
    cluster = ClusterSide(
        namespace=client.namespace,
        gateway_image=settings.kubernetes_gateway_image,
        image_pull_secrets=tuple(split_names(settings.kubernetes_image_pull_secrets)),
        node_selector=parse_labels(settings.kubernetes_node_selector),
        tolerations=tuple(parse_tolerations(settings.kubernetes_tolerations)),
        storage_class=settings.kubernetes_storage_class,
        home_access_mode=settings.kubernetes_home_access_mode.value,
        byoi_pods=parse_labels(settings.kubernetes_byoi_pods),
        byoi_namespace=settings.kubernetes_byoi_namespace,
        cluster_domain=settings.kubernetes_cluster_domain,
    )
    log.info("running apps as pods in namespace %s", cluster.namespace)
    return KubernetesBackend(client, cluster, streams=connect, image_command=registry_image_command(registry_resolver(settings)))


def registry_image_command(resolver: RegistryResolver):
    """The Kubernetes backend's ``image_command``: an image's ENTRYPOINT and CMD from its registry
    (with the BYOI_REGISTRY_* credentials and TLS settings that resolve BaseImage), a failure
    as a BackendError whose text (naming the image and why) becomes the app's FailureReason."""

    def image_command(image: str) -> tuple[list[str] | None, list[str] | None]:
        try:
            return resolver.image_command(image)
        except BaseImageError as exc:
            raise BackendError(str(exc)) from None

    return image_command


def app_firewall(settings: Settings) -> None:
    """Keep apps off the host's own services (BYOI_APP_FIREWALL; docs/security.md)."""
    from byoi.runtime import firewall

    if not firewall.wanted(settings.app_firewall.value, os.geteuid() == 0):
        if settings.app_firewall.value != "off":
            log.warning("apps can reach services on this host's addresses: run byoi as root, or add the rule in docs/security.md")
        return
    try:
        firewall.install()
    except firewall.FirewallError as exc:
        if settings.app_firewall.value == "on":
            raise StartupError(f"{exc} (BYOI_APP_FIREWALL=on)") from None
        log.warning("could not install the app firewall (%s); see docs/security.md", exc)


def base_image_resolver(settings: Settings, client) -> BaseImageResolver:
    """Where BaseImage resolves: where the runtime gets its images. A cluster pulls from a
    registry (BYOI_REGISTRY_*); the Docker runtime never pulls, so it runs what its engine holds."""
    if settings.runtime is RuntimeKind.kubernetes:
        return registry_resolver(settings)
    return DockerResolver(client) if client else PassThroughResolver()


def registry_resolver(settings: Settings) -> RegistryResolver:
    """The registry the cluster pulls from, as the BYOI_REGISTRY_* settings describe it."""
    try:
        return RegistryResolver.from_settings(
            settings.registry_url,
            settings.registry_username,
            settings.registry_password,
            settings.registry_auth_file,
            settings.registry_ca_file,
            settings.registry_insecure,
        )
    except ValueError as exc:
        raise StartupError(str(exc)) from None


def instance_id(db: Database) -> str:
    """Names the store this byoi serves; processes sharing a database share their apps."""
    url = db.url.render_as_string(hide_password=True)
    return hashlib.sha256(url.encode()).hexdigest()[:12]


def authenticator(settings: Settings, db: Database, clock: Clock) -> Authenticator | None:
    """SigV4 verification against the configured keys, or None when auth is off."""
    if not settings.auth_enabled():
        log.warning("authentication is off: anyone who can reach %s:%s may call every API", settings.host, settings.port)
        return None
    try:
        keys = KeyStore(AccessKeys(db, clock), settings.credentials_file)
    except CredentialsFileError as exc:
        raise StartupError(f"{exc} (BYOI_CREDENTIALS_FILE)") from None
    if keys.count() == 0:
        log.warning(
            "authentication is on but no access keys are configured: every request will be refused. "
            "Create one with 'byoi keys create' or set BYOI_CREDENTIALS_FILE"
        )

    def authenticate(request: SignedRequest) -> Caller:
        return verify(request, keys.lookup, datetime.fromtimestamp(clock.now_ms() / 1000, UTC))

    return authenticate


def replica_lease(settings: Settings) -> Lease:
    """This replica's name (BYOI_REPLICA_ID, else host and data directory) and lease length."""
    return Lease(settings.replica_id or default_holder(str(settings.data_dir)), settings.settler_lease_seconds)


def create_app(
    settings: Settings, resolver: BaseImageResolver | None = None, clock: Clock | None = None,
    backend: RuntimeBackend | None = None,
) -> ByoiApp:
    """The app; ``backend`` runs apps instead of the Docker engine's (tests' shared fakes)."""
    clock = clock or SystemClock()
    client = docker_client(settings.docker) if resolver is None and settings.runtime is RuntimeKind.docker else None
    resolver = resolver if resolver is not None else base_image_resolver(settings, client)
    public_url = settings.public_url or f"http://{settings.host}:{settings.port}"
    try:  # it holds the database, gateway.key and app logs: only its owner may enter (byoi.store.files)
        private_dir(settings.data_dir)
    except OSError as exc:
        raise StartupError(f"cannot create the data directory {settings.data_dir} (BYOI_DATA_DIR): {exc}") from None
    origins = StudioOrigins(settings.studio_url or default_studio_url(public_url))
    db = Database(settings.resolved_database_url())
    try:
        db.migrate()
    except SQLAlchemyError as exc:
        db.dispose()
        raise StartupError(f"cannot open the database {db.url.render_as_string(hide_password=True)}: {exc}") from None
    lease = replica_lease(settings)
    services = build_services(
        db,
        clock,
        resolver,
        transition_seconds=settings.transition_seconds,
        max_images=settings.max_images,
        max_versions_per_image=settings.max_versions_per_image,
        public_url=public_url,
        jupyter_server_image=settings.jupyter_server_image,
        origins=origins,
        lease=lease,
    )
    metrics = Metrics(functools.partial(count_apps, db))
    secret = load_secret(settings.data_dir, settings.session_secret, functools.partial(shared_key, db, "gateway"))
    sessions = Sessions(TokenSigner(secret), clock, services.domains, origins, PresignLedger(db))
    proxy = Proxy(secret, clock, services.apps, metrics=metrics)
    sites = Sites(sessions, proxy, services.domains, services.apps, public_url, origins)
    logs = AppLogs(settings.data_dir)
    services.settling.add(app_runtime(client, settings, db, clock, logs, secret, lease, metrics, backend), background_only=True)
    sagemaker = sagemaker_service(services)
    sagemaker.handlers = {**sagemaker.handlers, "CreatePresignedDomainUrl": sessions.presigned_url}
    endpoint = JsonProtocolEndpoint(
        [sagemaker, cloudcontrol_service(services, db, clock), logs_service(logs, settings.log_retention_days)],
        settings.account_id,
        settings.region,
        authenticator(settings, db, clock),
        inline=db.is_sqlite,
        max_body_bytes=settings.max_request_bytes,
        observe=metrics.api_call,
    )

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        task = asyncio.create_task(services.settling.run(), name="byoi-settling")
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            try:  # the other replicas take this one's rows at once instead of when its leases expire
                release_claims(db, lease.holder)
            except SQLAlchemyError:
                log.exception("could not release this replica's claims; they expire in %ss", lease.seconds)
            await proxy.close()
            db.dispose()

    async def health(_request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    async def prometheus(_request: Request) -> Response:
        # Unauthenticated, as Prometheus scrapes: counts by state, type, operation and error code
        # only, never a name (byoi.metrics). The app counts read the store: off the event loop.
        body, content_type = await anyio.to_thread.run_sync(metrics.exposition)
        return Response(body, media_type=content_type)

    async def not_found(request: Request) -> JSONResponse:
        return JSONResponse(
            {"__type": "UnknownOperationException", "message": f"byoi serves AWS APIs on POST /; not {request.method} {request.url.path}"},
            status_code=404,
        )

    async def not_here(request: Request) -> JSONResponse:
        return JSONResponse({"message": f"Studio serves nothing at {request.url.path}"}, status_code=404)

    async def internal_error(_request: Request, exc: Exception) -> JSONResponse:
        log.error("unhandled error", exc_info=exc)
        return JSONResponse({"__type": "InternalFailure", "message": "An internal error occurred; see the server log"}, 500)

    errors = {Exception: internal_error}
    anything = ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD"]
    public = Starlette(
        routes=[Route("/_byoi/health", health, methods=["GET"]), Route("/metrics", prometheus, methods=["GET"]),
                *sites.public_routes(), Route("/{path:path}", not_found, methods=anything)],
        lifespan=lifespan,
        exception_handlers=errors,
    )
    studio = StudioPages(sites, endpoint, services.domains)
    domain_site = Starlette(
        routes=[*sites.domain_routes(), *studio.routes(), Route("/{path:path}", not_here, methods=anything)], exception_handlers=errors
    )
    space_site = Starlette(routes=sites.space_routes(), exception_handlers=errors)
    return ByoiApp(public, endpoint, services, db, origins, domain_site, space_site)


class ByoiApp:
    """The ASGI application. A request whose Host is a Studio origin (``byoi.studio_urls``)
    goes to that domain's or space's site; on any other host ``POST /`` (every AWS API call)
    goes straight to the protocol endpoint, and the rest (gateway paths, health, lifespan) to
    Starlette."""

    def __init__(self, app: Starlette, endpoint: JsonProtocolEndpoint, services, db: Database, origins: StudioOrigins,
                 domain_site: Starlette, space_site: Starlette):
        self.starlette = app
        self.endpoint = endpoint
        self.services = services
        self.db = db
        self._origins = origins
        self._domain_site = domain_site
        self._space_site = space_site

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] in ("http", "websocket"):
            host = next((v.decode("latin-1") for k, v in scope["headers"] if k == b"host"), None)
            site = self._origins.site(host)
            if site is not None:
                scope[SITE_KEY] = site
                await (self._space_site if site.is_space else self._domain_site)(scope, receive, send)
                return
        if scope["type"] == "http" and scope["method"] == "POST" and scope["path"] == "/":
            await self.endpoint.asgi(scope, receive, send)
        else:
            await self.starlette(scope, receive, send)
