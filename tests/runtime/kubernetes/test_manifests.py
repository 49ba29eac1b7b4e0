"""The Kubernetes objects byoi makes, from the same ContainerSpec the Docker backend runs, checked
against the official schemas (kubernetes-validate, strict: no unknown field) of the oldest and
newest Kubernetes versions byoi supports, and for what they say."""

import base64
import json

import kubernetes_validate
import pytest

from byoi.runtime.contract import GATEWAY_MOUNT, AppIdentity, HostSide, LifecycleRun, container_spec, with_lifecycle
from byoi.runtime.instance_types import InstanceTypes
from byoi.runtime.kgw.bundle import loader_command
from byoi.runtime.kubernetes import manifests
from byoi.runtime.kubernetes.manifests import ClusterSide
from byoi.vocabulary import DEFAULT_SPACE_EBS_GIB

#: The oldest and newest Kubernetes versions whose schemas kubernetes-validate ships (docs/runtime.md).
VERSIONS = ("1.25.0", "1.37.0")
CLUSTER = ClusterSide(
    "byoi-apps",
    "registry.example/byoi-gateway:1",
    image_pull_secrets=("pull-a", "pull-b"),
    node_selector={"kubernetes.io/arch": "amd64"},
    tolerations=({"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"},),
    storage_class="fast",
)
TYPES = InstanceTypes.load(None)


def app(app_type="KernelGateway", name="default", **changes) -> AppIdentity:
    return AppIdentity(
        app_type,
        name,
        f"arn:aws:sagemaker:us-east-1:123456789012:app/d-abc/alice/{app_type.lower()}/{name}",
        "d-abc",
        user_profile_name="alice",
        app_id=42,
        **changes,
    )


def host(instance_type="ml.t3.medium", **changes) -> HostSide:
    return HostSide(
        "/bundle",
        "byoi-home-d-abc-200001",
        "byoi-0123456789ab-net-d-abc-200001",
        instance_id="0123456789ab",
        gateway_tokens=("ab" * 32,),
        owner_token="t0ken",
        limits=TYPES.get(instance_type),
        **changes,
    )


def gateway_spec(**changes):
    return container_spec(app(), "img@sha256:" + "a" * 64, {"KernelSpecs": [{"Name": "python3"}]}, host(**changes))


def every_object(spec):
    return [
        manifests.pod(spec, CLUSTER),
        manifests.files_secret(spec, CLUSTER),
        manifests.network_policy(spec, CLUSTER),
        manifests.owner_service(spec, CLUSTER),
        manifests.home_claim(spec, CLUSTER),
    ]


SPECS = {
    "kernel gateway": lambda: gateway_spec(),
    "gpu kernel gateway": lambda: gateway_spec(instance_type="ml.g5.xlarge"),
    "jupyterlab as root": lambda: container_spec(
        app("JupyterLab"),
        "img:1",
        {
            "FileSystemConfig": {"MountPath": "/root", "DefaultUid": 0, "DefaultGid": 0},
            "ContainerConfig": {"ContainerArguments": ["--x"], "ContainerEnvironmentVariables": {"A": "1"}},
        },
        host(),
    ),
    "jupyter server": lambda: container_spec(app("JupyterServer"), "jl:1", {}, host(instance_type="system")),
}


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("which", sorted(SPECS))
def test_every_object_is_valid_for_the_oldest_and_newest_supported_kubernetes(which, version):
    for obj in every_object(SPECS[which]()):
        kubernetes_validate.validate(obj, version, strict=True)


def test_a_misspelt_field_fails_validation_so_the_check_has_teeth():
    pod = manifests.pod(gateway_spec(), CLUSTER)
    pod["spec"]["containers"][0]["securityContxt"] = {}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(pod, VERSIONS[-1], strict=True)


def test_the_gateway_is_copied_by_an_init_container_into_an_empty_dir_the_app_mounts_read_only():
    spec = gateway_spec()
    pod = manifests.pod(spec, CLUSTER)
    (init,) = pod["spec"]["initContainers"]
    assert init["image"] == CLUSTER.gateway_image
    assert init["command"][: len(loader_command(manifests.IMAGE_BUNDLE))] == loader_command(manifests.IMAGE_BUNDLE)
    assert init["command"][-2:] == [manifests.IMAGE_BUNDLE, manifests.COPY_TARGET]
    assert {"name": "gateway", "emptyDir": {}} in pod["spec"]["volumes"]
    (app_container,) = pod["spec"]["containers"]
    assert {"name": "gateway", "mountPath": GATEWAY_MOUNT, "readOnly": True} in app_container["volumeMounts"]
    assert app_container["image"] == spec.image and app_container["command"] == spec.entrypoint


