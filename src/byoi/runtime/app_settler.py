"""Makes running containers match the apps in the store (level-triggered).

Each pass, in the settling task (never inside an API call):

* Pending app without a container: build its ContainerSpec (the contract) on
  its owner's network and home (named by the owner's HomeEfsFileSystemUid),
  with the digests of the tokens that open it, and start it. Contract or
  backend errors make it Failed with their message as FailureReason.
* Pending app with a container: InService once port 8888 answers; Failed if the
  container exits (FailureReason carries the backend's reason, such as OOMKilled
  or ImagePullBackOff, and its last output) or does not answer within
  ``start_timeout`` (a container a cluster is still pulling or scheduling,
  ``RunState.starting``, gets the same time, then fails with the reason it waits).
* InService app, checked every ``HEALTH_SECONDS`` (those falling due within
  ``HEALTH_BATCH_SECONDS`` of each other in one pass, side by side on up to
  ``HEALTH_WORKERS`` threads, so the interval holds with hundreds of apps a replica
  and a slow cluster API): a container that stopped makes it Failed; an app without
  user activity (requests through byoi's gateway) for its idle timeout is shut
  down (Deleting, then Deleted) as Studio's idle shutdown does, its home kept.
  A JupyterLab or Code Editor app's idle timeout comes from the
  AppLifecycleManagement.IdleSettings of its owner and domain
  (``app_settings.idle_timeout_minutes``); otherwise, and for other app
  types, it is ``idle_timeout`` (BYOI_APP_IDLE_TIMEOUT_SECONDS; 0 = never).
* While a container runs, its output is copied to the app's log stream as it is
  written (``byoi.runtime.log_shipper``); what is left is copied before the
  container is removed.
* An app whose ResourceSpec names a lifecycle configuration runs its script
  first (``contract.LifecycleRun``); a script that fails or runs over Studio's 5
  minutes fails the app with a FailureReason naming the script's log stream.
* Deleting app: the container is stopped like ``docker stop`` and removed, and
  the app becomes Deleted.
* Every ``RECONCILE_SECONDS`` (and on the first pass after a restart): managed
  containers that belong to no live app are removed, then networks no
  container uses, so nothing is orphaned; and log events older than the
  retention period are deleted.

State changes are compare-and-set on the app's status. With several replicas
on one database (docs/replicas.md) each live app is settled by the replica
holding its lease (``byoi.store.transitions``): that one starts its container
(renewing the lease just before), follows its logs, checks its health and
deletes it; a killed replica's apps are taken over when its leases expire. A
container already running under the app's name (started by a replica killed
before it recorded the start) is adopted, never started a second time. The
reconciler lists the engine's containers *before* it reads the live apps and
keeps every container named for a live app, so it never removes one that
another replica has just started.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from byoi.app_settings import (
    idle_timeout_minutes,
    posix_user,
    settings_chain,
    space_home_gib,
    space_owner_name,
    space_storage_levels,
)
from byoi.auth.tokens import app_authorization, app_token, lifecycle_nonce, owner_token, token_digest
from byoi.aws.arns import STUDIO_LIFECYCLE_CONFIG, app_arn, parse_sagemaker_arn
from byoi.clock import Clock
from byoi.metrics import Metrics
from byoi.runtime.app_logs import LOG_GROUP, AppLogs, lifecycle_stream
from byoi.runtime.backend import BackendError, RuntimeBackend
from byoi.runtime.contract import (
    LIFECYCLE_TIMEOUT_SECONDS,
    AppIdentity,
    ContractError,
    HostSide,
    LifecycleRun,
    container_name,
    container_spec,
    home_volume_name,
    jupyter_server_path,
    network_name,
)
from byoi.runtime.instance_types import InstanceTypes
from byoi.runtime.log_shipper import LogShipper, ShippedApp
from byoi.runtime.readiness import answers
from byoi.store.apps import APP_TO_RUN
from byoi.store.database import Database
from byoi.store.domains import MEMBER_BY_KEY, member_in_domain
from byoi.store.models import App
from byoi.store.studio_lifecycle_configs import LIFECYCLE_CONFIG_BY_NAME
from byoi.store.transitions import PROCESS_LEASE, Lease, Transitions, soonest
from byoi.vocabulary import CUSTOM_IMAGE_APPS, LIVE_APP_STATES, SPACE_APPS, AppStatus

log = logging.getLogger(__name__)

#: How often a starting app is asked whether it serves yet (a docker inspect and one
#: HTTP request); it bounds how late InService can be (benchmarks/app_start.py).
POLL_SECONDS = 0.1
#: How often an InService app is checked (its container's state, its idle time). A check
#: falls due up to HEALTH_BATCH_SECONDS early, so checks due close together share a pass
#: (a replica with 1,000 apps wakes about once a second for them, not a thousand times).
HEALTH_SECONDS = 5.0
HEALTH_BATCH_SECONDS = 1.0
#: How many of a pass's health checks run at once: each mostly waits (on the engine or the
#: cluster's API server, and the database), so one after another they would stretch the
#: interval past HEALTH_SECONDS with a few hundred apps (benchmarks/kubernetes_scale.py).
HEALTH_WORKERS = 8
RECONCILE_SECONDS = 30.0


def readiness_path(app: AppIdentity) -> str:
    if app.app_type == "JupyterServer":
        return jupyter_server_path(app) + "api/status"
    return CUSTOM_IMAGE_APPS[app.app_type].readiness_path


def health_due_in(last_health_ms: int | None, now_ms: int) -> float:
    """Seconds until an InService app's health check falls due (0 or less: due now)."""
    if last_health_ms is None:
        return 0.0
    return (last_health_ms + (HEALTH_SECONDS - HEALTH_BATCH_SECONDS) * 1000 - now_ms) / 1000


