"""Apps end to end with boto3 only, on a real Docker engine, under Studio's contract."""

import json
import time

import docker
import httpx
import pytest
from botocore.exceptions import ClientError

from byoi.auth.tokens import app_token
from byoi.runtime.kernel_client import KernelClient
from tests.conftest import ROLE_ARN, error_of

pytestmark = pytest.mark.docker

PROBE = (
    "import os, pathlib; home = pathlib.Path(os.environ['HOME']); note = home / 'note.txt'; "
    "print(os.getuid(), os.getgid(), home, note.read_text() if note.exists() else 'none')"
)


def wait_for_app(sm, timeout=120, **key) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        app = sm.describe_app(**key)
        if app["Status"] not in ("Pending", "Deleting"):
            return app
        time.sleep(0.5)
    raise AssertionError(f"app still {app['Status']} after {timeout}s")


def in_service(sm, **key) -> dict:
    """Wait for the app to settle; it must be InService (a failure names its FailureReason)."""
    app = wait_for_app(sm, **key)
    assert app["Status"] == "InService", f"{key}: {app['Status']}: {app.get('FailureReason')}"
    return app


#: The session secret of make_studio's servers, so tests can present an app's own token.
TEST_SECRET = "byoi-test-secret"


def app_container(app_arn: str):
    (container,) = docker.from_env().containers.list(filters={"label": f"byoi.app-arn={app_arn}"})
    return container


def app_url(app_arn: str) -> str:
    """Where byoi reaches the app: its address on its owner's network, port 8888."""
    container = app_container(app_arn)
    return f"http://{container.attrs['NetworkSettings']['Networks'][container.labels['byoi.network']]['IPAddress']}:8888"


def app_client(app_arn: str) -> KernelClient:
    """A client of a KernelGateway app, presenting the app's token as byoi's gateway does."""
    token = app_token(TEST_SECRET.encode(), int(app_container(app_arn).labels["byoi.app-id"]))
    return KernelClient(app_url(app_arn), headers={"Authorization": f"token {token}"})


@pytest.fixture
def studio(fresh_server, test_images, studio_domains):
    """A Docker-backed byoi with the test images registered, configured and attached to a domain."""
    return make_studio(fresh_server, test_images, studio_domains)


def make_studio(fresh_server, test_images, studio_domains, **env):
    srv = fresh_server(BYOI_DOCKER="on", BYOI_SESSION_SECRET=TEST_SECRET, **env)
    sm = srv.client()
    for name, tag in test_images.items():
        sm.create_image(ImageName=name, RoleArn=ROLE_ARN)
        sm.create_image_version(ImageName=name, BaseImage=tag)
        sm.get_waiter("image_version_created").wait(ImageName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 30})
    sm.create_app_image_config(
        AppImageConfigName="kg", KernelGatewayImageConfig={"KernelSpecs": [{"Name": "python3", "DisplayName": "Python 3"}], "FileSystemConfig": {}}
    )
    sm.create_app_image_config(
        AppImageConfigName="kg-uid-1001", KernelGatewayImageConfig={"KernelSpecs": [{"Name": "python3"}], "FileSystemConfig": {"DefaultUid": 1001}}
    )
    customs = [{"ImageName": n, "AppImageConfigName": "kg"} for n in test_images]
    domain = sm.create_domain(
        DomainName="studio",
        AuthMode="IAM",
        DefaultUserSettings={"ExecutionRole": ROLE_ARN, "KernelGatewayAppSettings": {"CustomImages": customs}},
        SubnetIds=["subnet-1"],
        VpcId="vpc-1",
    )
    studio_domains.append(domain["DomainId"])
    sm.create_user_profile(DomainId=domain["DomainId"], UserProfileName="alice")
    return srv, sm, domain["DomainId"], customs


def image_arn(name: str) -> str:
    return f"arn:aws:sagemaker:us-east-1:123456789012:image/{name}"


