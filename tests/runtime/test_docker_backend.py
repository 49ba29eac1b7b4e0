"""The Docker backend runs the offline-built test images under the contract."""

import json
import uuid

import pytest

from byoi.auth.tokens import token_digest
from byoi.runtime.backend import BackendError
from byoi.runtime.contract import AppIdentity, HostSide, container_spec
from byoi.runtime.instance_types import InstanceTypes
from byoi.runtime.kernel_client import KernelClient, KernelError

pytestmark = pytest.mark.docker

TOKEN = uuid.uuid4().hex
AUTH = {"Authorization": f"token {TOKEN}"}
INSTANCE = f"t{uuid.uuid4().hex[:8]}"

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
    b = DockerBackend(client, gateway_bundle, tmp_path_factory_dir())
    yield b, made
    for name, volume in made:
        b.remove(name)
        try:
            client.volumes.get(volume).remove(force=True)
        except docker.errors.NotFound:
            pass
    b.prune(INSTANCE)


def tmp_path_factory_dir():
    import tempfile

    return tempfile.mkdtemp(prefix="byoi-files-")


def host_for(gateway_bundle, owner: str, **changes) -> HostSide:
    return HostSide(gateway_bundle, f"byoi-test-home-{owner}", f"byoi-{INSTANCE}-net-d-t-{owner}", instance_id=INSTANCE,
                    gateway_tokens=(token_digest(TOKEN),), **changes)


def launch(backend, gateway_bundle, tmp_path, image, config, user="alice", **changes):
    b, made = backend
    app = AppIdentity("KernelGateway", f"k-{uuid.uuid4().hex[:6]}", "arn:aws:sagemaker:us-east-1:123456789012:app/d-t/alice/kernelgateway/k",
                      "d-t", user_profile_name=user, app_id=int(uuid.uuid4().int % 10**9))
    host = host_for(gateway_bundle, f"{user}-{uuid.uuid4().hex[:6]}", **changes)
    spec = container_spec(app, image, config, host)
    made.append((spec.name, host.home_volume))
    return spec, b.start(spec)


def serving(endpoint) -> KernelClient:
    """A client of the launched app's kernel gateway, once it serves, presenting the app's token."""
    client = KernelClient(endpoint.url, headers=AUTH)
    client.wait_ready(60)
    return client


def test_sample_image_runs_its_kernel_as_the_configured_user(backend, gateway_bundle, test_images, tmp_path):
    spec, endpoint = launch(backend, gateway_bundle, tmp_path, test_images["sample"], {"KernelSpecs": [{"Name": "python3"}]})
    client = serving(endpoint)
    kernel = client.start_kernel("python3")
    out = json.loads(client.execute(kernel, PROBE).stdout)
    assert (out["uid"], out["gid"], out["home"]) == (1000, 100, "/home/sagemaker-user")
    assert out["ld"] is None  # the gateway's own library path never reaches kernels
    assert out["meta"]["AppType"] == "KernelGateway" and out["meta"]["UserProfileName"] == "alice"


def test_home_volume_persists_across_containers(backend, gateway_bundle, test_images, tmp_path):
    b, made = backend
    spec, endpoint = launch(backend, gateway_bundle, tmp_path, test_images["sample"], {})
    client = serving(endpoint)
    k = client.start_kernel("python3")
    assert client.execute(k, "open('/home/sagemaker-user/note.txt','w').write('kept')").status == "ok"
    b.stop(spec.name)
    assert b.state(spec.name).running is False
    b.remove(spec.name)
    assert b.state(spec.name) is None
    endpoint = b.start(spec)
    client = serving(endpoint)
    k = client.start_kernel("python3")
    assert client.execute(k, "print(open('/home/sagemaker-user/note.txt').read())").stdout == "kept\n"


def test_conda_environments_are_kernels(backend, gateway_bundle, test_images, tmp_path):
    _, endpoint = launch(backend, gateway_bundle, tmp_path, test_images["conda"], {})
    client = serving(endpoint)
    specs = client.kernelspecs()["kernelspecs"]
    assert {"python3", "conda-env-r-py"} <= set(specs)
    kernel = client.start_kernel("conda-env-r-py")
    assert client.execute(kernel, "import sys; print(sys.prefix)").stdout.strip() == "/opt/conda/envs/r"


def test_root_image_runs_as_root(backend, gateway_bundle, test_images, tmp_path):
    config = {"FileSystemConfig": {"MountPath": "/root/home", "DefaultUid": 0, "DefaultGid": 0}}
    _, endpoint = launch(backend, gateway_bundle, tmp_path, test_images["root"], config)
    client = serving(endpoint)
    out = client.execute(client.start_kernel("python3"), "import os; print(os.getuid(), os.getgid())").stdout
    assert out == "0 0\n"


