"""App logs, kept as Studio keeps them in CloudWatch Logs.

Log group ``/aws/sagemaker/studio``; one stream per app,
``$domainId/$userProfileName/$AppType/$appName`` (the space name for space
apps), and ``<that>/LifecycleConfigOnStart`` for the output of the app's
lifecycle configuration script. Each stream is a file under
``<data dir>/logs/aws/sagemaker/studio/`` holding the container's output as
Docker timestamps it (``2026-11-23T09:00:00.123456789Z <line>``), appended
while the app runs (``byoi.runtime.log_shipper``); ``events`` parses it back.
Files outlive the app and byoi's restarts; ``prune`` drops events older than
the retention period, so the disk they use is bounded.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path

LOG_GROUP = "/aws/sagemaker/studio"
#: The stream of an app's lifecycle configuration script, under the app's own stream.
LIFECYCLE_STREAM_SUFFIX = "LifecycleConfigOnStart"


def log_stream(domain_id: str, owner: str, app_type: str, app_name: str) -> str:
    return f"{domain_id}/{owner}/{app_type}/{app_name}"


def lifecycle_stream(app_stream: str) -> str:
    return f"{app_stream}/{LIFECYCLE_STREAM_SUFFIX}"


class AppLogs:
    """The log streams' files. Thread-safe: appends to one stream are serialised."""

    def __init__(self, data_dir: Path):
        self.root = data_dir / "logs" / LOG_GROUP.strip("/")
        self._lock = threading.Lock()

    def path(self, stream: str) -> Path:
        return self.root / f"{stream}.log"

    def stream_of(self, app) -> str:
        """The stream of ``app`` (a row of ``byoi.store.apps``)."""
        return log_stream(app.domain_id, app.owner_name, app.app_type, app.name)

    def append_lines(self, stream: str, lines: Iterable[str]) -> None:
        """Append timestamped lines (``<RFC 3339 time> <message>``, no newline) to ``stream``."""
        text = "".join(f"{line}\n" for line in lines)
        if not text:
            return
        path = self.path(stream)
        with self._lock:
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            with open(path, "a", encoding="utf-8") as f:
                f.write(text)

    def read(self, stream: str) -> str:
        path = self.path(stream)
        return path.read_text(encoding="utf-8") if path.exists() else ""

    def streams(self) -> list[str]:
        """Every stream name, sorted."""
        if not self.root.exists():
            return []
        return sorted(str(p.relative_to(self.root))[: -len(".log")] for p in self.root.rglob("*.log"))

    def events(self, stream: str) -> list[tuple[int, str]]:
        """(epoch ms, message) for each line of a stream, oldest first."""
        events = []
        for line in self.read(stream).splitlines():
            stamp, _, message = line.partition(" ")
            events.append((parse_docker_time(stamp), message))
        return events

    def prune(self, cutoff_ms: int) -> int:
        """Drop events older than ``cutoff_ms`` from every stream, and streams left empty; events dropped."""
        dropped = 0
        for stream in self.streams():
            path = self.path(stream)
            with self._lock:
                try:
                    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
                except FileNotFoundError:
                    continue
                kept = [line for line in lines if parse_docker_time(line.partition(" ")[0]) >= cutoff_ms]
                if len(kept) == len(lines):
                    continue
                dropped += len(lines) - len(kept)
                if not kept:
                    path.unlink()
                    continue
                staging = path.with_suffix(".pruning")
                staging.write_text("".join(kept), encoding="utf-8")
                os.replace(staging, path)
        if self.root.exists():  # the log shipper's cursors of streams that are gone
            for cursor in self.root.rglob("*.cursor"):
                if not cursor.with_suffix(".log").exists() and cursor.stat().st_mtime * 1000 < cutoff_ms:
                    cursor.unlink(missing_ok=True)
        return dropped


def parse_docker_time(stamp: str) -> int:
    """``2026-11-23T09:00:00.123456789Z`` -> epoch milliseconds (0 if it is not a timestamp)."""
    return docker_time_ns(stamp) // 1_000_000


def docker_time_ns(stamp: str) -> int:
    """``2026-11-23T09:00:00.123456789Z`` -> epoch nanoseconds (0 if it is not a timestamp)."""
    try:
        whole, _, fraction = stamp.rstrip("Z").partition(".")
        moment = datetime.fromisoformat(whole + "+00:00")
    except ValueError:
        return 0
    digits = (fraction + "000000000")[:9]
    return int(moment.timestamp()) * 1_000_000_000 + (int(digits) if digits.isdigit() else 0)