def test_done_scenario_kernel_runs_as_configured_and_home_persists(studio):
    srv, sm, domain_id, _ = studio
    key = {"DomainId": domain_id, "UserProfileName": "alice", "AppType": "KernelGateway", "AppName": "default"}
    spec = {"SageMakerImageArn": image_arn("sample"), "InstanceType": "ml.t3.medium"}
    arn = sm.create_app(**key, ResourceSpec=spec)["AppArn"]
    assert arn == f"arn:aws:sagemaker:us-east-1:123456789012:app/{domain_id}/alice/kernelgateway/default"
    assert sm.describe_app(**key)["Status"] == "Pending"
    app = wait_for_app(sm, **key)
    assert app["Status"] == "InService", app.get("FailureReason")
    assert app["ResourceSpec"]["SageMakerImageVersionArn"].endswith("image-version/sample/1")
    assert app["LastUserActivityTimestamp"] and app["LastHealthCheckTimestamp"]

    client = app_client(arn)
    kernel = client.start_kernel("python3")  # the kernel the AppImageConfig names
    first = client.execute(kernel, PROBE + "; note.write_text('written by the first app')")
    assert first.stdout == "1000 100 /home/sagemaker-user none\n"

    sm.delete_app(**key)
    assert wait_for_app(sm, **key)["Status"] == "Deleted"
    assert docker.from_env().containers.list(all=True, filters={"label": f"byoi.app-arn={arn}"}) == []
    logs = srv.data_dir / "logs/aws/sagemaker/studio" / domain_id / "alice/KernelGateway/default.log"
    assert "Jupyter Kernel Gateway" in logs.read_text()

    sm.create_app(**key, ResourceSpec=spec)
    in_service(sm, **key)
    client = app_client(arn)
    second = client.execute(client.start_kernel("python3"), PROBE)
    assert second.stdout == "1000 100 /home/sagemaker-user written by the first app\n"
    listed = sm.list_apps(DomainIdEquals=domain_id)["Apps"]
    assert sorted(a["Status"] for a in listed) == ["Deleted", "InService"]
    sm.delete_app(**key)
    wait_for_app(sm, **key)


def test_root_image_and_conda_kernel(studio):
    _, sm, domain_id, _ = studio
    sm.create_app_image_config(AppImageConfigName="kg-root", KernelGatewayImageConfig={"KernelSpecs": [{"Name": "python3"}], "FileSystemConfig": {"MountPath": "/root", "DefaultUid": 0, "DefaultGid": 0}})
    sm.update_user_profile(
        DomainId=domain_id,
        UserProfileName="alice",
        UserSettings={"KernelGatewayAppSettings": {"CustomImages": [{"ImageName": "root", "AppImageConfigName": "kg-root"}, {"ImageName": "conda", "AppImageConfigName": "kg"}]}},
    )
    for name, image, code, expected in [
        ("as-root", "root", "import os; print(os.getuid(), os.getgid(), os.environ['HOME'])", "0 0 /root\n"),
        ("conda", "conda", "import sys; print(sys.prefix)", "/opt/conda/envs/r\n"),
    ]:
        key = {"DomainId": domain_id, "UserProfileName": "alice", "AppType": "KernelGateway", "AppName": name}
        arn = sm.create_app(**key, ResourceSpec={"SageMakerImageArn": image_arn(image), "InstanceType": "ml.t3.medium"})["AppArn"]
        app = wait_for_app(sm, **key)
        assert app["Status"] == "InService", app.get("FailureReason")
        client = app_client(arn)
        kernel_name = "conda-env-r-py" if image == "conda" else "python3"
        assert client.execute(client.start_kernel(kernel_name), code).stdout == expected
        sm.delete_app(**key)


