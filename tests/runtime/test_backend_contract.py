"""The RuntimeBackend contract (byoi.runtime.backend), one suite for every backend:

* ``fake``: tests/runtime/fakes.FakeBackend, the backend the settler's unit tests use;
* ``kubernetes-fake-api``: the Kubernetes backend on tests/runtime/kubernetes/fake_api (a real
  HTTP API server on loopback with a fake kubelet);
* ``docker``: the Docker backend on the machine's engine, running the offline-built ``sample``
  image (marked ``docker``: ``pytest -m docker tests/runtime/test_backend_contract.py``);
* ``kubernetes-cluster``: the Kubernetes backend on a real cluster, when
  ``BYOI_TEST_KUBECONFIG`` names a kubeconfig (namespace ``BYOI_TEST_KUBE_NAMESPACE``, default
  ``byoi-test``, which must exist; image ``BYOI_TEST_KUBE_IMAGE``, default
  ``python:3.12-slim``, which the cluster must be able to pull). Not collected otherwise.

Each container runs one small Python program: it prints the lines it is given, then exits
with the code it is given, or runs until SIGTERM. The fakes run no program, so their harness
plays it (writes the lines, ends the container) right after ``start``.
"""

from __future__ import annotations

import json
import os
import re
import threading
import time
import uuid
from pathlib import Path

import pytest

from byoi.runtime.backend import RuntimeBackend
from byoi.runtime.contract import AppIdentity, ContainerSpec, HostSide, container_spec

PROGRAM = """
import json, signal, sys, time
signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
for line in json.loads(sys.argv[1]):
    print(line, flush=True)
if sys.argv[2] != "run":
    sys.exit(int(sys.argv[2]))
while True:
    time.sleep(3600)
"""
STAMPED = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z (.*)$")


def eventually(condition, what: str, timeout: float = 60):
    deadline = time.monotonic() + timeout
    while not (result := condition()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)
    return result


class Harness:
    """A backend, and how to run the program on it."""

    image = "python3-image"
    plays_program = False  # whether the harness, not a container, plays the program

    def __init__(self, backend: RuntimeBackend, instance: str):
        self.backend = backend
        self.instance = instance
        self.started: list[ContainerSpec] = []

    def spec(self, lines: list[str], exit_code: int | None = None, instance: str | None = None) -> ContainerSpec:
        """A JupyterLab app's container whose entrypoint is the program."""
        app_id = uuid.uuid4().int % 10**9
        owner = f"o{uuid.uuid4().hex[:6]}"
        app = AppIdentity(
            "JupyterLab",
            f"a{app_id}",
            f"arn:aws:sagemaker:us-east-1:123456789012:app/d-contract/{owner}/jupyterlab/a",
            "d-contract",
            space_name=owner,
            app_id=app_id,
        )
        instance = instance or self.instance
        host = HostSide(
            "/nonexistent-bundle",
            f"byoi-home-d-contract-{app_id}",
            f"byoi-{instance}-net-d-contract-{app_id}",
            instance_id=instance,
        )
        argv = ["python3", "-c", PROGRAM, json.dumps(lines), "run" if exit_code is None else str(exit_code)]
        spec = container_spec(app, self.image, {"ContainerConfig": {"ContainerEntrypoint": argv}}, host)
        return spec

    def start(self, spec: ContainerSpec):
        self.started.append(spec)
        endpoint = self.backend.start(spec)
        if self.plays_program:
            lines, code = json.loads(spec.entrypoint[3]), spec.entrypoint[4]
            for line in lines:
                self.write(spec.name, line)
            if code != "run":
                self.exit(spec.name, int(code))
        return endpoint

    def write(self, name: str, line: str) -> None:
        raise NotImplementedError

    def exit(self, name: str, code: int) -> None:
        raise NotImplementedError

    def close(self) -> None:
        for spec in self.started:
            self.backend.remove(spec.name)
        self.backend.prune(self.instance)


class FakeHarness(Harness):
    plays_program = True

    def __init__(self, instance):
        from tests.runtime.fakes import FakeBackend

        super().__init__(FakeBackend(), instance)

    def write(self, name, line):
        self.backend.write(name, line)

    def exit(self, name, code):
        self.backend.running.discard(name)
        self.backend.exited[name] = code


class FakeApiHarness(Harness):
    plays_program = True

    def __init__(self, instance):
        from byoi.runtime.kubernetes.backend import KubernetesBackend
        from byoi.runtime.kubernetes.manifests import ClusterSide
        from tests.runtime.kubernetes.fake_api import FakeKubernetes

        self.api = FakeKubernetes().__enter__()
        super().__init__(
            KubernetesBackend(self.api.client(), ClusterSide("byoi-apps", "byoi-gateway:test"), streams=self.api.client), instance
        )

    def write(self, name, line):
        self.api.write(name, line)

    def exit(self, name, code):
        self.api.exit(name, code)

    def close(self):
        super().close()
        self.api.__exit__(None, None, None)


class DockerHarness(Harness):
    def __init__(self, instance, image, bundle):
        import docker

        from byoi.runtime.docker_backend import DockerBackend

        self.client = docker.from_env()
        self.image = image
        import tempfile

        super().__init__(DockerBackend(self.client, bundle, tempfile.mkdtemp(prefix="byoi-contract-")), instance)

    def close(self):
        import docker

        super().close()
        for spec in self.started:
            try:
                self.client.volumes.get(spec.home.source).remove(force=True)
            except docker.errors.NotFound:
                pass


