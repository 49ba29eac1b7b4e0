"""Transitions: due rows, compare-and-set and next-due times, the mechanism of every settler.

Runs on SQLite, and on PostgreSQL when BYOI_TEST_POSTGRES_URL is set (CI's second pass).
"""

import threading

import pytest

from byoi.store.database import Database
from byoi.store.models import Domain, ResourceRequest
from byoi.store.transitions import Lease, Transitions, release_claims, soonest

T0 = 1_700_000_000_000


def add_domain(db: Database, domain_id: str, status: str, modified_ms: int) -> int:
    with db.write() as session:
        row = Domain(
            domain_id=domain_id,
            account_id="123456789012",
            region="us-east-1",
            name=domain_id,
            status=status,
            settings={},
            next_home_uid=200001,
            created_ms=modified_ms,
            modified_ms=modified_ms,
        )
        session.add(row)
        session.flush()
        return row.id


def status_of(db: Database, pk: int) -> str | None:
    with db.read() as session:
        row = session.get(Domain, pk)
        return None if row is None else row.status


def test_a_row_is_due_once_it_has_sat_in_a_watched_state_for_the_delay(db):
    early = add_domain(db, "d-early", "Pending", T0)
    late = add_domain(db, "d-late", "Deleting", T0 + 400)
    add_domain(db, "d-done", "InService", T0)  # not a watched state
    domains = Transitions(db, Domain, ("Pending", "Deleting"), delay_seconds=1.0, columns=[Domain.domain_id])

    assert domains.scan(T0 + 999).due == []
    scan = domains.scan(T0 + 1000)
    assert [(r.key, r.status, r.since, r.domain_id) for r in scan.due] == [(early, "Pending", T0, "d-early")]
    assert scan.next_in == pytest.approx(0.4)  # d-late falls due 400 ms later
    assert {r.key for r in domains.scan(T0 + 1400).due} == {early, late}
    assert domains.scan(T0 + 1400).next_in is None  # nothing left waiting


def test_with_no_delay_every_row_in_a_watched_state_is_due_at_once(db):
    pk = add_domain(db, "d-1", "Pending", T0)
    scan = Transitions(db, Domain, ("Pending",)).scan(T0)
    assert [r.key for r in scan.due] == [pk] and scan.next_in is None


def test_advance_is_a_compare_and_set_on_the_state_the_settler_saw(db):
    pk = add_domain(db, "d-1", "Pending", T0)
    domains = Transitions(db, Domain, ("Pending",))
    assert domains.advance(pk, "Pending", status="InService", modified_ms=T0 + 5)
    # A second settler that saw Pending too changes nothing: the row moved on.
    assert not domains.advance(pk, "Pending", status="Failed", failure_reason="late")
    with db.read() as session:
        row = session.get(Domain, pk)
        assert (row.status, row.modified_ms, row.failure_reason) == ("InService", T0 + 5, None)


def test_values_of_typed_columns_are_converted_like_the_orm_does(db):
    pk = add_domain(db, "d-1", "Pending", T0)
    Transitions(db, Domain, ("Pending",)).advance(pk, "Pending", settings={"Nested": {"List": [1]}})
    with db.read() as session:
        assert session.get(Domain, pk).settings == {"Nested": {"List": [1]}}


