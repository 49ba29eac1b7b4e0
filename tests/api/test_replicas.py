"""Three replicas of byoi on one PostgreSQL database, raced by 16 clients, one replica killed -9.

Each replica is a real ``byoi serve`` process (``tests/api/replicas.py``) whose apps run on an
engine the three share (files in one directory; a start is an O_EXCL file, so a second start of
one app is recorded, not hidden). Clients call the replicas round-robin through boto3: they race
to create the same images, and each cycles its own user profile's app through CreateApp and
DeleteApp, waiting on Describe, while one replica is killed with SIGKILL mid-run. Afterwards
nothing is lost or duplicated: every image exists once, every client's last app is InService
with exactly one running container, no container was started twice, every deleted app's
container is gone and no other container runs.

Needs PostgreSQL (BYOI_TEST_POSTGRES_URL): SQLite serves one process.
"""

from __future__ import annotations

import threading
from urllib.parse import urljoin, urlsplit

import httpx
import pytest
from botocore.exceptions import ClientError, EndpointConnectionError, ReadTimeoutError

from byoi.runtime.contract import container_name
from byoi.store.database import Database
from byoi.store.models import App, SettlerClaim
from tests import waiting
from tests.api.replicas import launcher, ready_server
from tests.conftest import POSTGRES_URL, ROLE_ARN, ByoiServer, fresh_database_url

pytestmark = pytest.mark.postgres

CLIENTS = 16
REPLICAS = 3
ROUNDS = 3  # apps each client creates; all but the last are deleted again
IMAGES = [f"raced-{i}" for i in range(4)]
LEASE_SECONDS = 4
WAIT_SECONDS = 180  # generous: a loaded 2-core machine runs three servers and 16 clients


def wait_for(condition, what: str):
    return waiting.wait_for(condition, what, WAIT_SECONDS, every=0.05)


@pytest.fixture
def app_server():
    with ready_server() as port:
        yield port


@pytest.fixture
def replicas(tmp_path, app_server):
    if not POSTGRES_URL:
        pytest.skip("several replicas need PostgreSQL (set BYOI_TEST_POSTGRES_URL)")
    engine = tmp_path / "engine"
    database = fresh_database_url(tmp_path)
    servers = [
        ByoiServer(
            tmp_path / f"replica-{i}",
            command=launcher(),
            BYOI_DATABASE_URL=database,
            BYOI_REPLICA_ID=f"replica-{i}",
            BYOI_SETTLER_LEASE_SECONDS=str(LEASE_SECONDS),
            BYOI_JUPYTER_SERVER_IMAGE="byoi-test/jupyterlab:latest",
            BYOI_TEST_ENGINE_DIR=str(engine),
            BYOI_TEST_APP_ENDPOINT=f"127.0.0.1:{app_server}",
            BYOI_TEST_START_SECONDS="0.3",
        )
        for i in range(REPLICAS)
    ]
    for server in servers:  # behind one load balancer: one public URL (and so one set of Studio origins)
        server.env["BYOI_PUBLIC_URL"] = servers[0].url
    for server in servers:
        server.start()
    yield servers, engine
    for server in servers:
        server.stop()


class RoundRobin:
    """Calls one SageMaker operation on the next live replica; a replica that does not answer
    (killed) is skipped and the call made on the next one."""

    def __init__(self, servers: list[ByoiServer], start: int):
        self._clients = [s.client(connect_timeout=2, read_timeout=30) for s in servers]
        self._next = start

    def call(self, operation: str, **params):
        for _ in range(len(self._clients) * 3):
            client = self._clients[self._next % len(self._clients)]
            self._next += 1
            try:
                return getattr(client, operation)(**params)
            except (EndpointConnectionError, ReadTimeoutError, ConnectionError):
                continue
        raise AssertionError(f"no replica answered {operation}")


def error_code(exc: ClientError) -> str:
    return exc.response["Error"]["Code"]


