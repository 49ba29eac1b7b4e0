"""The app settler's paths on fake backends and a fake clock: start, serve, time out, exit,
die, idle out, and after a restart of byoi, orphans removed and live apps kept. The same
paths run against a real Docker engine in tests/api/test_apps.py."""

import base64

import pytest

from byoi.aws.protocol import Scope
from byoi.runtime.app_logs import AppLogs
from byoi.runtime.app_settler import HEALTH_BATCH_SECONDS, HEALTH_SECONDS, AppSettler
from byoi.runtime.contract import container_name
from byoi.services.wiring import build_services
from byoi.store.database import Database
from byoi.store.listing import ListQuery
from byoi.store.models import App, DomainMember
from byoi.store.transitions import Lease
from tests.runtime.fakes import AnswersTogether, Cluster, DiesLater, ExitsAtOnce, FakeBackend, NeverServes
from tests.services.test_settling import FakeClock, FakeResolver
from tests.waiting import wait_for

SCOPE = Scope("123456789012", "us-east-1")
SECOND = 1000


class Studio:
    """A domain with a user profile, a store and a clock; apps are put in the store as CreateApp
    leaves them, and settled by an AppSettler on the backend a test chooses."""

    def __init__(self, tmp_path):
        self.tmp = tmp_path
        self.db = Database(f"sqlite:///{tmp_path / 'apps.db'}")
        self.db.migrate()
        self.clock = FakeClock()
        services = self.services = build_services(self.db, self.clock, FakeResolver())
        domain = services.domains.create(SCOPE, "d", {"AuthMode": "IAM"}, None)
        self.domain_id = domain.domain_id
        services.domains.create_member(SCOPE, domain.domain_id, "user", "alice", {}, None)

    def settler(self, backend: FakeBackend, **options) -> AppSettler:
        return AppSettler(self.db, self.clock, backend, lambda: "/opt/byoi-kgw", b"secret", AppLogs(self.tmp / "logs"),
                          probe=backend.serves, **{"start_timeout": 120, **options})

    def app(self, name: str = "default", status: str = "Pending", container: str | None = None, lifecycle: str | None = None) -> int:
        """A KernelGateway app of alice's, as CreateApp stores it (or as a settler left it)."""
        with self.db.write() as session:
            member = session.query(DomainMember).filter_by(name="alice").one()
            app = App(domain_pk=member.domain_pk, member_pk=member.id, owner_kind="user", owner_name="alice", app_type="KernelGateway",
                      name=name, live_key=f"alice/KernelGateway/{name}", status=status,
                      resource_spec={"InstanceType": "ml.t3.medium", **({"LifecycleConfigArn": lifecycle} if lifecycle else {})},
                      container_image=f"sample@sha256:{'a' * 64}", app_image_config={"KernelSpecs": [{"Name": "python3"}]},
                      container_name=container, endpoint_host="10.0.0.2" if container else None, endpoint_port=8888 if container else None,
                      last_activity_ms=self.clock.ms, created_ms=self.clock.ms, modified_ms=self.clock.ms, started_ms=self.clock.ms if container else None)
            session.add(app)
            session.flush()
            return app.id

    def in_service(self, settler: AppSettler) -> tuple[int, str]:
        """A new app, started and serving: (its id, its container's name)."""
        app = self.app()
        settler.settle_due()  # starts the container
        settler.settle_due()  # it serves
        row = self.row(app)
        assert row.status == "InService"
        return app, row.container_name

    def until_the_next_health_check(self) -> None:
        self.clock.ms += int(HEALTH_SECONDS * SECOND)

    def row(self, app_id: int) -> App:
        with self.db.read() as session:
            return session.get(App, app_id)


@pytest.fixture
def studio(tmp_path):
    return Studio(tmp_path)


def test_a_pending_app_starts_from_its_spec_and_is_in_service_once_it_serves(studio):
    backend = FakeBackend()
    settler = studio.settler(backend)
    app = studio.app()
    settler.settle_due()  # starts the container
    (spec,) = backend.started
    assert spec.image == f"sample@sha256:{'a' * 64}" and studio.row(app).container_name == spec.name
    settler.settle_due()  # it serves
    row = studio.row(app)
    assert row.status == "InService" and row.last_health_ms == studio.clock.ms and (row.endpoint_host, row.endpoint_port) == ("10.0.0.2", 8888)


