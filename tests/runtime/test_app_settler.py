"""The app settler's paths on fake backends and a fake clock: start, serve, time out, exit,
die, idle out, and after a restart of byoi, orphans removed and live apps kept. The same
paths run against a real Docker engine in tests/api/test_apps.py."""

import pytest

from byoi.aws.protocol import Scope
from byoi.runtime.app_logs import AppLogs
from byoi.runtime.app_settler import AppSettler
from byoi.services.wiring import build_services
from byoi.store.database import Database
from byoi.store.models import App, DomainMember
from tests.runtime.fakes import DiesLater, ExitsAtOnce, FakeBackend, NeverServes
from tests.services.test_settling import FakeClock, FakeResolver

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
        services = build_services(self.db, self.clock, FakeResolver())
        domain = services.domains.create(SCOPE, "d", {"AuthMode": "IAM"}, None)
        services.domains.create_member(SCOPE, domain.domain_id, "user", "alice", {}, None)

    def settler(self, backend: FakeBackend, **options) -> AppSettler:
        return AppSettler(self.db, self.clock, backend, lambda: "/opt/byoi-kgw", b"secret", AppLogs(self.tmp / "logs"),
                          probe=backend.serves, **{"start_timeout": 120, **options})

    def app(self, name: str = "default", status: str = "Pending", container: str | None = None) -> int:
        """A KernelGateway app of alice's, as CreateApp stores it (or as a settler left it)."""
        with self.db.write() as session:
            member = session.query(DomainMember).filter_by(name="alice").one()
            app = App(domain_pk=member.domain_pk, member_pk=member.id, owner_kind="user", owner_name="alice", app_type="KernelGateway",
                      name=name, live_key=f"alice/KernelGateway/{name}", status=status, resource_spec={"InstanceType": "ml.t3.medium"},
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
    settler.settle_due()
    row = studio.row(app)
    assert row.status == "Failed" and row.failure_reason == "The app's container stopped (exit code 137). Its last output:\nKilled"
    assert backend.removed == [name]
    saved = [path.read_text() for path in (studio.tmp / "logs").rglob("*") if path.is_file()]
    assert any("Killed" in text for text in saved)


def test_an_app_idle_past_byois_timeout_is_deleted_and_its_container_stopped_then_removed(studio):
    backend = FakeBackend()
    settler = studio.settler(backend, idle_timeout=600)
    app, name = studio.in_service(settler)
    studio.clock.ms += 600 * SECOND
    settler.settle_due()
    assert studio.row(app).status == "InService"  # exactly the timeout: not yet
    studio.clock.ms += 1 * SECOND
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
