"""The Docker backend runs the offline-built test images under the contract."""

import json
import uuid

import pytest

from byoi.runtime.backend import BackendError
from byoi.runtime.contract import AppIdentity, HostPaths, container_spec, home_volume_name
from byoi.runtime.kernel_client import KernelClient

pytestmark = pytest.mark.docker

PROBE = (
    "import os, json; "
    "print(json.dumps({'uid': os.getuid(), 'gid': os.getgid(), 'home': os.environ.get('HOME'), "
    "'ld': os.environ.get('LD_LIBRARY_PATH'), 'meta': json.load(open('/opt/ml/metadata/resource-metadata.json'))}))"
)


@pytest.fixture
def backend(gateway_bundle):
    import docker

    from byoi.runtime.docker_backend import DockerBackend

    client = docker.from_env()
    made = []
    b = DockerBackend(client, gateway_bundle)
    yield b, made
    for name, volume in made:
        b.remove(name)
        try:
            client.volumes.get(volume).remove(force=True)
        except docker.errors.NotFound:
            pass


def launch(backend, gateway_bundle, tmp_path, image, config, user="alice"):
    b, made = backend
    app = AppIdentity("KernelGateway", f"k-{uuid.uuid4().hex[:6]}", "arn:aws:sagemaker:us-east-1:123456789012:app/d-t/alice/kernelgateway/k", "d-t", user_profile_name=user)
    volume = home_volume_name("d-t", f"{user}-{uuid.uuid4().hex[:6]}")
    host = HostPaths(gateway_bundle, str(tmp_path / "meta.json"), volume)
    spec = container_spec(app, image, config, host)
    (tmp_path / "meta.json").write_text(json.dumps(spec.metadata))
    made.append((spec.name, volume))
    return spec, b.start(spec)


def test_sample_image_runs_its_kernel_as_the_configured_user(backend, gateway_bundle, test_images, tmp_path):
    spec, endpoint = launch(backend, gateway_bundle, tmp_path, test_images["sample"], {"KernelSpecs": [{"Name": "python3"}]})
    client = KernelClient(endpoint.url)
    client.wait_ready(60)
    kernel = client.start_kernel("python3")
    out = json.loads(client.execute(kernel, PROBE).stdout)
    assert (out["uid"], out["gid"], out["home"]) == (1000, 100, "/home/sagemaker-user")
    assert out["ld"] is None  # the gateway's own library path never reaches kernels
    assert out["meta"]["AppType"] == "KernelGateway" and out["meta"]["UserProfileName"] == "alice"


def test_home_volume_persists_across_containers(backend, gateway_bundle, test_images, tmp_path):
    b, made = backend
    spec, endpoint = launch(backend, gateway_bundle, tmp_path, test_images["sample"], {})
    client = KernelClient(endpoint.url)
    client.wait_ready(60)
    k = client.start_kernel("python3")
    assert client.execute(k, "open('/home/sagemaker-user/note.txt','w').write('kept')").status == "ok"
    b.stop(spec.name)
    assert b.state(spec.name).running is False
    b.remove(spec.name)
    assert b.state(spec.name) is None
    endpoint = b.start(spec)
    client = KernelClient(endpoint.url)
    client.wait_ready(60)
    k = client.start_kernel("python3")
    assert client.execute(k, "print(open('/home/sagemaker-user/note.txt').read())").stdout == "kept\n"


def test_conda_environments_are_kernels(backend, gateway_bundle, test_images, tmp_path):
    _, endpoint = launch(backend, gateway_bundle, tmp_path, test_images["conda"], {})
    client = KernelClient(endpoint.url)
    client.wait_ready(60)
    specs = client.kernelspecs()["kernelspecs"]
    assert {"python3", "conda-env-r-py"} <= set(specs)
    kernel = client.start_kernel("conda-env-r-py")
    assert client.execute(kernel, "import sys; print(sys.prefix)").stdout.strip() == "/opt/conda/envs/r"


def test_root_image_runs_as_root(backend, gateway_bundle, test_images, tmp_path):
    config = {"FileSystemConfig": {"MountPath": "/root/home", "DefaultUid": 0, "DefaultGid": 0}}
    _, endpoint = launch(backend, gateway_bundle, tmp_path, test_images["root"], config)
    client = KernelClient(endpoint.url)
    client.wait_ready(60)
    out = client.execute(client.start_kernel("python3"), "import os; print(os.getuid(), os.getgid())").stdout
    assert out == "0 0\n"


def test_missing_image_is_a_clear_error(backend, gateway_bundle, tmp_path):
    with pytest.raises(BackendError, match="does not exist in the Docker engine"):
        launch(backend, gateway_bundle, tmp_path, "byoi-test/never-built:1", {})


def test_managed_containers_are_found_by_label(backend, gateway_bundle, test_images, tmp_path):
    b, _ = backend
    spec, _ = launch(backend, gateway_bundle, tmp_path, test_images["sample"], {})
    found = b.managed("default")
    assert spec.name in found and found[spec.name].labels["byoi.app-name"] == spec.labels["byoi.app-name"]


def test_images_over_25_gb_are_refused(tmp_path):
    from types import SimpleNamespace

    from byoi.runtime.docker_backend import DockerBackend

    huge = SimpleNamespace(attrs={"Size": 26 * 10**9})
    client = SimpleNamespace(images=SimpleNamespace(get=lambda ref: huge))
    app = AppIdentity("KernelGateway", "k", "arn", "d-t", user_profile_name="alice")
    spec = container_spec(app, "big:1", {}, HostPaths("/bundle", str(tmp_path / "m.json"), "vol"))
    with pytest.raises(BackendError, match="26.0 GB; Studio runs images up to 25 GB"):
        DockerBackend(client, "/bundle").start(spec)


def test_an_image_without_kernels_serves_but_cannot_start_one(backend, gateway_bundle, test_images, tmp_path):
    from byoi.runtime.kernel_client import KernelError

    _, endpoint = launch(backend, gateway_bundle, tmp_path, test_images["broken"], {})
    client = KernelClient(endpoint.url)
    client.wait_ready(60)
    assert client.kernelspecs()["kernelspecs"] == {}
    with pytest.raises(KernelError, match="starting kernel 'python3' failed"):
        client.start_kernel("python3")