def test_missing_image_is_a_clear_error(backend, gateway_bundle, tmp_path):
    with pytest.raises(BackendError, match="does not exist in the Docker engine"):
        launch(backend, gateway_bundle, tmp_path, "byoi-test/never-built:1", {})


def test_managed_containers_are_found_by_label(backend, gateway_bundle, test_images, tmp_path):
    b, _ = backend
    spec, _ = launch(backend, gateway_bundle, tmp_path, test_images["sample"], {})
    found = b.managed(INSTANCE)
    assert spec.name in found and found[spec.name].labels["byoi.app-name"] == spec.labels["byoi.app-name"]


def test_images_over_25_gb_are_refused(tmp_path):
    from types import SimpleNamespace

    from byoi.runtime.docker_backend import DockerBackend

    huge = SimpleNamespace(attrs={"Size": 26 * 10**9})
    client = SimpleNamespace(images=SimpleNamespace(get=lambda ref: huge))
    app = AppIdentity("KernelGateway", "k", "arn", "d-t", user_profile_name="alice")
    spec = container_spec(app, "big:1", {}, host_for("/bundle", "x"))
    with pytest.raises(BackendError, match="26.0 GB; Studio runs images up to 25 GB"):
        DockerBackend(client, "/bundle", tmp_path).start(spec)


def test_an_image_without_kernels_serves_but_cannot_start_one(backend, gateway_bundle, test_images, tmp_path):
    _, endpoint = launch(backend, gateway_bundle, tmp_path, test_images["broken"], {})
    client = serving(endpoint)
    assert client.kernelspecs()["kernelspecs"] == {}
    with pytest.raises(KernelError, match="starting kernel 'python3' failed"):
        client.start_kernel("python3")


def test_the_kernel_gateway_refuses_requests_without_the_apps_token(backend, gateway_bundle, test_images, tmp_path):
    import httpx

    _, endpoint = launch(backend, gateway_bundle, tmp_path, test_images["sample"], {})
    serving(endpoint)
    for headers in ({}, {"Authorization": "token wrong"}, {"Authorization": f"Bearer {TOKEN}"}):
        assert httpx.get(f"{endpoint.url}/api/kernelspecs", headers=headers).status_code == 401
        assert httpx.post(f"{endpoint.url}/api/kernels", json={"name": "python3"}, headers=headers).status_code == 401
    assert httpx.get(f"{endpoint.url}/api/kernelspecs", params={"token": TOKEN}).status_code == 401  # header only
    assert httpx.get(f"{endpoint.url}/api/kernels", headers=AUTH).json() == []


def test_containers_show_their_instance_types_limits_and_no_privileges(backend, gateway_bundle, test_images, tmp_path):
    import docker

    limits = InstanceTypes.load(None).get("ml.t3.medium")
    spec, endpoint = launch(backend, gateway_bundle, tmp_path, test_images["sample"], {}, limits=limits)
    attrs = docker.from_env().containers.get(spec.name).attrs
    host = attrs["HostConfig"]
    assert host["Memory"] == 4 * 2**30 and host["NanoCpus"] == 2 * 10**9 and host["PidsLimit"] == 4096
    assert host["CapDrop"] == ["ALL"] and not host["CapAdd"]
    assert "no-new-privileges" in host["SecurityOpt"]
    assert host["NetworkMode"] == spec.network and not host["PortBindings"] and not attrs["NetworkSettings"]["Ports"]
    assert endpoint.port == 8888 and endpoint.host == attrs["NetworkSettings"]["Networks"][spec.network]["IPAddress"]


def test_a_root_app_hands_the_home_back_to_1000_when_it_is_removed(backend, gateway_bundle, test_images, tmp_path):
    import docker

    b, made = backend
    config = {"FileSystemConfig": {"MountPath": "/home/sagemaker-user", "DefaultUid": 0, "DefaultGid": 0}}
    spec, endpoint = launch(backend, gateway_bundle, tmp_path, test_images["root"], config)
    client = serving(endpoint)
    made_by_root = "import os; os.makedirs('/home/sagemaker-user/d', exist_ok=True); open('/home/sagemaker-user/d/f','w').write('x'); print(os.stat('/home/sagemaker-user/d/f').st_uid)"
    assert client.execute(client.start_kernel("python3"), made_by_root).stdout == "0\n"
    b.remove(spec.name)
    owners = docker.from_env().containers.run(
        test_images["root"], ["python3", "-c", "import os; print(*[os.stat(p).st_uid for p in ('/h', '/h/d', '/h/d/f')])"],
        mounts=[docker.types.Mount("/h", spec.home.source, type="volume")], remove=True, network_mode="none")
    assert owners.decode().split() == ["1000", "1000", "1000"]


