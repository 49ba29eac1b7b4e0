"""Prepared statements run on the driver behave as SQLAlchemy would run them.

Runs on SQLite, and on PostgreSQL when BYOI_TEST_POSTGRES_URL is set (CI's second pass).
"""

import time

import pytest
from sqlalchemy import bindparam, func, insert, select, tuple_, update
from sqlalchemy.exc import IntegrityError

from byoi.store.models import AppImageConfig, Domain, Tag
from byoi.store.raw import Prepared, Transaction
from tests.conftest import POSTGRES_URL
from tests.store.conftest import run_together

DOMAIN_BY_ID = Prepared(select(Domain).where(Domain.domain_id == bindparam("domain_id")), locks=Domain)
INSERT_DOMAIN = Prepared(
    insert(Domain).values({c: bindparam(c) for c in ("domain_id", "account_id", "region", "name", "status",
                                                      "failure_reason", "settings", "next_home_uid", "created_ms", "modified_ms")})
    .returning(Domain.id)
)
INSERT_TAG = Prepared(insert(Tag).values(resource_arn=bindparam("arn"), key=bindparam("key"), value=bindparam("value")))


def domain(domain_id: str, **overrides) -> dict:
    values = dict(domain_id=domain_id, account_id="123456789012", region="us-east-1", name="n", status="InService",
                  failure_reason=None, settings={"AuthMode": "IAM", "Nested": {"List": [1, 2]}}, next_home_uid=200001,
                  created_ms=1_700_000_000_123, modified_ms=1_700_000_000_123)
    return {**values, **overrides}


def test_an_insert_returns_its_key_and_a_select_reads_the_row_back_with_typed_columns(db):
    with db.raw_write() as tx:
        pk = tx.scalar(INSERT_DOMAIN, domain("d-1"))
    with db.raw_read() as tx:
        row = tx.first(DOMAIN_BY_ID, {"domain_id": "d-1"})
    assert row.id == pk
    assert row.settings == {"AuthMode": "IAM", "Nested": {"List": [1, 2]}}  # JSON encoded and decoded
    assert row.created_ms == 1_700_000_000_123
    assert row.failure_reason is None
    with db.read() as session:  # the ORM reads what the driver wrote
        assert session.scalar(select(Domain)).settings == row.settings


def test_first_and_scalar_answer_none_when_nothing_matches(db):
    with db.raw_read() as tx:
        assert tx.first(DOMAIN_BY_ID, {"domain_id": "d-none"}) is None
        assert tx.scalar(DOMAIN_BY_ID, {"domain_id": "d-none"}) is None


def test_literals_in_the_statement_and_keyset_tuples_compile_into_parameters(db):
    with db.raw_write() as tx:
        for i in range(5):
            tx.execute(INSERT_TAG, {"arn": "arn:a", "key": f"k{i}", "value": "v"})
        tx.execute(INSERT_TAG, {"arn": "arn:b", "key": "k0", "value": "v"})
    after = Prepared(
        select(Tag).where(Tag.resource_arn == "arn:a", tuple_(Tag.key, Tag.id) > tuple_(bindparam("key"), bindparam("id")))
        .order_by(Tag.key).limit(bindparam("limit"))
    )
    count = Prepared(select(func.count()).select_from(Tag).where(Tag.value == "v"))
    with db.raw_read() as tx:
        assert [t.key for t in tx.all(after, {"key": "k1", "id": 0, "limit": 2})] == ["k1", "k2"]
        assert tx.scalar(count) == 6


def test_execute_answers_the_number_of_rows_changed(db):
    with db.raw_write() as tx:
        tx.execute(INSERT_TAG, {"arn": "arn:a", "key": "k", "value": "1"})
        changed = tx.execute(Prepared(update(Tag).where(Tag.resource_arn == bindparam("arn")).values(value="2")), {"arn": "arn:a"})
    assert changed == 1


def test_a_failed_write_rolls_back_everything_it_did(db):
    with pytest.raises(RuntimeError), db.raw_write() as tx:
        tx.execute(INSERT_TAG, {"arn": "arn:a", "key": "k", "value": "v"})
        raise RuntimeError("handler failed")
    with db.raw_read() as tx:
        assert tx.all(Prepared(select(Tag))) == []


def test_a_constraint_violation_is_sqlalchemys_integrity_error_and_the_store_stays_usable(db):
    with db.raw_write() as tx:
        tx.execute(INSERT_TAG, {"arn": "arn:a", "key": "k", "value": "v"})
    with pytest.raises(IntegrityError), db.raw_write() as tx:
        tx.execute(INSERT_TAG, {"arn": "arn:a", "key": "k", "value": "other"})
    with db.raw_write() as tx:
        tx.execute(INSERT_TAG, {"arn": "arn:a", "key": "k2", "value": "v"})
    with db.raw_read() as tx:
        assert sorted(t.key for t in tx.all(Prepared(select(Tag)))) == ["k", "k2"]


