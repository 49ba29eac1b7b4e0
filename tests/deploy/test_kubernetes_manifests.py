"""deploy/kubernetes renders (kubectl kustomize) into objects the oldest and newest Kubernetes
versions kubernetes-validate knows accept, with RBAC confined to byoi's namespace and only the
settings byoi has."""

from __future__ import annotations

import subprocess
from pathlib import Path

import kubernetes_validate
import pytest
import yaml
from starlette.testclient import TestClient

from byoi.app import create_app
from byoi.settings import Settings
from byoi.studio_urls import StudioOrigins

ROOT = Path(__file__).parent.parent.parent
DEPLOY = ROOT / "deploy" / "kubernetes"
#: The oldest and newest versions kubernetes-validate ships schemas for that byoi supports.
VERSIONS = ["1.25.0", "1.37.0"]
KUSTOMIZATIONS = {"default": DEPLOY, "example overlay": DEPLOY / "example"}

#: What the Kubernetes backend does in its namespace (docs/runtime.md), and all the Role allows.
BACKEND_NEEDS = {
    ("", "pods"): {"create", "get", "list", "watch", "patch", "delete"},
    ("", "pods/log"): {"get"},
    ("", "secrets"): {"create", "get", "list", "update", "delete"},
    ("", "services"): {"create", "get", "list", "update", "delete"},
    ("networking.k8s.io", "networkpolicies"): {"create", "get", "list", "update", "delete"},
    ("", "persistentvolumeclaims"): {"create", "get", "patch"},
}


def render(directory: Path) -> list[dict]:
    result = subprocess.run(["kubectl", "kustomize", str(directory)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


@pytest.fixture(scope="module", params=list(KUSTOMIZATIONS), ids=list(KUSTOMIZATIONS))
def rendered(request) -> list[dict]:
    return render(KUSTOMIZATIONS[request.param])


def one(objects: list[dict], kind: str) -> dict:
    (found,) = [o for o in objects if o["kind"] == kind]
    return found


def test_it_renders_the_objects_of_an_installation(rendered):
    kinds = sorted(o["kind"] for o in rendered)
    assert kinds == sorted(
        [
            "Namespace",
            "ServiceAccount",
            "Role",
            "RoleBinding",
            "ConfigMap",
            "Deployment",
            "PersistentVolumeClaim",
            "PodDisruptionBudget",
            "Service",
            "Ingress",
            "NetworkPolicy",
        ]
    )
    namespace = one(rendered, "Namespace")["metadata"]["name"]
    assert {o["metadata"].get("namespace") for o in rendered if o["kind"] != "Namespace"} == {namespace}


@pytest.mark.parametrize("version", VERSIONS)
def test_every_object_is_valid_for_the_oldest_and_newest_supported_kubernetes(rendered, version):
    for obj in rendered:
        kubernetes_validate.validate(obj, version, strict=True)  # raises naming the object and field


def test_the_validator_refuses_an_object_with_a_field_kubernetes_does_not_have(rendered):
    deployment = one(rendered, "Deployment")
    broken = {**deployment, "spec": {**deployment["spec"], "replica": 2}}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, VERSIONS[0], strict=True)


def test_rbac_is_a_role_in_byois_namespace_with_only_what_the_backend_needs(rendered):
    assert not [o for o in rendered if o["kind"] in ("ClusterRole", "ClusterRoleBinding")]
    namespace = one(rendered, "Namespace")["metadata"]["name"]
    role, binding = one(rendered, "Role"), one(rendered, "RoleBinding")
    granted: dict[tuple[str, str], set[str]] = {}
    for rule in role["rules"]:
        assert set(rule) == {"apiGroups", "resources", "verbs"}  # no resourceNames tricks, no nonResourceURLs
        for group in rule["apiGroups"]:
            for resource in rule["resources"]:
                granted.setdefault((group, resource), set()).update(rule["verbs"])
    assert granted == BACKEND_NEEDS
    assert "*" not in str(role["rules"])
    assert binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": role["metadata"]["name"]}
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "byoi", "namespace": namespace}]
    assert one(rendered, "Deployment")["spec"]["template"]["spec"]["serviceAccountName"] == "byoi"


