"""Keyed lookups: one statement read as a row or as an ORM object, locked by the transaction that reads it.

Runs on SQLite, and on PostgreSQL when BYOI_TEST_POSTGRES_URL is set (CI's second pass).
"""

import threading

import pytest

from byoi.store.domains import DOMAIN_BY_ID
from byoi.store.models import Domain
from tests.store.conftest import run_together

SCOPE = {"account_id": "123456789012", "region": "us-east-1"}


@pytest.fixture(autouse=True)
def one_domain(db):
    with db.write() as session:
        session.add(Domain(domain_id="d-1", name="one", status="InService", settings={"A": [1]}, next_home_uid=1,
                           created_ms=1, modified_ms=1, **SCOPE))


def test_a_lookup_reads_the_same_row_as_a_tuple_on_the_driver_or_as_an_orm_object(db):
    with db.raw_read() as tx:
        row = DOMAIN_BY_ID.row(tx, domain_id="d-1", **SCOPE)
    with db.read() as session:
        obj = DOMAIN_BY_ID.object(session, domain_id="d-1", **SCOPE)
        joined = DOMAIN_BY_ID.row(session, domain_id="d-1", **SCOPE)  # a row inside a session's transaction
    assert isinstance(obj, Domain)
    assert (row.id, row.name, row.settings) == (obj.id, obj.name, obj.settings) == (joined.id, joined.name, joined.settings)
    with db.raw_read() as tx:
        assert DOMAIN_BY_ID.row(tx, domain_id="d-2", **SCOPE) is None


@pytest.mark.parametrize("as_object", [True, False], ids=["orm", "driver"])
def test_of_writers_that_look_a_row_up_then_change_it_each_sees_the_one_before(db, as_object):
    """The write transaction's lookup locks the row: no two writers read the same uid."""
    seen, start = [], threading.Barrier(4)

    def writer():
        start.wait()
        with db.write() as session:
            if as_object:
                domain = DOMAIN_BY_ID.object(session, domain_id="d-1", **SCOPE)
                uid = domain.next_home_uid
                domain.next_home_uid = uid + 1
            else:
                uid = DOMAIN_BY_ID.row(session, domain_id="d-1", **SCOPE).next_home_uid
                session.query(Domain).filter_by(domain_id="d-1").update({"next_home_uid": uid + 1})
            seen.append(uid)

    run_together(writer, 4)
    assert sorted(seen) == [1, 2, 3, 4]