def test_of_many_threads_advancing_one_row_exactly_one_wins(db):
    pk = add_domain(db, "d-1", "Pending", T0)
    domains = Transitions(db, Domain, ("Pending",))
    wins, start = [], threading.Barrier(6)

    def settle(n: int) -> None:
        start.wait()
        if domains.advance(pk, "Pending", status="InService", failure_reason=f"winner {n}"):
            wins.append(n)

    threads = [threading.Thread(target=settle, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(wins) == 1
    with db.read() as session:
        assert session.get(Domain, pk).failure_reason == f"winner {wins[0]}"


def test_holds_guards_a_larger_step_inside_the_callers_transaction(db):
    pk = add_domain(db, "d-1", "Deleting", T0)
    domains = Transitions(db, Domain, ("Deleting",))
    with db.write() as session:
        assert not domains.holds(session, pk, "Pending")
        assert domains.holds(session, pk, "Deleting")
        session.delete(session.get(Domain, pk))
    with db.write() as session:  # a second settler finds it gone, and does nothing
        assert not domains.holds(session, pk, "Deleting")
    assert status_of(db, pk) is None


def test_a_table_can_name_its_rows_and_their_start_by_other_columns(db):
    requests = Transitions(
        db, ResourceRequest, ("PENDING",), delay_seconds=0.01, key=ResourceRequest.request_token, since=ResourceRequest.created_ms
    )
    with db.write() as session:
        session.add(
            ResourceRequest(
                request_token="tok-1",
                account_id="1",
                region="r",
                client_token="c",
                request_hash="h",
                type_name="AWS::SageMaker::Image",
                operation="CREATE",
                status="PENDING",
                desired_state="{}",
                event_ms=T0,
                created_ms=T0,
            )
        )
    assert [r.key for r in requests.scan(T0 + 10).due] == ["tok-1"]
    # record() sets facts whatever the state; advance() only from the expected one.
    requests.record("tok-1", identifier="img")
    assert not requests.advance("tok-1", "IN_PROGRESS", status="SUCCESS")
    with db.read() as session:
        row = session.get(ResourceRequest, "tok-1")
        assert (row.identifier, row.status) == ("img", "PENDING")


def test_soonest_is_the_shortest_wait_ignoring_rows_that_wait_for_nothing():
    assert soonest(None, 2.0, 0.5, None) == 0.5
    assert soonest(None, None) is None
    assert soonest() is None


# --- claims: several replicas on one database ------------------------------------------------


def replica(db: Database, name: str, lease_seconds: float = 10.0, states=("Pending",)) -> Transitions:
    return Transitions(db, Domain, states, lease=Lease(name, lease_seconds))


def test_a_due_row_is_settled_by_the_one_replica_that_claimed_it_first(db):
    pk = add_domain(db, "d-1", "Pending", T0)
    a, b = replica(db, "a"), replica(db, "b")
    assert [r.key for r in a.scan(T0).due] == [pk]
    scan = b.scan(T0 + 1)
    assert scan.due == []
    # b looks again when a's lease would have run out
    assert scan.next_in == pytest.approx(10.0 - 0.001, abs=0.01)
    assert [r.key for r in a.scan(T0 + 2).due] == [pk]  # a keeps it while its lease lasts


def test_a_replica_renews_its_own_claims_so_a_live_holder_keeps_its_rows(db):
    pk = add_domain(db, "d-1", "Pending", T0)
    a, b = replica(db, "a"), replica(db, "b")
    for t in range(0, 60_000, 4_000):  # a scans every 4 s; its 10 s lease never runs out
        assert [r.key for r in a.scan(T0 + t).due] == [pk]
        assert b.scan(T0 + t + 1).due == []


def test_the_rows_of_a_replica_that_stopped_renewing_are_taken_over_once_its_lease_expires(db):
    pk = add_domain(db, "d-1", "Pending", T0)
    a, b = replica(db, "a"), replica(db, "b")
    assert [r.key for r in a.scan(T0).due] == [pk]
    # a is killed: it never scans again
    assert b.scan(T0 + 10_000).due == []  # the lease runs to T0 + 10 s exactly
    assert [r.key for r in b.scan(T0 + 10_001).due] == [pk]
    assert a.scan(T0 + 10_002).due == []  # a came back: b holds it now
    assert not a.claim(pk, T0 + 10_003) and b.claim(pk, T0 + 10_003)


def test_released_claims_are_free_at_once(db):
    pk = add_domain(db, "d-1", "Pending", T0)
    a, b = replica(db, "a"), replica(db, "b")
    assert a.scan(T0).due
    assert release_claims(db, "a") == 1
    assert [r.key for r in b.scan(T0 + 1).due] == [pk]


def test_every_transitions_of_one_table_shares_its_claims(db):
    pk = add_domain(db, "d-1", "Pending", T0)
    a = replica(db, "a")
    b_other_states = replica(db, "b", states=("Pending", "Deleting"))
    assert [r.key for r in a.scan(T0).due] == [pk]
    assert b_other_states.scan(T0 + 1).due == []


def test_of_many_replicas_racing_for_many_rows_each_row_is_claimed_exactly_once(db):
    keys = {add_domain(db, f"d-{i}", "Pending", T0) for i in range(20)}
    won: dict[str, list] = {}
    barrier = threading.Barrier(6)

    def race(name: str) -> None:
        transitions = replica(db, name)
        barrier.wait()
        won[name] = [r.key for r in transitions.scan(T0).due]

    threads = [threading.Thread(target=race, args=(f"r{i}",)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    claimed = [k for keys_won in won.values() for k in keys_won]
    assert sorted(claimed) == sorted(keys)  # every row once: none lost, none twice