#: The instance type of an app created without one (AWS: the domain's default, else these).
DEFAULT_INSTANCE_TYPE = {"JupyterServer": "system"}
FALLBACK_INSTANCE_TYPE = "ml.t3.medium"


class AppSettler:
    kind = "apps"

    def __init__(
        self,
        db: Database,
        clock: Clock,
        backend: RuntimeBackend | None,
        gateway_bundle: Callable[[], str],
        secret: bytes,
        logs: AppLogs,
        start_timeout: float = 120.0,
        instance_id: str = "default",
        idle_timeout: float = 0,
        kernel_idle_timeout: int = 0,
        instance_types: InstanceTypes | None = None,
        probe: Callable[[str, dict[str, str] | None], bool] = answers,
        log_retention_days: int = 0,
        lease: Lease = PROCESS_LEASE,
        metrics: Metrics | None = None,
    ):
        self._db = db
        self._clock = clock
        self._backend = backend
        self._bundle = gateway_bundle
        self._secret = secret
        self._logs = logs
        self._shipper = LogShipper(logs, backend) if backend is not None else None
        self._log_retention_ms = log_retention_days * 86_400_000
        self._start_timeout_ms = int(start_timeout * 1000)
        self._last_reconcile: int | None = None
        self._instance_id = instance_id
        self._idle_timeout_ms = int(idle_timeout * 1000)
        self._kernel_idle_timeout = kernel_idle_timeout
        self._instance_types = instance_types or InstanceTypes.load(None)
        self._probe = probe  # whether a server answers at a URL (readiness.answers; a fake's in unit tests)
        self._apps = Transitions(db, App, LIVE_APP_STATES, columns=[App.container_name, App.last_health_ms], lease=lease)
        self._metrics = metrics
        self._checkers: ThreadPoolExecutor | None = None  # made on the first pass with two checks due

    def settle_due(self) -> float | None:
        now = self._clock.now_ms()
        if self._last_reconcile is None or now - self._last_reconcile > RECONCILE_SECONDS * 1000:
            self._last_reconcile = now
            if self._backend is not None:
                self._remove_orphans()
            if self._log_retention_ms:
                self._logs.prune(now - self._log_retention_ms)
        # Every live app this replica holds is due: Pending and Deleting ones have work each
        # pass; an InService one once its health check falls due.
        scan = self._apps.scan(now)
        waits = [scan.next_in]  # (when another replica's lease on an app would run out)
        checks = []
        for row in scan.due:
            if row.status == AppStatus.InService:
                due_in = health_due_in(row.last_health_ms, now)
                if due_in > 0:
                    waits.append(due_in)
                else:
                    checks.append(row.key)
                continue
            waits.append(self._settle_one(row))
        waits.extend(self._check_all(checks))
        return soonest(*waits)

    def _settle_one(self, row) -> float | None:
        """One step of a Pending or Deleting app; seconds until it needs looking at again."""
        try:
            if row.status == AppStatus.Pending:
                return self._advance(row.key)
            self._delete(row.key)
            return None
        except Exception:  # noqa: BLE001 - one app's trouble must not stop the others
            log.exception("settling app %s failed; retrying", row.key)
            return HEALTH_SECONDS

    def _check_all(self, app_ids: list[int]) -> list[float | None]:
        """Health-check these InService apps, side by side; each one's next wait."""
        if len(app_ids) < 2:
            return [self._check(app_id) for app_id in app_ids]
        if self._checkers is None:
            self._checkers = ThreadPoolExecutor(HEALTH_WORKERS, thread_name_prefix="app-health")
        return list(self._checkers.map(self._check, app_ids))

    def _check(self, app_id: int) -> float | None:
        try:
            return self._healthy(app_id)
        except Exception:  # noqa: BLE001 - one app's trouble must not stop the others
            log.exception("checking app %s failed; retrying", app_id)
            return HEALTH_SECONDS

    # --- steps ----------------------------------------------------------------

    # An app is a row of ``byoi.store.apps``' APP_TO_RUN: its columns, its domain's names and
    # its domain's settings (``domain_settings``).

    def _load(self, app_id: int):
        with self._db.raw_read() as tx:
            return APP_TO_RUN.row(tx, id=app_id)

    def _identity(self, app) -> AppIdentity:
        user, space = (app.owner_name, None) if app.owner_kind == "user" else (None, app.owner_name)
        return AppIdentity(
            app_type=app.app_type,
            app_name=app.name,
            app_arn=app_arn(app),
            domain_id=app.domain_id,
            user_profile_name=user,
            space_name=space,
            instance_type=app.resource_spec.get("InstanceType") or DEFAULT_INSTANCE_TYPE.get(app.app_type, FALLBACK_INSTANCE_TYPE),
            execution_role_arn=(app.domain_settings.get("DefaultUserSettings") or {}).get("ExecutionRole"),
            image_version_arn=app.image_version_arn,
            app_id=app.id,
        )

    def _owner(self, app):
        """The app's user profile or space as a row (None once it is deleted)."""
        if app.member_pk is None:
            return None
        with self._db.raw_read() as tx:
            return MEMBER_BY_KEY.row(tx, id=app.member_pk)

    def _idle_timeout_ms_of(self, app) -> int:
        """The app's idle timeout: its owner's and domain's IdleSettings, else byoi's setting."""
        owner = self._owner(app) if app.app_type in SPACE_APPS else None
        minutes = idle_timeout_minutes(app.app_type, settings_chain(app.domain_settings, owner)) if owner else None
        return minutes * 60_000 if minutes else self._idle_timeout_ms

    def _request_headers(self, app) -> dict[str, str]:
        """What byoi presents to the app: its token, for byoi's kernel gateway."""
        authorization = app_authorization(self._secret, app.app_type, app.id)
        return {"Authorization": authorization} if authorization else {}

    def _advance(self, app_id: int) -> float | None:
        """Move a Pending app along; seconds until it needs looking at again (None: settled for good)."""
        app = self._load(app_id)
        if app is None or app.status != AppStatus.Pending:
            return None
        if self._backend is None:
            self._fail(app, "byoi has no container runtime: start it with a Docker engine (BYOI_DOCKER=on)")
            return None
        if app.container_name is None:
            return POLL_SECONDS if self._start(app) else None
        state = self._backend.state(app.container_name)
        allowed_ms = self._start_timeout_ms + (LIFECYCLE_TIMEOUT_SECONDS * 1000 if self._lifecycle_arn(app) else 0)
        late = self._clock.now_ms() - (app.started_ms or app.created_ms) > allowed_ms
        if state is not None and state.starting:  # the cluster is still pulling or scheduling
            if late:
                why = state.reason or "The app's container did not start."
                self._fail(app, f"{why} (still not running after {allowed_ms // 1000}s)")
                return None
            return POLL_SECONDS
        if state is None or not state.running:
            code = "" if state is None or state.exit_code is None else f" with code {state.exit_code}"
            output = self._backend.logs(app.container_name).strip()[-1500:]
            why = f"{state.reason} " if state is not None and state.reason else ""
            self._fail(app, self._lifecycle_failure(app) or
                       f"{why}The app's container exited{code} before serving on port 8888. Its last output:\n{output}")
            return None
        self._shipper.follow(self._shipped(app))  # (again after a restart of byoi)
        if state.endpoint and self._probe(state.endpoint.url + readiness_path(self._identity(app)), self._request_headers(app)):
            now = self._clock.now_ms()
            if self._apps.advance(app.id, AppStatus.Pending, status=AppStatus.InService, last_health_ms=now,
                                  last_activity_ms=now, modified_ms=now) and self._metrics is not None:
                self._metrics.app_started(app.app_type, (now - app.created_ms) / 1000)
            return HEALTH_SECONDS  # from now on, health (and idle) checks
        if late:
            output = self._backend.logs(app.container_name).strip()[-1500:]
            path = readiness_path(self._identity(app))
            self._fail(app, f"The app did not answer at {path} on port 8888 within {allowed_ms // 1000}s. "
                            f"Its last output:\n{output or '(none)'}")
            return None
        return POLL_SECONDS

    def _start(self, app) -> bool:
        identity = self._identity(app)
        member = self._owner(app)
        if member is None:
            self._fail(app, "The app's user profile or space no longer exists.")
            return False
        home_uid = member.home_uid
        owner = owner_token(self._secret, identity.domain_id, home_uid)
        host = HostSide(
            gateway_bundle=self._bundle(),
            home_volume=home_volume_name(identity.domain_id, home_uid),
            network=network_name(self._instance_id, identity.domain_id, home_uid),
            instance_id=self._instance_id,
            kernel_idle_timeout=self._kernel_idle_timeout,
            limits=self._instance_types.get(identity.instance_type),
            # byoi's gateway opens a KernelGateway app with the app's token; the owner's
            # JupyterServer app with the owner's (from its config file).
            gateway_tokens=(token_digest(app_token(self._secret, app.id)), token_digest(owner)),
            owner_token=owner if app.app_type == "JupyterServer" else "",
            home_owner=posix_user(settings_chain(app.domain_settings, member)),
            home_size_gib=self._space_size(app, member),
        )
        try:
            spec = container_spec(identity, app.container_image, app.app_image_config or {}, host, self._lifecycle_run(app))
            if not self._apps.claim(app.id, self._clock.now_ms()):
                return False  # another replica holds the app now (this one paused past its lease)
            running = self._backend.state(spec.name)
            if running is not None and running.running and running.endpoint is not None:
                # Started by a replica killed before it recorded the start: adopt it.
                log.info("adopting app %s's running container %s", app.id, spec.name)
                endpoint = running.endpoint
            else:
                endpoint = self._backend.start(spec)
        except (ContractError, BackendError) as exc:
            self._fail(app, str(exc))
            return False
        started = self._apps.advance(app.id, AppStatus.Pending, container_name=spec.name, endpoint_host=endpoint.host,
                                     endpoint_port=endpoint.port, started_ms=self._clock.now_ms())
        if not started:  # deleted while it started (a cluster takes a while): the next pass removes it
            self._apps.record(app.id, container_name=spec.name)
            return True
        self._shipper.follow(self._shipped(app._replace(container_name=spec.name)))
        return True

    def _space_size(self, app, member) -> int | None:
        """A space's EBS volume size in GiB (its own, else the default of its owner's and its
        domain's settings); None for a user profile's apps."""
        if member.kind != "space":
            return None
        owner_name = space_owner_name(member.settings)
        owner = None
        if owner_name:
            with self._db.raw_read() as tx:
                owner = member_in_domain(tx, app.domain_id, "user", owner_name.lower())
        levels = space_storage_levels(app.domain_settings, owner.settings if owner else None)
        return space_home_gib(member.settings.get("SpaceSettings") or {}, levels)

    def _healthy(self, app_id: int) -> float | None:
        """Check an InService app; seconds until it needs looking at again (None: it failed or went)."""
        app = self._load(app_id)
        if app is None or app.status != AppStatus.InService or self._backend is None:
            return None
        state = self._backend.state(app.container_name) if app.container_name else None
        if state is None or not state.running:
            code = "" if state is None or state.exit_code is None else f" (exit code {state.exit_code})"
            output = self._backend.logs(app.container_name).strip()[-1500:] if app.container_name else ""
            why = f"{state.reason} " if state is not None and state.reason else ""
            self._fail(app, f"{why}The app's container stopped{code}. Its last output:\n{output}")
            return None
        self._shipper.follow(self._shipped(app))  # (again after a restart of byoi)
        now = self._clock.now_ms()
        idle_timeout_ms = self._idle_timeout_ms_of(app)
        if idle_timeout_ms and now - (app.last_activity_ms or app.created_ms) > idle_timeout_ms:
            log.info("app %s idle since %s: shutting it down", app.id, app.last_activity_ms)
            self._set(app, AppStatus.InService, status=AppStatus.Deleting, modified_ms=now)
            return POLL_SECONDS  # the next pass deletes it
        values = {"last_health_ms": now}
        if state.endpoint and (state.endpoint.host, state.endpoint.port) != (app.endpoint_host, app.endpoint_port):
            values.update(endpoint_host=state.endpoint.host, endpoint_port=state.endpoint.port)
        self._set(app, AppStatus.InService, **values)
        return HEALTH_SECONDS

    def _delete(self, app_id: int) -> None:
        app = self._load(app_id)
        if app is None or app.status != AppStatus.Deleting:
            return
        if app.container_name and self._backend is not None:
            self._backend.stop(app.container_name)
            self._save_logs(app)
            self._backend.remove(app.container_name)
        self._set(app, AppStatus.Deleting, status=AppStatus.Deleted, live_key=f"deleted:{app.id}", modified_ms=self._clock.now_ms())

    def _fail(self, app, reason: str) -> None:
        if app.container_name and self._backend is not None:
            self._save_logs(app)
            self._backend.remove(app.container_name)
        self._set(app, app.status, status=AppStatus.Failed, failure_reason=reason, modified_ms=self._clock.now_ms())

    def _save_logs(self, app) -> None:
        """Copy what the container wrote that its stream does not have yet."""
        try:
            self._shipper.catch_up(self._shipped(app))
        except OSError:
            log.exception("could not save the logs of app %s", app.id)

    # --- logs and lifecycle configurations -------------------------------------

    def _shipped(self, app) -> ShippedApp:
        nonce = lifecycle_nonce(self._secret, app.id) if self._lifecycle_arn(app) else None
        return ShippedApp(app.container_name, self._logs.stream_of(app), nonce)

    @staticmethod
    def _lifecycle_arn(app) -> str | None:
        return (app.resource_spec or {}).get("LifecycleConfigArn")

    def _lifecycle_run(self, app) -> LifecycleRun | None:
        """The app's lifecycle script, or None; ContractError if its configuration is gone."""
        arn = self._lifecycle_arn(app)
        if not arn:
            return None
        parsed = parse_sagemaker_arn(arn)
        config = None
        if parsed is not None and parsed.resource_type == STUDIO_LIFECYCLE_CONFIG and len(parsed.path) == 1:
            with self._db.raw_read() as tx:
                config = LIFECYCLE_CONFIG_BY_NAME.row(
                    tx, account_id=parsed.scope.account_id, region=parsed.scope.region, name_key=parsed.path[0].lower()
                )
        if config is None:
            raise ContractError(f"The app's Studio Lifecycle Config {arn} no longer exists.")
        script = base64.b64decode(config.content).decode("utf-8", errors="replace")
        return LifecycleRun(script=script, nonce=lifecycle_nonce(self._secret, app.id))

    def _lifecycle_failure(self, app) -> str | None:
        """Why the app's lifecycle script failed, pointing at its log stream; None if it did not fail."""
        if not self._lifecycle_arn(app):
            return None
        shipped = self._shipped(app)
        self._save_logs(app)
        outcome = self._shipper.lifecycle_outcome(shipped)
        if outcome is None or outcome == "exit 0":
            return None
        if outcome == "timeout":
            how = f"ran longer than Studio's limit of {LIFECYCLE_TIMEOUT_SECONDS // 60} minutes and was stopped"
        elif outcome.startswith("exit "):
            how = f"failed with exit code {outcome[len('exit '):]}"
        else:
            how = f"could not run: {outcome.removeprefix('error ')}"
        return (f"The app's lifecycle configuration script ({self._lifecycle_arn(app)}) {how}. "
                f"Its output is in log group {LOG_GROUP}, log stream {lifecycle_stream(shipped.stream)}.")

    def _set(self, app, expected: str, **values) -> None:
        self._apps.advance(app.id, expected, **values)

    def _remove_orphans(self) -> None:
        """Remove managed containers that belong to no live app, then unused networks.

        The containers are listed first and the live apps read after: a container listed was
        started before the read, so if its app is live the read sees the app (whichever
        replica started it, whether or not it has recorded the start yet)."""
        try:
            managed = self._backend.managed(self._instance_id)
        except Exception:  # noqa: BLE001 - an engine hiccup: try again next time
            log.exception("listing managed containers failed")
            return
        live = set()
        for row in self._apps.rows():
            live.add(container_name(self._instance_id, row.key))
            if row.container_name is not None:
                live.add(row.container_name)
        for name in managed:
            if name not in live:
                log.info("removing orphaned container %s", name)
                self._backend.remove(name)
        self._backend.prune(self._instance_id)
