"""UpdateDomain's changes that the model allows only while a domain has no apps in InService,
Pending or Deleting: refused with ResourceInUse while one runs, accepted once none does."""

import pytest

from byoi.aws.errors import ResourceInUse
from byoi.aws.protocol import Scope
from byoi.services.wiring import build_services
from byoi.store.database import Database
from byoi.store.models import App, DomainMember
from tests.services.test_settling import FakeClock, FakeResolver

SCOPE = Scope("123456789012", "us-east-1")


@pytest.fixture
def studio(tmp_path):
    db = Database(f"sqlite:///{tmp_path / 'team.db'}")
    db.migrate()
    services = build_services(db, FakeClock(), FakeResolver())
    domain = services.domains.create(SCOPE, "d", {"AuthMode": "IAM", "SubnetIds": ["subnet-1", "subnet-2"],
                                                  "AppNetworkAccessType": "PublicInternetOnly"}, None)
    services.domains.create_member(SCOPE, domain.domain_id, "user", "alice", {}, None)
    return db, services, domain.domain_id


def app_of_alice(db, status: str) -> int:
    with db.write() as session:
        member = session.query(DomainMember).filter_by(name="alice").one()
        app = App(domain_pk=member.domain_pk, member_pk=member.id, owner_kind="user", owner_name="alice", app_type="KernelGateway",
                  name="default", live_key="alice/KernelGateway/default", status=status, resource_spec={}, created_ms=0, modified_ms=0)
        session.add(app)
        session.flush()
        return app.id


def set_status(db, app_id: int, status: str) -> None:
    with db.write() as session:
        app = session.get(App, app_id)
        app.status, app.live_key = status, f"deleted:{app_id}"


REFUSED_WHILE_APPS_RUN = [
    {"AppNetworkAccessType": "VpcOnly"},
    {"SubnetIds": ["subnet-1"]},  # removing a subnet
    {"DomainSettingsForUpdate": {"ExecutionRoleIdentityConfig": "USER_PROFILE_NAME"}},
]


@pytest.mark.parametrize("change", REFUSED_WHILE_APPS_RUN)
@pytest.mark.parametrize("status", ["InService", "Pending", "Deleting"])
def test_network_and_identity_changes_are_refused_while_an_app_runs(studio, change, status):
    db, services, domain_id = studio
    app_of_alice(db, status)
    with pytest.raises(ResourceInUse, match="can only be changed when it has none"):
        services.domains.update(SCOPE, domain_id, change)
    assert services.domains.describe(SCOPE, domain_id).settings["SubnetIds"] == ["subnet-1", "subnet-2"]


@pytest.mark.parametrize("change", REFUSED_WHILE_APPS_RUN)
def test_the_same_changes_go_through_once_the_apps_are_gone(studio, change):
    db, services, domain_id = studio
    set_status(db, app_of_alice(db, "InService"), "Deleted")
    services.domains.update(SCOPE, domain_id, change)


def test_changes_that_need_no_quiet_domain_go_through_while_apps_run(studio):
    db, services, domain_id = studio
    app_of_alice(db, "InService")
    services.domains.update(SCOPE, domain_id, {"SubnetIds": ["subnet-1", "subnet-2", "subnet-3"], "AppNetworkAccessType": "PublicInternetOnly",
                                              "DefaultUserSettings": {"StudioWebPortal": "ENABLED"}})
    assert services.domains.describe(SCOPE, domain_id).settings["SubnetIds"] == ["subnet-1", "subnet-2", "subnet-3"]