def test_apps_that_cannot_run_fail_with_a_reason(studio):
    _, sm, domain_id, _ = studio
    broken = [{"ImageName": "broken", "AppImageConfigName": "kg-uid-1001"}]
    sm.update_user_profile(DomainId=domain_id, UserProfileName="alice", UserSettings={"KernelGatewayAppSettings": {"CustomImages": broken}})
    key = {"DomainId": domain_id, "UserProfileName": "alice", "AppType": "KernelGateway", "AppName": "bad-uid"}
    sm.create_app(**key, ResourceSpec={"SageMakerImageArn": image_arn("broken"), "InstanceType": "ml.t3.medium"})
    app = wait_for_app(sm, **key)
    assert app["Status"] == "Failed"
    assert "1001/100 cannot run: Studio supports only 1000/100" in app["FailureReason"]
    sm.update_user_profile(DomainId=domain_id, UserProfileName="alice", UserSettings={"KernelGatewayAppSettings": {"CustomImages": [{"ImageName": "sample", "AppImageConfigName": "kg"}]}})
    gpu = {**key, "AppName": "gpu"}
    sm.create_app(**gpu, ResourceSpec={"SageMakerImageArn": image_arn("sample"), "InstanceType": "ml.g4dn.xlarge"})
    app = wait_for_app(sm, **gpu)
    assert app["Status"] == "Failed" and "gpu" in app["FailureReason"].lower()  # no GPU runtime here: Docker refuses --gpus


def test_attachment_and_resolution_errors(studio):
    _, sm, domain_id, _ = studio
    key = {"DomainId": domain_id, "UserProfileName": "alice", "AppType": "KernelGateway", "AppName": "x"}
    sm.create_image(ImageName="unattached", RoleArn=ROLE_ARN)
    cases = [
        ({"SageMakerImageArn": image_arn("unattached"), "InstanceType": "ml.t3.medium"}, "is not attached to user profile alice"),
        ({"SageMakerImageArn": image_arn("nope"), "InstanceType": "ml.t3.medium"}, "does not exist"),
        ({"SageMakerImageArn": image_arn("sample")}, "InstanceType must be specified"),
        ({"InstanceType": "ml.t3.medium"}, "custom images only"),
        ({"SageMakerImageArn": image_arn("sample"), "SageMakerImageVersionAlias": "9.9", "InstanceType": "ml.t3.medium"}, "no alias 9.9"),
    ]
    for spec, expected in cases:
        with pytest.raises(ClientError) as exc:
            sm.create_app(**key, ResourceSpec=spec)
        code, message = error_of(exc)
        assert code == "ValidationException" and expected in message, message
    with pytest.raises(ClientError, match="ValidationException"):
        sm.create_app(**{**key, "AppType": "JupyterServer"})
    with pytest.raises(sm.exceptions.ResourceNotFound):
        sm.describe_app(**key)


def test_live_apps_block_deleting_their_profile_and_domain(studio):
    _, sm, domain_id, _ = studio
    key = {"DomainId": domain_id, "UserProfileName": "alice", "AppType": "KernelGateway", "AppName": "busy"}
    sm.create_app(**key, ResourceSpec={"SageMakerImageArn": image_arn("sample"), "InstanceType": "ml.t3.medium"})
    with pytest.raises(sm.exceptions.ResourceInUse):
        sm.create_app(**key, ResourceSpec={"SageMakerImageArn": image_arn("sample"), "InstanceType": "ml.t3.medium"})
    with pytest.raises(sm.exceptions.ResourceInUse):
        sm.delete_user_profile(DomainId=domain_id, UserProfileName="alice")
    with pytest.raises(sm.exceptions.ResourceInUse):
        sm.delete_domain(DomainId=domain_id)
    wait_for_app(sm, **key)
    sm.delete_app(**key)
    assert wait_for_app(sm, **key)["Status"] == "Deleted"
    sm.delete_user_profile(DomainId=domain_id, UserProfileName="alice")
    sm.delete_domain(DomainId=domain_id)
    with pytest.raises(sm.exceptions.ResourceNotFound):
        sm.describe_domain(DomainId=domain_id)