def test_a_custom_posix_user_runs_the_kernel_and_owns_the_home_even_one_made_before(backend, gateway_bundle, test_images, tmp_path):
    import dataclasses

    b, made = backend
    spec, endpoint = launch(backend, gateway_bundle, tmp_path, test_images["sample"], {})
    client = serving(endpoint)
    assert client.execute(client.start_kernel("python3"), "open('/home/sagemaker-user/old.txt','w').write('x')").status == "ok"
    b.remove(spec.name)
    # The owner's CustomPosixUserConfig is set now: the same home, handed to 10001:1001.
    posix = container_spec(
        AppIdentity("KernelGateway", "posix", "arn:aws:sagemaker:us-east-1:123456789012:app/d-t/alice/kernelgateway/posix", "d-t",
                    user_profile_name="alice", app_id=int(uuid.uuid4().int % 10**9)),
        test_images["sample"], {}, dataclasses.replace(host_for(gateway_bundle, "x"), home_volume=spec.home.source, home_owner=(10001, 1001)))
    made.insert(0, (posix.name, spec.home.source))  # removed before the volume it shares
    client = serving(b.start(posix))
    probe = ("import os; open('/home/sagemaker-user/new.txt','w').write('y'); "
             "print(os.getuid(), os.getgid(), os.environ['HOME'], *[os.stat('/home/sagemaker-user/' + f).st_uid for f in ('', 'old.txt', 'new.txt')])")
    assert client.execute(client.start_kernel("python3"), probe).stdout.split() == ["10001", "1001", "/home/sagemaker-user", "10001", "10001", "10001"]


def test_removing_an_owners_last_app_removes_its_network_and_frees_its_address_range(backend, gateway_bundle, test_images, tmp_path):
    import docker

    b, made = backend
    host = host_for(gateway_bundle, f"frank-{uuid.uuid4().hex[:6]}")
    specs = []
    for name in ("first", "second"):
        app = AppIdentity("KernelGateway", name, f"arn:aws:sagemaker:us-east-1:123456789012:app/d-t/frank/kernelgateway/{name}",
                          "d-t", user_profile_name="frank", app_id=int(uuid.uuid4().int % 10**9))
        specs.append(container_spec(app, test_images["sample"], {}, host))
        made.append((specs[-1].name, host.home_volume))
        b.start(specs[-1])
    b.remove(specs[0].name)
    assert docker.from_env().networks.get(host.network)  # the second app still uses it
    b.remove(specs[1].name)
    with pytest.raises(docker.errors.NotFound):
        docker.from_env().networks.get(host.network)


def test_prune_removes_networks_no_container_uses_as_a_crash_leaves_them(backend):
    import docker

    b, _ = backend
    name = f"byoi-{INSTANCE}-net-d-t-crashed"
    docker.from_env().networks.create(name, labels={"byoi.managed": "true", "byoi.instance": INSTANCE})
    b.prune(INSTANCE)
    with pytest.raises(docker.errors.NotFound):
        docker.from_env().networks.get(name)


ENVIRONMENT = "import os, sys, json; print(json.dumps({'env': dict(os.environ), 'python': sys.executable}))"


def test_kernels_get_the_images_environment_even_when_the_start_request_sends_env(backend, gateway_bundle, test_images, tmp_path):
    _, endpoint = launch(backend, gateway_bundle, tmp_path, test_images["sample"], {})
    client = serving(endpoint)
    for env in (None, {"KERNEL_USERNAME": "alice", "KERNEL_WORKING_DIR": "/home/sagemaker-user"}):
        kernel = client.start_kernel("python3", env=env)
        seen = json.loads(client.execute(kernel, ENVIRONMENT).stdout)["env"]
        assert seen["HOME"] == "/home/sagemaker-user" and seen["PATH"].startswith("/usr/local/sbin"), seen
        assert not [k for k in seen if k.startswith("BYOI_")] and "LD_LIBRARY_PATH" not in seen and "PYTHONHOME" not in seen, seen
        if env:
            assert seen["KERNEL_USERNAME"] == "alice"


