"""The one typed settings object for byoi.

Every field can be set from the environment with the ``BYOI_`` prefix
(``BYOI_PORT=9000``) or passed explicitly (the CLI does this for its flags).
Invalid values fail at start-up with a message naming the variable.
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
from enum import Enum
from pathlib import Path
from urllib.parse import urlsplit

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from byoi.studio_urls import StudioOrigins


def default_data_dir() -> Path:
    """``$XDG_DATA_HOME/byoi``, or ``~/.local/share/byoi``."""
    base = os.environ.get("XDG_DATA_HOME") or os.path.join(Path.home(), ".local", "share")
    return Path(base) / "byoi"


#: Default BYOI_MAX_REQUEST_BYTES. The largest members in the service models
#: byoi serves are a Cloud Control DesiredState (256 KiB) and a SageMaker
#: PipelineDefinition (1 MiB), so 16 MiB refuses nothing a real client sends
#: while capping what one request can make the server buffer.
DEFAULT_MAX_REQUEST_BYTES = 16 * 1024 * 1024
MIN_MAX_REQUEST_BYTES = 1024
MAX_MAX_REQUEST_BYTES = 1024 * 1024 * 1024


class DockerMode(str, Enum):
    """Whether byoi talks to a Docker engine."""

    auto = "auto"  # use the engine if it answers at start-up, else run without one
    on = "on"  # require an engine; start-up fails without one
    off = "off"  # never use an engine (BaseImage is recorded as given)


class RuntimeKind(str, Enum):
    """Where apps run."""

    docker = "docker"  # containers on this machine's Docker engine
    kubernetes = "kubernetes"  # pods in a Kubernetes cluster (in-cluster or a kubeconfig)


class HomeAccessMode(str, Enum):
    """How the PersistentVolumeClaim of a home may be mounted (Kubernetes)."""

    ReadWriteOnce = "ReadWriteOnce"  # by pods on one node at a time
    ReadWriteMany = "ReadWriteMany"  # by pods on any node (an NFS- or EFS-like storage class)


class FirewallMode(str, Enum):
    """Whether byoi installs the host firewall rule that keeps apps off the host's own services."""

    auto = "auto"  # install it when byoi runs as root with iptables
    on = "on"  # install it or refuse to start
    off = "off"  # never (the operator adds the rule; see docs/security.md)


class AuthMode(str, Enum):
    """Whether API requests must carry a valid SigV4 signature."""

    auto = "auto"  # on when listening beyond loopback, off on 127.0.0.1/::1/localhost
    on = "on"
    off = "off"


