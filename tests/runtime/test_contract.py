"""Studio's container contract (studio-byoi-specs), rule by rule."""

import pytest

from byoi.runtime.contract import (
    GATEWAY_MOUNT,
    METADATA_PATH,
    AppIdentity,
    ContractError,
    HostPaths,
    container_spec,
    home_volume_name,
)

HOST = HostPaths(gateway_bundle="/var/lib/byoi/kgw", metadata_file="/var/lib/byoi/apps/a/meta.json", home_volume="byoi-home-d-1-alice")
KG = AppIdentity("KernelGateway", "default", "arn:aws:sagemaker:us-east-1:123456789012:app/d-1/alice/kernelgateway/default", "d-1", user_profile_name="alice")


def spec(app=KG, config=None, image="sha256:abc"):
    return container_spec(app, image, config or {"KernelSpecs": [{"Name": "python3"}]}, HOST)


def test_kernel_gateway_overrides_entrypoint_and_cmd_with_the_injected_gateway():
    s = spec()
    assert s.entrypoint == [f"{GATEWAY_MOUNT}/bin/start-kernel-gateway"] and s.command == []
    assert s.port == 8888
    gateway = [m for m in s.mounts if m.target == GATEWAY_MOUNT]
    assert gateway and gateway[0].read_only and gateway[0].source == HOST.gateway_bundle
    assert s.environment == {}  # "No additional environment variables are added"


def test_home_defaults_and_user():
    s = spec()
    assert (s.home.kind, s.home.source, s.home.target) == ("volume", HOST.home_volume, "/home/sagemaker-user")
    assert (s.uid, s.gid, s.user) == (1000, 100, "1000:100")


def test_root_and_custom_mount_path():
    s = spec(config={"KernelSpecs": [{"Name": "python3"}], "FileSystemConfig": {"MountPath": "/root/work/", "DefaultUid": 0, "DefaultGid": 0}})
    assert (s.home.target, s.user) == ("/root/work", "0:0")


@pytest.mark.parametrize("uid, gid", [(1001, 100), (1000, 0), (0, 100), (65535, 65535)])
def test_only_1000_100_and_0_0_may_run(uid, gid):
    with pytest.raises(ContractError, match=f"{uid}/{gid} cannot run: Studio supports only 1000/100"):
        spec(config={"KernelSpecs": [{"Name": "python3"}], "FileSystemConfig": {"DefaultUid": uid, "DefaultGid": gid}})


@pytest.mark.parametrize("path", ["/opt/ml", "/opt/ml/x", GATEWAY_MOUNT, "/"])
def test_reserved_mount_paths_are_refused(path):
    with pytest.raises(ContractError):
        spec(config={"FileSystemConfig": {"MountPath": path}})


def test_metadata_file():
    s = spec()
    meta = [m for m in s.mounts if m.target == METADATA_PATH][0]
    assert meta.read_only and meta.source == HOST.metadata_file
    assert s.metadata == {
        "AppType": "KernelGateway",
        "DomainId": "d-1",
        "UserProfileName": "alice",
        "ResourceArn": KG.app_arn,
        "ResourceName": "default",
        "AppImageVersion": "",
    }


@pytest.mark.parametrize("instance, gpus", [("ml.g4dn.xlarge", True), ("ml.p3.2xlarge", True), ("ml.t3.medium", False), ("system", False), ("ml.geospatial.interactive", False)])
def test_gpu_instance_types_get_gpus(instance, gpus):
    app = AppIdentity("KernelGateway", "k", "arn:x", "d-1", user_profile_name="alice", instance_type=instance)
    assert spec(app).gpus is gpus


def test_jupyterlab_applies_container_config_and_platform_variables():
    app = AppIdentity("JupyterLab", "default", "arn:jl", "d-1", space_name="team-space")
    config = {"ContainerConfig": {"ContainerEntrypoint": ["/bin/start"], "ContainerArguments": ["--flag"], "ContainerEnvironmentVariables": {"MINE": "1"}}}
    s = spec(app, config)
    assert (s.entrypoint, s.command) == (["/bin/start"], ["--flag"])
    assert s.environment["MINE"] == "1" and s.environment["SAGEMAKER_APP_TYPE"] == "JupyterLab"
    assert s.environment["SAGEMAKER_SPACE_NAME"] == "team-space"
    assert not [m for m in s.mounts if m.target == GATEWAY_MOUNT]


@pytest.mark.parametrize("app_type, base", [("JupyterLab", "/jupyterlab/default"), ("CodeEditor", "/codeeditor/default")])
def test_default_servers_listen_on_8888_under_their_base_path(app_type, base):
    s = spec(AppIdentity(app_type, "default", "arn:x", "d-1", user_profile_name="alice"), {})
    joined = " ".join(s.entrypoint + s.command)
    assert "8888" in joined and base in joined and "0.0.0.0" in joined
    assert s.environment["SAGEMAKER_BASE_PATH"] == base


def test_labels_let_the_reconciler_find_the_app_again():
    assert spec().labels == {
        "byoi.managed": "true",
        "byoi.instance": "default",
        "byoi.app-arn": KG.app_arn,
        "byoi.domain-id": "d-1",
        "byoi.app-type": "KernelGateway",
        "byoi.app-name": "default",
        "byoi.user-profile": "alice",
    }


def test_names_are_docker_safe():
    assert home_volume_name("d-ABC", "Alice Smith") == "byoi-home-d-abc-alice-smith"
    assert home_volume_name("d-ABC", "Alice Smith", space=True) == "byoi-space-home-d-abc-alice-smith"
    assert spec(AppIdentity("KernelGateway", "My App", "arn", "d-1", user_profile_name="Bob")).name == "byoi-d-1-bob-kernelgateway-my-app"


def test_kernel_culling_is_passed_to_the_gateway():
    host = HostPaths("/b", "/m.json", "vol", kernel_idle_timeout=600)
    s = container_spec(KG, "sha256:abc", {}, host)
    assert s.command == ["--MappingKernelManager.cull_idle_timeout=600", "--MappingKernelManager.cull_interval=300"]
    assert spec().command == []


def test_jupyter_server_runs_jupyterlab_on_the_users_kernel_gateway():
    app = AppIdentity("JupyterServer", "default", "arn:js", "d-1", user_profile_name="alice")
    host = HostPaths("/b", "/m.json", "vol", server_port=41000, gateway_url="http://127.0.0.1:8080/apps/d-1/alice/KernelGateway/default", gateway_token="t0k")
    s = container_spec(app, "jupyterlab:1", {}, host)
    assert s.entrypoint == ["jupyter-lab"] and s.host_network and s.port == 41000
    assert "--ServerApp.base_url=/apps/d-1/alice/JupyterServer/default/" in s.command
    assert "--GatewayClient.url=http://127.0.0.1:8080/apps/d-1/alice/KernelGateway/default" in s.command
    assert "--GatewayClient.auth_token=t0k" in s.command and "--ServerApp.ip=127.0.0.1" in s.command
    assert s.labels["byoi.port"] == "41000" and s.user == "1000:100"
    with pytest.raises(ContractError, match="user profile"):
        container_spec(AppIdentity("JupyterServer", "default", "arn", "d-1", space_name="sp"), "img", {}, host)
