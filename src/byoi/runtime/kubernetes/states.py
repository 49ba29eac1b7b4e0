"""Pure: a Pod as the API returns it (a dict) -> the RunState of its app container, with a
FailureReason a user can act on where Kubernetes says why the app is not running.

* Pending, being scheduled or pulling: ``starting`` (the settler waits, up to the start
  timeout); Unschedulable says why the scheduler cannot place it, and the settler fails the
  app with that if it never runs.
* An image that cannot be pulled (ImagePullBackOff, InvalidImageName) or a container that
  cannot be created: not starting any more, with the reason (the settler fails the app).
* Running: ``running``, at the pod's address, port 8888.
* Terminated (the app exited, was stopped, or killed): its exit code; OOMKilled, evicted
  and lost nodes say so.
"""

from __future__ import annotations

from byoi.runtime.backend import Endpoint, RunState, out_of_memory
from byoi.runtime.contract import APP_PORT
from byoi.runtime.kubernetes.manifests import APP_CONTAINER, GATEWAY_CONTAINER

#: Waiting reasons after which the container will not start without a change by the user.
IMAGE_FAILURES = {"ImagePullBackOff", "InvalidImageName", "ErrImageNeverPull", "RegistryUnavailable"}
CREATE_FAILURES = {"CreateContainerConfigError", "CreateContainerError", "RunContainerError"}


def _status(statuses: list[dict] | None, name: str) -> dict:
    return next((s for s in statuses or [] if s.get("name") == name), {})


def _memory_limit(pod: dict) -> int | None:
    for container in (pod.get("spec") or {}).get("containers") or []:
        if container.get("name") == APP_CONTAINER:
            return quantity_bytes(((container.get("resources") or {}).get("limits") or {}).get("memory"))
    return None


_SUFFIXES = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12, "": 1}


def quantity_bytes(quantity) -> int | None:
    """A memory quantity as the API writes it back (``2Gi``, ``2147483648``, ``500M``) in bytes."""
    text = str(quantity or "")
    for suffix in sorted(_SUFFIXES, key=len, reverse=True):
        number = text.removesuffix(suffix) if suffix else text
        if (not suffix or text.endswith(suffix)) and number.isdigit():
            return int(number) * _SUFFIXES[suffix]
    return None


def _image(pod: dict) -> str:
    containers = (pod.get("spec") or {}).get("containers") or [{}]
    return containers[0].get("image", "")


def pod_state(pod: dict) -> RunState:
    metadata, status = pod.get("metadata") or {}, pod.get("status") or {}
    annotations = {k: v for k, v in (metadata.get("annotations") or {}).items() if k.startswith("byoi.")}
    phase = status.get("phase") or "Pending"
    app = _status(status.get("containerStatuses"), APP_CONTAINER).get("state") or {}
    if "running" in app and not metadata.get("deletionTimestamp"):
        ip = status.get("podIP")
        return RunState(True, endpoint=Endpoint(ip, APP_PORT) if ip else None, labels=annotations)
    if "terminated" in app:
        ended = app["terminated"]
        reason = out_of_memory(_memory_limit(pod)) if ended.get("reason") == "OOMKilled" else _pod_reason(status)
        return RunState(False, exit_code=ended.get("exitCode"), labels=annotations, reason=reason)
    if phase in ("Failed", "Succeeded", "Unknown") or metadata.get("deletionTimestamp"):
        return RunState(False, labels=annotations, reason=_pod_reason(status))
    # Pending: scheduling, pulling, copying byoi's gateway.
    gateway = _status(status.get("initContainerStatuses"), GATEWAY_CONTAINER).get("state") or {}
    copied = gateway.get("terminated")
    if copied and copied.get("exitCode"):
        return RunState(
            False,
            labels=annotations,
            reason=(
                f"byoi's gateway could not be copied into the app's pod (init container {GATEWAY_CONTAINER} exited with "
                f"code {copied.get('exitCode')}: {copied.get('message') or copied.get('reason') or 'no message'}). "
                "Check BYOI_KUBERNETES_GATEWAY_IMAGE."
            ),
        )
    for name, waiting in ((GATEWAY_CONTAINER, (gateway.get("waiting") or {})), (APP_CONTAINER, app.get("waiting") or {})):
        reason, message = waiting.get("reason"), waiting.get("message") or ""
        if reason in IMAGE_FAILURES:
            image = _image(pod) if name == APP_CONTAINER else "byoi's gateway image"
            return RunState(
                False,
                labels=annotations,
                reason=(
                    f"The image {image} could not be pulled ({reason}): {message or 'no message'}. Check that the "
                    "image URI exists and that the cluster may pull it (BYOI_KUBERNETES_IMAGE_PULL_SECRETS)."
                ),
            )
        if reason in CREATE_FAILURES:
            return RunState(
                False, labels=annotations, reason=f"Kubernetes could not create the app's container ({reason}): {message}"
            )
        if reason == "ErrImagePull":  # the first failure; Kubernetes retries once before backing off
            return RunState(
                False, starting=True, labels=annotations, reason=f"The image could not be pulled yet (ErrImagePull): {message}"
            )
    for condition in status.get("conditions") or []:
        if (
            condition.get("type") == "PodScheduled"
            and condition.get("status") == "False"
            and condition.get("reason") == "Unschedulable"
        ):
            return RunState(
                False,
                starting=True,
                labels=annotations,
                reason=(
                    f"Kubernetes cannot place the app's pod on any node (Unschedulable): {condition.get('message') or 'no message'}. "
                    "Choose a smaller instance type, or give the cluster nodes that fit it (BYOI_KUBERNETES_NODE_SELECTOR, "
                    "BYOI_KUBERNETES_TOLERATIONS)."
                ),
            )
    return RunState(False, starting=True, labels=annotations)


def _pod_reason(status: dict) -> str | None:
    reason, message = status.get("reason"), status.get("message") or ""
    if reason == "Evicted":
        return f"Kubernetes evicted the app's pod from its node: {message}"
    if reason == "NodeLost" or status.get("phase") == "Unknown":
        return f"The node running the app's pod stopped answering: {message or 'no message'}"
    return None
