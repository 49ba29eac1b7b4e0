"""What a runtime backend must do, in the style of JupyterHub's Spawner contract.

A backend runs ``ContainerSpec``s (byoi.runtime.contract) and answers for them
by container name. All methods block; callers run them off the event loop.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass, field

from byoi.runtime.contract import ContainerSpec


def out_of_memory(memory_bytes: int | None) -> str:
    """The FailureReason of a container killed for using more memory than its limit."""
    limit = f" of {memory_bytes / 2**30:g} GiB" if memory_bytes else ""
    return (f"The app ran out of memory (OOMKilled): it used more than its instance type's memory{limit}. "
            "Choose an instance type with more memory (ResourceSpec.InstanceType), or use less.")


class BackendError(Exception):
    """The backend could not do what was asked; the message is a FailureReason."""


@dataclass(frozen=True)
class Endpoint:
    """Where byoi reaches the app's port 8888."""

    host: str
    port: int

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"


@dataclass(frozen=True)
class RunState:
    """``running``: the container is up. ``exit_code`` is set once it has exited.

    ``starting``: not running yet but on its way (a cluster pulling the image or scheduling
    the pod); a backend that starts containers synchronously never says so. ``reason``: why
    the container is not running, or not yet (ImagePullBackOff, OOMKilled, Unschedulable),
    as a FailureReason a user can act on; None when there is nothing more to say than the
    exit code and the output."""

    running: bool
    exit_code: int | None = None
    endpoint: Endpoint | None = None
    labels: dict[str, str] = field(default_factory=dict)
    starting: bool = False
    reason: str | None = None


class RuntimeBackend(ABC):
    @abstractmethod
    def start(self, spec: ContainerSpec) -> Endpoint:
        """Create and start the container; return where byoi reaches its port 8888 (a backend
        whose containers start asynchronously returns an address that will serve, and its
        ``state`` says ``starting`` until the container runs).

        Joins only ``spec.network`` (made on first use, private to the app's owner; no port
        published on the host), under ``spec.aliases``. Prepares the home volume (created
        once, owned by 1000:100, kept across apps) and puts ``spec.files`` read-only at
        /opt/ml/metadata. If a container of that name exists it is replaced.
        Raises BackendError (image missing, over the size limit, engine refused).
        """

    @abstractmethod
    def state(self, name: str) -> RunState | None:
        """The container's state, or None if no such container exists (never started, or removed)."""

    @abstractmethod
    def stop(self, name: str, timeout: float = 10) -> None:
        """Stop like ``docker stop``: SIGTERM to the main process, SIGKILL after ``timeout``.
        The container stays (its logs and exit code remain readable) until ``remove``.
        A missing or already stopped container is not an error."""

    @abstractmethod
    def remove(self, name: str) -> None:
        """Remove the container (stopping it first if needed); the home volume stays.
        A missing container is not an error."""

    @abstractmethod
    def logs(self, name: str, timestamps: bool = False) -> str:
        """Everything the container wrote to stdout/stderr so far ('' if none or gone);
        with ``timestamps``, each line starts with its RFC 3339 time and a space."""

    @abstractmethod
    def follow_logs(self, name: str, since_ns: int = 0) -> Iterator[str]:
        """The container's output as it is written, one line at a time (no newline), each
        starting with its RFC 3339 time and a space, from ``since_ns`` (nanoseconds since
        the epoch; lines at or before it may be repeated, callers skip them). Ends when the
        container stops or is removed; a missing container yields nothing."""

    @abstractmethod
    def managed(self, instance_id: str) -> dict[str, RunState]:
        """Every container this byoi instance started (found by label), by name, running or not."""

    @abstractmethod
    def prune(self, instance_id: str) -> None:
        """Release what this byoi instance made for containers that are gone (owners' networks
        no container uses). Called by the reconciler after it removed orphans; must tolerate
        a resource that is in use again or already gone."""
