"""The isolation the apps' NetworkPolicies give, tried as attacks against Kubernetes' NetworkPolicy
semantics: every pod byoi would make for two users and a shared space, plus byoi's own pods and
a stranger's pod, and who reaches whose port 8888.

No CNI runs here, so the policies are evaluated by ``admits`` below, which follows the
NetworkPolicy API's rules for what these policies use (a pod selected by any Ingress policy
admits only what some rule of those policies allows; podSelector and namespaceSelector by
matchLabels; ports). On a cluster the CNI enforces them; that was not run (docs/runtime.md)."""

from __future__ import annotations

import pytest

from byoi.runtime.contract import AppIdentity, HostSide, container_spec
from byoi.runtime.kubernetes import manifests
from byoi.runtime.kubernetes.manifests import ClusterSide

NAMESPACE = "byoi-apps"
CLUSTER = ClusterSide(NAMESPACE, "registry.example/byoi-gateway:1")


def selects(selector: dict, labels: dict) -> bool:
    return all(labels.get(k) == v for k, v in (selector.get("matchLabels") or {}).items())


def peer_matches(peer: dict, pod: dict) -> bool:
    """A NetworkPolicyPeer: a podSelector alone means pods of the policy's namespace; with a
    namespaceSelector, pods of the namespaces it selects."""
    if "namespaceSelector" in peer:
        if not selects(peer["namespaceSelector"], {"kubernetes.io/metadata.name": pod["namespace"]}):
            return False
    elif pod["namespace"] != NAMESPACE:
        return False
    return selects(peer.get("podSelector") or {}, pod["labels"])


def admits(policies: list[dict], target: dict, source: dict, port: int) -> bool:
    """Whether ``source`` may open ``port`` on ``target`` under ``policies`` (Ingress only)."""
    applying = [p for p in policies if "Ingress" in p["spec"]["policyTypes"] and selects(p["spec"]["podSelector"], target["labels"])]
    if not applying:
        return True  # no policy selects the pod: Kubernetes admits everything
    for policy in applying:
        for rule in policy["spec"].get("ingress") or []:
            ports = rule.get("ports")
            if ports and not any(p["port"] == port for p in ports):
                continue
            if any(peer_matches(peer, source) for peer in rule.get("from") or []):
                return True
    return False


def app_pod(owner: str, uid: int, app_type: str, app_id: int, space: bool = False):
    app = AppIdentity(app_type, "default", f"arn:aws:sagemaker:us-east-1:123456789012:app/d-abc/{owner}/{app_type.lower()}/default",
                      "d-abc", **({"space_name": owner} if space else {"user_profile_name": owner}), app_id=app_id)
    host = HostSide("/bundle", f"byoi-home-d-abc-{uid}", f"byoi-0123456789ab-net-d-abc-{uid}", instance_id="0123456789ab",
                    gateway_tokens=("ab" * 32,), owner_token="t0ken")
    config = {"KernelSpecs": [{"Name": "python3"}]} if app_type == "KernelGateway" else {}
    spec = container_spec(app, "img:1", config, host)
    pod = manifests.pod(spec, CLUSTER)
    return {"name": spec.name, "namespace": NAMESPACE, "labels": pod["metadata"]["labels"]}, manifests.network_policy(spec, CLUSTER)


@pytest.fixture(scope="module")
def cluster():
    pods, policies = {}, []
    for key, args in {
        "alice-server": ("alice", 200001, "JupyterServer", 1),
        "alice-kernels": ("alice", 200001, "KernelGateway", 2),
        "bob-server": ("bob", 200002, "JupyterServer", 3),
        "bob-kernels": ("bob", 200002, "KernelGateway", 4),
        "team-lab": ("team", 200003, "JupyterLab", 5, True),
    }.items():
        pods[key], policy = app_pod(*args)
        policies.append(policy)
    pods["byoi"] = {"name": "byoi-7d9", "namespace": NAMESPACE, "labels": {"app.kubernetes.io/name": "byoi"}}
    pods["stranger"] = {"name": "x", "namespace": NAMESPACE, "labels": {"run": "x"}}
    pods["other-namespace"] = {"name": "y", "namespace": "default", "labels": {"app.kubernetes.io/name": "byoi"}}
    return pods, policies


def test_a_users_server_reaches_their_own_kernel_gateway(cluster):
    pods, policies = cluster
    assert admits(policies, pods["alice-kernels"], pods["alice-server"], 8888)


@pytest.mark.parametrize("attacker", ["bob-server", "bob-kernels", "team-lab", "stranger", "other-namespace"])
def test_no_one_else_reaches_a_users_kernel_gateway(cluster, attacker):
    pods, policies = cluster
    assert not admits(policies, pods["alice-kernels"], pods[attacker], 8888)


@pytest.mark.parametrize("target", ["alice-server", "alice-kernels", "bob-server", "team-lab"])
def test_byois_pods_reach_every_app_on_port_8888_only(cluster, target):
    pods, policies = cluster
    assert admits(policies, pods[target], pods["byoi"], 8888)
    assert not admits(policies, pods[target], pods["byoi"], 22)


@pytest.mark.parametrize("target, attacker", [("team-lab", "alice-server"), ("team-lab", "alice-kernels"), ("alice-server", "team-lab"),
                                              ("bob-server", "alice-kernels")])
def test_a_spaces_apps_and_a_users_apps_never_reach_each_other(cluster, target, attacker):
    pods, policies = cluster
    assert not admits(policies, pods[target], pods[attacker], 8888)


def test_the_evaluator_has_teeth_without_the_policies_everyone_gets_in(cluster):
    pods, _ = cluster
    assert admits([], pods["alice-kernels"], pods["stranger"], 8888)