def test_an_app_without_the_gateway_has_no_init_container_and_keeps_its_image_entrypoint_and_cmd():
    spec = container_spec(app("JupyterLab"), "img:1", {}, host())
    pod = manifests.pod(spec, CLUSTER)
    assert "initContainers" not in pod["spec"]
    container = pod["spec"]["containers"][0]
    assert "command" not in container and "args" not in container
    assert {e["name"]: e["value"] for e in container["env"]} == spec.environment


def test_container_arguments_replace_only_cmd_and_an_entrypoint_clears_cmd_as_on_docker():
    args = container_spec(app("JupyterLab"), "img:1", {"ContainerConfig": {"ContainerArguments": ["a"]}}, host())
    assert "command" not in manifests.pod(args, CLUSTER)["spec"]["containers"][0]
    assert manifests.pod(args, CLUSTER)["spec"]["containers"][0]["args"] == ["a"]
    entry = container_spec(app("JupyterLab"), "img:1", {"ContainerConfig": {"ContainerEntrypoint": ["e"]}}, host())
    container = manifests.pod(entry, CLUSTER)["spec"]["containers"][0]
    assert container["command"] == ["e"] and "args" not in container  # Kubernetes then ignores the image's CMD


def test_a_custom_posix_user_runs_the_pod_and_groups_the_home():
    pod = manifests.pod(gateway_spec(home_owner=(10001, 1001), home_size_gib=30), CLUSTER)
    security = pod["spec"]["securityContext"]
    assert (security["runAsUser"], security["runAsGroup"], security["fsGroup"]) == (10001, 1001, 1001)
    claim = manifests.home_claim(gateway_spec(home_owner=(10001, 1001), home_size_gib=30), CLUSTER)
    assert claim["spec"]["resources"]["requests"]["storage"] == "30Gi"


def test_the_pod_runs_as_the_file_system_config_user_with_no_privilege_and_no_capabilities():
    pod = manifests.pod(gateway_spec(), CLUSTER)
    security = pod["spec"]["securityContext"]
    assert (security["runAsUser"], security["runAsGroup"], security["fsGroup"], security["runAsNonRoot"]) == (
        1000,
        100,
        100,
        True,
    )
    container = pod["spec"]["containers"][0]["securityContext"]
    assert container["allowPrivilegeEscalation"] is False and container["capabilities"] == {"drop": ["ALL"]}
    assert pod["spec"]["automountServiceAccountToken"] is False and pod["spec"]["enableServiceLinks"] is False


def test_a_root_app_keeps_only_the_contracts_root_capabilities():
    pod = manifests.pod(SPECS["jupyterlab as root"](), CLUSTER)
    assert (pod["spec"]["securityContext"]["runAsUser"], pod["spec"]["securityContext"]["runAsNonRoot"]) == (0, False)
    capabilities = pod["spec"]["containers"][0]["securityContext"]["capabilities"]
    assert capabilities["drop"] == ["ALL"] and "NET_RAW" not in capabilities["add"] and "CHOWN" in capabilities["add"]


def test_requests_and_limits_come_from_the_instance_type_and_gpus_are_nvidia_gpus():
    cpu = manifests.pod(gateway_spec(), CLUSTER)["spec"]["containers"][0]["resources"]
    medium = TYPES.get("ml.t3.medium")
    assert cpu["limits"] == cpu["requests"] == {"cpu": f"{int(medium.vcpus * 1000)}m", "memory": str(medium.memory_bytes)}
    gpu = manifests.pod(SPECS["gpu kernel gateway"](), CLUSTER)["spec"]["containers"][0]["resources"]
    assert gpu["limits"]["nvidia.com/gpu"] == str(TYPES.get("ml.g5.xlarge").gpus) == "1"


def test_pull_secrets_node_selector_and_tolerations_come_from_the_cluster_settings():
    spec = manifests.pod(gateway_spec(), CLUSTER)["spec"]
    assert spec["imagePullSecrets"] == [{"name": "pull-a"}, {"name": "pull-b"}]
    assert spec["nodeSelector"] == {"kubernetes.io/arch": "amd64"}
    assert spec["tolerations"] == [dict(CLUSTER.tolerations[0])]


