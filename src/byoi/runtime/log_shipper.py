"""Copies each app's container output into its log streams while the app runs.

``follow(app)`` starts one thread per running container (once; calling it
again is harmless) that reads the output as Docker writes it
(``RuntimeBackend.follow_logs``) and appends each line to the app's stream
within moments, so ``GetLogEvents``/``FilterLogEvents`` (and ``aws logs tail
--follow``) see it while the app runs. ``catch_up(app)`` reads whatever is not
yet copied, once, and is what the settler calls before it removes a container.

The lines of the app's lifecycle configuration script, between
``byoi_lifecycle``'s markers carrying the app's nonce, go to the
``.../LifecycleConfigOnStart`` stream instead, and the end marker's outcome is
kept (``lifecycle_outcome``) for the app's FailureReason.

A small cursor file beside each stream (``<stream>.cursor``, JSON: the last line's
time in nanoseconds, whether the script is running, its outcome) makes copying
resumable after byoi restarts and stops a line being copied twice by the
follower and a catch-up.
"""

from __future__ import annotations

import json
import logging
import threading
from dataclasses import dataclass
from pathlib import Path

from byoi.runtime.app_logs import AppLogs, docker_time_ns, lifecycle_stream
from byoi.runtime.backend import RuntimeBackend

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ShippedApp:
    """What the shipper needs to know of an app."""

    container: str
    stream: str
    #: The nonce of the app's lifecycle script markers (None: no script runs).
    lifecycle_nonce: str | None = None


class LogShipper:
    def __init__(self, logs: AppLogs, backend: RuntimeBackend):
        self._logs = logs
        self._backend = backend
        self._lock = threading.Lock()
        self._stream_locks: dict[str, threading.Lock] = {}
        self._followers: dict[str, threading.Thread] = {}

    def follow(self, app: ShippedApp) -> None:
        """Copy the app's output as it is written, in a thread of its own, until its container stops."""
        with self._lock:
            follower = self._followers.get(app.container)
            if follower is not None and follower.is_alive():
                return
            follower = threading.Thread(target=self._follow, args=(app,), name=f"logs-{app.container}", daemon=True)
            self._followers[app.container] = follower
        follower.start()

    def catch_up(self, app: ShippedApp) -> None:
        """Copy what the container wrote that is not copied yet (before the container is removed)."""
        self._copy(app, self._backend.logs(app.container, timestamps=True).splitlines())

    def lifecycle_outcome(self, app: ShippedApp) -> str | None:
        """How the app's lifecycle script ended: ``exit <code>``, ``timeout``, ``error <why>``; None if it has not."""
        cursor = self._cursor(app.stream)
        return cursor.get("outcome") if cursor.get("run") == _run_of(app) else None

    def _follow(self, app: ShippedApp) -> None:
        try:
            since = self._cursor(app.stream).get("ns", 0)
            batch: list[str] = []
            for line in self._backend.follow_logs(app.container, since):
                batch.append(line)
                self._copy(app, batch)
                batch.clear()
        except Exception:  # noqa: BLE001 - the settler's catch-up copies what a broken follower missed
            log.exception("following the logs of %s failed", app.container)
        finally:
            with self._lock:
                if self._followers.get(app.container) is threading.current_thread():
                    del self._followers[app.container]

    def _copy(self, app: ShippedApp, lines: list[str]) -> None:
        with self._stream_lock(app.stream):
            cursor = self._cursor(app.stream)
            run = _run_of(app)
            if cursor.get("run") != run:  # a new app (or start) under this stream's name
                cursor = {"ns": cursor.get("ns", 0), "run": run}
            last_ns, inside = cursor["ns"], cursor.get("inside", False)
            to_app: list[str] = []
            to_script: list[str] = []
            for line in lines:
                stamp, _, message = line.partition(" ")
                ns = docker_time_ns(stamp)
                if ns <= last_ns:
                    continue  # copied already
                last_ns = ns
                if app.lifecycle_nonce and message.startswith(f"byoi-lifecycle {app.lifecycle_nonce} "):
                    what = message.split(" ", 2)[2]
                    if what == "start":
                        inside = True
                    elif what.startswith("end ") and inside:
                        inside = False
                        cursor["outcome"] = what[len("end "):]
                    continue
                (to_script if inside else to_app).append(line)
            if last_ns == cursor["ns"]:
                return  # nothing new
            self._logs.append_lines(lifecycle_stream(app.stream), to_script)
            self._logs.append_lines(app.stream, to_app)
            cursor.update(ns=last_ns, inside=inside)
            self._save_cursor(app.stream, cursor)

    def _stream_lock(self, stream: str) -> threading.Lock:
        with self._lock:
            return self._stream_locks.setdefault(stream, threading.Lock())

    def _cursor_path(self, stream: str) -> Path:
        return self._logs.root / f"{stream}.cursor"

    def _cursor(self, stream: str) -> dict:
        try:
            return json.loads(self._cursor_path(stream).read_text())
        except (FileNotFoundError, ValueError):
            return {}

    def _save_cursor(self, stream: str, cursor: dict) -> None:
        path = self._cursor_path(stream)
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        staging = path.with_suffix(".cursor-new")
        staging.write_text(json.dumps(cursor))
        staging.replace(path)


def _run_of(app: ShippedApp) -> str:
    """Which start of which app a cursor's lifecycle state belongs to."""
    return f"{app.container}/{app.lifecycle_nonce or ''}"
