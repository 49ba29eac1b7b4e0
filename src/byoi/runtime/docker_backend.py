"""The Docker Engine backend: one machine, one engine.

Containers publish port 8888 on 127.0.0.1 only (byoi's gateway is the way in),
carry labels that let the reconciler find them after a restart, and get the
user's home as a named volume that outlives them. A new home volume is made
owned by the app's uid:gid by a short helper container that runs the bundled
Python as root (so it works in any glibc image), and is mounted without
Docker's copy-up, so, as on Studio's EFS, the image's own files at MountPath
are hidden rather than copied.
"""

from __future__ import annotations

import logging

import docker
import docker.errors
from docker.types import DeviceRequest
from docker.types import Mount as DockerMount

from byoi.runtime.backend import BackendError, Endpoint, RunState, RuntimeBackend
from byoi.runtime.contract import GATEWAY_MOUNT, ContainerSpec

log = logging.getLogger(__name__)

#: Studio refuses images larger than this (studio-byoi-specs: "Limited to 25 GB").
MAX_IMAGE_BYTES = 25 * 10**9
MANAGED_LABEL = "byoi.managed"

#: Run by the bundled Python as root: give the home volume (all of it, if it
#: belonged to someone else) to uid:gid.
CHOWN_HOME = """
import os, sys
uid, gid, root = int(sys.argv[1]), int(sys.argv[2]), "/home-volume"
st = os.stat(root)
if (st.st_uid, st.st_gid) != (uid, gid):
    for top, dirs, files in os.walk(root):
        for name in dirs + files:
            os.lchown(os.path.join(top, name), uid, gid)
    os.chown(root, uid, gid)
os.chmod(root, 0o755)
"""


class DockerBackend(RuntimeBackend):
    def __init__(self, client: docker.DockerClient, gateway_bundle):
        """``gateway_bundle``: the bundle directory, or a callable returning it (built on first use)."""
        self._client = client
        self.gateway_bundle = gateway_bundle

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
        try:
            self._remove_if_present(spec.name)
            self._ensure_home(spec)
            container = self._client.containers.create(
                image=spec.image,
                name=spec.name,
                entrypoint=spec.entrypoint,
                command=spec.command,
                environment=spec.environment,
                user=spec.user,
                labels=spec.labels,
                mounts=[self._mount(m) for m in spec.mounts],
                ports=None if spec.host_network else {f"{spec.port}/tcp": ("127.0.0.1", None)},
                network_mode="host" if spec.host_network else None,
                device_requests=[DeviceRequest(count=-1, capabilities=[["gpu"]])] if spec.gpus else None,
                detach=True,
            )
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
        self._remove_if_present(name)

    def logs(self, name: str, timestamps: bool = False) -> str:
        try:
            return self._client.containers.get(name).logs(timestamps=timestamps).decode(errors="replace")
        except docker.errors.NotFound:
            return ""

    def managed(self, instance_id: str) -> dict[str, RunState]:
        labels = [f"{MANAGED_LABEL}=true", f"byoi.instance={instance_id}"]
        containers = self._client.containers.list(all=True, filters={"label": labels})
        return {c.name: self._state(c) for c in containers}

    # --- helpers --------------------------------------------------------------

    def _state(self, container) -> RunState:
        running = container.status == "running"
        exit_code = None if running else container.attrs.get("State", {}).get("ExitCode")
        return RunState(running, exit_code, self._endpoint(container, 8888) if running else None, dict(container.labels))

    @staticmethod
    def _endpoint(container, port: int) -> Endpoint | None:
        if container.attrs.get("HostConfig", {}).get("NetworkMode") == "host":
            return Endpoint("127.0.0.1", int(container.labels.get("byoi.port", port)))
        bindings = (container.attrs.get("NetworkSettings", {}).get("Ports") or {}).get(f"{port}/tcp") or []
        for binding in bindings:
            if binding.get("HostPort"):
                return Endpoint(binding.get("HostIp") or "127.0.0.1", int(binding["HostPort"]))
        return None

    def _remove_if_present(self, name: str) -> None:
        try:
            self._client.containers.get(name).remove(force=True)
        except docker.errors.NotFound:
            pass

    @staticmethod
    def _mount(mount) -> DockerMount:
        if mount.kind == "volume":
            return DockerMount(mount.target, mount.source, type="volume", read_only=mount.read_only, no_copy=True)
        return DockerMount(mount.target, mount.source, type="bind", read_only=mount.read_only)

    def _bundle_dir(self) -> str:
        return self.gateway_bundle() if callable(self.gateway_bundle) else self.gateway_bundle

    def _ensure_home(self, spec: ContainerSpec) -> None:
        """Create the home volume on first use, owned by the app's uid:gid.

        Studio maps every container user onto the home's owner on EFS, so files
        made by a root app stay usable by a later uid 1000 app. Docker cannot
        map users per container, so when an app runs under another uid:gid than
        the home was made for, the helper hands the whole home to that user.
        """
        owner = f"{spec.uid}:{spec.gid}"
        try:
            volume = self._client.volumes.get(spec.home.source)
            if volume.attrs.get("Labels", {}).get("byoi.owner") == owner:
                return
        except docker.errors.NotFound:
            self._client.volumes.create(spec.home.source, labels={MANAGED_LABEL: "true", "byoi.owner": owner})
        self._client.containers.run(
            image=spec.image,
            entrypoint=[f"{GATEWAY_MOUNT}/python/bin/python3", "-c", CHOWN_HOME, str(spec.uid), str(spec.gid)],
            command=[],
            user="0:0",
            environment={"LD_LIBRARY_PATH": f"{GATEWAY_MOUNT}/lib:{GATEWAY_MOUNT}/python/lib", "PYTHONHOME": f"{GATEWAY_MOUNT}/python"},
            mounts=[
                DockerMount("/home-volume", spec.home.source, type="volume", no_copy=True),
                DockerMount(GATEWAY_MOUNT, self._bundle_dir(), type="bind", read_only=True),
            ],
            network_mode="none",
            remove=True,
        )
