"""``BYOI_RUNTIME=kubernetes byoi serve`` with a kubeconfig: apps made through the API become
pods on the (fake) cluster and go when they are deleted; a lifecycle script runs in front of the
image's own ENTRYPOINT and CMD, read from the registry; start-up says what is missing."""

import base64
import time

import httpx
import pytest

from tests.conftest import ROLE_ARN, ByoiServer
from tests.registry import SERVED_CMD, SERVED_ENTRYPOINT, RegistryServer, push_image, push_index
from tests.runtime.kubernetes.fake_api import FakeKubernetes

GATEWAY_IMAGE = "registry.example/byoi-gateway:1"


@pytest.fixture
def registry(tmp_path):
    """The registry the cluster pulls from (a real docker-registry on loopback), with one image."""
    server = RegistryServer(tmp_path / "registry", tmp_path / "registry-storage").start()
    yield server, push_image(server.url, "team/sample", "1")
    server.stop()


@pytest.fixture
def api():
    with FakeKubernetes() as fake:
        yield fake


def eventually(condition, what: str, timeout: float = 60):
    deadline = time.monotonic() + timeout
    while not (result := condition()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)
    return result


def test_an_app_made_through_the_api_runs_as_a_pod_with_the_injected_gateway_and_goes_when_deleted(
    api, registry, fresh_server, tmp_path
):
    server, pushed = registry
    srv = fresh_server(
        BYOI_REGISTRY_URL=server.url,
        BYOI_DOCKER="auto",  # with the kubernetes runtime: no local engine (BaseImage is the cluster's to pull)
        BYOI_RUNTIME="kubernetes",
        BYOI_KUBERNETES_KUBECONFIG=api.kubeconfig(tmp_path / "kubeconfig"),
        BYOI_KUBERNETES_GATEWAY_IMAGE=GATEWAY_IMAGE,
        BYOI_KUBERNETES_IMAGE_PULL_SECRETS="regcred",
    )
    sm = srv.client()
    sm.create_image(ImageName="sample", RoleArn=ROLE_ARN)
    sm.create_image_version(ImageName="sample", BaseImage="team/sample:1")
    sm.get_waiter("image_version_created").wait(ImageName="sample", WaiterConfig={"Delay": 1, "MaxAttempts": 30})
    sm.create_app_image_config(AppImageConfigName="kg", KernelGatewayImageConfig={"KernelSpecs": [{"Name": "python3"}]})
    custom = [{"ImageName": "sample", "AppImageConfigName": "kg"}]
    domain = sm.create_domain(
        DomainName="k8s",
        AuthMode="IAM",
        SubnetIds=["subnet-1"],
        VpcId="vpc-1",
        DefaultUserSettings={"ExecutionRole": ROLE_ARN, "KernelGatewayAppSettings": {"CustomImages": custom}},
    )
    sm.create_user_profile(DomainId=domain["DomainId"], UserProfileName="alice")
    key = {"DomainId": domain["DomainId"], "UserProfileName": "alice", "AppType": "KernelGateway", "AppName": "default"}
    sm.create_app(
        **key,
        ResourceSpec={
            "SageMakerImageArn": "arn:aws:sagemaker:us-east-1:123456789012:image/sample",
            "InstanceType": "ml.t3.medium",
        },
    )

    (name,) = eventually(lambda: api.names("pods"), "the app's pod")
    pod = eventually(lambda: api.get("pods", name) if api.get("secrets", name) else None, "the pod's files")
    assert pod["spec"]["containers"][0]["image"] == f"{server.host}/team/sample@{pushed.digest}"  # resolved in the registry
    assert pod["spec"]["initContainers"][0]["image"] == GATEWAY_IMAGE
    assert pod["spec"]["imagePullSecrets"] == [{"name": "regcred"}]
    assert pod["metadata"]["annotations"]["byoi.app-arn"].endswith("/kernelgateway/default")
    assert api.names("networkpolicies") == {name}
    assert sm.describe_app(**key)["Status"] == "Pending"  # the fake cluster's pod address serves nothing

    sm.delete_app(**key)
    eventually(lambda: sm.describe_app(**key)["Status"] == "Deleted", "the app to be deleted")
    assert api.names("pods") == api.names("secrets") == api.names("networkpolicies") == set()
    assert len(api.names("persistentvolumeclaims")) == 1  # alice's home stays


def on_the_cluster(fresh_server, server: RegistryServer, api, tmp_path):
    return fresh_server(
        BYOI_REGISTRY_URL=server.url,
        BYOI_RUNTIME="kubernetes",
        BYOI_KUBERNETES_KUBECONFIG=api.kubeconfig(tmp_path / "kubeconfig"),
        BYOI_KUBERNETES_GATEWAY_IMAGE=GATEWAY_IMAGE,
    )


