"""Lifecycle configurations and live logs end to end: boto3, a real Docker engine, Studio's contract.

A KernelGateway app's script runs in its container before the gateway, its output is in the
``.../LifecycleConfigOnStart`` stream, the app's own output reaches its stream while it runs,
and a failing script fails the app with a FailureReason naming the stream.
"""

import base64
import time

import httpx
import pytest

from byoi.runtime.kernel_client import KernelClient
from tests.api.test_apps import app_client, app_url, image_arn, make_studio, wait_for_app

pytestmark = pytest.mark.docker

GROUP = "/aws/sagemaker/studio"


@pytest.fixture
def studio(fresh_server, test_images, studio_domains):
    return make_studio(fresh_server, test_images, studio_domains)


def attach(sm, domain_id: str, customs: list, *arns: str) -> None:
    sm.update_domain(DomainId=domain_id, DefaultUserSettings={
        "KernelGatewayAppSettings": {"CustomImages": customs, "LifecycleConfigArns": list(arns)}})


def lifecycle_config(sm, name: str, script: str) -> str:
    return sm.create_studio_lifecycle_config(
        StudioLifecycleConfigName=name, StudioLifecycleConfigAppType="KernelGateway",
        StudioLifecycleConfigContent=base64.b64encode(script.encode()).decode(),
    )["StudioLifecycleConfigArn"]


def messages(logs, stream: str) -> list[str]:
    try:
        return [e["message"] for e in logs.get_log_events(logGroupName=GROUP, logStreamName=stream, startFromHead=True)["events"]]
    except logs.exceptions.ResourceNotFoundException:
        return []


def eventually(read, done, what: str, timeout: float = 30):
    deadline = time.monotonic() + timeout
    while not done(value := read()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}: {value}"
        time.sleep(0.2)
    return value


def test_a_lifecycle_script_runs_before_the_app_and_its_output_and_the_apps_are_live(studio):
    srv, sm, domain_id, customs = studio
    arn = lifecycle_config(sm, "prepare", '#!/bin/bash\necho "hello from lifecycle"\necho prepared > "$HOME/lcc-ran"\n')
    attach(sm, domain_id, customs, arn)
    key = {"DomainId": domain_id, "UserProfileName": "alice", "AppType": "KernelGateway", "AppName": "default"}
    app_arn = sm.create_app(**key, ResourceSpec={"SageMakerImageArn": image_arn("sample"), "InstanceType": "ml.t3.medium",
                                                 "LifecycleConfigArn": arn})["AppArn"]
    app = wait_for_app(sm, **key)
    assert app["Status"] == "InService", app.get("FailureReason")
    assert app["ResourceSpec"]["LifecycleConfigArn"] == arn

    client = app_client(app_arn)
    kernel = client.start_kernel("python3")
    ran = client.execute(kernel, "import os; print(open(os.path.expanduser('~/lcc-ran')).read().strip())")
    assert ran.stdout == "prepared\n"  # the script ran in the app's container, as its user, in its home

    logs = srv.client("logs")
    stream = f"{domain_id}/alice/KernelGateway/default"
    assert messages(logs, f"{stream}/LifecycleConfigOnStart") == ["hello from lifecycle"]
    # The app's own output arrives while it runs: the gateway logs the kernel it just started.
    eventually(lambda: messages(logs, stream), lambda lines: any("Kernel started" in line for line in lines), "the gateway's line")
    assert not any("byoi-lifecycle" in line for line in messages(logs, stream))  # the markers are not output
    found = logs.filter_log_events(logGroupName=GROUP, logStreamNamePrefix=stream, filterPattern='"hello from lifecycle"')["events"]
    assert [e["logStreamName"] for e in found] == [f"{stream}/LifecycleConfigOnStart"]

    sm.delete_app(**key)
    assert wait_for_app(sm, **key)["Status"] == "Deleted"
    assert messages(logs, f"{stream}/LifecycleConfigOnStart") == ["hello from lifecycle"]  # kept after the app


