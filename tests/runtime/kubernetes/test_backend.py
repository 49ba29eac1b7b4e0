"""The Kubernetes backend's own behaviour on the fake API server (tests/runtime/kubernetes/fake_api):
the objects it makes and what removes them, the reasons it gives, and the conflicts it survives.
The contract every backend keeps is tests/runtime/test_backend_contract.py."""

import dataclasses
import threading
import time

import pytest

from byoi.runtime.backend import BackendError
from byoi.runtime.contract import (
    FILES_DIR,
    LIFECYCLE_SCRIPT_FILE,
    AppIdentity,
    HostSide,
    LifecycleRun,
    container_spec,
    with_lifecycle,
)
from byoi.runtime.instance_types import InstanceTypes
from byoi.runtime.kubernetes.backend import KubernetesBackend
from byoi.runtime.kubernetes.manifests import APP_CONTAINER, ClusterSide
from tests.runtime.kubernetes.fake_api import FakeKubernetes

INSTANCE = "0123456789ab"
NETWORK = f"byoi-{INSTANCE}-net-d-abc-200001"


def eventually(condition, what: str, timeout: float = 60):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


@pytest.fixture
def api():
    with FakeKubernetes() as fake:
        yield fake


@pytest.fixture
def backend(api):
    return KubernetesBackend(api.client(), ClusterSide("byoi-apps", "byoi-gateway:1"))


def spec(app_id=1, app_type="JupyterLab", name="default", config=None, lifecycle=None, image="img:1"):
    app = AppIdentity(
        app_type,
        name,
        f"arn:aws:sagemaker:us-east-1:123456789012:app/d-abc/alice/{app_type.lower()}/{name}",
        "d-abc",
        user_profile_name="alice",
        app_id=app_id,
    )
    host = HostSide(
        "/bundle",
        "byoi-home-d-abc-200001",
        NETWORK,
        instance_id=INSTANCE,
        gateway_tokens=("ab" * 32,),
        limits=InstanceTypes.load(None).get("ml.t3.medium"),
    )
    return container_spec(app, image, config or {}, host, lifecycle)


def test_start_makes_the_home_the_pod_and_its_policy_and_files_owned_by_the_pod(api, backend):
    s = spec()
    endpoint = backend.start(s)
    assert endpoint.host == f"jupyterlab-default.{NETWORK}.byoi-apps.svc.cluster.local" and endpoint.port == 8888
    pod = api.get("pods", s.name)
    for plural in ("networkpolicies", "secrets"):
        (owner,) = api.get(plural, s.name)["metadata"]["ownerReferences"]
        assert owner["uid"] == pod["metadata"]["uid"] and owner["kind"] == "Pod"
    assert api.names("persistentvolumeclaims") == {"byoi-home-d-abc-200001"}
    assert backend.state(s.name).running


def test_a_space_whose_ebs_size_grew_asks_for_a_larger_home_when_its_app_next_starts(api, backend):
    first = dataclasses.replace(spec(1, name="a"), home_size_gib=10)
    backend.start(first)
    backend.remove(first.name)
    claim = api.get("persistentvolumeclaims", "byoi-home-d-abc-200001")
    assert claim["spec"]["resources"]["requests"]["storage"] == "10Gi"
    backend.start(dataclasses.replace(first, home_size_gib=30))
    claim = api.get("persistentvolumeclaims", "byoi-home-d-abc-200001")
    assert claim["spec"]["resources"]["requests"]["storage"] == "30Gi"
    backend.start(dataclasses.replace(first, home_size_gib=20))  # a volume never shrinks
    assert api.get("persistentvolumeclaims", "byoi-home-d-abc-200001")["spec"]["resources"]["requests"]["storage"] == "30Gi"


def test_removing_an_app_leaves_its_home_and_the_collector_takes_what_the_pod_owned(api, backend):
    first, second = spec(1, name="a"), spec(2, name="b")
    backend.start(first)
    backend.start(second)
    service = api.get("services", NETWORK)
    assert {ref["name"] for ref in service["metadata"]["ownerReferences"]} == {first.name, second.name}
    backend.remove(first.name)
    assert api.names("secrets") == api.names("networkpolicies") == {second.name}
    assert api.names("services") == {NETWORK}  # the owner still has an app
    backend.remove(second.name)
    assert api.names("secrets") == api.names("networkpolicies") == api.names("services") == set()
    assert api.names("persistentvolumeclaims") == {"byoi-home-d-abc-200001"}
    backend.start(first)  # the home is found again, not made twice
    assert backend.state(first.name).running


