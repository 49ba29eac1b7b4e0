"""The Kubernetes backend: each app a Pod in one namespace (effects only; the objects come from
``manifests``, their states from ``states``).

It talks to the API server with lightkube's synchronous client: the RuntimeBackend contract
is blocking (the settler calls it from its worker thread), and a sync client needs no event
loop per call or thread, as kubernetes_asyncio would.

* ``start``: an app with a lifecycle script runs it in front of its command, as on Docker
  (``contract.with_lifecycle``); where the AppImageConfig gives no ContainerEntrypoint, that
  command is the image's ENTRYPOINT and CMD, which ``image_command`` reads from the registry
  (the wiring's callable; once per digest, which never changes). Then a pod of that name is
  deleted (and waited for); then the owner's home
  (PersistentVolumeClaim, made once; asked to grow when the space's EBS size grew), the pod,
  its NetworkPolicy and its files Secret
  (both owned by the pod), and the owner's headless Service (owned by every pod of the
  owner; a get and a replace at the resourceVersion read, again on a 409 conflict). The pod's
  containers cannot start before the Secret exists (the kubelet waits for its volumes), so
  its NetworkPolicy is in place first. Returns the app's stable name on its owner's Service;
  ``state`` says ``starting`` until the pod runs, then gives its address.
* ``stop``: sets the pod's ``activeDeadlineSeconds``, so the kubelet stops it as
  ``docker stop`` does (SIGTERM, SIGKILL after the pod's grace period, 10 s) and keeps it,
  its exit code and its logs until ``remove``; waits until the container has ended.
* ``remove``: deletes the pod at once; Kubernetes' garbage collector deletes what it owns.
* ``managed``/``prune``: pods found by label; ``prune`` deletes labelled Secrets,
  NetworkPolicies and Services none of whose owner pods exists (if the collector lags).
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator

import httpx2
from lightkube import ApiError, Client, codecs
from lightkube.resources.core_v1 import PersistentVolumeClaim, Pod, Secret, Service
from lightkube.resources.networking_v1 import NetworkPolicy

from byoi.runtime.backend import BackendError, Endpoint, RunState, RuntimeBackend
from byoi.runtime.contract import ContainerSpec, ContractError, with_lifecycle
from byoi.runtime.kubernetes import manifests
from byoi.runtime.kubernetes.manifests import APP_CONTAINER, INSTANCE, MANAGED, ClusterSide
from byoi.runtime.kubernetes.states import pod_state

log = logging.getLogger(__name__)

#: How long ``start`` waits for a pod it replaces to be gone, and ``stop`` beyond the grace period.
WAIT_SECONDS = 60
CONFLICT_RETRIES = 10
#: How many images' ENTRYPOINT and CMD are remembered (by digest-pinned reference).
IMAGE_COMMANDS_KEPT = 1024

#: An image reference -> its (ENTRYPOINT, CMD), None where unset; raises BackendError saying why not.
ImageCommand = Callable[[str], tuple[list[str] | None, list[str] | None]]


def _code(exc: ApiError) -> int:
    return exc.status.code or exc.response.status_code


class KubernetesBackend(RuntimeBackend):
    def __init__(
        self,
        client: Client,
        cluster: ClusterSide,
        streams: Callable[[], Client] | None = None,
        image_command: ImageCommand | None = None,
    ):
        """``streams``: makes a client of its own for each log stream followed, so that open streams
        (one per running app) never take the shared client's connections (httpx pools 100);
        None: the shared client (fine for a few apps). ``image_command``: reads an image's
        ENTRYPOINT and CMD (from its registry), for lifecycle scripts in front of them; None:
        such apps need ContainerEntrypoint."""
        self._client = client
        self._streams = streams
        self._image_command = image_command
        self._image_commands: OrderedDict[str, tuple[list[str] | None, list[str] | None]] = OrderedDict()
        self._image_commands_lock = threading.Lock()
        self.cluster = cluster
        self._ns = cluster.namespace

    # --- the contract ---------------------------------------------------------

    def start(self, spec: ContainerSpec) -> Endpoint:
        if spec.lifecycle is not None:
            # The image's own ENTRYPOINT (and CMD) only matter where the spec keeps them.
            entrypoint, cmd = self._image_argv(spec.image) if spec.entrypoint is None else (None, None)
            try:
                spec = with_lifecycle(spec, entrypoint, cmd)
            except ContractError as exc:
                raise BackendError(str(exc)) from None
        try:
            self._delete_pod_and_wait(spec.name)
            self._create_if_missing(manifests.home_claim(spec, self.cluster))
            self._grow_home(spec)
            created = self._client.create(codecs.from_dict(manifests.pod(spec, self.cluster))).to_dict()
            owner = manifests.owner_reference(created)
            for owned in (manifests.network_policy(spec, self.cluster), manifests.files_secret(spec, self.cluster)):
                owned["metadata"]["ownerReferences"] = [owner]
                self._create_or_replace(owned)
            self._join_owner_service(spec, owner)
        except ApiError as exc:
            self._forget(spec.name)  # never leave a pod that will not start
            raise BackendError(f"Kubernetes could not start the app: {exc.status.message or exc}") from None
        except httpx2.HTTPError as exc:
            raise BackendError(f"The Kubernetes API server did not answer: {exc}") from None
        return Endpoint(manifests.endpoint_host(spec, self.cluster), spec.port)

    def state(self, name: str) -> RunState | None:
        pod = self._pod(name)
        return None if pod is None else pod_state(pod)

    def stop(self, name: str, timeout: float = 10) -> None:
        """The grace period is the pod's (``manifests.GRACE_SECONDS``): Kubernetes fixes it when
        the pod is made, so ``timeout`` only bounds the wait beyond it."""
        try:
            self._client.patch(Pod, name, {"spec": {"activeDeadlineSeconds": 1}}, namespace=self._ns)
        except ApiError as exc:
            if _code(exc) == 404:
                return
            raise
        self._wait(
            name, lambda pod: pod is None or not pod_state(pod).running, manifests.GRACE_SECONDS + max(timeout, 0) + WAIT_SECONDS
        )

    def remove(self, name: str) -> None:
        self._forget(name)

    def logs(self, name: str, timestamps: bool = False) -> str:
        try:
            return "".join(self._client.log(name, namespace=self._ns, container=APP_CONTAINER, timestamps=timestamps))
        except (ApiError, httpx2.HTTPError):  # gone, or not started yet
            return ""

    def follow_logs(self, name: str, since_ns: int = 0) -> Iterator[str]:
        started = self._wait(name, lambda pod: pod is None or not pod_state(pod).starting, None)
        if started is None:
            return
        since = max(1, math.ceil(time.time() - since_ns / 1e9) + 1) if since_ns else None
        client = self._streams() if self._streams else self._client
        try:
            for line in client.log(
                name, namespace=self._ns, container=APP_CONTAINER, follow=True, timestamps=True, since=since, newlines=False
            ):
                yield line
        except (ApiError, httpx2.HTTPError):
            return  # the pod went away mid-stream
        finally:
            if client is not self._client:
                client.close()

    def managed(self, instance_id: str) -> dict[str, RunState]:
        pods = self._client.list(Pod, namespace=self._ns, labels={MANAGED: "true", INSTANCE: instance_id})
        return {pod.metadata.name: pod_state(pod.to_dict()) for pod in pods}

    def prune(self, instance_id: str) -> None:
        """Delete the Secrets, NetworkPolicies and Services that no pod owns any more.

        They are listed *before* the pods: each is made after the pod that owns it, so the pods
        read afterwards include every owner of what was listed, even of an app another replica
        started in between (listing the pods first removed such an app's files, and its pod
        never ran). One that changed since it was listed (remade for a new pod of the same name,
        or joined by one) is left for the next prune."""
        selector = {MANAGED: "true", INSTANCE: instance_id}
        owned = [
            (kind, obj)
            for kind in (Secret, NetworkPolicy, Service)
            for obj in self._client.list(kind, namespace=self._ns, labels=selector)
        ]
        pods = {pod.metadata.uid for pod in self._client.list(Pod, namespace=self._ns, labels=selector)}
        for kind, obj in owned:
            if any(ref.uid in pods for ref in obj.metadata.ownerReferences or []):
                continue
            try:
                current = self._client.get(kind, obj.metadata.name, namespace=self._ns)
                if current.metadata.resourceVersion != obj.metadata.resourceVersion:
                    continue
                self._client.delete(kind, obj.metadata.name, namespace=self._ns)
            except ApiError as exc:  # gone already
                log.debug("keeping %s %s: %s", kind.__name__, obj.metadata.name, exc)

    # --- helpers --------------------------------------------------------------

    def _image_argv(self, image: str) -> tuple[list[str] | None, list[str] | None]:
        """The image's ENTRYPOINT and CMD, remembered for a digest-pinned reference (what
        CreateImageVersion records on a cluster): the image a digest names never changes."""
        if self._image_command is None:
            raise BackendError(
                f"This byoi cannot read the ENTRYPOINT of the image {image}, so an app with a lifecycle configuration "
                "needs ContainerConfig.ContainerEntrypoint in its AppImageConfig (UpdateAppImageConfig)."
            )
        pinned = "@sha256:" in image or "@sha512:" in image
        with self._image_commands_lock:
            if pinned and image in self._image_commands:
                self._image_commands.move_to_end(image)
                return self._image_commands[image]
        found = self._image_command(image)  # outside the lock: a registry answers slowly
        if pinned:
            with self._image_commands_lock:
                self._image_commands[image] = found
                while len(self._image_commands) > IMAGE_COMMANDS_KEPT:
                    self._image_commands.popitem(last=False)
        return found

    def _pod(self, name: str) -> dict | None:
        try:
            return self._client.get(Pod, name, namespace=self._ns).to_dict()
        except ApiError as exc:
            if _code(exc) == 404:
                return None
            raise

    def _wait(self, name: str, done, timeout: float | None) -> dict | None:
        """Watch the pod until ``done(pod or None)``; the pod then (None if gone or out of time)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            try:
                pod = self._client.get(Pod, name, namespace=self._ns)
            except ApiError as exc:
                if _code(exc) == 404:
                    return None
                raise
            if done(pod.to_dict()):
                return pod.to_dict()
            left = 30 if deadline is None else deadline - time.monotonic()
            if left <= 0:
                return None
            try:
                for kind, changed in self._client.watch(
                    Pod,
                    namespace=self._ns,
                    fields={"metadata.name": name},
                    resource_version=pod.metadata.resourceVersion,
                    server_timeout=max(1, min(30, math.ceil(left))),
                ):
                    if kind == "DELETED":
                        return None
                    if done(changed.to_dict()):
                        return changed.to_dict()
            except ApiError as exc:
                if _code(exc) != 410:  # 410 Gone: the version is too old; read again
                    raise

    def _delete_pod_and_wait(self, name: str) -> None:
        if self._delete(Pod, name, grace_period=0):
            self._wait(name, lambda pod: pod is None, WAIT_SECONDS)

    def _forget(self, name: str) -> None:
        """Delete the pod at once (its NetworkPolicy, Secret and Service share go with it)."""
        self._delete(Pod, name, grace_period=0)

    def _delete(self, kind, name: str, grace_period: int | None = None) -> bool:
        try:
            self._client.delete(kind, name, namespace=self._ns, grace_period=grace_period)
            return True
        except ApiError as exc:
            if _code(exc) == 404:
                return False
            raise

    def _create_if_missing(self, manifest: dict) -> None:
        try:
            self._client.create(codecs.from_dict(manifest))
        except ApiError as exc:
            if _code(exc) != 409:
                raise

    def _grow_home(self, spec: ContainerSpec) -> None:
        """Ask for a larger home when the space's EBS size grew since its claim was made (AWS grows
        the volume when the space's app next starts). A cluster whose StorageClass cannot expand
        volumes refuses; the app then starts on the home as it is, and the refusal is logged."""
        if not spec.home_size_gib:
            return
        claim = self._client.get(PersistentVolumeClaim, spec.home.source, namespace=self._ns).to_dict()
        asked = (((claim.get("spec") or {}).get("resources") or {}).get("requests") or {}).get("storage", "")
        if asked.endswith("Gi") and asked[:-2].isdigit() and int(asked[:-2]) >= spec.home_size_gib:
            return
        try:
            grown = {"spec": {"resources": {"requests": {"storage": f"{spec.home_size_gib}Gi"}}}}
            self._client.patch(PersistentVolumeClaim, spec.home.source, grown, namespace=self._ns)
        except ApiError as exc:
            log.warning(
                "home %s stays %s: the cluster refused to grow it to %sGi: %s",
                spec.home.source,
                asked,
                spec.home_size_gib,
                exc.status.message or exc,
            )

    def _create_or_replace(self, manifest: dict) -> None:
        """Create it; one left by an earlier pod of the same name (not yet collected) is replaced."""
        obj = codecs.from_dict(manifest)
        try:
            self._client.create(obj)
        except ApiError as exc:
            if _code(exc) != 409:
                raise
            self._client.replace(obj)

    def _join_owner_service(self, spec: ContainerSpec, owner: dict) -> None:
        """Make the owner's Service, or add this pod to its owners (compare-and-set on its resourceVersion)."""
        manifest = manifests.owner_service(spec, self.cluster)
        for _ in range(CONFLICT_RETRIES):
            try:
                current = self._client.get(Service, spec.network, namespace=self._ns).to_dict()
            except ApiError as exc:
                if _code(exc) != 404:
                    raise
                manifest["metadata"]["ownerReferences"] = [owner]
                try:
                    self._client.create(codecs.from_dict(manifest))
                    return
                except ApiError as exc:
                    if _code(exc) == 409:  # made meanwhile
                        continue
                    raise
            owners = [ref for ref in current["metadata"].get("ownerReferences") or [] if ref["uid"] != owner["uid"]]
            current["metadata"]["ownerReferences"] = [*owners, owner]
            try:
                self._client.replace(codecs.from_dict(current))
                return
            except ApiError as exc:
                if _code(exc) not in (404, 409):  # changed or collected meanwhile: read again
                    raise
        raise BackendError(f"The Service {spec.network} kept changing; try again.")
