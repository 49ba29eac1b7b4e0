"""Pure builders: a ContainerSpec (the same one the Docker backend runs) and the cluster's
settings -> the Kubernetes objects that run it, as plain dicts (validated against the
official schemas in tests/runtime/kubernetes/test_manifests.py).

Per app:

* a **Pod** named as the container (``restartPolicy: Never``: an exit is an exit), as
  ``spec.uid:spec.gid`` with fsGroup the home owner's group (100, or the owner's
  CustomPosixUserConfig Gid: the home's group on every backend), no privilege
  escalation, every capability dropped but ``spec.cap_add``, the runtime's default seccomp
  profile, no service-account token and no service links (the image's environment only);
  CPU, memory and ``nvidia.com/gpu`` requests = limits from the instance type; the cluster's
  imagePullSecrets, nodeSelector and tolerations;
* byoi's kernel gateway bundle, where the spec mounts it, copied by an init container from
  byoi's gateway image into an emptyDir the app mounts read-only at /opt/.sagemakerinternal
  (the user's image is not touched);
* a **Secret** holding ``spec.files``, mounted read-only at /opt/ml/metadata;
* a **NetworkPolicy** letting in only the owner's other apps and byoi's own pods (port 8888).

Per owner (user profile or space):

* a **PersistentVolumeClaim** for the home (``spec.home_size_gib``, else
  ``vocabulary.DEFAULT_SPACE_EBS_GIB``, SageMaker's default EBS volume size), kept when apps go;
* a headless **Service** named as the owner's network: each app pod sets ``hostname`` to its
  alias and ``subdomain`` to it, and searches it first, so ``kernelgateway-default`` names the
  owner's own KernelGateway app, as the Docker network's alias does.

The Secret, NetworkPolicy and Service name their pods as owners, so Kubernetes' garbage
collector removes them with the last pod that uses them.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field

from byoi.runtime.contract import FILES_DIR, GATEWAY_MOUNT, ContainerSpec
from byoi.runtime.kgw.bundle import loader_command
from byoi.vocabulary import DEFAULT_SPACE_EBS_GIB

#: How long a stopped app's processes get between SIGTERM and SIGKILL (``docker stop``'s default).
GRACE_SECONDS = 10
#: Where the gateway image keeps the bundle (images/gateway/Dockerfile).
IMAGE_BUNDLE = "/byoi-gateway"
#: Where the init container mounts the emptyDir it copies the bundle into.
COPY_TARGET = "/target"
APP_CONTAINER = "app"
GATEWAY_CONTAINER = "byoi-gateway"

#: Labels (selectable) every object byoi makes carries; annotations carry the spec's labels verbatim.
MANAGED = "byoi.managed"
INSTANCE = "byoi.instance"
CONTAINER = "byoi.container"
NETWORK = "byoi.network"
ROLE = "byoi.role"

#: Run by the bundle's own Python in the init container: copy the bundle's entries, keeping their
#: modes, into the emptyDir (world-writable, root's: its own mode is left alone).
COPY_BUNDLE = """import os, shutil, sys
source, target = sys.argv[1], sys.argv[2]
for name in os.listdir(source):
    path = os.path.join(source, name)
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.copytree(path, os.path.join(target, name), symlinks=True)
    else:
        shutil.copy2(path, os.path.join(target, name), follow_symlinks=False)
"""


@dataclass(frozen=True)
class ClusterSide:
    """What the cluster decides (from Settings): where apps run and what they may reach."""

    namespace: str
    gateway_image: str
    image_pull_secrets: tuple[str, ...] = ()
    node_selector: dict[str, str] = field(default_factory=dict)
    tolerations: tuple[dict, ...] = ()
    storage_class: str | None = None
    home_access_mode: str = "ReadWriteOnce"
    #: Labels of byoi's own pods, the only pods besides an owner's apps that reach an app.
    byoi_pods: dict[str, str] = field(default_factory=lambda: {"app.kubernetes.io/name": "byoi"})
    #: The namespace byoi's pods run in (None: the apps' namespace).
    byoi_namespace: str | None = None
    cluster_domain: str = "cluster.local"


def hostname(spec: ContainerSpec) -> str:
    """The pod's hostname on its owner's Service: its first alias (a DNS label, at most 63 characters)."""
    alias = spec.aliases[0] if spec.aliases else spec.name
    return alias[:63].rstrip("-")


def owner_domain(spec: ContainerSpec, cluster: ClusterSide) -> str:
    """The DNS domain of the owner's apps: ``<network>.<namespace>.svc.<cluster domain>``."""
    return f"{spec.network}.{cluster.namespace}.svc.{cluster.cluster_domain}"