def is_loopback(host: str) -> bool:
    """True for addresses only this machine can reach (127.0.0.0/8, ::1, localhost)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


_LABEL_VALUE = re.compile(r"([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?")
_LABEL_KEY = re.compile(r"([a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?")


def split_names(value: str) -> list[str]:
    """``"a, b"`` -> ``["a", "b"]``."""
    return [part.strip() for part in value.split(",") if part.strip()]


def parse_labels(value: str) -> dict[str, str]:
    """``"k=v,k2=v2"`` -> a dict of Kubernetes labels; ValueError naming a malformed one."""
    labels = {}
    for part in split_names(value):
        key, sep, label = part.partition("=")
        key, label = key.strip(), label.strip()
        if not sep or not _LABEL_KEY.fullmatch(key) or not _LABEL_VALUE.fullmatch(label):
            raise ValueError(f"{part!r} is not a Kubernetes label key=value (e.g. kubernetes.io/arch=amd64)")
        labels[key] = label
    return labels


def parse_tolerations(value: str) -> list[dict]:
    """A JSON list of Kubernetes tolerations; ValueError saying what is wrong."""
    if not value.strip():
        return []
    try:
        tolerations = json.loads(value)
    except json.JSONDecodeError as exc:
        raise ValueError(f"must be a JSON list of tolerations: {exc}") from None
    allowed = {"key", "operator", "value", "effect", "tolerationSeconds"}
    if not isinstance(tolerations, list) or not all(isinstance(t, dict) and set(t) <= allowed for t in tolerations):
        raise ValueError(f'must be a JSON list of tolerations with fields {sorted(allowed)}, '
                         'e.g. [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}]')
    return tolerations


#: A Kubernetes namespace name (an RFC 1123 label).
NAMESPACE_NAME = r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$"


class Settings(BaseSettings):
    """byoi's configuration. Field descriptions double as ``byoi serve --help`` text."""

    model_config = SettingsConfigDict(env_prefix="BYOI_", extra="forbid")

    host: str = Field("127.0.0.1", description="Address the server listens on.")
    port: int = Field(8080, ge=0, le=65535, description="TCP port the server listens on (0 picks a free one).")
    data_dir: Path = Field(
        default_factory=default_data_dir,
        description="Directory for byoi's state (the SQLite database by default).",
    )
    database_url: str | None = Field(
        None,
        description="SQLAlchemy URL of the store, e.g. postgresql+psycopg://user:pw@host/db. "
        "Default: sqlite:///<data_dir>/byoi.db.",
    )
    account_id: str = Field(
        "123456789012", pattern=r"^\d{12}$", description="AWS account id used in ARNs."
    )
    region: str = Field(
        "us-east-1",
        pattern=r"^[a-z]{2}(-[a-z]+)+-\d+$",
        description="Region used in ARNs when a request does not carry one in its SigV4 credential scope.",
    )
    runtime: RuntimeKind = Field(
        RuntimeKind.docker,
        description="Where apps run: 'docker' (this machine's Docker engine) or 'kubernetes' (a cluster's pods).",
    )
    kubernetes_kubeconfig: Path | None = Field(
        None,
        description="Kubernetes: the kubeconfig file to use. Unset: the pod's service account when byoi runs in "
        "the cluster, else $KUBECONFIG or ~/.kube/config.",
    )
    kubernetes_namespace: str | None = Field(
        None,
        pattern=NAMESPACE_NAME,
        description="Kubernetes: the namespace apps run in. Unset: the kubeconfig context's (or the pod's) namespace.",
    )
    kubernetes_gateway_image: str | None = Field(
        None,
        description="Kubernetes: the byoi gateway image (images/gateway, built by scripts/build-gateway-image.sh) whose "
        "bundle an init container copies into each app pod at /opt/.sagemakerinternal. Required with "
        "BYOI_RUNTIME=kubernetes.",
    )
    kubernetes_image_pull_secrets: str = Field(
        "", description="Kubernetes: comma-separated names of Secrets app pods pull their images with."
    )
    kubernetes_node_selector: str = Field(
        "", description="Kubernetes: comma-separated key=value node labels app pods must run on."
    )
    kubernetes_tolerations: str = Field(
        "", description="Kubernetes: a JSON list of tolerations (Kubernetes' shape) app pods get."
    )
    kubernetes_storage_class: str | None = Field(
        None, description="Kubernetes: the StorageClass of homes' PersistentVolumeClaims. Unset: the cluster's default."
    )
    kubernetes_home_access_mode: HomeAccessMode = Field(
        HomeAccessMode.ReadWriteOnce,
        description="Kubernetes: access mode of homes' PersistentVolumeClaims: 'ReadWriteOnce' or 'ReadWriteMany'.",
    )
    kubernetes_byoi_pods: str = Field(
        "app.kubernetes.io/name=byoi",
        description="Kubernetes: comma-separated key=value labels of byoi's own pods, the only pods (besides an "
        "owner's other apps) the apps' NetworkPolicies let in.",
    )
    kubernetes_cluster_domain: str = Field(
        "cluster.local",
        pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$",
        description="Kubernetes: the cluster's DNS domain, in the names by which an owner's apps find each other.",
    )
    kubernetes_byoi_namespace: str | None = Field(
        None,
        pattern=NAMESPACE_NAME,
        description="Kubernetes: the namespace byoi's own pods run in. Unset: the apps' namespace.",
    )
    registry_url: str | None = Field(
        None,
        description="With BYOI_RUNTIME=kubernetes: the registry the cluster pulls from, as http(s)://host[:port]. "
        "BaseImage names without a registry host (team/img:tag) resolve there; ContainerImage is always "
        "host/repository@sha256:... Default: Docker Hub.",
    )
    registry_username: str | None = Field(
        None, description="User name byoi presents to the registry in BYOI_REGISTRY_URL (with BYOI_REGISTRY_PASSWORD)."
    )
    registry_password: str | None = Field(
        None, description="Password (or token) byoi presents to the registry in BYOI_REGISTRY_URL."
    )
    registry_auth_file: Path | None = Field(
        None,
        description="A Docker config.json ({\"auths\": {host: {\"auth\": base64(user:password)}}}, the format of a "
        "Kubernetes dockerconfigjson pull secret) with credentials per registry host.",
    )
    registry_ca_file: Path | None = Field(
        None, description="PEM file of the CA certificates that sign registries' TLS certificates (default: the system's)."
    )
    registry_insecure: bool = Field(
        False, description="Accept any TLS certificate from registries (a test registry only; prefer BYOI_REGISTRY_CA_FILE)."
    )
    docker: DockerMode = Field(
        DockerMode.auto,
        description="Docker engine use: 'auto' (use one if it answers), 'on' (require one), 'off'.",
    )
    transition_seconds: float = Field(
        0.0,
        ge=0,
        le=3600,
        description="How long Image/ImageVersion stay in CREATING, UPDATING or DELETING before "
        "settling. 0 settles them before the API call returns.",
    )
    max_images: int = Field(
        0, ge=0, description="Images allowed per account and region (ResourceLimitExceeded beyond); 0 = no limit."
    )
    max_versions_per_image: int = Field(
        0, ge=0, description="Image versions allowed per image (ResourceLimitExceeded beyond); 0 = no limit."
    )
    public_url: str | None = Field(
        None, description="The URL clients reach byoi's API at (their endpoint URL); Studio's origins derive from it "
        "unless BYOI_STUDIO_URL is set. Default: http://HOST:PORT."
    )
    studio_url: str | None = Field(
        None,
        description="Where Studio's origins live: each domain's Studio at <domain id>.<host> and each space's apps at "
        "s-<space uid>.<domain id>.<host> (point a wildcard DNS name at byoi). Default: http://studio.localhost:PORT "
        "when the public URL is on loopback or an address (browsers resolve *.localhost to loopback), else studio.<public host>.",
    )
    session_secret: str | None = Field(
        None,
        description="Key that signs presigned URLs and sessions and derives apps' tokens. Default: a random key kept "
        "in the database (table instance_keys), so every replica serving one database shares it.",
    )
    replica_id: str | None = Field(
        None,
        max_length=128,
        description="This process's name among several replicas serving one database (its settlers' leases on rows "
        "carry it). Default: the host name and a hash of the data directory; give each replica its own.",
    )
    settler_lease_seconds: float = Field(
        30.0,
        ge=1,
        le=3600,
        description="How long a replica's claim on a transitional row (an app to start, an image to settle) lasts "
        "unrenewed: a killed replica's rows are taken over this long after it stopped. Longer than the slowest "
        "container start.",
    )
    app_start_timeout_seconds: float = Field(
        120.0, gt=0, le=3600, description="How long an app may take to answer on port 8888 before it is Failed."
    )
    jupyter_server_image: str | None = Field(
        None,
        description="Image (with jupyterlab) for JupyterServer apps: a JupyterLab whose kernels run in the user's "
        "KernelGateway app 'default', through byoi's gateway. Unset: JupyterServer apps are refused.",
    )
    app_idle_timeout_seconds: float = Field(
        0, ge=0, description="Shut down (delete) an app idle this long, keeping its home, like Studio's idle shutdown; 0 = never."
    )
    log_retention_days: int = Field(
        30, ge=0, le=3653,
        description="App log events older than this many days are deleted (the log group's retention); 0 = kept forever.",
    )
    kernel_idle_timeout_seconds: int = Field(
        0, ge=0, description="A KernelGateway app's gateway culls kernels idle this long; 0 = never."
    )
    instance_types_file: Path | None = Field(
        None,
        description="A JSON or TOML file of instance types (vCPUs, memory, GPUs) merged over byoi's table of "
        "SageMaker's; the CPU, memory and GPU limits of each app come from its instance type.",
    )
    app_firewall: FirewallMode = Field(
        FirewallMode.auto,
        description="Refuse connections from apps to the host itself (iptables chain BYOI-APPS): 'auto' (when "
        "running as root with iptables), 'on' (or refuse to start), 'off'.",
    )
    auth: AuthMode = Field(
        AuthMode.auto,
        description="SigV4 authentication of API requests: 'auto' (on unless HOST is loopback), 'on', or 'off' "
        "(anyone who can reach the port may call every API).",
    )
    credentials_file: Path | None = Field(
        None,
        description="An AWS shared-credentials file (e.g. ~/.aws/credentials) whose keys may sign requests, "
        "besides the keys made with 'byoi keys create'. Re-read when it changes.",
    )
    max_request_bytes: int = Field(
        DEFAULT_MAX_REQUEST_BYTES,
        description="Largest API request body accepted, in bytes (16 MiB by default); a larger one is refused with "
        "HTTP 413 RequestEntityTooLargeException as it arrives, before authentication, without reading the rest.",
    )
    log_level: str = Field("info", description="Log level: debug, info, warning or error.")

    @field_validator("max_request_bytes")
    @classmethod
    def _sane_body_limit(cls, value: int) -> int:
        if not MIN_MAX_REQUEST_BYTES <= value <= MAX_MAX_REQUEST_BYTES:
            raise ValueError(
                f"must be a number of bytes from {MIN_MAX_REQUEST_BYTES} (1 KiB) to {MAX_MAX_REQUEST_BYTES} (1 GiB), "
                f"e.g. {DEFAULT_MAX_REQUEST_BYTES} for 16 MiB; got {value}"
            )
        return value

    @field_validator("kubernetes_node_selector", "kubernetes_byoi_pods")
    @classmethod
    def _labels(cls, value: str) -> str:
        parse_labels(value)  # raises ValueError with what is wrong
        return value

    @field_validator("kubernetes_image_pull_secrets")
    @classmethod
    def _names(cls, value: str) -> str:
        for name in split_names(value):
            if not re.fullmatch(r"[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?", name):
                raise ValueError(f"{name!r} is not a Secret name (lowercase letters, digits, '-' and '.')")
        return value

    @field_validator("kubernetes_tolerations")
    @classmethod
    def _tolerations(cls, value: str) -> str:
        parse_tolerations(value)
        return value

    @field_validator("registry_url")
    @classmethod
    def _registry_origin(cls, value: str | None) -> str | None:
        if value is not None:
            parts = urlsplit(value)
            if parts.scheme not in ("http", "https") or not parts.netloc or parts.path.strip("/") or parts.query:
                raise ValueError(f"must be http(s)://host[:port] of a registry, e.g. https://registry.example.com; got {value!r}")
        return value

    @field_validator("studio_url")
    @classmethod
    def _studio_origin(cls, value: str | None) -> str | None:
        if value is not None:
            StudioOrigins(value)  # raises ValueError with what is wrong
        return value

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        value = value.lower()
        if value not in {"debug", "info", "warning", "error"}:
            raise ValueError("must be one of debug, info, warning, error")
        return value

    def auth_enabled(self) -> bool:
        """Whether requests must be signed: ``auth``, with 'auto' meaning "unless HOST is loopback"."""
        if self.auth is AuthMode.auto:
            return not is_loopback(self.host)
        return self.auth is AuthMode.on

    def resolved_database_url(self) -> str:
        """The database URL to use: ``database_url`` or the SQLite file in ``data_dir``."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_dir / 'byoi.db'}"