def test_joining_the_owners_service_retries_when_someone_else_changed_it_meanwhile(api, backend):
    first, second = spec(1, name="a"), spec(2, name="b")
    backend.start(first)
    real_get = backend._client.get
    raced = []

    def get_then_race(kind, name, **kw):
        obj = real_get(kind, name, **kw)
        if kind.__name__ == "Service" and not raced:  # another byoi changes it after we read it
            raced.append(True)
            with api._changed:
                api._patch("services", "byoi-apps", NETWORK, {"metadata": {"annotations": {"touched": "yes"}}})
        return obj

    backend._client.get = get_then_race
    backend.start(second)
    service = api.get("services", NETWORK)
    assert {ref["name"] for ref in service["metadata"]["ownerReferences"]} == {first.name, second.name}
    assert service["metadata"]["annotations"] == {"touched": "yes"}  # the other change is kept
    assert sum(1 for method, path in api.requests if method == "PUT" and "/services/" in path) == 2  # one refused with 409


def test_an_image_that_cannot_be_pulled_is_reported_with_its_name(api, backend):
    api.unpullable.add("missing:1")
    s = spec(image="missing:1")
    backend.start(s)
    state = backend.state(s.name)
    assert not state.running and not state.starting and "missing:1" in state.reason and "ImagePullBackOff" in state.reason


def test_an_unschedulable_pod_is_starting_with_the_schedulers_reason_until_it_fits(api, backend):
    api.unschedulable = True
    s = spec()
    backend.start(s)
    state = backend.state(s.name)
    assert state.starting and "Insufficient cpu" in state.reason
    api.unschedulable = False
    api.reschedule()
    assert backend.state(s.name).running


def test_an_out_of_memory_kill_is_reported_with_the_instance_types_memory(api, backend):
    s = spec()
    backend.start(s)
    api.exit(s.name, 137, "OOMKilled")
    state = backend.state(s.name)
    assert state.exit_code == 137 and "OOMKilled" in state.reason and "4 GiB" in state.reason


def test_stop_sets_the_pods_deadline_so_the_kubelet_stops_it_and_keeps_it(api, backend):
    s = spec()
    backend.start(s)
    backend.stop(s.name)
    pod = api.get("pods", s.name)
    assert pod["spec"]["activeDeadlineSeconds"] == 1 and pod["spec"]["terminationGracePeriodSeconds"] == 10
    assert (pod["status"]["phase"], pod["status"]["reason"]) == ("Failed", "DeadlineExceeded")
    assert backend.state(s.name).exit_code == 143


def test_prune_removes_what_pods_that_are_gone_left_behind(api, backend):
    s = spec()
    backend.start(s)
    with api._changed:  # as if the collector had not run yet
        api._create(
            "secrets",
            "byoi-apps",
            {
                "metadata": {
                    "name": "left",
                    "labels": {"byoi.managed": "true", "byoi.instance": INSTANCE},
                    "ownerReferences": [{"apiVersion": "v1", "kind": "Pod", "name": "gone", "uid": "0000"}],
                }
            },
        )
    backend.prune(INSTANCE)
    assert api.names("secrets") == {s.name}


def test_prune_keeps_the_files_of_an_app_another_replica_starts_while_it_lists(api, backend, monkeypatch):
    """Found by benchmarks/kubernetes_scale.py: 4 of 1,000 apps never ran, their Secret pruned."""
    other_replica = KubernetesBackend(api.client(), ClusterSide("byoi-apps", "byoi-gateway:1"))
    started = spec(app_id=2)
    listings = []
    real_list = backend._client.list

    def list_then_the_other_replica_starts_an_app(kind, *args, **kwargs):
        items = list(real_list(kind, *args, **kwargs))
        if not listings:  # between prune's first listing and the rest
            other_replica.start(started)
        listings.append(kind)
        return items

    monkeypatch.setattr(backend._client, "list", list_then_the_other_replica_starts_an_app)
    backend.prune(INSTANCE)

    assert len(listings) == 4  # the three kinds a pod owns, and the pods
    assert api.names("secrets") == api.names("networkpolicies") == {started.name}
    assert api.names("services") == {NETWORK}
    assert other_replica.state(started.name).running  # its files were there: the kubelet ran it