def test_a_failing_lifecycle_script_fails_the_app_with_a_reason_naming_its_stream(studio):
    srv, sm, domain_id, customs = studio
    arn = lifecycle_config(sm, "broken", "#!/bin/bash\necho 'installing'\necho 'no such package' >&2\nexit 3\n")
    attach(sm, domain_id, customs, arn)
    sm.update_user_profile(DomainId=domain_id, UserProfileName="alice", UserSettings={
        "KernelGatewayAppSettings": {"DefaultResourceSpec": {"LifecycleConfigArn": arn}}})
    key = {"DomainId": domain_id, "UserProfileName": "alice", "AppType": "KernelGateway", "AppName": "default"}
    sm.create_app(**key, ResourceSpec={"SageMakerImageArn": image_arn("sample"), "InstanceType": "ml.t3.medium"})
    app = wait_for_app(sm, **key)
    stream = f"{domain_id}/alice/KernelGateway/default/LifecycleConfigOnStart"
    assert app["Status"] == "Failed"
    assert "failed with exit code 3" in app["FailureReason"] and f"log stream {stream}" in app["FailureReason"]
    assert messages(srv.client("logs"), stream) == ["installing", "no such package"]
    with pytest.raises(sm.exceptions.ResourceInUse):  # the user profile's settings still name it
        sm.delete_studio_lifecycle_config(StudioLifecycleConfigName="broken")


def test_a_jupyterlab_spaces_script_runs_before_jupyterlab_as_the_owners_posix_user(studio):
    """A space's JupyterLab app: the script runs before the server, in the space's home, as
    the domain's CustomPosixUserConfig for spaces; its output is in the space's stream."""
    srv, sm, domain_id, _ = studio
    sm.create_app_image_config(AppImageConfigName="jl", JupyterLabAppImageConfig={"FileSystemConfig": {}})
    arn = sm.create_studio_lifecycle_config(
        StudioLifecycleConfigName="lab-prep", StudioLifecycleConfigAppType="JupyterLab",
        StudioLifecycleConfigContent=base64.b64encode(b'#!/bin/bash\necho "lab prepared as $(id -u)"\necho ready > "$HOME/lab-lcc"\n').decode(),
    )["StudioLifecycleConfigArn"]
    sm.update_domain(DomainId=domain_id, DefaultSpaceSettings={
        "ExecutionRole": "arn:aws:iam::123456789012:role/byoi-test", "CustomPosixUserConfig": {"Uid": 10001, "Gid": 1001},
        "JupyterLabAppSettings": {"CustomImages": [{"ImageName": "jupyterlab", "AppImageConfigName": "jl"}],
                                  "LifecycleConfigArns": [arn], "DefaultResourceSpec": {"LifecycleConfigArn": arn}}})
    sm.create_space(DomainId=domain_id, SpaceName="lab", SpaceSettings={"AppType": "JupyterLab"})
    key = {"DomainId": domain_id, "SpaceName": "lab", "AppType": "JupyterLab", "AppName": "default"}
    app_arn = sm.create_app(**key, ResourceSpec={"SageMakerImageArn": image_arn("jupyterlab"), "InstanceType": "ml.t3.medium"})["AppArn"]
    app = wait_for_app(sm, **key)
    assert app["Status"] == "InService", app.get("FailureReason")
    assert app["ResourceSpec"]["LifecycleConfigArn"] == arn  # the default of the space's settings

    base = app_url(app_arn) + "/jupyterlab/default"
    xsrf = httpx.get(base + "/lab", timeout=30).cookies["_xsrf"]
    client = KernelClient(base, headers={"X-XSRFToken": xsrf, "Cookie": f"_xsrf={xsrf}"})
    ran = client.execute(client.start_kernel("python3"), "import os; print(os.getuid(), open(os.path.expanduser('~/lab-lcc')).read().strip())")
    assert ran.stdout == "10001 ready\n"
    stream = f"{domain_id}/lab/JupyterLab/default/LifecycleConfigOnStart"
    assert messages(srv.client("logs"), stream) == ["lab prepared as 10001"]
    sm.delete_app(**key)
    assert wait_for_app(sm, **key)["Status"] == "Deleted"