def test_an_app_that_never_serves_fails_after_the_start_timeout_and_its_container_goes(studio):
    backend = NeverServes()
    settler = studio.settler(backend)
    app = studio.app()
    settler.settle_due()
    studio.clock.ms += 119 * SECOND
    settler.settle_due()
    assert studio.row(app).status == "Pending"
    studio.clock.ms += 2 * SECOND
    settler.settle_due()
    row = studio.row(app)
    assert row.status == "Failed" and row.failure_reason.startswith("The app did not answer at /api/kernelspecs on port 8888 within 120s.")
    assert backend.removed == [row.container_name]


def test_an_app_whose_container_exits_at_once_fails_with_its_last_output(studio):
    backend = ExitsAtOnce()
    settler = studio.settler(backend)
    app = studio.app()
    settler.settle_due()
    settler.settle_due()
    row = studio.row(app)
    assert row.status == "Failed"
    assert row.failure_reason == "The app's container exited with code 1 before serving on port 8888. Its last output:\njupyter: command not found"


def test_an_in_service_app_whose_container_dies_fails_and_keeps_its_output_in_the_log_stream(studio):
    backend = DiesLater()
    settler = studio.settler(backend)
    app, name = studio.in_service(settler)
    backend.die(name, 137, "Killed")
    studio.until_the_next_health_check()
    settler.settle_due()
    row = studio.row(app)
    assert row.status == "Failed" and row.failure_reason == "The app's container stopped (exit code 137). Its last output:\nKilled"
    assert backend.removed == [name]
    saved = [path.read_text() for path in (studio.tmp / "logs").rglob("*") if path.is_file()]
    assert any("Killed" in text for text in saved)


def test_an_in_service_app_is_checked_once_per_health_interval_not_on_every_pass(studio):
    backend = AnswersTogether(1)
    settler = studio.settler(backend)
    app, _ = studio.in_service(settler)
    checked_at, queries = studio.row(app).last_health_ms, backend.queries
    wait = settler.settle_due()  # another pass at once (another app's start would make one)
    assert backend.queries == queries and studio.row(app).last_health_ms == checked_at
    assert wait == pytest.approx(HEALTH_SECONDS - HEALTH_BATCH_SECONDS)  # checks due within a second share a pass
    studio.clock.ms += int(wait * SECOND)
    assert settler.settle_due() == HEALTH_SECONDS
    assert backend.queries == queries + 1 and studio.row(app).last_health_ms == studio.clock.ms


def test_the_health_checks_due_in_one_pass_run_side_by_side(studio):
    """One after another, a slow cluster API would stretch the interval with hundreds of apps."""
    backend = AnswersTogether(4)
    apps = [studio.app(f"a{n}", status="InService", container=f"c{n}") for n in range(4)]
    backend.running.update(f"c{n}" for n in range(4))
    studio.settler(backend).settle_due()
    assert backend.most_at_once == 4
    assert {studio.row(app).last_health_ms for app in apps} == {studio.clock.ms}
    assert {studio.row(app).status for app in apps} == {"InService"}


def test_an_app_a_cluster_is_still_starting_waits_then_is_in_service_once_it_runs_and_serves(studio):
    backend = Cluster()
    settler = studio.settler(backend)
    app = studio.app()
    settler.settle_due()
    studio.clock.ms += 60 * SECOND  # pulling a large image
    settler.settle_due()
    row = studio.row(app)
    assert row.status == "Pending"
    backend.run(row.container_name)
    settler.settle_due()
    assert studio.row(app).status == "InService"


def test_an_app_still_starting_after_the_start_timeout_fails_with_the_reason_it_waits(studio):
    backend = Cluster()
    settler = studio.settler(backend)
    app = studio.app()
    settler.settle_due()
    name = studio.row(app).container_name
    backend.waiting[name] = "Kubernetes cannot place the app's pod on any node (Unschedulable): 0/3 nodes are available."
    studio.clock.ms += 119 * SECOND
    settler.settle_due()
    assert studio.row(app).status == "Pending"
    studio.clock.ms += 2 * SECOND
    settler.settle_due()
    row = studio.row(app)
    assert row.status == "Failed"
    assert row.failure_reason == ("Kubernetes cannot place the app's pod on any node (Unschedulable): 0/3 nodes are available. "
                                  "(still not running after 120s)")
    assert backend.removed == [name]


def test_an_app_whose_container_cannot_start_fails_at_once_with_the_backends_reason(studio):
    backend = Cluster()
    settler = studio.settler(backend)
    app = studio.app()
    settler.settle_due()
    backend.cannot_start(studio.row(app).container_name, "The image x could not be pulled (ImagePullBackOff): not found.")
    settler.settle_due()
    row = studio.row(app)
    assert row.status == "Failed"
    assert row.failure_reason.startswith("The image x could not be pulled (ImagePullBackOff): not found. The app's container exited")


