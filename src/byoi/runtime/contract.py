"""Studio's container contract, as a pure function.

``container_spec(app, image, config, host)`` decides everything about how an
app's container runs, from the app, the image version it runs, the
AppImageConfig mode for its app type and where the host keeps things. It does
no I/O, so every rule of ../shared/seeds/studio-byoi-specs.txt is unit-tested:

* KernelGateway: ENTRYPOINT and CMD are replaced by byoi's kernel gateway,
  mounted read-only at /opt/.sagemakerinternal, serving port 8888; no
  environment variables are added to the image's own.
* JupyterLab / Code Editor: the image's own ENTRYPOINT and CMD, as the
  ContainerConfig changes them (ContainerEntrypoint replaces the entrypoint and
  clears CMD; ContainerArguments replace only CMD), and its environment, with
  the platform variables (SAGEMAKER_APP_TYPE, ...); the server must answer on
  port 8888 under /jupyterlab/default or /codeeditor/default.
* The user's home volume at FileSystemConfig.MountPath (default
  /home/sagemaker-user), the container running as DefaultUid:DefaultGid, which
  must be 1000:100 or 0:0. The reserved /opt/ml and /opt/.sagemakerinternal
  cannot be the mount path.
* /opt/ml/metadata (``ContainerSpec.files``, mounted read-only) holds
  resource-metadata.json, which describes the app, and, for byoi's kernel
  gateway, the digests of the tokens it accepts (gateway-tokens).
* Lifecycle configuration (``LifecycleRun``): the script goes in /opt/ml/metadata
  and byoi's bundle is mounted (read-only, as for KernelGateway apps); the
  backend, which knows the image's own ENTRYPOINT and CMD, puts
  ``byoi_lifecycle`` in front of the app's command (``with_lifecycle``), so the
  script runs first, within Studio's 5 minutes, and a failing script fails the
  app instead of starting its server.
* Isolation: each app runs on its owner's private network (one per user
  profile or space, named by ids), reachable by the other apps of that owner
  under an alias (``kernelgateway-default``) and by byoi, never on the host's
  network and with no published port. All capabilities are dropped (a 0/0 app
  keeps a root set without NET_RAW, MKNOD and the like), no-new-privileges,
  a PID limit, and the CPU, memory and GPU count of the app's instance type.

A violation raises ``ContractError`` with a message a user can act on.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace

from byoi.runtime.instance_types import InstanceType
from byoi.runtime.kgw.bundle import loader_command
from byoi.vocabulary import CUSTOM_IMAGE_APPS, DEFAULT_FILE_SYSTEM, SAGEMAKER_USER, SPACE_APPS

GATEWAY_MOUNT = "/opt/.sagemakerinternal"
FILES_DIR = "/opt/ml/metadata"
METADATA_FILE = "resource-metadata.json"
METADATA_PATH = f"{FILES_DIR}/{METADATA_FILE}"
#: Digests (SHA-256, one per line) of the tokens byoi's kernel gateway accepts.
GATEWAY_TOKENS_FILE = "gateway-tokens"
#: A JupyterServer app's settings, among them the token that opens its user's kernel gateways.
SERVER_CONFIG_FILE = "jupyter_server_config.json"
#: The config file the JupyterServer app is started with: it applies SERVER_CONFIG_FILE and
#: keeps TCP_NODELAY on kernel websockets (Tornado turns Nagle's algorithm back on after the
#: upgrade, which delays the second message of every reply by a delayed ACK, ~40 ms).
SERVER_STARTUP_FILE = "jupyter_server_config.py"
SERVER_STARTUP = f"""# Written by byoi: the settings in {SERVER_CONFIG_FILE}, and kernel websockets without Nagle's delay.
import json

for _name, _value in json.load(open("{FILES_DIR}/{SERVER_CONFIG_FILE}"))["GatewayClient"].items():
    setattr(c.GatewayClient, _name, _value)


def _kernel_websockets_without_delay():
    from jupyter_server.gateway.connections import GatewayWebSocketConnection
    from jupyter_server.services.kernels.websocket import KernelWebsocketHandler

    open_channels = KernelWebsocketHandler.open

    async def open_without_delay(self, *args, **kwargs):  # the browser's websocket
        self.set_nodelay(True)
        return await open_channels(self, *args, **kwargs)

    connected = GatewayWebSocketConnection._connection_done

    def connected_without_delay(self, future):  # the websocket to the kernel gateway
        connected(self, future)
        if self.ws is not None:
            self.ws.protocol.set_nodelay(True)

    KernelWebsocketHandler.open = open_without_delay
    GatewayWebSocketConnection._connection_done = connected_without_delay


