"""Kernels through byoi's authenticated gateway; one user's session never reaches another's apps."""

import time

import httpx
import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus

from byoi.runtime.kernel_client import KernelClient, KernelError
from tests.api.test_apps import image_arn, in_service, make_studio, studio, wait_for_app  # noqa: F401 - fixtures
from tests.conftest import ROLE_ARN  # noqa: F401

pytestmark = pytest.mark.docker


def session_for(sm, domain_id: str, user: str) -> str:
    """Follow a presigned URL as a browser would; the session token it sets."""
    url = sm.create_presigned_domain_url(DomainId=domain_id, UserProfileName=user, ExpiresInSeconds=60)["AuthorizedUrl"]
    response = httpx.get(url, follow_redirects=False)
    assert response.status_code == 302
    return response.cookies["byoi_session"]


def test_kernel_through_the_gateway_and_users_are_isolated(studio):  # noqa: F811
    srv, sm, domain_id, _ = studio
    sm.create_user_profile(DomainId=domain_id, UserProfileName="bob")
    key = {"DomainId": domain_id, "UserProfileName": "alice", "AppType": "KernelGateway", "AppName": "default"}
    sm.create_app(**key, ResourceSpec={"SageMakerImageArn": image_arn("sample"), "InstanceType": "ml.t3.medium"})
    before = wait_for_app(sm, **key)
    assert before["Status"] == "InService"
    base = f"{srv.url}/apps/{domain_id}/alice/KernelGateway/default"

    alice = session_for(sm, domain_id, "alice")
    time.sleep(0.01)
    # A browser's request: its cookie, and (on websockets) byoi's own Origin.
    client = KernelClient(base, headers={"Cookie": f"byoi_session={alice}", "Origin": srv.url})
    kernel = client.start_kernel("python3")
    assert client.execute(kernel, "import os; print(os.getuid(), 6 * 7)").stdout == "1000 42\n"
    bearer = KernelClient(base, headers={"Authorization": f"Bearer {alice}"})
    assert "python3" in bearer.kernelspecs()["kernelspecs"]
    after = sm.describe_app(**key)
    assert after["LastUserActivityTimestamp"] > before["LastUserActivityTimestamp"]

    bob = session_for(sm, domain_id, "bob")
    for headers in ({"Cookie": f"byoi_session={bob}", "Origin": srv.url}, {"Origin": srv.url}, {"Cookie": "byoi_session=forged.token", "Origin": srv.url},
                    {"Authorization": f"Bearer {bob}"}):
        response = httpx.get(f"{base}/api/kernels", headers=headers)
        assert response.status_code in (401, 403), headers
        with pytest.raises((InvalidStatus, ConnectionClosed)):
            KernelClient(base, headers=headers).execute(kernel, "print('should not run')", timeout=5)
    with pytest.raises(KernelError):
        KernelClient(base, headers={"Cookie": f"byoi_session={bob}", "Origin": srv.url}).start_kernel("python3")
    sm.delete_app(**key)
    wait_for_app(sm, **key)
    # What the app printed is in its log stream, for `aws logs get-log-events`.
    logs = srv.client("logs")
    events = logs.get_log_events(logGroupName="/aws/sagemaker/studio", logStreamName=f"{domain_id}/alice/KernelGateway/default", startFromHead=True)["events"]
    assert any("Jupyter Kernel Gateway" in e["message"] for e in events) and all(e["timestamp"] > 1.7e12 for e in events)


def test_presigned_urls_expire_open_one_session_and_need_a_real_user(studio):  # noqa: F811
    srv, sm, domain_id, _ = studio
    url, unused = (sm.create_presigned_domain_url(DomainId=domain_id, UserProfileName="alice", ExpiresInSeconds=5)["AuthorizedUrl"] for _ in range(2))
    assert url.startswith(f"http://{domain_id}.studio.localhost:{srv.port}/auth?token=")  # the domain's Studio origin
    assert httpx.get(url.replace("token=", "token=x"), follow_redirects=False).status_code == 403
    landing = httpx.get(url, follow_redirects=False)
    assert landing.headers["location"] == "/"  # the Studio home page
    assert httpx.get(url, follow_redirects=False).status_code == 403  # used once already
    with pytest.raises(sm.exceptions.ResourceNotFound):
        sm.create_presigned_domain_url(DomainId=domain_id, UserProfileName="nobody")
    time.sleep(5.2)
    assert httpx.get(unused, follow_redirects=False).status_code == 403  # expired


def test_a_presigned_url_lasts_300_seconds_and_its_session_12_hours_by_default(studio):  # noqa: F811
    from urllib.parse import parse_qs, urlparse

    from byoi.auth.tokens import TokenSigner
    from tests.api.test_apps import TEST_SECRET

    _, sm, domain_id, _ = studio
    before = time.time() * 1000
    url = sm.create_presigned_domain_url(DomainId=domain_id, UserProfileName="alice")["AuthorizedUrl"]
    after = time.time() * 1000
    payload = TokenSigner(TEST_SECRET.encode()).verify(parse_qs(urlparse(url).query)["token"][0], "presign", 0)
    assert before + 300_000 - 1000 <= payload["exp"] <= after + 300_000 + 1000
    assert payload["session"] == 43200


def test_idle_kernels_and_idle_apps_are_shut_down(fresh_server, test_images, studio_domains):
    srv, sm, domain_id, _ = make_studio(fresh_server, test_images, studio_domains, BYOI_APP_IDLE_TIMEOUT_SECONDS="8", BYOI_KERNEL_IDLE_TIMEOUT_SECONDS="2")
    key = {"DomainId": domain_id, "UserProfileName": "alice", "AppType": "KernelGateway", "AppName": "default"}
    sm.create_app(**key, ResourceSpec={"SageMakerImageArn": image_arn("sample"), "InstanceType": "ml.t3.medium"})
    in_service(sm, **key)
    base = f"{srv.url}/apps/{domain_id}/alice/KernelGateway/default"
    client = KernelClient(base, headers={"Authorization": f"Bearer {session_for(sm, domain_id, 'alice')}"})
    kernel = client.start_kernel("python3")
    assert client.execute(kernel, "print('busy')").stdout == "busy\n"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:  # each look is activity: the app stays while we look
        kernels = httpx.get(f"{base}/api/kernels", headers=client.headers).json()
        if not kernels:
            break
        time.sleep(1)
    assert kernels == []  # the idle kernel was culled by the gateway
    assert sm.describe_app(**key)["Status"] == "InService"
    deadline = time.monotonic() + 40
    while sm.describe_app(**key)["Status"] != "Deleted" and time.monotonic() < deadline:
        time.sleep(1)
    assert sm.describe_app(**key)["Status"] == "Deleted"  # idle shutdown; the home volume stays
