"""Shared fixtures: a live byoi server on loopback and boto3 clients for it.

API tests talk to a real ``byoi serve`` process over HTTP, exactly as a user's
boto3 or AWS CLI would. ``ByoiServer`` can be stopped, killed and restarted on
the same data directory, which the durability tests rely on.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import boto3
import httpx
import pytest
from botocore.config import Config

# Credentials for the SDKs; test servers listen on loopback, where byoi checks no signatures
# (tests/api/test_auth.py turns authentication on).
os.environ.setdefault("AWS_ACCESS_KEY_ID", "AKIDBYOITEST")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "byoi-test-secret")
os.environ.pop("AWS_PROFILE", None)

ROLE_ARN = "arn:aws:iam::123456789012:role/byoi-test"

#: When set (e.g. postgresql+psycopg://postgres:pw@127.0.0.1/postgres), every
#: test server stores its state in a fresh PostgreSQL database instead of SQLite.
POSTGRES_URL = os.environ.get("BYOI_TEST_POSTGRES_URL")


_getaddrinfo = socket.getaddrinfo


def _resolve_localhost_subdomains(host, *args, **kwargs):
    """Resolve ``*.localhost`` to loopback, as browsers (and curl) do, so tests reach Studio's
    origins (``<domain id>.studio.localhost``) by the names a browser uses."""
    if isinstance(host, (str, bytes)):
        name = host.decode() if isinstance(host, bytes) else host
        if name.lower().rstrip(".").endswith(".localhost"):
            host = "127.0.0.1"
    return _getaddrinfo(host, *args, **kwargs)


socket.getaddrinfo = _resolve_localhost_subdomains


def fresh_database_url(data_dir: Path) -> str:
    """A new, empty database for one test server: SQLite in data_dir, or PostgreSQL."""
    if not POSTGRES_URL:
        return f"sqlite:///{data_dir / 'byoi.db'}"
    import psycopg
    from sqlalchemy.engine import make_url

    url = make_url(POSTGRES_URL)
    name = f"byoi_test_{uuid.uuid4().hex[:12]}"
    conninfo = url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return url.set(database=name).render_as_string(hide_password=False)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ByoiServer:
    """A ``byoi serve`` subprocess on 127.0.0.1 with its own data directory (and its own database,
    unless ``BYOI_DATABASE_URL`` is given). ``command`` replaces ``python -m byoi serve``."""

    def __init__(self, data_dir: Path, command: list[str] | None = None, **env: str):
        self.data_dir = data_dir
        self.port = free_port()
        self.command = command or [sys.executable, "-m", "byoi", "serve"]
        self.env = {
            **os.environ,
            "BYOI_DATA_DIR": str(data_dir),
            "BYOI_DATABASE_URL": env.pop("BYOI_DATABASE_URL", None) or fresh_database_url(data_dir),
            "BYOI_PORT": str(self.port),
            "BYOI_DOCKER": "off",
        }
        self.env.update(env)
        self.proc: subprocess.Popen | None = None
        self.log_path = data_dir / "server.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> ByoiServer:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(self.command, env=self.env, stdout=log, stderr=log, cwd=Path(__file__).parent.parent)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"byoi exited early:\n{self.log_path.read_text()}")
            try:
                if httpx.get(f"{self.url}/_byoi/health", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"byoi did not start:\n{self.log_path.read_text()}")

    def stop(self) -> None:
        """Graceful stop (SIGTERM)."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(timeout=30)

    def kill(self) -> None:
        """Abrupt stop (SIGKILL), as a crash would."""
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=30)

    def client(self, service: str = "sagemaker", region: str = "us-east-1", validate: bool = True, **config):
        cfg = Config(parameter_validation=validate, retries={"max_attempts": 1, "mode": "standard"}, **config)
        return boto3.client(service, endpoint_url=self.url, region_name=region, config=cfg)


@pytest.fixture(scope="session")
def server(tmp_path_factory) -> ByoiServer:
    """One server shared by the API tests (they use unique names, so they do not collide)."""
    srv = ByoiServer(tmp_path_factory.mktemp("byoi-shared")).start()
    yield srv
    srv.stop()


