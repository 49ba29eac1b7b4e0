"""The Docker Engine backend: one machine, one engine.

Each user profile and each space has a bridge network of its own, made on
first use and labelled (``byoi.instance``); Docker drops traffic between
different bridge networks, so one owner's apps never reach another's. No port
is published on the host and no app uses the host's network: byoi reaches an
app at its address on its network, port 8888, and the owner's other apps reach
it by alias. The host ends of these networks are all named ``byoi`` + 10 hex
digits, so one firewall rule (byoi.runtime.firewall) keeps apps away from the
host's own services. Removing an owner's last app removes its network, so
Docker's address pools (about 30 networks by default) hold only owners with
apps; ``prune`` removes any other network no container uses (after a crash).

Containers carry labels that let the reconciler find them after a restart, get
the owner's home as a named volume that outlives them (owned by the spec's
``home_owner``: 1000:100, or the owner's CustomPosixUserConfig;
mounted without Docker's copy-up, so, as on Studio's EFS, the image's own files
at MountPath are hidden rather than copied), and the spec's
files in a directory mounted read-only at /opt/ml/metadata. When a 0/0 app is
removed, whatever it left in the home is handed back to the home's owner, as
Studio's EFS maps every container user onto the home's owner. The home's size
(``home_size_gib``, a space's EBS volume size) is not enforced: Docker's local
volumes have no size limit (docs/runtime.md).
"""

from __future__ import annotations

import functools
import hashlib
import logging
import os
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import docker
import docker.errors
import requests.exceptions
from docker.types import DeviceRequest
from docker.types import Mount as DockerMount

from byoi.runtime.backend import BackendError, Endpoint, RunState, RuntimeBackend, out_of_memory
from byoi.runtime.contract import FILES_DIR, GATEWAY_MOUNT, ContainerSpec, ContractError, with_lifecycle
from byoi.runtime.kgw.bundle import loader_command
from byoi.vocabulary import MAX_IMAGE_BYTES, SAGEMAKER_USER

log = logging.getLogger(__name__)

MANAGED_LABEL = "byoi.managed"
#: The host-side interface of every app network starts with this (see byoi.runtime.firewall).
BRIDGE_PREFIX = "byoi"

#: Run by the bundled Python as root: give everything in the home volume that is not
#: uid:gid's to uid:gid (a new home's root directory; files a 0/0 app left behind).
CHOWN_HOME = """
import os, sys
uid, gid, root = int(sys.argv[1]), int(sys.argv[2]), "/home-volume"
for top, dirs, files in os.walk(root):
    for name in dirs + files:
        path = os.path.join(top, name)
        st = os.lstat(path)
        if (st.st_uid, st.st_gid) != (uid, gid):
            os.lchown(path, uid, gid)
st = os.stat(root)
if (st.st_uid, st.st_gid) != (uid, gid):
    os.chown(root, uid, gid)
    os.chmod(root, 0o755)
"""


def bridge_name(network: str) -> str:
    """The host-side interface of an app network: ``byoi`` + 10 hex digits (Linux allows 15 characters)."""
    return BRIDGE_PREFIX + hashlib.sha256(network.encode()).hexdigest()[:10]


