"""The log shipper: an app's output reaches its log streams while the app runs, once, and survives restarts."""

import time

from byoi.runtime.app_logs import AppLogs, lifecycle_stream
from byoi.runtime.log_shipper import LogShipper, ShippedApp
from tests.runtime.fakes import FakeBackend

STREAM = "d-1/alice/JupyterLab/default"


def started(backend: FakeBackend, name: str = "c1") -> str:
    backend.running.add(name)
    return name


def messages(logs: AppLogs, stream: str) -> list[str]:
    return [message for _, message in logs.events(stream)]


def eventually(condition, what: str, timeout: float = 10):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.01)


def test_lines_reach_the_stream_while_the_app_runs(tmp_path):
    backend, logs = FakeBackend(), AppLogs(tmp_path)
    app = ShippedApp(started(backend), STREAM)
    shipper = LogShipper(logs, backend)
    shipper.follow(app)
    backend.write("c1", "first")
    eventually(lambda: messages(logs, STREAM) == ["first"], "the first line")
    backend.write("c1", "second")
    eventually(lambda: messages(logs, STREAM) == ["first", "second"], "the second line")
    shipper.follow(app)  # again: no second follower, no line twice
    backend.write("c1", "third")
    eventually(lambda: messages(logs, STREAM) == ["first", "second", "third"], "the third line")


def test_a_catch_up_after_following_copies_nothing_twice(tmp_path):
    backend, logs = FakeBackend(), AppLogs(tmp_path)
    app = ShippedApp(started(backend), STREAM)
    shipper = LogShipper(logs, backend)
    shipper.follow(app)
    for line in ("a", "b", "c"):
        backend.write("c1", line)
    eventually(lambda: messages(logs, STREAM) == ["a", "b", "c"], "the lines")
    backend.write("c1", "d")
    backend.stop("c1")
    shipper.catch_up(app)
    shipper.catch_up(app)
    eventually(lambda: messages(logs, STREAM) == ["a", "b", "c", "d"], "every line once")


def test_a_restarted_byoi_resumes_where_the_last_one_stopped(tmp_path):
    backend = FakeBackend()
    app = ShippedApp(started(backend), STREAM)
    backend.write("c1", "before the restart")
    LogShipper(AppLogs(tmp_path), backend).catch_up(app)
    backend.write("c1", "after the restart")
    logs = AppLogs(tmp_path)
    LogShipper(logs, backend).follow(app)  # a new process: only the cursor file remembers
    eventually(lambda: messages(logs, STREAM) == ["before the restart", "after the restart"], "the resumed copy")


def test_the_lifecycle_scripts_lines_go_to_their_own_stream_and_its_outcome_is_kept(tmp_path):
    backend, logs = FakeBackend(), AppLogs(tmp_path)
    app = ShippedApp(started(backend), STREAM, lifecycle_nonce="n1")
    for line in ("byoi-lifecycle n1 start", "installing things", "byoi-lifecycle n1 end exit 0", "server started"):
        backend.write("c1", line)
    shipper = LogShipper(logs, backend)
    shipper.catch_up(app)
    assert messages(logs, lifecycle_stream(STREAM)) == ["installing things"]
    assert messages(logs, STREAM) == ["server started"]
    assert shipper.lifecycle_outcome(app) == "exit 0"


def test_markers_without_the_apps_nonce_are_ordinary_output(tmp_path):
    backend, logs = FakeBackend(), AppLogs(tmp_path)
    app = ShippedApp(started(backend), STREAM, lifecycle_nonce="secret")
    for line in ("byoi-lifecycle secret start", "byoi-lifecycle secret end exit 0", "byoi-lifecycle guess start",
                 "byoi-lifecycle guess end exit 1"):
        backend.write("c1", line)
    shipper = LogShipper(logs, backend)
    shipper.catch_up(app)
    assert messages(logs, STREAM) == ["byoi-lifecycle guess start", "byoi-lifecycle guess end exit 1"]
    assert shipper.lifecycle_outcome(app) == "exit 0"


def test_a_new_app_under_the_same_stream_name_starts_without_the_old_outcome(tmp_path):
    backend, logs = FakeBackend(), AppLogs(tmp_path)
    shipper = LogShipper(logs, backend)
    old = ShippedApp(started(backend, "c1"), STREAM, lifecycle_nonce="n1")
    backend.write("c1", "byoi-lifecycle n1 start")
    backend.write("c1", "byoi-lifecycle n1 end timeout")
    shipper.catch_up(old)
    assert shipper.lifecycle_outcome(old) == "timeout"
    new = ShippedApp(started(backend, "c2"), STREAM, lifecycle_nonce="n2")
    assert shipper.lifecycle_outcome(new) is None


def test_prune_drops_events_older_than_the_retention_and_streams_left_empty(tmp_path):
    logs = AppLogs(tmp_path)
    logs.append_lines("old", ["2020-01-01T00:00:00.000000001Z gone"])
    logs.append_lines("mixed", ["2020-01-01T00:00:00Z gone", "2030-01-01T00:00:00Z kept"])
    cutoff_ms = 1_700_000_000_000  # 2023
    assert logs.prune(cutoff_ms) == 2
    assert logs.streams() == ["mixed"]
    assert messages(logs, "mixed") == ["kept"]