_kernel_websockets_without_delay()
"""
RESERVED_DIRS = ("/opt/ml", GATEWAY_MOUNT)
APP_PORT = 8888
SUPPORTED_IDS = ((1000, 100), (0, 0))
#: What a 0/0 app may still do as root (install packages, change owners): Docker's default
#: set without NET_RAW (raw sockets, spoofing), MKNOD and AUDIT_WRITE. Other apps get none.
ROOT_CAPABILITIES = ("CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "SETGID", "SETUID", "SETPCAP", "SETFCAP",
                     "NET_BIND_SERVICE", "SYS_CHROOT")
#: Processes and threads per app: plenty for kernels and their thread pools, not a fork bomb.
PIDS_LIMIT = 4096

#: Where a lifecycle configuration's script is put (in FILES_DIR).
LIFECYCLE_SCRIPT_FILE = "lifecycle-config-on-start.sh"
#: Studio's limit on a lifecycle script that runs when an app starts.
LIFECYCLE_TIMEOUT_SECONDS = 300


class ContractError(Exception):
    """The app cannot run as configured; the message is its FailureReason."""


@dataclass(frozen=True)
class AppIdentity:
    """Which app this is, as the API knows it."""

    app_type: str  # KernelGateway | JupyterLab | CodeEditor | JupyterServer
    app_name: str
    app_arn: str
    domain_id: str
    user_profile_name: str | None = None
    space_name: str | None = None
    instance_type: str = "system"
    execution_role_arn: str | None = None
    image_version_arn: str | None = None
    app_id: int = 0  # the store's id of the app: names its container


@dataclass(frozen=True)
class HostSide:
    """The host side of the contract, decided by whoever runs the backend: the names of the
    owner's home volume and network, byoi's settings, and the secrets apps accept."""

    gateway_bundle: str  # a directory built by byoi.runtime.kgw.bundle
    home_volume: str  # the owner's persistent home (home_volume_name)
    network: str  # the owner's private network (network_name)
    instance_id: str = "default"  # which byoi (store) owns the container
    kernel_idle_timeout: int = 0  # seconds before the gateway culls an idle kernel; 0 = never
    limits: InstanceType | None = None  # of the app's instance type; None: no CPU or memory limit
    #: KernelGateway apps: digests of the tokens byoi's kernel gateway accepts (token_digest).
    gateway_tokens: tuple[str, ...] = ()
    #: JupyterServer apps: the token that opens the user's KernelGateway apps (owner_token).
    owner_token: str = ""
    #: The owner's CustomPosixUserConfig (Uid, Gid): who owns the home's files, and whom apps
    #: that would run as Studio's sagemaker-user (1000:100) run as. None: 1000:100.
    home_owner: tuple[int, int] | None = None
    #: The most the home may hold, in GiB (a space's EBS volume size); None: no limit.
    home_size_gib: int | None = None


@dataclass(frozen=True)
class LifecycleRun:
    """A lifecycle configuration script to run when the app starts (decoded from the API's base64)."""

    script: str
    #: Chosen per start by the caller; marks the script's output in the app's log (byoi_lifecycle).
    nonce: str
    timeout_seconds: int = LIFECYCLE_TIMEOUT_SECONDS


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
    entrypoint: list[str] | None  # None: the image's ENTRYPOINT
    command: list[str] | None  # None: the image's CMD
    environment: dict[str, str]
    uid: int
    gid: int
    home: Mount
    mounts: list[Mount]
    labels: dict[str, str]
    network: str  # the only network the container joins
    aliases: tuple[str, ...]  # its names there, for the owner's other apps
    #: File name -> content; the backend puts them in a directory mounted read-only at FILES_DIR.
    files: dict[str, str]
    cap_add: tuple[str, ...] = ()  # every other capability is dropped
    cpus: float | None = None
    memory_bytes: int | None = None
    gpus: int = 0  # how many GPUs to request (never "all")
    pids_limit: int = PIDS_LIMIT
    port: int = APP_PORT
    #: Set when a lifecycle script runs first: the backend applies ``with_lifecycle``.
    lifecycle: LifecycleRun | None = None
    #: Who owns the home's files (HostSide.home_owner, else 1000:100); the backend hands them
    #: to this uid:gid.
    home_owner: tuple[int, int] = SAGEMAKER_USER
    #: The most the home may hold, in GiB (a space's EBS volume size), where the backend can
    #: enforce one; None: no limit.
    home_size_gib: int | None = None
    extra: dict = field(default_factory=dict)

    @property
    def user(self) -> str:
        return f"{self.uid}:{self.gid}"

    @property
    def metadata(self) -> dict:
        """The app's resource-metadata.json."""
        return json.loads(self.files[METADATA_FILE])


def owner_of(app: AppIdentity) -> str:
    """The user profile or space whose home the app uses."""
    return app.space_name or app.user_profile_name or ""


def container_name(instance_id: str, app_id: int) -> str:
    """An app's container: by the store's id of the app, never by names users chose."""
    return f"byoi-{instance_id}-app-{app_id}"


def home_volume_name(domain_id: str, home_uid: int) -> str:
    """The persistent home of a user profile or space, by its HomeEfsFileSystemUid: a profile
    deleted and re-created under the same name is a new person with a new home."""
    return f"byoi-home-{domain_id.lower()}-{home_uid}"


def network_name(instance_id: str, domain_id: str, home_uid: int) -> str:
    """The private network of one user profile's or space's apps."""
    return f"byoi-{instance_id}-net-{domain_id.lower()}-{home_uid}"


def app_alias(app_type: str, app_name: str) -> str:
    """The name under which an app's siblings on its owner's network reach it."""
    return f"{app_type.lower()}-{app_name.lower()}"


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
        "byoi.app-id": str(app.app_id),
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


def container_spec(
    app: AppIdentity, container_image: str, config: dict, host: HostSide, lifecycle: LifecycleRun | None = None
) -> ContainerSpec:
    """The container for ``app``; ``config`` is the AppImageConfig mode of its app type;
    ``lifecycle`` a script to run before the app's server."""
    spec = _app_spec(app, container_image, config, host)
    if lifecycle is None:
        return spec
    mounts = spec.mounts
    if not any(m.target == GATEWAY_MOUNT for m in mounts):
        mounts = [*mounts, Mount("bind", host.gateway_bundle, GATEWAY_MOUNT, read_only=True)]
    return replace(spec, mounts=mounts, files={**spec.files, LIFECYCLE_SCRIPT_FILE: lifecycle.script}, lifecycle=lifecycle)


def with_lifecycle(spec: ContainerSpec, image_entrypoint: list[str] | None, image_command: list[str] | None) -> ContainerSpec:
    """``spec`` with its lifecycle script run first: the entrypoint becomes ``byoi_lifecycle``, which
    then executes the command the container would have run (the spec's entrypoint and command,
    or the image's own where the spec keeps them, as Docker combines them)."""
    if spec.lifecycle is None:
        return spec
    entrypoint = spec.entrypoint if spec.entrypoint is not None else list(image_entrypoint or [])
    command = spec.command if spec.command is not None else list(image_command or [])
    argv = [*entrypoint, *command]
    if not argv:
        raise ContractError(f"Image {spec.image} has neither ENTRYPOINT nor CMD, and the AppImageConfig gives no ContainerEntrypoint.")
    run = spec.lifecycle
    runner = [*loader_command(GATEWAY_MOUNT), "-m", "byoi_lifecycle", f"{FILES_DIR}/{LIFECYCLE_SCRIPT_FILE}",
              str(run.timeout_seconds), run.nonce, "--"]
    return replace(spec, entrypoint=[*runner, *argv], command=[])


def _app_spec(app: AppIdentity, container_image: str, config: dict, host: HostSide) -> ContainerSpec:
    if app.app_type == "JupyterServer":
        return jupyter_server_spec(app, container_image, host)
    if app.app_type not in CUSTOM_IMAGE_APPS:
        raise ContractError(f"App type {app.app_type} cannot run a custom image; use KernelGateway, JupyterLab or CodeEditor.")
    mount_path, uid, gid = file_system(config)
    home = Mount("volume", host.home_volume, mount_path)
    mounts = [home]
    files = {METADATA_FILE: json.dumps(resource_metadata(app), indent=2)}
    if app.app_type == "KernelGateway":
        if not host.gateway_tokens:
            raise ContractError("byoi's kernel gateway needs at least one token digest (HostSide.gateway_tokens).")
        entrypoint, command, environment = gateway_command(), gateway_options(host), {}
        mounts.append(Mount("bind", host.gateway_bundle, GATEWAY_MOUNT, read_only=True))
        files[GATEWAY_TOKENS_FILE] = "".join(f"{digest}\n" for digest in host.gateway_tokens)
    else:
        container = config.get("ContainerConfig") or {}
        entrypoint, arguments = container.get("ContainerEntrypoint"), container.get("ContainerArguments")
        entrypoint = list(entrypoint) if entrypoint else None  # None: the image's ENTRYPOINT
        # As Docker applies a new entrypoint: it clears the image's CMD unless arguments are given.
        command = list(arguments) if arguments else ([] if entrypoint else None)
        environment = {
            **platform_environment(app),
            **(container.get("ContainerEnvironmentVariables") or {}),
        }
    return _spec(app, host, container_image, entrypoint, command, environment, uid, gid, home, mounts, files)


def _spec(app: AppIdentity, host: HostSide, image: str, entrypoint, command, environment, uid, gid, home, mounts, files) -> ContainerSpec:
    """What every app shares: its name, network, labels, privileges, limits and home's owner."""
    limits = host.limits
    owner = host.home_owner or SAGEMAKER_USER
    if host.home_owner and (uid, gid) == SAGEMAKER_USER:
        # Studio's sagemaker-user, as the owner's POSIX identity; the image has no account for
        # that uid, so HOME is the home's mount path rather than Docker's fallback, /.
        uid, gid = owner
        environment = {"HOME": home.target, **environment}
    return ContainerSpec(
        name=container_name(host.instance_id, app.app_id),
        image=image,
        entrypoint=entrypoint,
        command=command,
        environment=environment,
        uid=uid,
        gid=gid,
        home=home,
        mounts=mounts,
        labels={
            **labels_for(app, host.instance_id),
            "byoi.network": host.network,
            "byoi.home-volume": host.home_volume,
            "byoi.home-owner": "%d:%d" % owner,
        },
        network=host.network,
        aliases=(app_alias(app.app_type, app.app_name),),
        files=files,
        cap_add=ROOT_CAPABILITIES if uid == 0 else (),
        cpus=limits.vcpus if limits else None,
        memory_bytes=limits.memory_bytes if limits else None,
        gpus=limits.gpus if limits else 0,
        home_owner=owner,
        home_size_gib=host.home_size_gib,
    )


def gateway_command() -> list[str]:
    """The entrypoint of every KernelGateway app: byoi's kernel gateway on the mounted bundle's
    own loader and Python (nothing of the image's, not even a shell)."""
    return [*loader_command(GATEWAY_MOUNT), "-m", "byoi_kgw"]


def gateway_options(host: HostSide) -> list[str]:
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
    if app.app_type in SPACE_APPS:
        env["SAGEMAKER_BASE_PATH"] = SPACE_APPS[app.app_type].base_path
    if app.space_name:
        env["SAGEMAKER_SPACE_NAME"] = app.space_name
    if app.user_profile_name:
        env["SAGEMAKER_USER_PROFILE_NAME"] = app.user_profile_name
    return env


def jupyter_server_path(app: AppIdentity) -> str:
    """Where byoi's gateway serves a JupyterServer app (also the server's base_url)."""
    return f"/apps/{app.domain_id}/{owner_of(app)}/JupyterServer/{app.app_name}/"


def jupyter_server_spec(app: AppIdentity, image: str, host: HostSide) -> ContainerSpec:
    """Studio's Jupyter server for a user: JupyterLab whose kernels are the user's KernelGateway
    app "default", reached on the user's own network with the owner token, which lives in a
    config file (never on a command line or in the environment)."""
    if not app.user_profile_name:
        raise ContractError("A JupyterServer app belongs to a user profile, not a space.")
    mount_path, uid, gid = file_system({})
    home = Mount("volume", host.home_volume, mount_path)
    settings = {
        "GatewayClient": {
            "url": f"http://{app_alias('KernelGateway', 'default')}:{APP_PORT}",
            "auth_scheme": "token",
            "auth_token": host.owner_token,
            "request_timeout": 120.0,
        }
    }
    command = [
        f"--config={FILES_DIR}/{SERVER_STARTUP_FILE}",
        "--ServerApp.ip=0.0.0.0",
        f"--ServerApp.port={APP_PORT}",
        f"--ServerApp.base_url={jupyter_server_path(app)}",
        f"--ServerApp.root_dir={mount_path}",
        "--ServerApp.token=",
        "--ServerApp.password=",
        "--no-browser",
    ]
    files = {METADATA_FILE: json.dumps(resource_metadata(app), indent=2), SERVER_CONFIG_FILE: json.dumps(settings, indent=2),
             SERVER_STARTUP_FILE: SERVER_STARTUP}
    return _spec(app, host, image, ["jupyter-lab"], command, platform_environment(app), uid, gid, home, [home], files)