def test_restart_finds_running_apps_and_dead_containers_fail(studio):
    srv, sm, domain_id, _ = studio
    keys = [{"DomainId": domain_id, "UserProfileName": "alice", "AppType": "KernelGateway", "AppName": n} for n in ("keep", "dies")]
    arns = [sm.create_app(**k, ResourceSpec={"SageMakerImageArn": image_arn("sample"), "InstanceType": "ml.t3.medium"})["AppArn"] for k in keys]
    for k in keys:
        in_service(sm, **k)
    client = docker.from_env()
    orphan = client.containers.run(
        "byoi-test/sample:1", ["sleep", "600"], entrypoint=[], detach=True,
        labels={"byoi.managed": "true", "byoi.instance": container_labels(arns[0])["byoi.instance"], "byoi.app-arn": "arn:none"},
    )
    srv.kill()
    (dead,) = client.containers.list(filters={"label": f"byoi.app-arn={arns[1]}"})
    dead.kill()
    srv.start()
    sm = srv.client()
    deadline = time.monotonic() + 60
    while sm.describe_app(**keys[1])["Status"] != "Failed" and time.monotonic() < deadline:
        time.sleep(0.5)
    assert sm.describe_app(**keys[1])["Status"] == "Failed"
    assert "stopped" in sm.describe_app(**keys[1])["FailureReason"]
    assert sm.describe_app(**keys[0])["Status"] == "InService"
    client_k = app_client(arns[0])
    assert client_k.execute(client_k.start_kernel("python3"), "print(1+1)").stdout == "2\n"
    with pytest.raises(docker.errors.NotFound):
        client.containers.get(orphan.id)
    sm.delete_app(**keys[0])
    wait_for_app(sm, **keys[0])


def container_labels(app_arn: str) -> dict:
    (container,) = docker.from_env().containers.list(filters={"label": f"byoi.app-arn={app_arn}"})
    return container.labels


def test_metadata_file_describes_the_app(studio):
    _, sm, domain_id, _ = studio
    key = {"DomainId": domain_id, "UserProfileName": "alice", "AppType": "KernelGateway", "AppName": "meta"}
    arn = sm.create_app(**key, ResourceSpec={"SageMakerImageArn": image_arn("sample"), "InstanceType": "ml.t3.medium"})["AppArn"]
    in_service(sm, **key)
    client = app_client(arn)
    out = client.execute(client.start_kernel("python3"), "print(open('/opt/ml/metadata/resource-metadata.json').read())").stdout
    meta = json.loads(out)
    assert meta["AppType"] == "KernelGateway" and meta["DomainId"] == domain_id
    assert meta["UserProfileName"] == "alice" and meta["ResourceArn"] == arn and meta["ResourceName"] == "meta"
    sm.delete_app(**key)
    wait_for_app(sm, **key)


def test_the_gateway_runs_kernels_on_a_python_other_than_byois(studio):
    _, sm, domain_id, _ = studio
    key = {"DomainId": domain_id, "UserProfileName": "alice", "AppType": "KernelGateway", "AppName": "py313"}
    arn = sm.create_app(**key, ResourceSpec={"SageMakerImageArn": image_arn("python313"), "InstanceType": "ml.t3.medium"})["AppArn"]
    app = wait_for_app(sm, **key)
    assert app["Status"] == "InService", app.get("FailureReason")
    client = app_client(arn)
    out = client.execute(client.start_kernel("python3"), "import sys; print(sys.version_info[:2])").stdout
    assert out == "(3, 13)\n"
    sm.delete_app(**key)