def endpoint_host(spec: ContainerSpec, cluster: ClusterSide) -> str:
    """Where byoi reaches the app before the pod has an address: its name on its owner's Service."""
    return f"{hostname(spec)}.{owner_domain(spec, cluster)}"


def labels(spec: ContainerSpec, role: str) -> dict[str, str]:
    return {MANAGED: "true", INSTANCE: spec.labels.get("byoi.instance", "default"), NETWORK: spec.network, ROLE: role}


def _metadata(name: str, spec: ContainerSpec, cluster: ClusterSide, role: str, **extra) -> dict:
    return {"name": name, "namespace": cluster.namespace, "labels": {**labels(spec, role), **extra}}


def owner_reference(pod: dict) -> dict:
    """A reference naming ``pod`` (as the API returned it, with its uid) as an owner."""
    return {"apiVersion": "v1", "kind": "Pod", "name": pod["metadata"]["name"], "uid": pod["metadata"]["uid"]}


def files_secret(spec: ContainerSpec, cluster: ClusterSide) -> dict:
    """``spec.files``, for /opt/ml/metadata."""
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": _metadata(spec.name, spec, cluster, "files", **{CONTAINER: spec.name}),
        "type": "Opaque",
        "data": {name: base64.b64encode(content.encode()).decode() for name, content in sorted(spec.files.items())},
    }


def home_claim(spec: ContainerSpec, cluster: ClusterSide) -> dict:
    """The owner's home: a PersistentVolumeClaim that outlives its apps."""
    claim = {
        "accessModes": [cluster.home_access_mode],
        "resources": {"requests": {"storage": f"{spec.home_size_gib or DEFAULT_SPACE_EBS_GIB}Gi"}},
        "volumeMode": "Filesystem",
    }
    if cluster.storage_class:
        claim["storageClassName"] = cluster.storage_class
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": spec.home.source, "namespace": cluster.namespace, "labels": {MANAGED: "true", ROLE: "home"}},
        "spec": claim,
    }


def owner_service(spec: ContainerSpec, cluster: ClusterSide) -> dict:
    """The owner's headless Service: its apps' names (``<alias>.<network>``), ready or not."""
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": _metadata(spec.network, spec, cluster, "network"),
        "spec": {
            "clusterIP": "None",
            "selector": {NETWORK: spec.network, ROLE: "app"},
            "publishNotReadyAddresses": True,
            "ports": [{"name": "app", "port": spec.port, "targetPort": spec.port, "protocol": "TCP"}],
        },
    }


def network_policy(spec: ContainerSpec, cluster: ClusterSide) -> dict:
    """Only the owner's other apps (any port) and byoi's pods (port 8888) reach the app."""
    byoi = {"podSelector": {"matchLabels": dict(cluster.byoi_pods)}}
    if cluster.byoi_namespace and cluster.byoi_namespace != cluster.namespace:
        byoi["namespaceSelector"] = {"matchLabels": {"kubernetes.io/metadata.name": cluster.byoi_namespace}}
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": _metadata(spec.name, spec, cluster, "policy", **{CONTAINER: spec.name}),
        "spec": {
            "podSelector": {"matchLabels": {CONTAINER: spec.name, ROLE: "app"}},
            "policyTypes": ["Ingress"],
            "ingress": [
                {"from": [{"podSelector": {"matchLabels": {NETWORK: spec.network, ROLE: "app"}}}]},
                {"from": [byoi], "ports": [{"port": spec.port, "protocol": "TCP"}]},
            ],
        },
    }