class ClusterHarness(Harness):
    def __init__(self, instance, kubeconfig: str):
        from lightkube import Client
        from lightkube.config.kubeconfig import KubeConfig

        from byoi.runtime.kubernetes.backend import KubernetesBackend
        from byoi.runtime.kubernetes.manifests import ClusterSide

        namespace = os.environ.get("BYOI_TEST_KUBE_NAMESPACE", "byoi-test")
        self.image = os.environ.get("BYOI_TEST_KUBE_IMAGE", "python:3.12-slim")
        self.client = Client(KubeConfig.from_file(kubeconfig), namespace=namespace, field_manager="byoi-tests")
        super().__init__(KubernetesBackend(self.client, ClusterSide(namespace, "unused-by-jupyterlab-apps")), instance)

    def close(self):
        from lightkube.resources.core_v1 import PersistentVolumeClaim

        super().close()
        for spec in self.started:
            try:
                self.client.delete(PersistentVolumeClaim, spec.home.source)
            except Exception:  # noqa: BLE001 - already gone
                pass


BACKENDS = [
    "fake",
    "kubernetes-fake-api",
    pytest.param("docker", marks=pytest.mark.docker),
    *(["kubernetes-cluster"] if os.environ.get("BYOI_TEST_KUBECONFIG") else []),
]


@pytest.fixture(params=BACKENDS)
def harness(request):
    instance = f"c{uuid.uuid4().hex[:8]}"
    if request.param == "fake":
        made = FakeHarness(instance)
    elif request.param == "kubernetes-fake-api":
        made = FakeApiHarness(instance)
    elif request.param == "docker":
        made = DockerHarness(
            instance, request.getfixturevalue("test_images")["sample"], request.getfixturevalue("gateway_bundle")
        )
    else:
        made = ClusterHarness(instance, str(Path(os.environ["BYOI_TEST_KUBECONFIG"]).expanduser()))
    yield made
    made.close()


def running(harness: Harness, name: str):
    """The state once the container runs (a cluster first pulls and schedules)."""
    return eventually(lambda: (s := harness.backend.state(name)) is not None and s.running and s, f"{name} to run", 300)


def ended(harness: Harness, name: str):
    def done():
        state = harness.backend.state(name)
        return state is not None and not state.running and not state.starting and state

    return eventually(done, f"{name} to end", 300)


def test_a_started_container_runs_on_port_8888_and_its_output_can_be_read(harness):
    spec = harness.spec(["hello", "world"])
    endpoint = harness.start(spec)
    assert endpoint.port == 8888 and endpoint.host
    state = running(harness, spec.name)
    assert state.endpoint is not None and state.endpoint.port == 8888
    eventually(lambda: harness.backend.logs(spec.name) == "hello\nworld\n", "both lines")
    stamped = harness.backend.logs(spec.name, timestamps=True).splitlines()
    assert [STAMPED.match(line).group(2) for line in stamped] == ["hello", "world"]


def test_stop_ends_the_container_and_keeps_it_with_its_output_until_it_is_removed(harness):
    spec = harness.spec(["kept"])
    harness.start(spec)
    running(harness, spec.name)
    eventually(lambda: harness.backend.logs(spec.name) == "kept\n", "the line")
    harness.backend.stop(spec.name)
    state = harness.backend.state(spec.name)
    assert state is not None and not state.running and state.exit_code is not None
    assert harness.backend.logs(spec.name) == "kept\n"
    assert spec.name in harness.backend.managed(harness.instance)
    harness.backend.stop(spec.name)  # stopping again is no error
    harness.backend.remove(spec.name)
    assert harness.backend.state(spec.name) is None
    assert spec.name not in harness.backend.managed(harness.instance)
    assert harness.backend.logs(spec.name) == ""


def test_a_container_that_exits_reports_its_exit_code_and_keeps_its_output(harness):
    spec = harness.spec(["going"], exit_code=3)
    harness.start(spec)
    state = ended(harness, spec.name)
    assert state.exit_code == 3
    assert harness.backend.logs(spec.name) == "going\n"


def test_follow_logs_yields_each_line_stamped_and_ends_when_the_container_stops(harness):
    spec = harness.spec(["one", "two"])
    harness.start(spec)
    running(harness, spec.name)
    seen: list[str] = []
    follower = threading.Thread(target=lambda: seen.extend(harness.backend.follow_logs(spec.name)), daemon=True)
    follower.start()
    eventually(lambda: len(seen) >= 2, "both lines followed")
    assert [STAMPED.match(line).group(2) for line in seen[:2]] == ["one", "two"]
    harness.backend.stop(spec.name)
    follower.join(60)
    assert not follower.is_alive(), "follow_logs went on after the container stopped"


def test_a_missing_container_has_no_state_no_output_and_stopping_or_removing_it_is_no_error(harness):
    name = f"byoi-{harness.instance}-app-404"
    assert harness.backend.state(name) is None
    harness.backend.stop(name)
    harness.backend.remove(name)
    assert harness.backend.logs(name) == ""
    assert list(harness.backend.follow_logs(name)) == []


def test_starting_a_name_again_replaces_its_container(harness):
    spec = harness.spec(["first"])
    harness.start(spec)
    running(harness, spec.name)
    harness.start(spec)
    running(harness, spec.name)
    assert [name for name in harness.backend.managed(harness.instance) if name == spec.name] == [spec.name]


def test_managed_lists_the_containers_of_this_instance_only_and_prune_keeps_them(harness):
    mine, theirs = harness.spec(["mine"]), harness.spec(["theirs"], instance=f"x{uuid.uuid4().hex[:8]}")
    harness.start(mine)
    harness.start(theirs)
    running(harness, mine.name)
    managed = harness.backend.managed(harness.instance)
    assert mine.name in managed and theirs.name not in managed
    harness.backend.prune(harness.instance)  # nothing of a live container goes
    assert running(harness, mine.name).endpoint is not None
