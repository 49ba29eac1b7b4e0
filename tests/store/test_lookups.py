"""Keyed lookups: one statement, read as a row, locked by the write transaction that reads it.

Runs on SQLite, and on PostgreSQL when BYOI_TEST_POSTGRES_URL is set (CI's second pass).
"""

import threading

import pytest

from byoi.store.domains import DOMAIN_BY_ID, insert_domain, update_domain
from tests.store.conftest import run_together

SCOPE = {"account_id": "123456789012", "region": "us-east-1"}


@pytest.fixture(autouse=True)
def one_domain(db):
    with db.raw_write() as tx:
        insert_domain(tx, domain_id="d-1", name="one", status="InService", settings={"A": [1]}, next_home_uid=1,
                      created_ms=1, modified_ms=1, **SCOPE)


def test_a_lookup_reads_the_row_with_its_typed_columns_or_none(db):
    with db.raw_read() as tx:
        row = DOMAIN_BY_ID.row(tx, domain_id="d-1", **SCOPE)
        assert (row.name, row.settings, row.next_home_uid) == ("one", {"A": [1]}, 1)
        assert DOMAIN_BY_ID.row(tx, domain_id="d-2", **SCOPE) is None
    with db.read() as session:  # inside a session's transaction too
        assert DOMAIN_BY_ID.row(session, domain_id="d-1", **SCOPE).id == row.id


def test_of_writers_that_look_a_row_up_then_change_it_each_sees_the_one_before(db):
    """The write transaction's lookup locks the row: no two writers read the same uid."""
    seen, start = [], threading.Barrier(4)

    def writer():
        start.wait()
        with db.raw_write() as tx:
            domain = DOMAIN_BY_ID.row(tx, domain_id="d-1", **SCOPE)
            update_domain(tx, domain.id, next_home_uid=domain.next_home_uid + 1)
            seen.append(domain.next_home_uid)

    run_together(writer, 4)
    assert sorted(seen) == [1, 2, 3, 4]