def test_prune_leaves_what_was_remade_since_it_was_listed(api, backend, monkeypatch):
    s = spec()
    backend.start(s)
    with api._changed:  # an orphan, as if the collector had not run yet
        api._create(
            "secrets",
            "byoi-apps",
            {
                "metadata": {
                    "name": "remade",
                    "labels": {"byoi.managed": "true", "byoi.instance": INSTANCE},
                    "ownerReferences": [{"apiVersion": "v1", "kind": "Pod", "name": "gone", "uid": "0000"}],
                }
            },
        )
    real_list = backend._client.list

    def list_then_remake(kind, *args, **kwargs):
        items = list(real_list(kind, *args, **kwargs))
        if kind.__name__ == "Pod":  # after the Secrets were listed: "remade" now belongs to a live pod
            with api._changed:
                pod = api.objects[("pods", "byoi-apps", s.name)]
                owner = {"apiVersion": "v1", "kind": "Pod", "name": s.name, "uid": pod["metadata"]["uid"]}
                api._patch("secrets", "byoi-apps", "remade", {"metadata": {"ownerReferences": [owner]}})
        return items

    monkeypatch.setattr(backend._client, "list", list_then_remake)
    backend.prune(INSTANCE)
    assert api.names("secrets") == {s.name, "remade"}


# --- lifecycle scripts: in front of the image's own ENTRYPOINT and CMD, read from its registry ---

PINNED = "registry.example:5000/team/lab@sha256:" + "ab" * 32
IMAGE_ENTRYPOINT = ["/usr/local/bin/entrypoint.sh"]
IMAGE_CMD = ["jupyter-lab", "--ServerApp.base_url=/jupyterlab/default"]


class Registry:
    """A fake ``image_command``: each image's (ENTRYPOINT, CMD), or the BackendError a registry
    failure becomes; what it was asked is kept in ``asked``."""

    def __init__(self, images: dict[str, tuple] | None = None, failure: str | None = None):
        self.images = images or {}
        self.failure = failure
        self.asked: list[str] = []

    def __call__(self, image: str):
        self.asked.append(image)
        if self.failure:
            raise BackendError(self.failure)
        return self.images[image]


def reading(api, registry: Registry) -> KubernetesBackend:
    return KubernetesBackend(api.client(), ClusterSide("byoi-apps", "byoi-gateway:1"), image_command=registry)


def app_container(api, name: str) -> dict:
    (container,) = [c for c in api.get("pods", name)["spec"]["containers"] if c["name"] == APP_CONTAINER]
    return container


SCRIPT = LifecycleRun("pip install --user pandas", "n0nce")


def test_a_lifecycle_script_runs_before_the_images_entrypoint_and_cmd_read_from_its_registry(api):
    registry = Registry({PINNED: (IMAGE_ENTRYPOINT, IMAGE_CMD)})
    s = spec(lifecycle=SCRIPT, image=PINNED)
    reading(api, registry).start(s)
    container = app_container(api, s.name)
    runner = container["command"][: container["command"].index("--") + 1]
    assert runner[runner.index("-m") :] == [
        "-m",
        "byoi_lifecycle",
        f"{FILES_DIR}/{LIFECYCLE_SCRIPT_FILE}",
        str(SCRIPT.timeout_seconds),
        SCRIPT.nonce,
        "--",
    ]
    assert container["command"][len(runner) :] == [*IMAGE_ENTRYPOINT, *IMAGE_CMD]  # then exec'd, as Docker would run them
    assert "args" not in container
    assert container["command"] == with_lifecycle(s, IMAGE_ENTRYPOINT, IMAGE_CMD).entrypoint  # as the Docker backend runs it
    assert registry.asked == [PINNED]


def test_container_arguments_alone_follow_the_images_entrypoint_instead_of_its_cmd(api):
    registry = Registry({PINNED: (IMAGE_ENTRYPOINT, IMAGE_CMD)})
    s = spec(config={"ContainerConfig": {"ContainerArguments": ["--port", "8888"]}}, lifecycle=SCRIPT, image=PINNED)
    reading(api, registry).start(s)
    assert app_container(api, s.name)["command"][-3:] == [*IMAGE_ENTRYPOINT, "--port", "8888"]


