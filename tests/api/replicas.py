"""A ``byoi serve`` replica whose apps run on an engine the test shares between processes.

``python -m tests.api.replicas`` serves byoi as ``byoi serve`` does (settings from the
``BYOI_*`` environment), except that apps run on ``SharedDirBackend`` in the directory
``BYOI_TEST_ENGINE_DIR``: every "container" is a file there, so several replicas (processes)
see one engine, as replicas sharing a Docker engine or a cluster do. Each container
answers at ``BYOI_TEST_APP_ENDPOINT`` (host:port), a small HTTP server the test runs.

A start creates ``starts/<name>`` with O_EXCL: a second start of one container (two
replicas starting the same app) finds it there and leaves a file in ``duplicates/``
instead, which the test looks for. Like a real engine's, a start takes a while
(``BYOI_TEST_START_SECONDS``, creating the container): the container is seen running
only once it is over, so two replicas that both decide to start one app both do.
Docker is not used (another engineer owns it).
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from byoi.runtime.backend import Endpoint, RunState, RuntimeBackend


class SharedDirBackend(RuntimeBackend):
    def __init__(self, root: Path, endpoint: Endpoint, start_seconds: float = 0.0):
        self._root = root
        self._endpoint = endpoint
        self._start_seconds = start_seconds
        for folder in ("starts", "duplicates", "running", "stopped"):
            (root / folder).mkdir(parents=True, exist_ok=True)

    def _file(self, folder: str, name: str) -> Path:
        return self._root / folder / name

    def start(self, spec) -> Endpoint:
        try:
            os.close(os.open(self._file("starts", spec.name), os.O_WRONLY | os.O_CREAT | os.O_EXCL))
        except FileExistsError:  # started before: a double start
            self._file("duplicates", f"{spec.name}.{uuid.uuid4().hex}").touch()
        time.sleep(self._start_seconds)  # the engine creating the container
        self._file("running", spec.name).touch()
        return self._endpoint

    def state(self, name: str) -> RunState | None:
        if self._file("running", name).exists():
            return RunState(True, endpoint=self._endpoint)
        if self._file("stopped", name).exists():
            return RunState(False, exit_code=0)
        return None

    def stop(self, name: str, timeout: float = 10) -> None:
        if self._file("running", name).exists():
            self._file("stopped", name).touch()
            self._file("running", name).unlink(missing_ok=True)

    def remove(self, name: str) -> None:
        self._file("running", name).unlink(missing_ok=True)
        self._file("stopped", name).unlink(missing_ok=True)

    def logs(self, name: str, timestamps: bool = False) -> str:
        return ""

    def follow_logs(self, name: str, since_ns: int = 0) -> Iterator[str]:
        return iter(())

    def managed(self, instance_id: str) -> dict[str, RunState]:
        names = {p.name for folder in ("running", "stopped") for p in (self._root / folder).iterdir()}
        return {name: state for name in names if (state := self.state(name)) is not None}

    def prune(self, instance_id: str) -> None:
        pass


def launcher() -> list[str]:
    """The command that runs a replica (``ByoiServer(command=...)``)."""
    return [sys.executable, "-m", "tests.api.replicas"]


class AnswersEverything(BaseHTTPRequestHandler):
    """Every app's port 8888: answers 200 at once, to anything (the readiness probe)."""

    def do_GET(self):  # noqa: N802 - http.server's name
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args):
        pass


@contextlib.contextmanager
def ready_server() -> Iterator[int]:
    """An HTTP server on loopback standing in for every app's port 8888; yields its port."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), AnswersEverything)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


def main() -> None:
    import uvicorn

    from byoi.app import create_app
    from byoi.settings import Settings

    settings = Settings()
    host, _, port = os.environ["BYOI_TEST_APP_ENDPOINT"].rpartition(":")
    start_seconds = float(os.environ.get("BYOI_TEST_START_SECONDS", "0"))
    backend = SharedDirBackend(Path(os.environ["BYOI_TEST_ENGINE_DIR"]), Endpoint(host, int(port)), start_seconds)
    app = create_app(settings, backend=backend)
    uvicorn.run(app, host=settings.host, port=settings.port, log_level=settings.log_level, access_log=False)


if __name__ == "__main__":
    main()
