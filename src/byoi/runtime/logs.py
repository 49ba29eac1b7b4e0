"""App logs, kept as Studio keeps them in CloudWatch Logs.

Log group ``/aws/sagemaker/studio``; one stream per app,
``$domainId/$userProfileName/$AppType/$appName`` (the space name for space
apps). Each stream is a file under ``<data dir>/logs/aws/sagemaker/studio/``.
"""

from __future__ import annotations

from pathlib import Path

from byoi.store.models import App

LOG_GROUP = "/aws/sagemaker/studio"


def log_stream(domain_id: str, owner: str, app_type: str, app_name: str) -> str:
    return f"{domain_id}/{owner}/{app_type}/{app_name}"


class AppLogs:
    def __init__(self, data_dir: Path):
        self.root = data_dir / "logs" / LOG_GROUP.strip("/")

    def path(self, stream: str) -> Path:
        return self.root / f"{stream}.log"

    def stream_of(self, app: App) -> str:
        return log_stream(app.domain.domain_id, app.owner_name, app.app_type, app.name)

    def append(self, app: App, text: str) -> None:
        path = self.path(self.stream_of(app))
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "a", encoding="utf-8") as f:
            f.write(text)

    def read(self, stream: str) -> str:
        path = self.path(stream)
        return path.read_text(encoding="utf-8") if path.exists() else ""
