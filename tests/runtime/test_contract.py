"""Studio's container contract (studio-byoi-specs), rule by rule."""

import json
from dataclasses import replace

import pytest

from byoi.runtime.contract import (
    FILES_DIR,
    GATEWAY_MOUNT,
    GATEWAY_TOKENS_FILE,
    LIFECYCLE_SCRIPT_FILE,
    ROOT_CAPABILITIES,
    SERVER_CONFIG_FILE,
    SERVER_STARTUP_FILE,
    AppIdentity,
    ContractError,
    HostSide,
    LifecycleRun,
    container_name,
    container_spec,
    home_volume_name,
    network_name,
    with_lifecycle,
)
from byoi.runtime.instance_types import InstanceTypes

DIGEST = "a" * 64
HOST = HostSide(gateway_bundle="/var/lib/byoi/kgw", home_volume="byoi-home-d-1-200001", network="byoi-i1-net-d-1-200001",
                instance_id="i1", gateway_tokens=(DIGEST,))
KG = AppIdentity("KernelGateway", "default", "arn:aws:sagemaker:us-east-1:123456789012:app/d-1/alice/kernelgateway/default", "d-1",
                 user_profile_name="alice", app_id=7)


def spec(app=KG, config=None, image="sha256:abc"):
    return container_spec(app, image, config or {"KernelSpecs": [{"Name": "python3"}]}, HOST)


def test_kernel_gateway_overrides_entrypoint_and_cmd_with_the_injected_gateway():
    s = spec()
    assert s.entrypoint == [f"{GATEWAY_MOUNT}/lib/ld-linux-x86-64.so.2", "--library-path", f"{GATEWAY_MOUNT}/lib:{GATEWAY_MOUNT}/python/lib",
                            f"{GATEWAY_MOUNT}/python/bin/python3", "-I", "-m", "byoi_kgw"] and s.command == []
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
    assert s.metadata == {
        "AppType": "KernelGateway",
        "DomainId": "d-1",
        "UserProfileName": "alice",
        "ResourceArn": KG.app_arn,
        "ResourceName": "default",
        "AppImageVersion": "",
    }


def test_limits_are_the_instance_types():
    types = InstanceTypes.load(None)
    small = spec(replace(KG, instance_type="ml.t3.medium"), image="i")
    assert (small.cpus, small.memory_bytes, small.gpus) == (None, None, 0)  # HostSide without limits: none
    s = container_spec(KG, "i", {}, replace(HOST, limits=types.get("ml.g5.xlarge")))
    assert (s.cpus, s.memory_bytes, s.gpus) == (4, 16 * 2**30, 1)  # one GPU requested, never "all"
    s = container_spec(KG, "i", {}, replace(HOST, limits=types.get("ml.m5.large")))
    assert (s.cpus, s.memory_bytes, s.gpus, s.pids_limit) == (2, 8 * 2**30, 0, 4096)


def test_apps_drop_every_capability_and_root_apps_keep_a_root_set_without_raw_sockets():
    assert spec().cap_add == ()
    root = spec(config={"FileSystemConfig": {"DefaultUid": 0, "DefaultGid": 0}})
    assert root.cap_add == ROOT_CAPABILITIES
    assert not {"NET_RAW", "MKNOD", "SYS_ADMIN", "NET_ADMIN", "SYS_PTRACE"} & set(root.cap_add)


def test_each_app_joins_only_its_owners_network_under_an_alias():
    s = spec()
    assert s.network == HOST.network and s.aliases == ("kernelgateway-default",)
    assert network_name("i1", "d-ABC", 200001) == "byoi-i1-net-d-abc-200001"


def test_the_kernel_gateway_accepts_only_the_hosts_token_digests():
    assert spec().files[GATEWAY_TOKENS_FILE] == DIGEST + "\n"
    with pytest.raises(ContractError, match="token"):
        container_spec(KG, "i", {}, replace(HOST, gateway_tokens=()))


def test_jupyterlab_applies_container_config_and_platform_variables():
    app = AppIdentity("JupyterLab", "default", "arn:jl", "d-1", space_name="team-space")
    config = {"ContainerConfig": {"ContainerEntrypoint": ["/bin/start"], "ContainerArguments": ["--flag"], "ContainerEnvironmentVariables": {"MINE": "1"}}}
    s = spec(app, config)
    assert (s.entrypoint, s.command) == (["/bin/start"], ["--flag"])
    assert s.environment["MINE"] == "1" and s.environment["SAGEMAKER_APP_TYPE"] == "JupyterLab"
    assert s.environment["SAGEMAKER_SPACE_NAME"] == "team-space"
    assert not [m for m in s.mounts if m.target == GATEWAY_MOUNT]