def test_a_kernelspec_starting_a_bare_python3_runs_the_images_python(backend, gateway_bundle, test_images, tmp_path):
    _, endpoint = launch(backend, gateway_bundle, tmp_path, test_images["kernel-relative"], {})
    client = serving(endpoint)
    kernel = client.start_kernel("python3")
    assert json.loads(client.execute(kernel, ENVIRONMENT).stdout)["python"] == "/usr/bin/python3"


def test_starting_a_kernel_the_image_lacks_is_a_404_that_names_it(backend, gateway_bundle, test_images, tmp_path):
    _, endpoint = launch(backend, gateway_bundle, tmp_path, test_images["sample"], {})
    client = serving(endpoint)
    with pytest.raises(KernelError, match="HTTP 404.*No such kernel: nope"):
        client.start_kernel("nope")


def test_the_bundle_carries_its_own_c_library_and_loader_and_needs_no_shell(gateway_bundle):
    from pathlib import Path

    from byoi.runtime.contract import gateway_command

    lib = Path(gateway_bundle) / "lib"
    assert (lib / "ld-linux-x86-64.so.2").is_file() and (lib / "libc.so.6").is_file()
    loader, option, _, python, isolated, *_ = gateway_command()
    assert loader.endswith("/lib/ld-linux-x86-64.so.2") and option == "--library-path"  # no LD_LIBRARY_PATH
    assert python.endswith("/python/bin/python3") and isolated == "-I"  # the image's PYTHONPATH/PYTHONHOME do not apply


def test_the_gateway_runs_in_an_image_without_a_shell_and_kernels_keep_the_images_pythonpath(backend, gateway_bundle, test_images, tmp_path):
    _, endpoint = launch(backend, gateway_bundle, tmp_path, test_images["no-shell"], {})
    client = serving(endpoint)
    kernel = client.start_kernel("python3")
    out = client.execute(kernel, "import os, image_module; print(image_module.WHERE, os.environ['PYTHONPATH'], os.path.exists('/bin/sh'))")
    assert out.stdout.split() == ["the", "image", "/opt/image-code", "False"]


def test_an_r_kernel_runs_with_the_images_home_and_utf8(backend, gateway_bundle, test_images, tmp_path):
    _, endpoint = launch(backend, gateway_bundle, tmp_path, test_images["r-kernel"], {})
    client = serving(endpoint)
    assert sorted(client.kernelspecs()["kernelspecs"]) == ["ir"]
    # As Jupyter Server's GatewayClient starts every kernel: with an env of its own.
    kernel = client.start_kernel("ir", env={"KERNEL_USERNAME": "alice"})
    out = client.execute(kernel, 'cat(Sys.getenv("HOME"), l10n_info()$`UTF-8`, Sys.getenv("KERNEL_USERNAME"), 6 * 7, "\n")')
    assert out.status == "ok" and out.stdout.split() == ["/home/sagemaker-user", "TRUE", "alice", "42"], out


def test_the_gateway_runs_in_an_image_whose_c_library_is_older_than_its_own(backend, gateway_bundle, test_images, tmp_path):
    _, endpoint = launch(backend, gateway_bundle, tmp_path, test_images["bullseye"], {})
    client = serving(endpoint)
    kernel = client.start_kernel("python3")
    probe = "import os, sys, json; print(json.dumps([os.confstr('CS_GNU_LIBC_VERSION'), list(sys.version_info[:2]), os.environ.get('LD_LIBRARY_PATH')]))"
    assert json.loads(client.execute(kernel, probe).stdout) == ["glibc 2.31", [3, 9], None]  # the image's own, untouched


def test_a_kernel_that_dies_at_start_fails_its_start_request_with_its_exit_code(backend, gateway_bundle, test_images, tmp_path):
    import docker

    spec, endpoint = launch(backend, gateway_bundle, tmp_path, test_images["kernel-dies"], {})
    client = serving(endpoint)
    with pytest.raises(KernelError, match="HTTP 500.*exited at start with code 3"):
        client.start_kernel("dies")
    assert client.kernels() == []  # not left behind to be restarted
    assert "kernel-dies: broken install" in docker.from_env().containers.get(spec.name).logs().decode()


def test_a_venv_kernel_installed_with_pip_alone_runs_the_venvs_python(backend, gateway_bundle, test_images, tmp_path):
    _, endpoint = launch(backend, gateway_bundle, tmp_path, test_images["venv"], {})
    client = serving(endpoint)
    assert client.kernelspecs()["kernelspecs"]["python3"]["spec"]["argv"][0] == "python"  # the wheel's own kernelspec
    kernel = client.start_kernel("python3")
    assert json.loads(client.execute(kernel, ENVIRONMENT).stdout)["python"] == "/opt/venv/bin/python"