def test_a_lifecycle_script_runs_before_the_images_own_entrypoint_and_cmd_read_from_the_registry(
    api, registry, fresh_server, tmp_path
):
    server, _ = registry
    lab = push_image(server.url, "team/lab", "1", entrypoint=SERVED_ENTRYPOINT, cmd=SERVED_CMD)
    multi = push_index(server.url, "team/lab", "multi", lab, lab.size)  # as multi-platform builds push it
    gone = push_image(server.url, "team/gone", "1", entrypoint=SERVED_ENTRYPOINT)
    sm = on_the_cluster(fresh_server, server, api, tmp_path).client()
    for image, base_image in (("lab", "team/lab:multi"), ("gone", "team/gone:1")):
        sm.create_image(ImageName=image, RoleArn=ROLE_ARN)
        sm.create_image_version(ImageName=image, BaseImage=base_image)
        sm.get_waiter("image_version_created").wait(ImageName=image, WaiterConfig={"Delay": 1, "MaxAttempts": 30})
    sm.create_app_image_config(AppImageConfigName="jl", JupyterLabAppImageConfig={"FileSystemConfig": {}})
    script = base64.b64encode(b"#!/bin/bash\npip install --user pandas\n").decode()
    arn = sm.create_studio_lifecycle_config(
        StudioLifecycleConfigName="prepare", StudioLifecycleConfigAppType="JupyterLab", StudioLifecycleConfigContent=script
    )["StudioLifecycleConfigArn"]
    customs = [{"ImageName": image, "AppImageConfigName": "jl"} for image in ("lab", "gone")]
    domain = sm.create_domain(
        DomainName="k8s",
        AuthMode="IAM",
        SubnetIds=["subnet-1"],
        VpcId="vpc-1",
        DefaultUserSettings={
            "ExecutionRole": ROLE_ARN,
            "JupyterLabAppSettings": {"CustomImages": customs, "LifecycleConfigArns": [arn]},
        },
    )
    for user in ("alice", "bob"):
        sm.create_user_profile(DomainId=domain["DomainId"], UserProfileName=user)

    def start(user: str, image: str) -> dict:
        key = {"DomainId": domain["DomainId"], "UserProfileName": user, "AppType": "JupyterLab", "AppName": "default"}
        image_arn = f"arn:aws:sagemaker:us-east-1:123456789012:image/{image}"
        sm.create_app(
            **key, ResourceSpec={"SageMakerImageArn": image_arn, "InstanceType": "ml.t3.medium", "LifecycleConfigArn": arn}
        )
        return key

    start("alice", "lab")
    (name,) = eventually(lambda: api.names("pods"), "the app's pod")
    (container,) = [c for c in api.get("pods", name)["spec"]["containers"] if c["name"] == "app"]
    assert container["image"] == f"{server.host}/team/lab@{multi.digest}"
    command = container["command"]
    assert command[command.index("-m") : command.index("-m") + 2] == ["-m", "byoi_lifecycle"]
    assert command[command.index("--") + 1 :] == [*SERVED_ENTRYPOINT, *SERVED_CMD]  # the script first, then the image's own
    assert "args" not in container

    # An image gone from the registry since its version was made: the app fails, saying why.
    pinned = f"{server.host}/team/gone@{gone.digest}"
    assert httpx.delete(f"{server.url}/v2/team/gone/manifests/{gone.digest}").status_code == 202
    key = start("bob", "gone")
    failed = eventually(lambda: (app := sm.describe_app(**key))["Status"] == "Failed" and app, "bob's app to fail")
    assert failed["FailureReason"] == (
        f"The ENTRYPOINT and CMD of the image {pinned} could not be read from its registry: the repository team/gone "
        f"in the registry {server.host} has no manifest {gone.digest}."
    )
    assert api.names("pods") == {name}  # bob's app made nothing on the cluster


def test_the_kubernetes_runtime_without_a_gateway_image_refuses_to_start(api, tmp_path):
    srv = ByoiServer(tmp_path / "srv", BYOI_RUNTIME="kubernetes", BYOI_KUBERNETES_KUBECONFIG=api.kubeconfig(tmp_path / "kc"))
    with pytest.raises(RuntimeError, match="BYOI_KUBERNETES_GATEWAY_IMAGE"):
        srv.start()


def test_an_unreadable_kubeconfig_refuses_to_start_naming_the_setting(tmp_path):
    srv = ByoiServer(
        tmp_path / "srv",
        BYOI_RUNTIME="kubernetes",
        BYOI_KUBERNETES_GATEWAY_IMAGE=GATEWAY_IMAGE,
        BYOI_KUBERNETES_KUBECONFIG=str(tmp_path / "missing"),
    )
    with pytest.raises(RuntimeError, match="BYOI_KUBERNETES_KUBECONFIG"):
        srv.start()