def test_a_missing_parameter_is_a_programming_error_not_a_silent_null(db):
    with pytest.raises(KeyError), db.raw_read() as tx:
        tx.first(DOMAIN_BY_ID, {})


def test_statements_that_need_sqlalchemy_at_run_time_are_refused_when_compiled(db):
    expanding = Prepared(select(Tag).where(Tag.key.in_(bindparam("keys", expanding=True))))
    with pytest.raises(ValueError, match="execution path"), db.raw_read() as tx:
        tx.all(expanding, {"keys": ["a"]})


def test_a_joined_session_sees_and_commits_with_the_orm(db):
    with db.write() as session:
        session.add(AppImageConfig(account_id="1", region="r", name="c", name_key="c", created_ms=1, modified_ms=1))
        session.flush()
        tx = Transaction.of(session)
        assert tx.locking
        tx.execute(INSERT_TAG, {"arn": "arn:c", "key": "k", "value": "v"})
        assert tx.scalar(Prepared(select(AppImageConfig.name))) == "c"
    with db.raw_read() as tx:
        assert not tx.locking
        assert [t.key for t in tx.all(Prepared(select(Tag)))] == ["k"]


def test_a_read_transaction_sees_one_snapshot(db):
    """Rows committed while a read transaction is open are not seen by it."""
    count = Prepared(select(func.count()).select_from(Tag))
    with db.raw_read() as tx:
        assert tx.scalar(count) == 0
        with db.raw_write() as writer:
            writer.execute(INSERT_TAG, {"arn": "arn:a", "key": "k", "value": "v"})
        if not POSTGRES_URL:  # PostgreSQL reads at READ COMMITTED: each statement sees the latest commit
            assert tx.scalar(count) == 0
    with db.raw_read() as tx:
        assert tx.scalar(count) == 1


def test_write_transactions_lock_the_rows_they_look_up(db):
    """Of two writers that read then change one row, the second sees the first one's change."""
    with db.raw_write() as tx:
        tx.execute(INSERT_DOMAIN, domain("d-1", next_home_uid=1))
    bump = Prepared(update(Domain).where(Domain.domain_id == bindparam("domain_id")).values(next_home_uid=bindparam("uid")))
    seen = []

    def writer():
        with db.raw_write() as tx:
            uid = tx.first(DOMAIN_BY_ID, {"domain_id": "d-1"}).next_home_uid
            seen.append(uid)
            time.sleep(0.05)
            tx.execute(bump, {"domain_id": "d-1", "uid": uid + 1})

    run_together(writer, 4)
    assert sorted(seen) == [1, 2, 3, 4]


def test_a_statement_whose_sql_returns_more_columns_than_its_row_is_refused(db):
    from sqlalchemy.orm import joinedload

    from byoi.store.models import App

    eager = Prepared(select(App).options(joinedload(App.domain)))  # the eager load adds the domain's columns
    with pytest.raises(ValueError, match="columns for a row of"), db.raw_read() as tx:
        tx.all(eager)


# --- serialize: one writer at a time per key, across processes ------------------------------


def test_a_writer_that_serializes_on_a_key_waits_for_the_one_holding_it_and_then_sees_its_rows(db):
    """Two Database objects on one database stand for two replicas. The second's check-then-insert
    on the key runs only after the first's transaction ends, so it sees the first's row."""
    import threading

    from byoi.store.database import Database
    from byoi.store.tags import put_tags, tag_keys

    other = Database(db.url)
    seen: list[set[str]] = []
    entered = threading.Event()

    def second_replica():
        entered.set()
        with other.raw_write() as tx:
            tx.serialize("tag:arn:x")
            seen.append(tag_keys(tx, "arn:x"))

    with db.raw_write() as tx:
        tx.serialize("tag:arn:x")
        put_tags(tx, "arn:x", {"first": "1"})
        worker = threading.Thread(target=second_replica)
        worker.start()
        entered.wait(10)
        if not db.is_sqlite:  # (on SQLite its BEGIN IMMEDIATE waits: nothing to observe)
            # the second replica is waiting on the key before this transaction commits
            deadline = time.monotonic() + 30
            while not waiting_on_advisory_lock(db):
                assert time.monotonic() < deadline, "the second replica never waited for the key"
                time.sleep(0.01)
    worker.join(30)
    assert seen == [{"first"}]
    other.dispose()


def waiting_on_advisory_lock(db) -> bool:
    from sqlalchemy import create_engine, text  # noqa: I001

    engine = create_engine(db.url)
    try:
        with engine.connect() as connection:
            return bool(connection.execute(text("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")).scalar())
    finally:
        engine.dispose()