def test_jupyterlab_app_serves_jupyterlab_and_runs_kernels(studio):
    _, sm, domain_id, _ = studio
    sm.create_app_image_config(AppImageConfigName="jl", JupyterLabAppImageConfig={"FileSystemConfig": {}})
    sm.update_user_profile(DomainId=domain_id, UserProfileName="alice", UserSettings={"JupyterLabAppSettings": {"CustomImages": [{"ImageName": "jupyterlab", "AppImageConfigName": "jl"}]}})
    key = {"DomainId": domain_id, "UserProfileName": "alice", "AppType": "JupyterLab", "AppName": "default"}
    arn = sm.create_app(**key, ResourceSpec={"SageMakerImageArn": image_arn("jupyterlab"), "InstanceType": "ml.t3.medium"})["AppArn"]
    app = wait_for_app(sm, **key)
    assert app["Status"] == "InService", app.get("FailureReason")
    base = app_url(arn) + "/jupyterlab/default"
    page = httpx.get(base + "/lab", timeout=30)
    assert page.status_code == 200
    xsrf = page.cookies["_xsrf"]  # JupyterLab keeps XSRF checks on; a browser echoes the cookie
    client = KernelClient(base, headers={"X-XSRFToken": xsrf, "Cookie": f"_xsrf={xsrf}"})
    assert client.execute(client.start_kernel("python3"), "import os; print(os.getuid(), os.environ['SAGEMAKER_APP_TYPE'])").stdout == "1000 JupyterLab\n"
    sm.delete_app(**key)


def test_code_editor_app_runs_its_container_config(studio):
    _, sm, domain_id, _ = studio
    server = {"ContainerEntrypoint": ["python3"], "ContainerArguments": ["-m", "http.server", "8888", "--bind", "0.0.0.0"], "ContainerEnvironmentVariables": {"GREETING": "hello"}}
    sm.create_app_image_config(AppImageConfigName="ce", CodeEditorAppImageConfig={"ContainerConfig": server})
    sm.update_user_profile(DomainId=domain_id, UserProfileName="alice", UserSettings={"CodeEditorAppSettings": {"CustomImages": [{"ImageName": "sample", "AppImageConfigName": "ce"}]}})
    key = {"DomainId": domain_id, "UserProfileName": "alice", "AppType": "CodeEditor", "AppName": "default"}
    arn = sm.create_app(**key, ResourceSpec={"SageMakerImageArn": image_arn("sample"), "InstanceType": "ml.t3.medium"})["AppArn"]
    in_service(sm, **key)
    (container,) = docker.from_env().containers.list(filters={"label": f"byoi.app-arn={arn}"})
    env = dict(line.split("=", 1) for line in container.exec_run("env").output.decode().splitlines() if "=" in line)
    assert env["GREETING"] == "hello" and env["SAGEMAKER_APP_TYPE"] == "CodeEditor"
    assert env["SAGEMAKER_BASE_PATH"] == "/codeeditor/default" and env["SAGEMAKER_USER_PROFILE_NAME"] == "alice"
    assert container.attrs["Config"]["User"] == "1000:100"
    sm.delete_app(**key)


def test_an_app_that_never_answers_fails_with_its_last_output(fresh_server, test_images, studio_domains):
    _, sm, domain_id, _ = make_studio(fresh_server, test_images, studio_domains, BYOI_APP_START_TIMEOUT_SECONDS="20")
    silent = {"ContainerEntrypoint": ["sh"], "ContainerArguments": ["-c", "echo listening-elsewhere; exec sleep 600"]}
    sm.create_app_image_config(AppImageConfigName="silent", JupyterLabAppImageConfig={"ContainerConfig": silent})
    sm.update_user_profile(DomainId=domain_id, UserProfileName="alice", UserSettings={"JupyterLabAppSettings": {"CustomImages": [{"ImageName": "sample", "AppImageConfigName": "silent"}]}})
    key = {"DomainId": domain_id, "UserProfileName": "alice", "AppType": "JupyterLab", "AppName": "default"}
    sm.create_app(**key, ResourceSpec={"SageMakerImageArn": image_arn("sample"), "InstanceType": "ml.t3.medium"})
    app = wait_for_app(sm, **key, timeout=120)
    assert app["Status"] == "Failed"
    assert "did not answer at /jupyterlab/default/api/status on port 8888 within 20s" in app["FailureReason"]
    assert "listening-elsewhere" in app["FailureReason"]
