"""GET /metrics: Prometheus' text format, parsed with prometheus_client's own parser.

The server is a replica whose apps run on the test's shared engine (tests/api/replicas.py,
no Docker): apps really go Pending -> InService, and the gateway really proxies to them.
"""

from __future__ import annotations

import httpx
import pytest
from botocore.exceptions import ClientError
from prometheus_client.parser import text_string_to_metric_families
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect as ws_connect

from tests.api.replicas import launcher, ready_server
from tests.conftest import ROLE_ARN, ByoiServer
from tests.waiting import wait_for

WAIT_SECONDS = 60


@pytest.fixture
def srv(tmp_path):
    with ready_server() as port:
        server = ByoiServer(
            tmp_path / "srv",
            command=launcher(),
            BYOI_JUPYTER_SERVER_IMAGE="byoi-test/jupyterlab:latest",
            BYOI_TEST_ENGINE_DIR=str(tmp_path / "engine"),
            BYOI_TEST_APP_ENDPOINT=f"127.0.0.1:{port}",
        ).start()
        yield server
        server.kill()


def scrape(srv: ByoiServer) -> tuple[dict[tuple[str, tuple], float], str]:
    """Every sample as {(name, sorted labels): value}, and the text itself."""
    response = httpx.get(f"{srv.url}/metrics")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    samples = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples, response.text


def value(samples, name: str, **labels) -> float:
    return samples[(name, tuple(sorted(labels.items())))]


def test_apps_by_type_and_state_and_start_latency_are_counted(srv):
    sm = srv.client()
    samples, _ = scrape(srv)
    assert value(samples, "byoi_apps", app_type="JupyterServer", status="InService") == 0  # every combination, 0 at first
    assert ("byoi_app_start_seconds_count", (("app_type", "JupyterServer"),)) not in samples  # none started yet

    domain_id = sm.create_domain(
        DomainName="m", AuthMode="IAM", DefaultUserSettings={"ExecutionRole": ROLE_ARN}, SubnetIds=["subnet-1"], VpcId="vpc-1"
    )["DomainId"]
    for user in ("alice", "bob"):
        sm.create_user_profile(DomainId=domain_id, UserProfileName=user)
        sm.create_app(DomainId=domain_id, UserProfileName=user, AppType="JupyterServer", AppName="default")
    for user in ("alice", "bob"):
        wait_for(
            lambda user=user: (
                sm.describe_app(DomainId=domain_id, UserProfileName=user, AppType="JupyterServer", AppName="default")["Status"]
                == "InService"
            ),
            f"{user}'s app",
        )
    sm.delete_app(DomainId=domain_id, UserProfileName="bob", AppType="JupyterServer", AppName="default")
    wait_for(
        lambda: (
            sm.describe_app(DomainId=domain_id, UserProfileName="bob", AppType="JupyterServer", AppName="default")["Status"]
            == "Deleted"
        ),
        "bob's app deleted",
    )

    samples, text = scrape(srv)
    assert value(samples, "byoi_apps", app_type="JupyterServer", status="InService") == 1
    assert value(samples, "byoi_apps", app_type="JupyterServer", status="Deleted") == 1
    assert value(samples, "byoi_apps", app_type="KernelGateway", status="Pending") == 0
    assert value(samples, "byoi_app_start_seconds_count", app_type="JupyterServer") == 2
    assert 0 < value(samples, "byoi_app_start_seconds_sum", app_type="JupyterServer") < WAIT_SECONDS * 2
    assert "alice" not in text and domain_id not in text  # counts, never names


def test_api_latency_and_errors_are_counted_by_operation_with_bounded_labels(srv):
    sm = srv.client()
    sm.create_image(ImageName="secret-project-name", RoleArn=ROLE_ARN)
    sm.list_images()
    with pytest.raises(ClientError):
        sm.describe_image(ImageName="no-such-image")
    # A caller naming operations that do not exist mints no series of their own.
    for junk in ("NoSuchOperation", 'Evil"} 1 x{a="', "x" * 200):
        httpx.post(
            srv.url, headers={"X-Amz-Target": f"SageMaker.{junk}", "Content-Type": "application/x-amz-json-1.1"}, content=b"{}"
        )
    httpx.post(srv.url, headers={"X-Amz-Target": "NotAService.Op", "Content-Type": "application/x-amz-json-1.1"}, content=b"{}")

    samples, text = scrape(srv)
    assert value(samples, "byoi_api_request_seconds_count", service="SageMaker", operation="CreateImage") == 1
    assert value(samples, "byoi_api_request_seconds_count", service="SageMaker", operation="ListImages") == 1
    assert value(samples, "byoi_api_errors_total", service="SageMaker", operation="DescribeImage", code="ResourceNotFound") == 1
    assert (
        "byoi_api_errors_total",
        (("code", "ResourceNotFound"), ("operation", "ListImages"), ("service", "SageMaker")),
    ) not in samples
    assert (
        value(samples, "byoi_api_errors_total", service="SageMaker", operation="unknown", code="UnknownOperationException") == 3
    )
    assert value(samples, "byoi_api_errors_total", service="unknown", operation="unknown", code="UnknownOperationException") == 1
    assert "NoSuchOperation" not in text and "Evil" not in text and "secret-project-name" not in text
    assert value(samples, "process_resident_memory_bytes") > 0


def test_gateway_connections_are_counted_while_open_and_in_total(srv):
    sm = srv.client()
    domain_id = sm.create_domain(
        DomainName="g", AuthMode="IAM", DefaultUserSettings={"ExecutionRole": ROLE_ARN}, SubnetIds=["subnet-1"], VpcId="vpc-1"
    )["DomainId"]
    sm.create_user_profile(DomainId=domain_id, UserProfileName="alice")
    key = {"DomainId": domain_id, "UserProfileName": "alice", "AppType": "JupyterServer", "AppName": "default"}
    sm.create_app(**key)
    wait_for(lambda: sm.describe_app(**key)["Status"] == "InService", "the app")
    url = sm.create_presigned_domain_url(DomainId=domain_id, UserProfileName="alice")["AuthorizedUrl"]
    landed = httpx.get(url, follow_redirects=False)
    assert landed.status_code == 302
    session = landed.cookies["byoi_session"]
    base = f"{srv.url}/apps/{domain_id}/alice/JupyterServer/default"

    for _ in range(3):
        assert httpx.get(f"{base}/api/status", headers={"Authorization": f"Bearer {session}"}).status_code == 200
    # The stand-in app speaks no websocket: the relay is opened, fails upstream and is closed.
    with pytest.raises((InvalidStatus, ConnectionClosed)):
        with ws_connect(
            f"ws://127.0.0.1:{srv.port}/apps/{domain_id}/alice/JupyterServer/default/api/kernels/k/channels",
            additional_headers={"Cookie": f"byoi_session={session}", "Origin": srv.url},
        ) as ws:
            ws.recv(timeout=10)

    samples, _ = scrape(srv)
    assert value(samples, "byoi_gateway_total", kind="http") == 3
    assert value(samples, "byoi_gateway_total", kind="websocket") == 1
    assert value(samples, "byoi_gateway_open", kind="http") == 0  # each request's slot given back
    assert value(samples, "byoi_gateway_open", kind="websocket") == 0