@pytest.mark.parametrize("container, entrypoint, command", [
    ({}, None, None),  # the image's own ENTRYPOINT and CMD
    ({"ContainerArguments": ["--port", "8888"]}, None, ["--port", "8888"]),  # arguments replace only CMD
    ({"ContainerEntrypoint": ["/bin/serve"]}, ["/bin/serve"], []),  # a new entrypoint clears CMD, as in Docker
])
def test_container_config_changes_the_images_entrypoint_and_cmd_as_studio_does(container, entrypoint, command):
    for app_type, base in (("JupyterLab", "/jupyterlab/default"), ("CodeEditor", "/codeeditor/default")):
        s = spec(AppIdentity(app_type, "default", "arn:x", "d-1", user_profile_name="alice"), {"ContainerConfig": container})
        assert (s.entrypoint, s.command) == (entrypoint, command)
        assert s.environment["SAGEMAKER_BASE_PATH"] == base


def test_labels_let_the_reconciler_find_the_app_again():
    assert spec().labels == {
        "byoi.managed": "true",
        "byoi.instance": "i1",
        "byoi.app-arn": KG.app_arn,
        "byoi.domain-id": "d-1",
        "byoi.app-type": "KernelGateway",
        "byoi.app-name": "default",
        "byoi.app-id": "7",
        "byoi.user-profile": "alice",
        "byoi.network": HOST.network,
        "byoi.home-volume": HOST.home_volume,
        "byoi.home-owner": "1000:100",  # whom a 0/0 app's files in the home are handed back to
    }


def test_names_come_from_ids_never_from_names_users_chose():
    # space "carol" and user "carol", or "erin" + "kernelgateway-x" and "erin-kernelgateway" + "x",
    # cannot collide: containers are named by the app's id, homes and networks by the owner's uid.
    assert container_name("i1", 42) == "byoi-i1-app-42" == spec(replace(KG, app_id=42)).name
    assert home_volume_name("d-ABC", 200001) == "byoi-home-d-abc-200001"
    assert home_volume_name("d-ABC", 200001) != home_volume_name("d-ABC", 200002)


def test_kernel_culling_is_passed_to_the_gateway():
    s = container_spec(KG, "sha256:abc", {}, replace(HOST, kernel_idle_timeout=600))
    assert s.command == ["--MappingKernelManager.cull_idle_timeout=600", "--MappingKernelManager.cull_interval=300"]
    assert spec().command == []


def test_jupyter_server_reaches_the_users_kernel_gateway_on_their_network_with_a_token_kept_in_a_file():
    app = AppIdentity("JupyterServer", "default", "arn:js", "d-1", user_profile_name="alice", app_id=8)
    s = container_spec(app, "jupyterlab:1", {}, replace(HOST, owner_token="t0k"))
    assert s.entrypoint == ["jupyter-lab"] and s.port == 8888 and s.network == HOST.network
    assert "--ServerApp.base_url=/apps/d-1/alice/JupyterServer/default/" in s.command
    assert "--ServerApp.ip=0.0.0.0" in s.command and f"--config=/opt/ml/metadata/{SERVER_STARTUP_FILE}" in s.command
    assert f"/opt/ml/metadata/{SERVER_CONFIG_FILE}" in s.files[SERVER_STARTUP_FILE]  # which applies the settings
    gateway = json.loads(s.files[SERVER_CONFIG_FILE])["GatewayClient"]
    assert gateway == {"url": "http://kernelgateway-default:8888", "auth_scheme": "token", "auth_token": "t0k", "request_timeout": 120.0}
    assert "t0k" not in " ".join(s.command) and "t0k" not in json.dumps(s.environment)
    assert s.user == "1000:100"
    with pytest.raises(ContractError, match="user profile"):
        container_spec(AppIdentity("JupyterServer", "default", "arn", "d-1", space_name="sp"), "img", {}, HOST)


def test_the_jupyter_server_startup_file_applies_the_settings_and_compiles():
    from types import SimpleNamespace

    app = AppIdentity("JupyterServer", "default", "arn:js", "d-1", user_profile_name="alice", app_id=8)
    s = container_spec(app, "jupyterlab:1", {}, replace(HOST, owner_token="t0k"))
    source = s.files[SERVER_STARTUP_FILE].replace("/opt/ml/metadata/", "")
    compile(source, SERVER_STARTUP_FILE, "exec")
    settings_only = source.split("\n\ndef ")[0]  # the part that applies the settings
    c = SimpleNamespace(GatewayClient=SimpleNamespace())
    import os
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        old = os.getcwd()
        os.chdir(tmp)
        try:
            with open(SERVER_CONFIG_FILE, "w") as f:
                f.write(s.files[SERVER_CONFIG_FILE])
            exec(settings_only, {"c": c})
        finally:
            os.chdir(old)
    assert c.GatewayClient.auth_token == "t0k" and c.GatewayClient.url == "http://kernelgateway-default:8888"


# Lifecycle configurations: the script runs before the app's own command.

RUN = LifecycleRun(script="#!/bin/bash\necho hi\n", nonce="abc123")
JL = AppIdentity("JupyterLab", "default", "arn:aws:sagemaker:us-east-1:123456789012:app/d-1/s1/jupyterlab/default", "d-1",
                 space_name="s1", app_id=8)