def test_an_in_service_app_killed_for_memory_fails_saying_so(studio):
    backend = Cluster()
    settler = studio.settler(backend)
    app = studio.app()
    settler.settle_due()
    backend.run(studio.row(app).container_name)
    settler.settle_due()
    name = studio.row(app).container_name
    backend.die(name, 137, "Killed", reason="The app ran out of memory (OOMKilled).")
    studio.until_the_next_health_check()
    settler.settle_due()
    row = studio.row(app)
    assert row.status == "Failed"
    assert row.failure_reason == "The app ran out of memory (OOMKilled). The app's container stopped (exit code 137). Its last output:\nKilled"


def test_an_app_deleted_while_its_container_starts_has_that_container_removed(studio):
    class DeletedMeanwhile(FakeBackend):
        def start(self, spec):
            endpoint = super().start(spec)
            with studio.db.write() as session:  # DeleteApp, while a cluster makes the pod
                session.get(App, app).status = "Deleting"
            return endpoint

    backend = DeletedMeanwhile()
    settler = studio.settler(backend)
    app = studio.app()
    settler.settle_due()
    settler.settle_due()
    row = studio.row(app)
    assert row.status == "Deleted" and backend.removed == [row.container_name] and not backend.running


def test_an_app_idle_past_byois_timeout_is_deleted_and_its_container_stopped_then_removed(studio):
    backend = FakeBackend()
    settler = studio.settler(backend, idle_timeout=600)
    app, name = studio.in_service(settler)
    studio.clock.ms += 600 * SECOND
    settler.settle_due()
    assert studio.row(app).status == "InService"  # exactly the timeout: not yet
    studio.until_the_next_health_check()  # past it: at the next check
    settler.settle_due()
    assert studio.row(app).status == "Deleting"
    settler.settle_due()
    assert studio.row(app).status == "Deleted" and backend.stopped == [name] and backend.removed == [name]


def test_after_a_restart_orphans_are_removed_and_live_apps_keep_their_containers(studio):
    """byoi stopped with one app InService; meanwhile a container of a deleted app was left
    behind. A new settler (byoi started again) removes only the orphan, then prunes networks."""
    backend = FakeBackend()
    kept = studio.app("kept", status="InService", container="c-kept")
    backend.running.update({"c-kept", "c-orphan"})
    settler = studio.settler(backend)
    settler.settle_due()
    assert backend.removed == ["c-orphan"] and backend.pruned == 1
    assert studio.row(kept).status == "InService" and backend.started == []  # not restarted


def test_after_a_restart_an_app_whose_container_vanished_meanwhile_fails(studio):
    backend = FakeBackend()
    gone = studio.app("gone", status="InService", container="c-gone")
    studio.settler(backend).settle_due()
    row = studio.row(gone)
    assert row.status == "Failed" and row.failure_reason.startswith("The app's container stopped.")


def test_orphans_are_looked_for_again_only_after_the_reconcile_interval(studio):
    backend = FakeBackend()
    settler = studio.settler(backend)
    settler.settle_due()
    backend.running.add("c-late-orphan")
    settler.settle_due()
    assert backend.removed == []
    studio.clock.ms += 31 * SECOND
    settler.settle_due()
    assert backend.removed == ["c-late-orphan"]


# Lifecycle configurations and live logs.

SCRIPT = "#!/bin/bash\necho preparing\n"


def lifecycle_config(studio, name: str = "prep") -> str:
    content = base64.b64encode(SCRIPT.encode()).decode()
    return studio.services.studio_lifecycle_configs.create(SCOPE, name, content, "KernelGateway")


def test_an_app_with_a_lifecycle_config_starts_with_its_script_and_a_nonce(studio):
    backend = FakeBackend()
    settler = studio.settler(backend)
    studio.app(lifecycle=lifecycle_config(studio))
    settler.settle_due()
    (spec,) = backend.started
    assert spec.lifecycle.script == SCRIPT and spec.lifecycle.timeout_seconds == 300
    assert len(spec.lifecycle.nonce) == 24 and spec.lifecycle.nonce not in SCRIPT