def resources(spec: ContainerSpec) -> dict:
    """Requests = limits (the instance type is the app's alone), GPUs as ``nvidia.com/gpu``."""
    limits: dict[str, str] = {}
    if spec.cpus:
        limits["cpu"] = f"{int(spec.cpus * 1000)}m"
    if spec.memory_bytes:
        limits["memory"] = str(spec.memory_bytes)
    if spec.gpus:
        limits["nvidia.com/gpu"] = str(spec.gpus)
    return {"requests": dict(limits), "limits": limits} if limits else {}


def pod(spec: ContainerSpec, cluster: ClusterSide) -> dict:
    """The app's pod. ``spec`` is final (``with_lifecycle`` applied by the backend)."""
    gateway = next((m for m in spec.mounts if m.target == GATEWAY_MOUNT), None)
    volumes = [
        {"name": "home", "persistentVolumeClaim": {"claimName": spec.home.source}},
        {"name": "files", "secret": {"secretName": spec.name, "defaultMode": 0o444}},
    ]
    mounts = [
        {"name": "home", "mountPath": spec.home.target},
        {"name": "files", "mountPath": FILES_DIR, "readOnly": True},
    ]
    container_security = {
        "allowPrivilegeEscalation": False,
        "privileged": False,
        "capabilities": {"drop": ["ALL"], **({"add": list(spec.cap_add)} if spec.cap_add else {})},
    }
    init = []
    if gateway is not None:
        volumes.append({"name": "gateway", "emptyDir": {}})
        mounts.append({"name": "gateway", "mountPath": GATEWAY_MOUNT, "readOnly": True})
        init.append(
            {
                "name": GATEWAY_CONTAINER,
                "image": cluster.gateway_image,
                "command": [*loader_command(IMAGE_BUNDLE), "-c", COPY_BUNDLE, IMAGE_BUNDLE, COPY_TARGET],
                "volumeMounts": [{"name": "gateway", "mountPath": COPY_TARGET}],
                "securityContext": {"allowPrivilegeEscalation": False, "privileged": False, "capabilities": {"drop": ["ALL"]}},
                "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"cpu": "1", "memory": "256Mi"}},
            }
        )
    container = {
        "name": APP_CONTAINER,
        "image": spec.image,
        "env": [{"name": key, "value": value} for key, value in spec.environment.items()],
        "ports": [{"name": "app", "containerPort": spec.port, "protocol": "TCP"}],
        "volumeMounts": mounts,
        "securityContext": container_security,
    }
    if spec.entrypoint is not None:  # Kubernetes' command is Docker's ENTRYPOINT, its args the CMD
        container["command"] = list(spec.entrypoint)
    if spec.command:
        container["args"] = list(spec.command)
    if resources(spec):
        container["resources"] = resources(spec)
    pod_spec = {
        "hostname": hostname(spec),
        "subdomain": spec.network,
        "dnsConfig": {"searches": [owner_domain(spec, cluster)]},
        "restartPolicy": "Never",
        "terminationGracePeriodSeconds": GRACE_SECONDS,
        "automountServiceAccountToken": False,
        "enableServiceLinks": False,
        "securityContext": {
            "runAsUser": spec.uid,
            "runAsGroup": spec.gid,
            "runAsNonRoot": spec.uid != 0,
            "fsGroup": spec.home_owner[1],
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "initContainers": init,
        "containers": [container],
        "volumes": volumes,
    }
    if not init:
        del pod_spec["initContainers"]
    if cluster.image_pull_secrets:
        pod_spec["imagePullSecrets"] = [{"name": name} for name in cluster.image_pull_secrets]
    if cluster.node_selector:
        pod_spec["nodeSelector"] = dict(cluster.node_selector)
    if cluster.tolerations:
        pod_spec["tolerations"] = [dict(t) for t in cluster.tolerations]
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            **_metadata(spec.name, spec, cluster, "app", **{CONTAINER: spec.name}),
            "annotations": dict(spec.labels),
        },
        "spec": pod_spec,
    }