def test_the_files_are_a_secret_mounted_read_only_at_opt_ml_metadata():
    spec = gateway_spec()
    secret = manifests.files_secret(spec, CLUSTER)
    files = {name: base64.b64decode(value).decode() for name, value in secret["data"].items()}
    assert files == spec.files and json.loads(files["resource-metadata.json"])["AppType"] == "KernelGateway"
    pod = manifests.pod(spec, CLUSTER)
    assert {"name": "files", "mountPath": "/opt/ml/metadata", "readOnly": True} in pod["spec"]["containers"][0]["volumeMounts"]


def test_the_home_claim_has_the_spaces_ebs_size_or_the_documented_default():
    sized = manifests.home_claim(gateway_spec().__class__(**{**gateway_spec().__dict__, "home_size_gib": 50}), CLUSTER)
    assert sized["spec"]["resources"]["requests"]["storage"] == "50Gi" and sized["spec"]["storageClassName"] == "fast"
    default = manifests.home_claim(gateway_spec(), CLUSTER)
    assert default["spec"]["resources"]["requests"]["storage"] == f"{DEFAULT_SPACE_EBS_GIB}Gi"
    assert default["metadata"]["name"] == "byoi-home-d-abc-200001"


def test_only_the_owners_apps_and_byois_pods_reach_an_app():
    spec = gateway_spec()
    policy = manifests.network_policy(spec, CLUSTER)["spec"]
    assert policy["podSelector"]["matchLabels"] == {"byoi.container": spec.name, "byoi.role": "app"}
    assert policy["policyTypes"] == ["Ingress"]
    owners, byoi = policy["ingress"]
    assert owners == {"from": [{"podSelector": {"matchLabels": {"byoi.network": spec.network, "byoi.role": "app"}}}]}
    assert byoi == {
        "from": [{"podSelector": {"matchLabels": {"app.kubernetes.io/name": "byoi"}}}],
        "ports": [{"port": 8888, "protocol": "TCP"}],
    }
    elsewhere = ClusterSide("byoi-apps", "g", byoi_namespace="byoi-system")
    (peer,) = manifests.network_policy(spec, elsewhere)["spec"]["ingress"][1]["from"]
    assert peer["namespaceSelector"] == {"matchLabels": {"kubernetes.io/metadata.name": "byoi-system"}}


def test_the_owners_apps_find_each_other_by_alias_on_their_headless_service():
    server = SPECS["jupyter server"]()
    gateway = gateway_spec()
    assert server.network == gateway.network
    service = manifests.owner_service(gateway, CLUSTER)
    assert service["metadata"]["name"] == gateway.network and service["spec"]["clusterIP"] == "None"
    assert service["spec"]["selector"] == {"byoi.network": gateway.network, "byoi.role": "app"}
    pod = manifests.pod(gateway, CLUSTER)["spec"]
    assert (pod["hostname"], pod["subdomain"]) == ("kernelgateway-default", gateway.network)
    # the JupyterServer's gateway URL names http://kernelgateway-default:8888, found through its search domain
    assert manifests.pod(server, CLUSTER)["spec"]["dnsConfig"]["searches"] == [f"{gateway.network}.byoi-apps.svc.cluster.local"]
    assert manifests.endpoint_host(gateway, CLUSTER) == f"kernelgateway-default.{gateway.network}.byoi-apps.svc.cluster.local"


def test_labels_are_selectable_and_the_specs_labels_are_kept_as_annotations():
    spec = gateway_spec()
    metadata = manifests.pod(spec, CLUSTER)["metadata"]
    assert metadata["annotations"] == spec.labels  # ARNs are not valid label values
    assert metadata["labels"] == {
        "byoi.managed": "true",
        "byoi.instance": "0123456789ab",
        "byoi.network": spec.network,
        "byoi.role": "app",
        "byoi.container": spec.name,
    }


def test_a_lifecycle_script_runs_before_the_given_entrypoint():
    config = {"ContainerConfig": {"ContainerEntrypoint": ["jupyter-lab"]}}
    spec = container_spec(app("JupyterLab"), "img:1", config, host(), LifecycleRun("echo hi", "n0nce"))
    pod = manifests.pod(with_lifecycle(spec, None, None), CLUSTER)
    assert pod["spec"]["initContainers"][0]["name"] == manifests.GATEWAY_CONTAINER
    command = pod["spec"]["containers"][0]["command"]
    assert "byoi_lifecycle" in command and command[-1] == "jupyter-lab"
    for version in VERSIONS:
        kubernetes_validate.validate(pod, version, strict=True)