def test_a_failing_lifecycle_script_fails_the_app_naming_its_log_stream(studio):
    backend = FakeBackend()
    settler = studio.settler(backend)
    app = studio.app(lifecycle=lifecycle_config(studio))
    settler.settle_due()
    (spec,) = backend.started
    for line in (f"byoi-lifecycle {spec.lifecycle.nonce} start", "pip: command not found", f"byoi-lifecycle {spec.lifecycle.nonce} end exit 127"):
        backend.write(spec.name, line)
    backend.running.discard(spec.name)
    backend.exited[spec.name] = 1
    settler.settle_due()
    row = studio.row(app)
    domain_id = studio.services.domains.list(SCOPE, ListQuery("CreationTime")).items[0].domain_id
    stream = f"{domain_id}/alice/KernelGateway/default/LifecycleConfigOnStart"
    assert row.status == "Failed"
    assert "failed with exit code 127" in row.failure_reason and f"log stream {stream}" in row.failure_reason
    logs = AppLogs(studio.tmp / "logs")
    assert [m for _, m in logs.events(stream)] == ["pip: command not found"]


def test_a_lifecycle_script_over_studios_limit_fails_the_app_saying_so(studio):
    backend = FakeBackend()
    settler = studio.settler(backend)
    app = studio.app(lifecycle=lifecycle_config(studio))
    settler.settle_due()
    (spec,) = backend.started
    backend.write(spec.name, f"byoi-lifecycle {spec.lifecycle.nonce} start")
    backend.write(spec.name, f"byoi-lifecycle {spec.lifecycle.nonce} end timeout")
    backend.running.discard(spec.name)
    backend.exited[spec.name] = 1
    settler.settle_due()
    assert "ran longer than Studio's limit of 5 minutes" in studio.row(app).failure_reason


def test_a_lifecycle_config_deleted_before_the_app_starts_fails_it(studio):
    backend = FakeBackend()
    settler = studio.settler(backend)
    arn = lifecycle_config(studio, "gone")
    studio.services.studio_lifecycle_configs.delete(SCOPE, "gone")  # nothing held it yet: the app row is put in directly
    app = studio.app(lifecycle=arn)
    settler.settle_due()
    row = studio.row(app)
    assert row.status == "Failed" and "no longer exists" in row.failure_reason and backend.started == []


def test_a_starting_app_is_allowed_the_lifecycle_limit_on_top_of_the_start_timeout(studio):
    backend = NeverServes()
    settler = studio.settler(backend)
    app = studio.app(lifecycle=lifecycle_config(studio))
    settler.settle_due()
    studio.clock.ms += (120 + 299) * SECOND
    settler.settle_due()
    assert studio.row(app).status == "Pending"
    studio.clock.ms += 2 * SECOND
    settler.settle_due()
    assert studio.row(app).status == "Failed" and "within 420s" in studio.row(app).failure_reason


def test_a_running_apps_output_reaches_its_log_stream_while_it_runs(studio):
    backend = FakeBackend()
    settler = studio.settler(backend)
    app, container = studio.in_service(settler)
    backend.write(container, "kernel started")
    logs = AppLogs(studio.tmp / "logs")
    (stream,) = wait_for(lambda: logs.streams(), "the app's stream")
    wait_for(lambda: [m for _, m in logs.events(stream)] == ["kernel started"], "the line")


def test_log_events_older_than_the_retention_are_pruned_on_the_reconcile_pass(studio):
    logs = AppLogs(studio.tmp / "logs")
    logs.append_lines("d-old/alice/KernelGateway/default", ["2020-01-01T00:00:00Z ancient"])
    settler = studio.settler(FakeBackend(), log_retention_days=30)
    settler.settle_due()  # the first pass reconciles
    assert logs.streams() == []


# --- the owner's settings in the spec: CustomPosixUserConfig and the space's EBS size ---------


def space_app(studio, space: str, settings: dict) -> int:
    """A Pending JupyterLab app of a new space with ``settings``."""
    studio.services.domains.create_member(SCOPE, studio.domain_id, "space", space, settings, None)
    with studio.db.write() as session:
        member = session.query(DomainMember).filter_by(name=space).one()
        app = App(domain_pk=member.domain_pk, member_pk=member.id, owner_kind="space", owner_name=space, app_type="JupyterLab",
                  name="default", live_key=f"{space}/JupyterLab/default", status="Pending", resource_spec={"InstanceType": "ml.t3.medium"},
                  container_image=f"sample@sha256:{'a' * 64}", app_image_config={}, last_activity_ms=studio.clock.ms,
                  created_ms=studio.clock.ms, modified_ms=studio.clock.ms)
        session.add(app)
        session.flush()
        return app.id


