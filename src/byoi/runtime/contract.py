"""Studio's container contract, as a pure function.

``container_spec(app, image, config, host)`` decides everything about how an
app's container runs, from the app, the image version it runs, the
AppImageConfig mode for its app type and where the host keeps things. It does
no I/O, so every rule of ../shared/seeds/studio-byoi-specs.txt is unit-tested:

* KernelGateway: ENTRYPOINT and CMD are replaced by byoi's kernel gateway,
  mounted read-only at /opt/.sagemakerinternal, serving port 8888; no
  environment variables are added to the image's own.
* JupyterLab / Code Editor: the ContainerConfig's entrypoint, arguments and
  environment (or byoi's defaults) on port 8888 under /jupyterlab/default or
  /codeeditor/default, with the platform variables (SAGEMAKER_APP_TYPE, ...).
* The user's home volume at FileSystemConfig.MountPath (default
  /home/sagemaker-user), the container running as DefaultUid:DefaultGid, which
  must be 1000:100 or 0:0. The reserved /opt/ml and /opt/.sagemakerinternal
  cannot be the mount path.
* /opt/ml/metadata/resource-metadata.json describes the app.
* GPU instance types (ml.g*, ml.p*) get all GPUs (``--gpus all``).

A violation raises ``ContractError`` with a message a user can act on.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

GATEWAY_MOUNT = "/opt/.sagemakerinternal"
METADATA_PATH = "/opt/ml/metadata/resource-metadata.json"
RESERVED_DIRS = ("/opt/ml", GATEWAY_MOUNT)
APP_PORT = 8888
DEFAULT_FILE_SYSTEM = {"MountPath": "/home/sagemaker-user", "DefaultUid": 1000, "DefaultGid": 100}
SUPPORTED_IDS = ((1000, 100), (0, 0))
GPU_INSTANCE = re.compile(r"^ml\.[gp]\d")

#: The AppImageConfig member that configures each app type.
CONFIG_MEMBER = {
    "KernelGateway": "KernelGatewayImageConfig",
    "JupyterLab": "JupyterLabAppImageConfig",
    "CodeEditor": "CodeEditorAppImageConfig",
}
BASE_PATH = {"JupyterLab": "/jupyterlab/default", "CodeEditor": "/codeeditor/default"}
DEFAULT_COMMANDS = {
    "JupyterLab": (
        ["jupyter-lab"],
        [
            "--ServerApp.ip=0.0.0.0",
            f"--ServerApp.port={APP_PORT}",
            "--ServerApp.base_url=/jupyterlab/default",
            "--ServerApp.token=",
            "--ServerApp.password=",
            "--ServerApp.allow_origin=*",
            "--no-browser",
        ],
    ),
    "CodeEditor": (
        ["sagemaker-code-editor"],
        ["--host", "0.0.0.0", "--port", str(APP_PORT), "--without-connection-token", "--base-path", "/codeeditor/default"],
    ),
}


class ContractError(Exception):
    """The app cannot run as configured; the message is its FailureReason."""


@dataclass(frozen=True)
class AppIdentity:
    """Which app this is, as the API knows it."""

    app_type: str  # KernelGateway | JupyterLab | CodeEditor
    app_name: str
    app_arn: str
    domain_id: str
    user_profile_name: str | None = None
    space_name: str | None = None
    instance_type: str = "system"
    execution_role_arn: str | None = None
    image_version_arn: str | None = None


@dataclass(frozen=True)
class HostPaths:
    """The host side of the contract, decided by whoever runs the backend: where its files
    and volumes are, and the platform settings a container needs (instance label, kernel
    culling, a JupyterServer's port and gateway). Outgrew its name; ``HostSide`` would fit."""

    gateway_bundle: str  # a directory built by byoi.runtime.kgw.bundle
    metadata_file: str  # the resource-metadata.json written for this app
    home_volume: str  # the name of the persistent home volume
    instance_id: str = "default"  # which byoi (store) owns the container
    kernel_idle_timeout: int = 0  # seconds before the gateway culls an idle kernel; 0 = never
    # JupyterServer apps only: the host port it serves on, and how it reaches the user's kernels.
    server_port: int = 0
    gateway_url: str = ""
    gateway_token: str = ""


@dataclass(frozen=True)
class Mount:
    kind: str  # "volume" or "bind"
    source: str
    target: str
    read_only: bool = False


@dataclass(frozen=True)
class ContainerSpec:
    name: str
    image: str
    entrypoint: list[str]
    command: list[str]
    environment: dict[str, str]
    uid: int
    gid: int
    home: Mount
    mounts: list[Mount]
    labels: dict[str, str]
    gpus: bool
    metadata: dict
    port: int = APP_PORT
    host_network: bool = False  # serve on the host's network at ``port`` (JupyterServer apps)
    extra: dict = field(default_factory=dict)

    @property
    def user(self) -> str:
        return f"{self.uid}:{self.gid}"


def owner_of(app: AppIdentity) -> str:
    """The user profile or space whose home the app uses."""
    return app.space_name or app.user_profile_name or ""


def container_name(app: AppIdentity) -> str:
    """A Docker-safe, unique name for the app's container."""
    raw = f"byoi-{app.domain_id}-{owner_of(app)}-{app.app_type}-{app.app_name}".lower()
    return re.sub(r"[^a-z0-9_.-]", "-", raw)[:200]


def home_volume_name(domain_id: str, owner: str, space: bool = False) -> str:
    """The persistent home volume of a user profile (or, with ``space``, of a space) in a domain.
    Spaces have their own prefix, so a space and a user profile of the same name never share a home."""
    prefix = "byoi-space-home" if space else "byoi-home"
    return re.sub(r"[^a-z0-9_.-]", "-", f"{prefix}-{domain_id}-{owner}".lower())[:200]


def labels_for(app: AppIdentity, instance_id: str) -> dict[str, str]:
    """Labels by which the reconciler finds an app's container again after a restart.
    ``byoi.instance`` keeps byoi instances that share an engine from touching each other's apps."""
    labels = {
        "byoi.managed": "true",
        "byoi.instance": instance_id,
        "byoi.app-arn": app.app_arn,
        "byoi.domain-id": app.domain_id,
        "byoi.app-type": app.app_type,
        "byoi.app-name": app.app_name,
    }
    if app.user_profile_name:
        labels["byoi.user-profile"] = app.user_profile_name
    if app.space_name:
        labels["byoi.space"] = app.space_name
    return labels


def resource_metadata(app: AppIdentity) -> dict:
    """The content of /opt/ml/metadata/resource-metadata.json."""
    data = {
        "AppType": app.app_type,
        "DomainId": app.domain_id,
        "ResourceArn": app.app_arn,
        "ResourceName": app.app_name,
        "AppImageVersion": app.image_version_arn or "",
    }
    if app.user_profile_name:
        data["UserProfileName"] = app.user_profile_name
    if app.space_name:
        data["SpaceName"] = app.space_name
    if app.execution_role_arn:
        data["ExecutionRoleArn"] = app.execution_role_arn
    return data


def file_system(config: dict) -> tuple[str, int, int]:
    """MountPath, uid and gid, with the API's defaults, checked against the spec."""
    fs = {**DEFAULT_FILE_SYSTEM, **(config.get("FileSystemConfig") or {})}
    mount_path, uid, gid = fs["MountPath"].rstrip("/") or "/", fs["DefaultUid"], fs["DefaultGid"]
    if (uid, gid) not in SUPPORTED_IDS:
        raise ContractError(
            f"DefaultUid/DefaultGid {uid}/{gid} cannot run: Studio supports only 1000/100 (non-privileged user) "
            "and 0/0 (root). Change FileSystemConfig in the AppImageConfig (UpdateAppImageConfig)."
        )
    for reserved in RESERVED_DIRS:
        if mount_path == reserved or mount_path.startswith(reserved + "/"):
            raise ContractError(f"MountPath {mount_path} is inside the reserved directory {reserved}; choose another MountPath.")
    if mount_path == "/":
        raise ContractError("MountPath / would hide the whole image; choose a directory such as /home/sagemaker-user.")
    return mount_path, uid, gid


def container_spec(app: AppIdentity, container_image: str, config: dict, host: HostPaths) -> ContainerSpec:
    """The container for ``app``; ``config`` is the AppImageConfig mode of its app type."""
    if app.app_type == "JupyterServer":
        return jupyter_server_spec(app, container_image, host)
    if app.app_type not in CONFIG_MEMBER:
        raise ContractError(f"App type {app.app_type} cannot run a custom image; use KernelGateway, JupyterLab or CodeEditor.")
    mount_path, uid, gid = file_system(config)
    home = Mount("volume", host.home_volume, mount_path)
    mounts = [home, Mount("bind", host.metadata_file, METADATA_PATH, read_only=True)]
    if app.app_type == "KernelGateway":
        entrypoint, command, environment = [f"{GATEWAY_MOUNT}/bin/start-kernel-gateway"], gateway_options(host), {}
        mounts.append(Mount("bind", host.gateway_bundle, GATEWAY_MOUNT, read_only=True))
    else:
        container = config.get("ContainerConfig") or {}
        default_entrypoint, default_args = DEFAULT_COMMANDS[app.app_type]
        entrypoint = list(container.get("ContainerEntrypoint") or default_entrypoint)
        command = list(container.get("ContainerArguments") or ([] if container.get("ContainerEntrypoint") else default_args))
        environment = {
            **platform_environment(app),
            **(container.get("ContainerEnvironmentVariables") or {}),
        }
    return ContainerSpec(
        name=container_name(app),
        image=container_image,
        entrypoint=entrypoint,
        command=command,
        environment=environment,
        uid=uid,
        gid=gid,
        home=home,
        mounts=mounts,
        labels=labels_for(app, host.instance_id),
        gpus=bool(GPU_INSTANCE.match(app.instance_type)),
        metadata=resource_metadata(app),
    )


def gateway_options(host: HostPaths) -> list[str]:
    """Arguments for byoi's kernel gateway (passed to Jupyter Kernel Gateway)."""
    if not host.kernel_idle_timeout:
        return []
    return [
        f"--MappingKernelManager.cull_idle_timeout={host.kernel_idle_timeout}",
        f"--MappingKernelManager.cull_interval={max(1, min(300, host.kernel_idle_timeout // 2))}",
    ]


def platform_environment(app: AppIdentity) -> dict[str, str]:
    """The variables Studio sets for JupyterLab, Code Editor and JupyterServer apps."""
    env = {
        "SAGEMAKER_APP_TYPE": app.app_type,
        "SAGEMAKER_APP_TYPE_LOWERCASE": app.app_type.lower(),
        "SAGEMAKER_DOMAIN_ID": app.domain_id,
    }
    if app.app_type in BASE_PATH:
        env["SAGEMAKER_BASE_PATH"] = BASE_PATH[app.app_type]
    if app.space_name:
        env["SAGEMAKER_SPACE_NAME"] = app.space_name
    if app.user_profile_name:
        env["SAGEMAKER_USER_PROFILE_NAME"] = app.user_profile_name
    return env


def jupyter_server_path(app: AppIdentity) -> str:
    """Where byoi's gateway serves a JupyterServer app (also the server's base_url)."""
    return f"/apps/{app.domain_id}/{owner_of(app)}/JupyterServer/{app.app_name}/"


def jupyter_server_spec(app: AppIdentity, image: str, host: HostPaths) -> ContainerSpec:
    """Studio's Jupyter server for a user: JupyterLab whose kernels are the user's KernelGateway
    app's, reached through byoi's gateway (GatewayClient), with the user's home as its root."""
    if not app.user_profile_name:
        raise ContractError("A JupyterServer app belongs to a user profile, not a space.")
    mount_path, uid, gid = file_system({})
    home = Mount("volume", host.home_volume, mount_path)
    command = [
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={host.server_port}",
        f"--ServerApp.base_url={jupyter_server_path(app)}",
        f"--ServerApp.root_dir={mount_path}",
        "--ServerApp.token=",
        "--ServerApp.password=",
        "--no-browser",
        f"--GatewayClient.url={host.gateway_url}",
        "--GatewayClient.auth_scheme=Bearer",
        f"--GatewayClient.auth_token={host.gateway_token}",
        "--GatewayClient.request_timeout=120",
    ]
    return ContainerSpec(
        name=container_name(app),
        image=image,
        entrypoint=["jupyter-lab"],
        command=command,
        environment=platform_environment(app),
        uid=uid,
        gid=gid,
        home=home,
        mounts=[home, Mount("bind", host.metadata_file, METADATA_PATH, read_only=True)],
        labels={**labels_for(app, host.instance_id), "byoi.port": str(host.server_port)},
        gpus=False,
        metadata=resource_metadata(app),
        port=host.server_port,
        host_network=True,
    )

