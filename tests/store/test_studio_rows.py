"""Rows of user profiles, spaces and apps carry their domain's names; members' home uids stay unique under concurrent writers.

Runs on SQLite, and on PostgreSQL when BYOI_TEST_POSTGRES_URL is set (CI's second pass).
"""

import threading

from byoi.aws.protocol import Scope
from byoi.services.wiring import build_services
from byoi.store.apps import APP_BY_LIVE_KEY, APP_TO_RUN, APPS, insert_app
from byoi.store.domains import MEMBER_BY_KEY, MEMBER_BY_NAME, MEMBERS
from byoi.store.listing import ListQuery
from tests.services.test_settling import FakeClock, FakeResolver
from tests.store.conftest import run_together

SCOPE = Scope("123456789012", "us-east-1")
NAMES = {"account_id": SCOPE.account_id, "region": SCOPE.region}


def studio(db):
    services = build_services(db, FakeClock(), FakeResolver())
    return services, services.domains.create(SCOPE, "d", {"AuthMode": "IAM", "DefaultUserSettings": {"ExecutionRole": "r"}}, None)


def test_member_and_app_rows_carry_their_domains_id_account_and_region(db):
    services, domain = studio(db)
    created = services.domains.create_member(SCOPE, domain.domain_id, "user", "Alice", {"UserSettings": {}}, None)
    expected = {"domain_id": domain.domain_id, **NAMES}
    with db.raw_write() as tx:
        insert_app(tx, domain_pk=domain.id, member_pk=created.id, owner_kind="user", owner_name="Alice", app_type="JupyterLab",
                   name="default", live_key="k", status="Pending", resource_spec={}, created_ms=1, modified_ms=1)
    with db.raw_read() as tx:
        members = [
            created,
            MEMBER_BY_NAME.row(tx, domain_pk=domain.id, kind="user", name_key="alice"),
            MEMBER_BY_KEY.row(tx, id=created.id),
            *MEMBERS.page(tx, ListQuery("CreationTime"), kind="user", domain_id=domain.domain_id, **NAMES).items,
        ]
        apps = [APP_BY_LIVE_KEY.row(tx, live_key="k"), *APPS.page(tx, ListQuery("CreationTime"), **NAMES).items]
        to_run = APP_TO_RUN.row(tx, id=apps[0].id)
    for member in members:
        assert (member.name, member.home_uid, member.settings) == ("Alice", 200001, {"UserSettings": {}})
        assert {k: getattr(member, k) for k in expected} == expected
    for app in [*apps, to_run]:
        assert (app.name, app.owner_name, app.status) == ("default", "Alice", "Pending")
        assert {k: getattr(app, k) for k in expected} == expected
    assert to_run.domain_settings == {"AuthMode": "IAM", "DefaultUserSettings": {"ExecutionRole": "r"}}


def test_members_created_at_once_each_get_their_own_home_uid(db):
    """CreateUserProfile reads the domain's next uid and counts it up: its write transaction locks the domain."""
    services, domain = studio(db)
    names, start = iter(range(4)), threading.Barrier(4)
    lock = threading.Lock()

    def create():
        with lock:
            name = f"user{next(names)}"
        start.wait()
        services.domains.create_member(SCOPE, domain.domain_id, "user", name, {}, None)

    run_together(create, 4)
    with db.raw_read() as tx:
        uids = [m.home_uid for m in MEMBERS.page(tx, ListQuery("CreationTime"), kind="user", domain_id=None, **NAMES).items]
    assert sorted(uids) == [200001, 200002, 200003, 200004]