class DockerBackend(RuntimeBackend):
    def __init__(self, client: docker.DockerClient, gateway_bundle, files_root: Path | str):
        """``gateway_bundle``: the bundle directory, or a callable returning it (built on first use).
        ``files_root``: where each container's /opt/ml/metadata directory is kept on the host."""
        self._client = client
        self.gateway_bundle = gateway_bundle
        self._files_root = Path(files_root)
        #: Held while a network is made and joined, or found empty and removed, so that
        #: removing an owner's last app never takes the network from under a starting one.
        self._networks = threading.Lock()

    def start(self, spec: ContainerSpec) -> Endpoint:
        try:
            image = self._client.images.get(spec.image)
        except docker.errors.ImageNotFound:
            raise BackendError(f"Image {spec.image} does not exist in the Docker engine; build or load it there.") from None
        size = image.attrs.get("Size") or 0
        if size > MAX_IMAGE_BYTES:
            raise BackendError(
                f"Image {spec.image} is {size / 1e9:.1f} GB; Studio runs images up to 25 GB. Make the image smaller."
            )
        if spec.lifecycle is not None:
            config = image.attrs.get("Config") or {}
            try:
                spec = with_lifecycle(spec, config.get("Entrypoint"), config.get("Cmd"))
            except ContractError as exc:
                raise BackendError(str(exc)) from None
        try:
            self._remove_if_present(spec.name)
            self._ensure_home(spec)
            files = self._write_files(spec)
            with self._networks:
                self._ensure_network(spec)
                container = self._create(spec, files)
            container.start()
            container.reload()
        except docker.errors.APIError as exc:
            self._remove_if_present(spec.name)  # never leave a container that did not start
            raise BackendError(f"Docker could not start the app: {exc.explanation or exc}") from None
        endpoint = self._endpoint(container, spec.port)
        if endpoint is None:
            raise BackendError(f"The app's container exited at once:\n{self.logs(spec.name)[-2000:]}")
        return endpoint

    def state(self, name: str) -> RunState | None:
        try:
            container = self._client.containers.get(name)
        except docker.errors.NotFound:
            return None
        return self._state(container)

    def stop(self, name: str, timeout: float = 10) -> None:
        try:
            container = self._client.containers.get(name)
            container.stop(timeout=int(timeout))
        except docker.errors.NotFound:
            return

    def remove(self, name: str) -> None:
        network = self._remove_if_present(name)
        if network:
            with self._networks:
                self._remove_network_if_unused(network)

    def logs(self, name: str, timestamps: bool = False) -> str:
        try:
            return self._client.containers.get(name).logs(timestamps=timestamps).decode(errors="replace")
        except docker.errors.NotFound:
            return ""

    def follow_logs(self, name: str, since_ns: int = 0) -> Iterator[str]:
        try:
            container = self._client.containers.get(name)
            chunks = container.logs(stream=True, follow=True, timestamps=True, since=since_ns / 1e9 if since_ns else None)
        except docker.errors.NotFound:
            return
        pending = b""
        try:
            for chunk in chunks:  # frames, not lines: a line may span several
                pending += chunk
                *lines, pending = pending.split(b"\n")
                for line in lines:
                    yield line.decode(errors="replace")
        except (docker.errors.APIError, requests.exceptions.RequestException):
            pass  # the container went away mid-stream
        if pending:
            yield pending.decode(errors="replace")

    def managed(self, instance_id: str) -> dict[str, RunState]:
        labels = [f"{MANAGED_LABEL}=true", f"byoi.instance={instance_id}"]
        containers = self._client.containers.list(all=True, filters={"label": labels})
        return {c.name: self._state(c) for c in containers}

    def prune(self, instance_id: str) -> None:
        labels = [f"{MANAGED_LABEL}=true", f"byoi.instance={instance_id}"]
        for network in self._client.networks.list(filters={"label": labels}):
            with self._networks:
                self._remove_network_if_unused(network.name)

    def _remove_network_if_unused(self, name: str) -> None:
        try:
            network = self._client.networks.get(name)
            if not network.attrs.get("Containers"):
                network.remove()
        except docker.errors.APIError as exc:  # in use again (another byoi), or already gone
            log.debug("keeping network %s: %s", name, exc)

    # --- helpers --------------------------------------------------------------

    @functools.cached_property
    def _engine_cpus(self) -> int:
        """The engine's CPUs: an instance type's vCPUs beyond them become "all of them" (Docker
        refuses a quota over the machine's CPUs)."""
        return int(self._client.info().get("NCPU") or os.cpu_count() or 1)

    def _state(self, container) -> RunState:
        running = container.status == "running"
        state = container.attrs.get("State", {})
        exit_code = None if running else state.get("ExitCode")
        reason = None if running or not state.get("OOMKilled") else out_of_memory(container.attrs.get("HostConfig", {}).get("Memory"))
        return RunState(running, exit_code, self._endpoint(container, 8888) if running else None, dict(container.labels),
                        reason=reason)

    @staticmethod
    def _endpoint(container, port: int) -> Endpoint | None:
        """The container's address on its own network (the only one it joins)."""
        networks = container.attrs.get("NetworkSettings", {}).get("Networks") or {}
        wanted = container.labels.get("byoi.network")
        for name, settings in networks.items():
            if (wanted is None or name == wanted) and settings.get("IPAddress"):
                return Endpoint(settings["IPAddress"], port)
        return None

    def _remove_if_present(self, name: str) -> str | None:
        """Remove the container if there is one; the network it was on."""
        try:
            container = self._client.containers.get(name)
        except docker.errors.NotFound:
            return None
        user, home = container.attrs.get("Config", {}).get("User"), container.labels.get("byoi.home-volume")
        container.remove(force=True)
        shutil.rmtree(self._files_root / name, ignore_errors=True)
        if home and user and user.split(":")[0] in ("0", "root"):
            owner = tuple(int(n) for n in container.labels.get("byoi.home-owner", "%d:%d" % SAGEMAKER_USER).split(":"))
            self._chown_home(home, container.attrs.get("Config", {}).get("Image") or container.image.id, owner)
        return container.labels.get("byoi.network")

    def _create(self, spec: ContainerSpec, files: Path):
        """The app's container, on its network (made first), with the contract's limits."""
        return self._client.containers.create(
            image=spec.image,
            name=spec.name,
            entrypoint=spec.entrypoint,
            command=spec.command,
            environment=spec.environment,
            user=spec.user,
            labels=spec.labels,
            mounts=[self._mount(m) for m in spec.mounts] + [DockerMount(FILES_DIR, str(files), type="bind", read_only=True)],
            network=spec.network,
            networking_config={spec.network: self._client.api.create_endpoint_config(aliases=list(spec.aliases))},
            cap_drop=["ALL"],
            cap_add=list(spec.cap_add) or None,
            security_opt=["no-new-privileges"],
            sysctls={"net.ipv6.conf.all.disable_ipv6": "1"},
            pids_limit=spec.pids_limit,
            nano_cpus=int(min(spec.cpus, self._engine_cpus) * 1e9) if spec.cpus else None,
            mem_limit=spec.memory_bytes,
            memswap_limit=spec.memory_bytes,  # no swap beyond the instance's memory
            device_requests=[DeviceRequest(count=spec.gpus, capabilities=[["gpu"]])] if spec.gpus else None,
            detach=True,
        )

    def _ensure_network(self, spec: ContainerSpec) -> None:
        try:
            self._client.networks.get(spec.network)
            return
        except docker.errors.NotFound:
            pass
        labels = {MANAGED_LABEL: "true", "byoi.instance": spec.labels.get("byoi.instance", ""),
                  "byoi.domain-id": spec.labels.get("byoi.domain-id", "")}
        try:
            self._client.networks.create(
                spec.network,
                driver="bridge",
                labels=labels,
                enable_ipv6=False,
                options={"com.docker.network.bridge.name": bridge_name(spec.network),
                         "com.docker.network.bridge.enable_icc": "true"},
            )
        except docker.errors.APIError as exc:
            if exc.status_code == 409:  # made meanwhile by another byoi
                return
            if "address pool" in str(exc.explanation or exc):
                raise BackendError(
                    f"Docker has no address range left for {spec.network}: every user profile and space with a "
                    "running app has a network of its own. Delete apps no one uses, or give Docker more "
                    "ranges (default-address-pools in /etc/docker/daemon.json; see docs/runtime.md)."
                ) from None
            raise

    def _write_files(self, spec: ContainerSpec) -> Path:
        """The spec's files, in a fresh directory readable by the container's user (mounted read-only)."""
        directory = self._files_root / spec.name
        shutil.rmtree(directory, ignore_errors=True)
        directory.mkdir(parents=True, mode=0o755)
        os.chmod(directory, 0o755)
        for name, content in spec.files.items():
            path = directory / name
            path.write_text(content)
            os.chmod(path, 0o644)
        return directory

    @staticmethod
    def _mount(mount) -> DockerMount:
        if mount.kind == "volume":
            return DockerMount(mount.target, mount.source, type="volume", read_only=mount.read_only, no_copy=True)
        return DockerMount(mount.target, mount.source, type="bind", read_only=mount.read_only)

    def _bundle_dir(self) -> str:
        return self.gateway_bundle() if callable(self.gateway_bundle) else self.gateway_bundle

    def _ensure_home(self, spec: ContainerSpec) -> None:
        """Create the home volume on first use, owned by ``spec.home_owner`` whatever the app's
        user; hand a home made for another owner (the owner's CustomPosixUserConfig changed)
        to this one.

        A 0/0 app writes there as root (it keeps CAP_DAC_OVERRIDE) and its files are handed
        back when it is removed, so a later app of the owner's uid finds its whole home its own."""
        owner = "%d:%d" % spec.home_owner
        try:
            volume = self._client.volumes.get(spec.home.source)
            if (volume.attrs.get("Labels") or {}).get("byoi.owner") == owner:
                return
        except docker.errors.NotFound:
            self._client.volumes.create(spec.home.source, labels={MANAGED_LABEL: "true", "byoi.owner": owner})
        self._chown_home(spec.home.source, spec.image, spec.home_owner)

    def _chown_home(self, volume: str, image: str, owner: tuple[int, int]) -> None:
        """Hand everything in ``volume`` to ``owner`` (uid, gid), with the bundled Python (and its own C
        library) as root in a throwaway container of ``image``, without a network."""
        try:
            self._client.containers.run(
                image=image,
                entrypoint=[*loader_command(GATEWAY_MOUNT), "-c", CHOWN_HOME, *map(str, owner)],
                command=[],
                user="0:0",
                mounts=[
                    DockerMount("/home-volume", volume, type="volume", no_copy=True),
                    DockerMount(GATEWAY_MOUNT, self._bundle_dir(), type="bind", read_only=True),
                ],
                cap_drop=["ALL"],
                cap_add=["CHOWN", "DAC_OVERRIDE", "DAC_READ_SEARCH", "FOWNER"],
                security_opt=["no-new-privileges"],
                network_mode="none",
                labels={MANAGED_LABEL: "helper"},
                remove=True,
            )
        except docker.errors.DockerException as exc:
            raise BackendError(f"Could not prepare the home volume {volume}: {exc}") from None
