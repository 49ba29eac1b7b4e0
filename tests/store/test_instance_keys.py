"""Secrets replicas share (the gateway's key): stored once, by whichever replica asks first.

Runs on SQLite, and on PostgreSQL when BYOI_TEST_POSTGRES_URL is set (CI's second pass).
"""

import threading

from byoi.auth.tokens import load_secret
from byoi.store.instance_keys import shared_key


def test_the_first_key_stored_is_the_one_every_later_caller_gets(db):
    assert shared_key(db, "gateway", lambda: b"first") == b"first"
    assert shared_key(db, "gateway", lambda: b"second") == b"first"
    assert shared_key(db, "other", lambda: b"other") == b"other"


def test_of_replicas_racing_to_store_a_key_all_get_the_same_one(db):
    got: list[bytes] = []
    barrier = threading.Barrier(8)

    def replica(i: int) -> None:
        def make() -> bytes:
            barrier.wait()  # every replica has found no key, and now each stores its own
            return f"key-{i}".encode()

        got.append(shared_key(db, "gateway", make))

    threads = [threading.Thread(target=replica, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(got) == 8 and len(set(got)) == 1


def test_an_older_byois_key_file_becomes_the_shared_key_so_its_sessions_stay_valid(db, tmp_path):
    (tmp_path / "gateway.key").write_bytes(b"k" * 32)
    stored = lambda first: shared_key(db, "gateway", first)  # noqa: E731
    assert load_secret(tmp_path, None, stored) == b"k" * 32
    other_replica = tmp_path / "elsewhere"
    assert load_secret(other_replica, None, stored) == b"k" * 32
    assert load_secret(other_replica, "configured", stored) == b"configured"