def test_the_deployment_sets_only_real_byoi_settings_and_runs_on_kubernetes(rendered):
    settings = {f"BYOI_{name.upper()}" for name in Settings.model_fields}
    config = one(rendered, "ConfigMap")["data"]
    container = one(rendered, "Deployment")["spec"]["template"]["spec"]["containers"][0]
    names = set(config) | {env["name"] for env in container["env"]}
    assert names <= settings, names - settings
    assert config["BYOI_RUNTIME"] == "kubernetes"
    assert [ref["configMapRef"]["name"] for ref in container["envFrom"]] == [one(rendered, "ConfigMap")["metadata"]["name"]]
    secrets = {env["name"]: env["valueFrom"]["secretKeyRef"] for env in container["env"]}
    assert secrets == {
        "BYOI_DATABASE_URL": {"name": "byoi", "key": "database-url"},
        "BYOI_SESSION_SECRET": {"name": "byoi", "key": "session-secret"},
    }
    Settings(**{name.removeprefix("BYOI_").lower(): value for name, value in config.items()})  # every value parses


def test_the_deployment_runs_n_replicas_unprivileged_on_a_read_only_root(rendered):
    deployment = one(rendered, "Deployment")
    pod = deployment["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert deployment["spec"]["replicas"] >= 2
    assert pod["securityContext"]["runAsNonRoot"] is True and pod["securityContext"]["runAsUser"] != 0
    assert container["securityContext"] == {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "capabilities": {"drop": ["ALL"]},
    }
    mounts = {m["mountPath"] for m in container["volumeMounts"]}
    assert one(rendered, "ConfigMap")["data"]["BYOI_DATA_DIR"] in mounts and "/tmp" in mounts
    labels = deployment["spec"]["selector"]["matchLabels"]
    for kind in ("Service", "PodDisruptionBudget"):
        obj = one(rendered, kind)["spec"]["selector"]
        assert obj.get("matchLabels", obj) == labels
    assert one(rendered, "NetworkPolicy")["spec"]["podSelector"]["matchLabels"] == labels


def test_the_probes_ask_an_endpoint_byoi_serves_on_any_pod_address(rendered, tmp_path):
    container = one(rendered, "Deployment")["spec"]["template"]["spec"]["containers"][0]
    paths = {container[probe]["httpGet"]["path"] for probe in ("readinessProbe", "livenessProbe")}
    app = create_app(Settings(data_dir=tmp_path, docker="off", app_firewall="off"))
    with TestClient(app.starlette, base_url="http://10.1.2.3:8080") as client:
        for path in paths:
            assert client.get(path).status_code == 200


def test_the_ingress_sends_the_api_host_and_every_studio_origin_to_byoi(rendered):
    config = one(rendered, "ConfigMap")["data"]
    ingress = one(rendered, "Ingress")["spec"]
    service = one(rendered, "Service")
    hosts = [rule.get("host") for rule in ingress["rules"]]
    api_host = config["BYOI_PUBLIC_URL"].split("://", 1)[1]
    studio_host = config["BYOI_STUDIO_URL"].split("://", 1)[1]
    assert hosts == [api_host, f"*.{studio_host}", None]  # None: spaces' origins are two labels deep
    for rule in ingress["rules"]:
        (path,) = rule["http"]["paths"]
        assert path["backend"]["service"] == {"name": service["metadata"]["name"], "port": {"name": "http"}}
    origins = StudioOrigins(config["BYOI_STUDIO_URL"])
    assert origins.site(f"d-abc123.{studio_host}") is not None
    assert origins.site(f"s-7.d-abc123.{studio_host}").is_space
    assert ingress["tls"][0]["hosts"] == [api_host, f"*.{studio_host}"]