def test_a_users_custom_posix_user_runs_their_apps_and_owns_their_home(studio):
    posix = {"CustomPosixUserConfig": {"Uid": 10001, "Gid": 1001}}
    studio.services.domains.update_member(SCOPE, studio.domain_id, "user", "alice", {"UserSettings": posix})
    backend = FakeBackend()
    studio.app()
    studio.settler(backend).settle_due()
    (spec,) = backend.started
    assert (spec.uid, spec.gid, spec.home_owner) == (10001, 1001, (10001, 1001))
    assert spec.home_size_gib is None  # a user profile's home is not a space's EBS volume


def test_a_space_runs_with_its_ebs_size_and_the_domains_posix_user_for_spaces(studio):
    studio.services.domains.update(SCOPE, studio.domain_id, {"DefaultSpaceSettings": {
        "CustomPosixUserConfig": {"Uid": 10002, "Gid": 1002},
        "SpaceStorageSettings": {"DefaultEbsStorageSettings": {"DefaultEbsVolumeSizeInGb": 8, "MaximumEbsVolumeSizeInGb": 50}},
    }})
    sized = space_app(studio, "sized", {"SpaceSettings": {"SpaceStorageSettings": {"EbsStorageSettings": {"EbsVolumeSizeInGb": 30}}}})
    backend = FakeBackend()
    settler = studio.settler(backend)
    settler.settle_due()
    unsized = space_app(studio, "unsized", {})
    settler.settle_due()
    specs = {spec.labels["byoi.app-id"]: spec for spec in backend.started}
    assert specs[str(sized)].home_size_gib == 30
    assert specs[str(unsized)].home_size_gib == 8  # the domain's default for spaces
    assert (specs[str(unsized)].uid, specs[str(unsized)].gid) == (10002, 1002)


# Several replicas on one database (docs/replicas.md): each app is settled by the replica holding its lease.


def test_of_two_replicas_only_the_one_holding_an_apps_lease_starts_and_follows_it(studio):
    backend = FakeBackend()
    a = studio.settler(backend, lease=Lease("a", 10))
    b = studio.settler(backend, lease=Lease("b", 10))
    app = studio.app()
    a._apps.scan(studio.clock.ms)  # a claims the Pending app and is about to start it ...
    b.settle_due()  # ... when b scans it too: b sees a's lease and leaves it alone
    assert backend.started == []
    a.settle_due()  # a starts it
    b.settle_due()
    a.settle_due()
    b.settle_due()
    assert len(backend.started) == 1 and studio.row(app).status == "InService"
    for _ in range(3):  # a keeps renewing: b never takes the app
        studio.clock.ms += 4 * SECOND
        a.settle_due()
        b.settle_due()
    assert len(backend.started) == 1 and studio.row(app).status == "InService"


def test_a_killed_replicas_apps_are_taken_over_when_its_lease_expires_and_not_started_again(studio):
    backend = FakeBackend()
    a = studio.settler(backend, lease=Lease("a", 10))
    b = studio.settler(backend, lease=Lease("b", 10))
    serving, starting = studio.app("serving"), studio.app("starting")
    a.settle_due()
    a.settle_due()
    assert studio.row(serving).status == studio.row(starting).status == "InService"
    # a is killed -9; b waits out a's lease, then checks a's apps' health: none is started again
    studio.clock.ms += 11 * SECOND
    b.settle_due()
    assert len(backend.started) == 2
    assert studio.row(serving).last_health_ms == studio.clock.ms and studio.row(starting).last_health_ms == studio.clock.ms


def test_a_container_already_running_under_a_pending_apps_name_is_adopted_not_started_twice(studio):
    """A replica started the container and was killed before it recorded the start: the replica
    that takes the app over finds the container by its name and adopts it."""
    backend = FakeBackend()
    app = studio.app()
    backend.running.add(container_name("default", app))  # started by the killed replica
    settler = studio.settler(backend)
    settler._last_reconcile = studio.clock.ms  # (no reconcile pass: this is about the start)
    settler.settle_due()
    settler.settle_due()
    row = studio.row(app)
    assert backend.started == [] and row.container_name == container_name("default", app) and row.status == "InService"


def test_the_reconciler_keeps_a_container_another_replica_started_before_recording_it(studio):
    """Replica b started a Pending app's container but has not yet recorded its name; replica a's
    reconcile pass lists the container and must not take it for an orphan."""
    backend = FakeBackend()
    app = studio.app()
    b = studio.settler(backend, lease=Lease("b", 10))
    b._apps.claim(app, studio.clock.ms)  # b holds the app
    backend.running.add(container_name("default", app))  # ... and has started it
    backend.running.add("byoi-default-app-999999")  # an app that does not exist: an orphan
    studio.settler(backend, lease=Lease("a", 10)).settle_due()
    assert backend.removed == ["byoi-default-app-999999"]