RUNNER_TAIL = ["-m", "byoi_lifecycle", f"{FILES_DIR}/{LIFECYCLE_SCRIPT_FILE}", "300", "abc123", "--"]


def test_a_lifecycle_script_is_put_in_the_metadata_files_with_the_bundle_mounted_read_only():
    s = container_spec(JL, "sha256:abc", {}, HOST, lifecycle=RUN)
    assert s.files[LIFECYCLE_SCRIPT_FILE] == RUN.script
    gateway = [m for m in s.mounts if m.target == GATEWAY_MOUNT]
    assert len(gateway) == 1 and gateway[0].read_only
    assert s.lifecycle == RUN
    assert container_spec(JL, "sha256:abc", {}, HOST).lifecycle is None  # none attached: nothing added
    assert LIFECYCLE_SCRIPT_FILE not in container_spec(JL, "sha256:abc", {}, HOST).files


def test_with_lifecycle_runs_the_images_own_entrypoint_and_cmd_after_the_script():
    s = with_lifecycle(container_spec(JL, "sha256:abc", {}, HOST, lifecycle=RUN), ["/entry.sh"], ["jupyter-lab", "--no-browser"])
    assert s.entrypoint[-len(RUNNER_TAIL) - 3:] == [*RUNNER_TAIL, "/entry.sh", "jupyter-lab", "--no-browser"]
    assert s.entrypoint[0] == f"{GATEWAY_MOUNT}/lib/ld-linux-x86-64.so.2" and s.command == []


def test_with_lifecycle_keeps_the_container_configs_entrypoint_and_arguments():
    config = {"ContainerConfig": {"ContainerEntrypoint": ["code-server"], "ContainerArguments": ["--port", "8888"]}}
    s = with_lifecycle(container_spec(JL, "sha256:abc", config, HOST, lifecycle=RUN), ["/ignored"], ["ignored"])
    assert s.entrypoint[-len(RUNNER_TAIL) - 3:] == [*RUNNER_TAIL, "code-server", "--port", "8888"]


def test_with_lifecycle_runs_the_kernel_gateway_after_the_script_in_kernel_gateway_apps():
    plain = spec()
    s = with_lifecycle(container_spec(KG, "sha256:abc", {"KernelSpecs": [{"Name": "python3"}]}, HOST, lifecycle=RUN), None, None)
    assert s.entrypoint[-len(plain.entrypoint) - len(RUNNER_TAIL):] == [*RUNNER_TAIL, *plain.entrypoint]
    assert len([m for m in s.mounts if m.target == GATEWAY_MOUNT]) == 1  # the gateway's mount is not doubled


def test_with_lifecycle_needs_a_command_to_run_after_the_script():
    with pytest.raises(ContractError, match="neither ENTRYPOINT nor CMD"):
        with_lifecycle(container_spec(JL, "sha256:abc", {}, HOST, lifecycle=RUN), None, None)


def test_with_lifecycle_leaves_a_spec_without_a_script_alone():
    s = container_spec(JL, "sha256:abc", {}, HOST)
    assert with_lifecycle(s, ["/entry.sh"], None) is s


# --- CustomPosixUserConfig and the home's size ---------------------------------------------

POSIX_HOST = replace(HOST, home_owner=(10001, 1001), home_size_gib=20)
LAB = AppIdentity("JupyterLab", "default", "arn:x", "d-1", space_name="s1", app_id=8)


def test_a_custom_posix_user_runs_the_apps_that_would_run_as_sagemaker_user_and_owns_the_home():
    for app in (KG, LAB):
        s = container_spec(app, "sha256:abc", {}, POSIX_HOST)
        assert (s.uid, s.gid) == (10001, 1001)
        assert s.home_owner == (10001, 1001)
        assert s.labels["byoi.home-owner"] == "10001:1001"
        # the image has no account for the uid: HOME is the home itself, not Docker's fallback "/"
        assert s.environment["HOME"] == "/home/sagemaker-user"
        assert not s.cap_add


def test_a_root_app_stays_root_under_a_custom_posix_user_and_hands_its_files_to_that_user():
    root = {"FileSystemConfig": {"DefaultUid": 0, "DefaultGid": 0}}
    s = container_spec(KG, "sha256:abc", root, POSIX_HOST)
    assert (s.uid, s.gid) == (0, 0)
    assert s.home_owner == (10001, 1001)  # the backend hands the root app's files back to it
    assert "HOME" not in s.environment


def test_without_a_custom_posix_user_the_home_is_sagemaker_users_and_has_no_size_limit():
    s = spec()
    assert (s.uid, s.gid, s.home_owner, s.home_size_gib) == (1000, 100, (1000, 100), None)
    assert "HOME" not in s.environment


def test_the_spaces_ebs_size_is_the_homes_size_limit():
    assert container_spec(LAB, "sha256:abc", {}, POSIX_HOST).home_size_gib == 20