@pytest.fixture
def fresh_server(tmp_path):
    """A server of the test's own, for tests that count everything or restart it."""
    servers: list[ByoiServer] = []

    def make(**env: str) -> ByoiServer:
        srv = ByoiServer(tmp_path / f"srv{len(servers)}", **env).start()
        servers.append(srv)
        return srv

    yield make
    for srv in servers:
        srv.kill()


@pytest.fixture
def sm(server):
    """A boto3 SageMaker client for the shared server."""
    return server.client()


@pytest.fixture
def sm_raw(server):
    """A client that skips botocore's own checks, so byoi's validation is what answers."""
    return server.client(validate=False)


@pytest.fixture
def name() -> str:
    """A resource name unique to this test."""
    return f"t-{uuid.uuid4().hex[:12]}"


def error_of(excinfo) -> tuple[str, str]:
    """(code, message) of a botocore ClientError."""
    err = excinfo.value.response["Error"]
    return err["Code"], err["Message"]


def docker_available() -> bool:
    try:
        return subprocess.run(["docker", "info"], capture_output=True, timeout=20).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def require_docker() -> None:
    """Skip without a Docker engine, unless BYOI_TEST_DOCKER=1 makes that a failure."""
    if not docker_available():
        if os.environ.get("BYOI_TEST_DOCKER") == "1":
            pytest.fail("BYOI_TEST_DOCKER=1 but no Docker engine answers")
        pytest.skip("no Docker engine (set BYOI_TEST_DOCKER=1 to require one)")


@pytest.fixture(scope="session")
def test_images(tmp_path_factory) -> dict[str, str]:
    """The offline-built test images (tests/images), name -> tag.

    Networks of byoi's that no container uses (left by a run that was killed) are
    removed first: Docker's default pools hold only about 30 networks."""
    require_docker()
    import docker

    from tests.images.build import build_test_images

    docker.from_env().networks.prune(filters={"label": "byoi.managed=true"})

    return build_test_images(tmp_path_factory.mktemp("image-build"))


@pytest.fixture(scope="session")
def gateway_bundle(tmp_path_factory) -> str:
    """byoi's kernel gateway bundle, built once per test session."""
    from byoi.runtime.kgw.bundle import ensure_bundle

    return str(ensure_bundle(tmp_path_factory.mktemp("kgw")))


def aws_cli(server: ByoiServer, tmp_path: Path, service: str):
    """Run ``aws <service> ...`` against ``server``; JSON output parsed, or stderr when an error is expected."""
    beside = Path(sys.executable).with_name("aws")
    executable = str(beside) if beside.exists() else shutil.which("aws")
    assert executable, "the AWS CLI is a test dependency (pip install -e '.[test]')"
    env = {**os.environ, "AWS_CONFIG_FILE": str(tmp_path / "aws-config"), "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "aws-creds"), "AWS_PAGER": ""}

    def run(*args: str, expect_error: bool = False):
        cmd = [executable, service, *args, "--endpoint-url", server.url, "--region", "us-east-1", "--output", "json"]
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120)
        if expect_error:
            assert proc.returncode != 0, proc.stdout
            return proc.stderr
        assert proc.returncode == 0, proc.stderr
        return json.loads(proc.stdout) if proc.stdout.strip() else None

    return run


@pytest.fixture
def permissive_umask():
    """umask 000 for the test (and servers it starts): byoi's file modes must not depend on the umask."""
    old = os.umask(0)
    yield
    os.umask(old)


@pytest.fixture(scope="session")
def studio_domains():
    """Domains whose app containers and home volumes the test session removes at its end
    (apps outlive byoi by design, so a killed test server leaves them running)."""
    domains: list[str] = []
    yield domains
    if domains and docker_available():
        remove_studio_resources(domains)


def remove_studio_resources(domain_ids: list[str]) -> None:
    """Remove the app containers and home volumes of these domains from the Docker engine."""
    import docker

    client = docker.from_env()
    for domain_id in domain_ids:
        for container in client.containers.list(all=True, filters={"label": f"byoi.domain-id={domain_id}"}):
            container.remove(force=True)
        for volume in client.volumes.list(filters={"name": f"byoi-home-{domain_id}-"}):
            volume.remove(force=True)
        for network in client.networks.list(filters={"label": f"byoi.domain-id={domain_id}"}):
            network.remove()
