"""Backends that behave one way, for the runtime's unit tests (as JupyterHub's MockSpawner and
SlowSpawner are for its spawner): each runs no container, keeps what it was asked in memory,
and decides whether its apps serve (``serves``, the settler's readiness probe in these tests).

* ``FakeBackend``: starts at once and serves at once; containers run until removed.
* ``NeverServes``: starts, runs, never answers on port 8888.
* ``ExitsAtOnce``: the container exits with code 1 as soon as it starts, having printed a line.
* ``DiesLater``: like FakeBackend until ``die(name)``; then the container has exited (137).
* ``Cluster``: starts as a cluster does, asynchronously: its containers are ``starting``
  (with the ``reason`` a test sets, e.g. Unschedulable) until ``run(name)``; ``cannot_start``
  ends the wait with a reason (ImagePullBackOff), ``die`` can give one (OOMKilled).
* ``AnswersTogether(n)``: like FakeBackend, but a state query (a cluster API server's GET)
  answers only once ``n`` are waiting at once, or after a while (waiting on a condition);
  ``most_at_once`` is the most that were ever in flight together.

Each backend's containers print what ``write(name, line)`` adds to ``output``; the
n-th line of a container is stamped ``2026-01-01T00:00:00.<n>Z``, so every read agrees.
"""

from __future__ import annotations

import threading

from byoi.runtime.backend import Endpoint, RunState, RuntimeBackend

ENDPOINT = Endpoint("10.0.0.2", 8888)


class FakeBackend(RuntimeBackend):
    """Starts at once and serves at once. ``started`` holds the specs it was given, ``removed``
    and ``stopped`` the names it was asked to remove and stop."""

    serving = True

    def __init__(self):
        self.started = []
        self.running: set[str] = set()
        self.exited: dict[str, int] = {}
        self.output: dict[str, str] = {}
        self.stopped: list[str] = []
        self.removed: list[str] = []
        self.pruned = 0
        self.instances: dict[str, str] = {}  # container -> the byoi instance that started it
        self._changed = threading.Condition()

    def start(self, spec):
        self.started.append(spec)
        self.instances[spec.name] = spec.labels.get("byoi.instance", "default")
        self.exited.pop(spec.name, None)
        self.running.add(spec.name)
        return ENDPOINT

    def state(self, name):
        if name in self.running:
            return RunState(True, endpoint=ENDPOINT)
        if name in self.exited:
            return RunState(False, exit_code=self.exited[name])
        return None

    def stop(self, name, timeout=10):
        self.stopped.append(name)
        if name in self.running:
            self.running.discard(name)
            self.exited[name] = 0
        self._notify()

    def remove(self, name):
        self.running.discard(name)
        self.exited.pop(name, None)
        self.output.pop(name, None)  # a removed container's output is gone, as on a real engine
        self.removed.append(name)
        self._notify()

    def write(self, name: str, line: str) -> None:
        """The container prints ``line``."""
        self.output[name] = self.output.get(name, "") + line + "\n"
        self._notify()

    def logs(self, name, timestamps=False):
        text = self.output.get(name, "")
        return "".join(f"{line}\n" for line in self._stamped(name)) if timestamps else text

    def follow_logs(self, name, since_ns=0):
        sent = 0
        while True:
            with self._changed:
                lines = self._stamped(name)
                while len(lines) == sent and name in self.running:
                    self._changed.wait()
                    lines = self._stamped(name)
            yield from lines[sent:]
            sent = len(lines)
            if name not in self.running:
                return

    def _stamped(self, name: str) -> list[str]:
        return [f"2026-01-01T00:00:00.{n + 1:09d}Z {line}" for n, line in enumerate(self.output.get(name, "").splitlines())]

    def _notify(self) -> None:
        with self._changed:
            self._changed.notify_all()

    def managed(self, instance_id):
        return {name: self.state(name) for name in (*self.running, *self.exited)
                if self.instances.get(name, instance_id) == instance_id}

    def prune(self, instance_id):
        self.pruned += 1

    def serves(self, url: str, headers: dict | None = None) -> bool:
        """The readiness probe: whether a running container answers at ``url``."""
        return self.serving and url.startswith(ENDPOINT.url) and bool(self.running)


class NeverServes(FakeBackend):
    serving = False


class ExitsAtOnce(FakeBackend):
    def start(self, spec):
        super().start(spec)
        self.running.discard(spec.name)
        self.exited[spec.name] = 1
        self.output[spec.name] = "jupyter: command not found"
        return ENDPOINT


class DiesLater(FakeBackend):
    def die(self, name: str, code: int = 137, output: str = "Killed") -> None:
        self.running.discard(name)
        self.exited[name] = code
        self.output[name] = output
        self._notify()


class Cluster(DiesLater):
    def __init__(self):
        super().__init__()
        self.waiting: dict[str, str | None] = {}  # starting containers -> why they wait (None: no reason given)
        self.reasons: dict[str, str] = {}  # why a container is not running

    def start(self, spec):
        super().start(spec)
        self.running.discard(spec.name)
        self.waiting[spec.name] = None
        return ENDPOINT

    def run(self, name: str) -> None:
        self.waiting.pop(name)
        self.running.add(name)

    def cannot_start(self, name: str, reason: str) -> None:
        self.waiting.pop(name)
        self.reasons[name] = reason

    def die(self, name: str, code: int = 137, output: str = "Killed", reason: str | None = None) -> None:
        if reason:
            self.reasons[name] = reason
        super().die(name, code, output)

    def state(self, name):
        if name in self.waiting:
            return RunState(False, starting=True, reason=self.waiting[name])
        state = super().state(name)
        if name in self.reasons:
            return RunState(False, exit_code=state.exit_code if state else None, reason=self.reasons[name])
        return state

    def remove(self, name):
        self.waiting.pop(name, None)
        self.reasons.pop(name, None)
        super().remove(name)


class AnswersTogether(FakeBackend):
    def __init__(self, together: int, patience: float = 10.0):
        super().__init__()
        self.together = together
        self.patience = patience  # seconds a lone query waits for company before it answers anyway
        self.in_flight = 0
        self.most_at_once = 0
        self.queries = 0
        self._company = threading.Condition()

    def state(self, name):
        with self._company:
            self.queries += 1
            self.in_flight += 1
            self.most_at_once = max(self.most_at_once, self.in_flight)
            self._company.notify_all()
            self._company.wait_for(lambda: self.most_at_once >= self.together, timeout=self.patience)
            self.in_flight -= 1
        return super().state(name)