def test_container_entrypoint_wins_and_the_registry_is_not_asked(api):
    registry = Registry(failure="the registry must not be asked")
    given = {"ContainerConfig": {"ContainerEntrypoint": ["jupyter-lab"], "ContainerArguments": ["--no-browser"]}}
    s = spec(config=given, lifecycle=SCRIPT, image=PINNED)
    backend = reading(api, registry)
    backend.start(s)
    assert app_container(api, s.name)["command"][-3:] == ["--", "jupyter-lab", "--no-browser"]
    assert backend.state(s.name).running
    without_script = spec(2, name="plain", image=PINNED)
    backend.start(without_script)  # no lifecycle script: the pod runs the image's own ENTRYPOINT and CMD as they are
    assert "command" not in app_container(api, without_script.name)
    assert registry.asked == []


def test_an_images_entrypoint_and_cmd_are_read_once_per_digest_and_a_tag_each_start(api):
    tagged = "registry.example:5000/team/lab:1"
    registry = Registry({PINNED: (IMAGE_ENTRYPOINT, IMAGE_CMD), tagged: (IMAGE_ENTRYPOINT, [])})
    backend = reading(api, registry)
    for app_id in (1, 2, 3):
        backend.start(spec(app_id, name=f"a{app_id}", lifecycle=SCRIPT, image=PINNED))
    backend.start(spec(4, name="t1", lifecycle=SCRIPT, image=tagged))
    backend.start(spec(5, name="t2", lifecycle=SCRIPT, image=tagged))  # a tag may have moved meanwhile
    assert registry.asked == [PINNED, tagged, tagged]


def test_a_registry_failure_fails_the_start_with_its_reason_and_makes_nothing(api):
    why = f"The ENTRYPOINT and CMD of the image {PINNED} could not be read from its registry: the registry is unreachable."
    registry = Registry(failure=why)
    backend = reading(api, registry)
    for _ in (1, 2):  # a failure is not remembered: the next start asks again
        with pytest.raises(BackendError) as caught:
            backend.start(spec(lifecycle=SCRIPT, image=PINNED))
        assert str(caught.value) == why
    assert registry.asked == [PINNED, PINNED]
    assert api.names("pods") == api.names("secrets") == api.names("persistentvolumeclaims") == set()


def test_an_image_with_neither_entrypoint_nor_cmd_fails_as_the_contract_says(api):
    backend = reading(api, Registry({PINNED: (None, None)}))
    with pytest.raises(
        BackendError, match=r"has neither ENTRYPOINT nor CMD, and the AppImageConfig gives no ContainerEntrypoint"
    ):
        backend.start(spec(lifecycle=SCRIPT, image=PINNED))
    assert api.names("pods") == set()


def test_a_backend_that_cannot_read_images_needs_container_entrypoint_for_a_lifecycle_script(backend):
    with pytest.raises(BackendError, match="needs ContainerConfig.ContainerEntrypoint"):
        backend.start(spec(lifecycle=SCRIPT))
    given = spec(2, config={"ContainerConfig": {"ContainerEntrypoint": ["jupyter-lab"]}}, lifecycle=SCRIPT)
    backend.start(given)
    assert backend.state(given.name).running


def test_an_api_server_that_does_not_answer_is_a_clear_error():
    with FakeKubernetes() as gone:
        client = gone.client()
    with pytest.raises(BackendError, match="did not answer"):
        KubernetesBackend(client, ClusterSide("byoi-apps", "g")).start(spec())


def test_a_hundred_and_more_followed_log_streams_leave_the_api_to_everything_else(api):
    backend = KubernetesBackend(api.client(), ClusterSide("byoi-apps", "byoi-gateway:1"), streams=api.client)
    specs = [spec(n, name=f"a{n}") for n in range(1, 106)]  # httpx pools 100 connections per client
    for s in specs:
        backend.start(s)
    seen: list[str] = []
    followers = [threading.Thread(target=lambda n=s.name: seen.extend(backend.follow_logs(n)), daemon=True) for s in specs]
    for follower in followers:
        follower.start()
    for s in specs:
        api.write(s.name, "up")
    eventually(lambda: len(seen) == len(specs), "every stream's line")
    assert backend.state(specs[0].name).running  # the shared client still has connections
    for s in specs:
        api.exit(s.name, 0)
    for follower in followers:
        follower.join(30)
    assert not any(f.is_alive() for f in followers)


def test_a_new_byoi_finds_its_pods_again_by_label(api, backend):
    s = spec()
    backend.start(s)
    again = KubernetesBackend(api.client(), ClusterSide("byoi-apps", "byoi-gateway:1"))
    managed = again.managed(INSTANCE)
    assert list(managed) == [s.name] and managed[s.name].running
    assert managed[s.name].labels["byoi.app-arn"].endswith("/jupyterlab/default")
    assert again.managed("another") == {}