def test_three_replicas_raced_by_16_clients_with_one_killed_lose_nothing_and_run_each_app_exactly_once(replicas):
    servers, engine = replicas
    setup = RoundRobin(servers, 0)
    domain_id = setup.call(
        "create_domain",
        DomainName="raced",
        AuthMode="IAM",
        DefaultUserSettings={"ExecutionRole": ROLE_ARN},
        SubnetIds=["subnet-1"],
        VpcId="vpc-1",
    )["DomainId"]
    wait_for(lambda: setup.call("describe_domain", DomainId=domain_id)["Status"] == "InService", "the domain")
    for i in range(CLIENTS):
        setup.call("create_user_profile", DomainId=domain_id, UserProfileName=f"user-{i}")

    created_images: list[str] = []
    app_starts = threading.Semaphore(0)
    failures: list[str] = []
    lock = threading.Lock()

    def client(i: int) -> None:
        calls = RoundRobin(servers, i)
        try:
            for name in IMAGES:  # every client races to create every image
                try:
                    calls.call("create_image", ImageName=name, RoleArn=ROLE_ARN)
                    with lock:
                        created_images.append(name)
                except ClientError as exc:
                    assert error_code(exc) == "ResourceInUse", exc
            key = {"DomainId": domain_id, "UserProfileName": f"user-{i}", "AppType": "JupyterServer", "AppName": "default"}
            for round_ in range(ROUNDS):
                try:
                    calls.call("create_app", **key)
                except ClientError as exc:  # a create that reached a replica as it was killed, retried
                    assert error_code(exc) == "ResourceInUse", exc
                app_starts.release()
                state = wait_for(
                    lambda: (
                        calls.call("describe_app", **key)["Status"] in ("InService", "Failed")
                        and calls.call("describe_app", **key)
                    ),
                    f"user-{i}'s app {round_}",
                )
                assert state["Status"] == "InService", state
                if round_ < ROUNDS - 1:
                    calls.call("delete_app", **key)
                    wait_for(lambda: calls.call("describe_app", **key)["Status"] == "Deleted", f"user-{i}'s app deleted")
        except BaseException as exc:  # noqa: BLE001 - reported by the test below
            with lock:
                failures.append(f"client {i}: {exc!r}")

    threads = [threading.Thread(target=client, args=(i,)) for i in range(CLIENTS)]
    for t in threads:
        t.start()
    # Mid-run: once the clients have asked for a first round of apps, kill one replica while it
    # holds apps (its leases on them), so the others must take them over.
    for _ in range(CLIENTS):
        assert app_starts.acquire(timeout=WAIT_SECONDS), "the clients never got to their apps"
    victim = servers[REPLICAS - 1]
    wait_for(lambda: apps_held_by(victim), "the replica to be killed to hold an app")
    victim.kill()
    for t in threads:
        t.join(timeout=WAIT_SECONDS * ROUNDS)
        assert not t.is_alive(), "a client hung"
    assert failures == []

    # Nothing lost or duplicated: each raced image exists once.
    live = RoundRobin(servers[: REPLICAS - 1], 0)
    assert sorted(created_images) == sorted(IMAGES)
    names = [i["ImageName"] for i in live.call("list_images", MaxResults=100)["Images"]]
    assert sorted(n for n in names if n.startswith("raced-")) == sorted(IMAGES)

    # Every client's last app runs, exactly once; every deleted app's container is gone.
    apps = live.call("list_apps", DomainIdEquals=domain_id, MaxResults=100)["Apps"]
    serving = [a for a in apps if a["Status"] == "InService"]
    assert sorted(a["UserProfileName"] for a in serving) == sorted(f"user-{i}" for i in range(CLIENTS))
    assert [a for a in apps if a["Status"] not in ("InService", "Deleted")] == []  # the victim's too
    assert len([a for a in apps if a["Status"] == "Deleted"]) == CLIENTS * (ROUNDS - 1)
    assert sorted(p.name for p in (engine / "duplicates").iterdir()) == []  # no container was started twice
    starts = {p.name for p in (engine / "starts").iterdir()}
    assert len(starts) == CLIENTS * ROUNDS  # every app started (once: O_EXCL)
    running = {p.name for p in (engine / "running").iterdir()}
    assert running == {container_name(running_instance(running), app_id) for app_id in in_service_app_ids(servers[0])}
    assert len(running) == CLIENTS


