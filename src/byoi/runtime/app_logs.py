"""App logs, kept as Studio keeps them in CloudWatch Logs.

Log group ``/aws/sagemaker/studio``; one stream per app,
``$domainId/$userProfileName/$AppType/$appName`` (the space name for space
apps). Each stream is a file under ``<data dir>/logs/aws/sagemaker/studio/``
holding the container's output as Docker timestamps it
(``2026-11-23T09:00:00.123456789Z <line>``); ``events`` parses it back.
"""

from __future__ import annotations

from pathlib import Path

LOG_GROUP = "/aws/sagemaker/studio"


def log_stream(domain_id: str, owner: str, app_type: str, app_name: str) -> str:
    return f"{domain_id}/{owner}/{app_type}/{app_name}"


class AppLogs:
    def __init__(self, data_dir: Path):
        self.root = data_dir / "logs" / LOG_GROUP.strip("/")

    def path(self, stream: str) -> Path:
        return self.root / f"{stream}.log"

    def stream_of(self, app) -> str:
        """The stream of ``app`` (a row of ``byoi.store.apps``)."""
        return log_stream(app.domain_id, app.owner_name, app.app_type, app.name)

    def append(self, app, text: str) -> None:
        path = self.path(self.stream_of(app))
        path.parent.mkdir(parents=True, exist_ok=True)
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


def parse_docker_time(stamp: str) -> int:
    """``2026-11-23T09:00:00.123456789Z`` -> epoch milliseconds (0 if it is not a timestamp)."""
    from datetime import datetime

    try:
        whole, _, fraction = stamp.rstrip("Z").partition(".")
        moment = datetime.fromisoformat(whole + "+00:00")
    except ValueError:
        return 0
    return int(moment.timestamp() * 1000) + int((fraction + "000")[:3] or 0)
