"""Pod statuses, as the API server writes them, mapped to the app container's RunState."""

from byoi.runtime.kubernetes.states import pod_state, quantity_bytes


def pod(phase="Pending", app=None, gateway=None, conditions=None, memory="2Gi", **status):
    statuses = {"phase": phase, **status}
    if app is not None:
        statuses["containerStatuses"] = [{"name": "app", "state": app}]
    if gateway is not None:
        statuses["initContainerStatuses"] = [{"name": "byoi-gateway", "state": gateway}]
    if conditions is not None:
        statuses["conditions"] = conditions
    return {
        "metadata": {"name": "p", "annotations": {"byoi.app-arn": "arn:x", "other": "y"}},
        "spec": {"containers": [{"name": "app", "image": "img:1", "resources": {"limits": {"memory": memory}}}]},
        "status": statuses,
    }


def test_a_running_app_container_is_running_at_the_pods_address():
    state = pod_state(pod("Running", app={"running": {}}, podIP="10.1.2.3"))
    assert state.running and state.endpoint.url == "http://10.1.2.3:8888"
    assert state.labels == {"byoi.app-arn": "arn:x"}


def test_a_pod_being_scheduled_or_created_is_starting_without_a_reason():
    for created in (pod(), pod(app={"waiting": {"reason": "ContainerCreating"}}), pod(gateway={"running": {}})):
        state = pod_state(created)
        assert state.starting and not state.running and state.reason is None


def test_an_unschedulable_pod_is_still_starting_and_says_why_and_what_to_do():
    condition = {"type": "PodScheduled", "status": "False", "reason": "Unschedulable", "message": "0/3 nodes: Insufficient cpu."}
    state = pod_state(pod(conditions=[condition]))
    assert state.starting
    assert "Unschedulable" in state.reason and "Insufficient cpu" in state.reason and "instance type" in state.reason


def test_an_image_that_cannot_be_pulled_stops_starting_and_names_the_image():
    state = pod_state(pod(app={"waiting": {"reason": "ImagePullBackOff", "message": "Back-off pulling image"}}))
    assert not state.starting and not state.running
    assert "img:1" in state.reason and "ImagePullBackOff" in state.reason and "IMAGE_PULL_SECRETS" in state.reason


def test_the_first_pull_error_is_retried_by_kubernetes_so_it_is_still_starting():
    state = pod_state(pod(app={"waiting": {"reason": "ErrImagePull", "message": "timeout"}}))
    assert state.starting and "ErrImagePull" in state.reason


def test_a_gateway_that_cannot_be_copied_fails_with_the_gateway_image_setting():
    state = pod_state(pod(gateway={"terminated": {"exitCode": 127, "reason": "Error"}}))
    assert not state.starting and "BYOI_KUBERNETES_GATEWAY_IMAGE" in state.reason


def test_an_exited_container_reports_its_code_and_an_oom_kill_says_so_with_the_limit():
    assert pod_state(pod("Failed", app={"terminated": {"exitCode": 3, "reason": "Error"}})).exit_code == 3
    oom = pod_state(pod("Failed", app={"terminated": {"exitCode": 137, "reason": "OOMKilled"}}))
    assert oom.exit_code == 137 and "OOMKilled" in oom.reason and "2 GiB" in oom.reason


def test_an_evicted_pod_says_so():
    state = pod_state(pod("Failed", reason="Evicted", message="The node was low on resource: memory."))
    assert not state.running and not state.starting and "evicted" in state.reason and "low on resource" in state.reason


def test_memory_quantities_are_read_as_the_api_writes_them():
    assert [quantity_bytes(q) for q in ("2Gi", "2147483648", "500M", "1Ki", "", "1.5Gi")] == [
        2**31,
        2**31,
        5 * 10**8,
        1024,
        None,
        None,
    ]