def running_instance(running: set[str]) -> str:
    """The instance id in the running containers' names (byoi-<instance>-app-<id>)."""
    (instance,) = {name.split("-app-")[0].removeprefix("byoi-") for name in running}
    return instance


def apps_held_by(server: ByoiServer) -> set[str]:
    """The apps (by store id) a replica holds a lease on (``byoi.store.transitions``)."""
    db = Database(server.env["BYOI_DATABASE_URL"])
    try:
        with db.read() as session:
            claims = session.query(SettlerClaim).filter_by(kind="apps", holder=server.env["BYOI_REPLICA_ID"])
            return {claim.key for claim in claims}
    finally:
        db.dispose()


def in_service_app_ids(server: ByoiServer) -> list[int]:
    """The store's ids (the numbers containers are named by) of the apps InService."""
    db = Database(server.env["BYOI_DATABASE_URL"])
    try:
        with db.read() as session:
            return [row.id for row in session.query(App).filter_by(status="InService")]
    finally:
        db.dispose()


class BalancedBrowser:
    """A browser behind a load balancer: every request (each hop of a redirect too) goes to the
    next replica, addressed by the public URL's host (and its Studio origins'); host-only cookies."""

    def __init__(self, servers: list[ByoiServer]):
        self._ports = [s.port for s in servers]
        self._next = 0
        self.cookies: dict[str, dict[str, str]] = {}

    def get(self, url: str) -> httpx.Response:
        for _ in range(10):
            parts = urlsplit(url)
            jar = self.cookies.setdefault(parts.hostname, {})
            port = self._ports[self._next % len(self._ports)]
            self._next += 1
            headers = {"Host": parts.netloc, **({"Cookie": "; ".join(f"{k}={v}" for k, v in jar.items())} if jar else {})}
            response = httpx.get(parts._replace(scheme="http", netloc=f"127.0.0.1:{port}").geturl(), headers=headers, timeout=30)
            for header in response.headers.get_list("set-cookie"):
                name, _, value = header.split(";")[0].partition("=")
                jar[name.strip()] = value.strip()
            if response.status_code not in (301, 302, 303, 307, 308):
                return response
            url = urljoin(url, response.headers["location"])
        raise AssertionError("too many redirects")


def test_a_presigned_url_and_session_from_one_replica_are_good_on_every_replica_and_the_url_only_once(replicas):
    servers, _ = replicas
    sm = servers[0].client()
    domain_id = sm.create_domain(
        DomainName="sessions",
        AuthMode="IAM",
        DefaultUserSettings={"ExecutionRole": ROLE_ARN},
        SubnetIds=["subnet-1"],
        VpcId="vpc-1",
    )["DomainId"]
    wait_for(lambda: sm.describe_domain(DomainId=domain_id)["Status"] == "InService", "the domain")
    sm.create_user_profile(DomainId=domain_id, UserProfileName="alice")
    url = sm.create_presigned_domain_url(DomainId=domain_id, UserProfileName="alice")["AuthorizedUrl"]
    browser = BalancedBrowser(servers[1:] + servers[:1])  # opened on replica 1, then 2, then 0, ...
    landed = browser.get(url)
    assert landed.status_code == 200, landed.text
    home = sm.describe_domain(DomainId=domain_id)["Url"]
    for _ in range(REPLICAS):  # the session cookie is good on every replica
        assert browser.get(f"{home}/").status_code == 200
    # The URL was used: no replica opens it again.
    for _ in range(REPLICAS):
        assert BalancedBrowser(servers).get(url).status_code in (401, 403)
