"""Idle shutdown as Studio's AppLifecycleManagement.IdleSettings configure it, on a FakeBackend:
an app whose last use through the gateway is older than its owner's idle timeout is shut
down; one used since, or whose owner has idle shutdown off, keeps running."""

import pytest

from byoi.aws.protocol import Scope
from byoi.runtime.app_logs import AppLogs
from byoi.runtime.app_settler import AppSettler
from byoi.services.wiring import build_services
from byoi.store.database import Database
from byoi.store.models import App, DomainMember
from tests.runtime.fakes import FakeBackend
from tests.services.test_settling import FakeClock, FakeResolver

SCOPE = Scope("123456789012", "us-east-1")
MINUTE = 60_000


@pytest.fixture
def studio(tmp_path):
    """A domain whose spaces' JupyterLab apps shut down after 120 idle minutes (60 to 480 allowed)."""
    db = Database(f"sqlite:///{tmp_path / 'idle.db'}")
    db.migrate()
    clock = FakeClock()
    services = build_services(db, clock, FakeResolver())
    domain = services.domains.create(SCOPE, "idle", {"AuthMode": "IAM", "DefaultSpaceSettings": {"JupyterLabAppSettings": {
        "AppLifecycleManagement": {"IdleSettings": {"LifecycleManagement": "ENABLED", "IdleTimeoutInMinutes": 120,
                                                    "MinIdleTimeoutInMinutes": 60, "MaxIdleTimeoutInMinutes": 480}}}}}, None)
    backend = FakeBackend()
    settler = AppSettler(db, clock, backend, lambda: "/nonexistent", b"secret", AppLogs(tmp_path), idle_timeout=0, probe=backend.serves)

    def running_app(space: str, space_settings: dict | None = None) -> int:
        """A space with an InService JupyterLab app, last used now."""
        services.domains.create_member(SCOPE, domain.domain_id, "space", space, {"SpaceSettings": space_settings or {}}, None)
        with db.write() as session:
            member = session.query(DomainMember).filter_by(name=space).one()
            app = App(domain_pk=member.domain_pk, member_pk=member.id, owner_kind="space", owner_name=space, app_type="JupyterLab",
                      name="default", live_key=f"{space}/JupyterLab/default", status="InService", resource_spec={},
                      container_name=f"c-{space}", last_activity_ms=clock.ms, created_ms=clock.ms, modified_ms=clock.ms)
            session.add(app)
            session.flush()
            backend.running.add(app.container_name)
            return app.id

    def status(app_id: int) -> str:
        with db.read() as session:
            return session.get(App, app_id).status

    def use(app_id: int) -> None:  # what the gateway records on each proxied request
        with db.write() as session:
            session.get(App, app_id).last_activity_ms = clock.ms

    return clock, settler, backend, running_app, status, use


def test_an_app_idle_past_the_domains_timeout_is_shut_down_and_its_container_removed(studio):
    clock, settler, backend, running_app, status, _ = studio
    app = running_app("quiet")
    clock.ms += 119 * MINUTE
    settler.settle_due()
    assert status(app) == "InService"
    clock.ms += 2 * MINUTE
    settler.settle_due()  # idle: Deleting
    settler.settle_due()  # stopped and removed
    assert status(app) == "Deleted" and backend.removed == ["c-quiet"]


def test_use_through_the_gateway_restarts_the_idle_clock(studio):
    clock, settler, _, running_app, status, use = studio
    app = running_app("busy")
    for _ in range(3):
        clock.ms += 100 * MINUTE
        use(app)
        settler.settle_due()
    assert status(app) == "InService"


def test_a_spaces_own_timeout_applies_within_the_domains_bounds(studio):
    clock, settler, _, running_app, status, _ = studio
    own = {"JupyterLabAppSettings": {"AppLifecycleManagement": {"IdleSettings": {"IdleTimeoutInMinutes": 60}}}}
    too_long = {"JupyterLabAppSettings": {"AppLifecycleManagement": {"IdleSettings": {"IdleTimeoutInMinutes": 9000}}}}
    short, capped = running_app("short", own), running_app("capped", too_long)
    clock.ms += 61 * MINUTE
    settler.settle_due()
    assert (status(short), status(capped)) == ("Deleting", "InService")
    clock.ms += 420 * MINUTE  # 481 minutes idle: past the domain's maximum of 480
    settler.settle_due()
    assert status(capped) == "Deleting"
