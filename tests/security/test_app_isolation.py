"""Attacks from inside apps: no user's code reaches another user's apps, byoi's API or the host.

Two users (alice, bob) and a shared space each run apps on one byoi, first as
``byoi serve`` runs by default (loopback, auth off), then as a team would run it
(``--host 0.0.0.0 --auth on``). Code runs inside the containers as the app's
user, exactly as a kernel's or a terminal's code would, and tries every way out
it can name: other owners' apps by address and by name, byoi's API and other
services on the host's addresses, the user's own kernel gateway without its
token. Each attack must fail; a control from the same place (the user's own
apps, with the owner's token) must succeed, so a failure is never just a broken
network.
"""

from __future__ import annotations

import json
import socket
import threading
import uuid

import docker
import pytest

from tests.api.test_apps import TEST_SECRET, image_arn, in_service, make_studio, wait_for_app

pytestmark = pytest.mark.docker

#: Run inside a container as the app's user: try each (label, host, port) and report what happened.
PROBE = r"""
import json, socket, sys, urllib.request
results = {}
for label, host, port, path, headers in json.loads(sys.argv[1]):
    try:
        address = socket.gethostbyname(host)
    except OSError as exc:
        results[label] = "unresolved"
        continue
    try:
        with socket.create_connection((address, port), timeout=3):
            pass
    except OSError as exc:
        results[label] = "refused" if isinstance(exc, ConnectionRefusedError) else "unreachable"
        continue
    if path is None:
        results[label] = "connected"
        continue
    request = urllib.request.Request(f"http://{address}:{port}{path}", headers=headers)
    try:
        results[label] = urllib.request.urlopen(request, timeout=10).status
    except urllib.error.HTTPError as exc:
        results[label] = exc.code
    except OSError as exc:
        results[label] = "error"
print(json.dumps(results))
"""

BLOCKED = {"unresolved", "refused", "unreachable"}


def container_of(app_arn: str):
    (container,) = docker.from_env().containers.list(filters={"label": f"byoi.app-arn={app_arn}"})
    return container


def address_of(container) -> str:
    return container.attrs["NetworkSettings"]["Networks"][container.labels["byoi.network"]]["IPAddress"]


def gateway_of(container) -> str:
    network = docker.from_env().networks.get(container.labels["byoi.network"])
    return network.attrs["IPAM"]["Config"][0]["Gateway"]


def probe(container, targets: list[tuple]) -> dict:
    """What happens when code in ``container`` (as the app's user) tries each target."""
    result = container.exec_run(["python3", "-c", PROBE, json.dumps(targets)], user=container.attrs["Config"]["User"])
    assert result.exit_code == 0, result.output.decode()
    return json.loads(result.output.decode().strip().splitlines()[-1])


def host_addresses() -> list[str]:
    """This host's own IPv4 addresses other than loopback (where byoi or other services listen)."""
    import subprocess

    out = subprocess.run(["ip", "-4", "-o", "addr", "show"], capture_output=True, text=True, check=True).stdout
    return sorted({line.split()[3].split("/")[0] for line in out.splitlines() if " lo " not in line})


@pytest.fixture(scope="module", params=["default", "team"], ids=["serve-defaults", "serve-0.0.0.0-auth-on"])
def installation(request, tmp_path_factory, test_images):
    """alice and bob with a KernelGateway app each, alice's JupyterServer, bob's Code Editor, and a space's JupyterLab app."""
    from tests.conftest import ByoiServer, remove_studio_resources

    env = {"BYOI_HOST": "0.0.0.0", "BYOI_AUTH": "on"} if request.param == "team" else {}
    servers, domains = [], []
    key = ("AKIAISOLATIONTEST01", "isolation-secret")

    class SignedServer(ByoiServer):
        def client(self, service="sagemaker", **config):  # signs with the key the server trusts
            import boto3
            from botocore.config import Config

            return boto3.client(service, endpoint_url=self.url, region_name="us-east-1", aws_access_key_id=key[0],
                                aws_secret_access_key=key[1], config=Config(retries={"max_attempts": 1, "mode": "standard"}))

    def fresh_server(**more):
        srv = SignedServer(tmp_path_factory.mktemp("isolation"), **more).start()
        servers.append(srv)
        return srv

    if request.param == "team":
        key_file = tmp_path_factory.mktemp("keys") / "credentials"
        key_file.write_text(f"[default]\naws_access_key_id = {key[0]}\naws_secret_access_key = {key[1]}\n")
        env["BYOI_CREDENTIALS_FILE"] = str(key_file)
    try:
        srv, sm, domain_id, _ = make_studio(fresh_server, test_images, domains, BYOI_JUPYTER_SERVER_IMAGE=test_images["jupyterlab"], **env)
        sm.create_user_profile(DomainId=domain_id, UserProfileName="bob")
        sm.create_space(DomainId=domain_id, SpaceName="team")
        sm.create_app_image_config(AppImageConfigName="jl", JupyterLabAppImageConfig={"FileSystemConfig": {}})
        sm.create_app_image_config(AppImageConfigName="ce", CodeEditorAppImageConfig={"FileSystemConfig": {}})
        sm.update_user_profile(DomainId=domain_id, UserProfileName="bob", UserSettings={
            "CodeEditorAppSettings": {"CustomImages": [{"ImageName": "codeeditor", "AppImageConfigName": "ce"}]},
        })
        sm.update_domain(DomainId=domain_id, DefaultSpaceSettings={
            "JupyterLabAppSettings": {"CustomImages": [{"ImageName": "jupyterlab", "AppImageConfigName": "jl"}]},
        })
        kernels = {"ResourceSpec": {"SageMakerImageArn": image_arn("sample"), "InstanceType": "ml.t3.medium"}}
        keys = {
            "alice": ({"DomainId": domain_id, "UserProfileName": "alice", "AppType": "KernelGateway", "AppName": "default"}, kernels),
            "bob": ({"DomainId": domain_id, "UserProfileName": "bob", "AppType": "KernelGateway", "AppName": "default"}, kernels),
            "alice-server": ({"DomainId": domain_id, "UserProfileName": "alice", "AppType": "JupyterServer", "AppName": "default"}, {}),
            "bob-editor": ({"DomainId": domain_id, "UserProfileName": "bob", "AppType": "CodeEditor", "AppName": "default"},
                           {"ResourceSpec": {"SageMakerImageArn": image_arn("codeeditor"), "InstanceType": "ml.t3.medium"}}),
            "space": ({"DomainId": domain_id, "SpaceName": "team", "AppType": "JupyterLab", "AppName": "default"},
                      {"ResourceSpec": {"SageMakerImageArn": image_arn("jupyterlab"), "InstanceType": "ml.t3.medium"}}),
        }
        arns = {name: sm.create_app(**key, **more)["AppArn"] for name, (key, more) in keys.items()}
        for name, (key, _) in keys.items():
            app = wait_for_app(sm, **key)
            assert app["Status"] == "InService", (name, app.get("FailureReason"))
        yield {"server": srv, "sm": sm, "domain": domain_id, "containers": {n: container_of(a) for n, a in arns.items()}}
    finally:
        for srv in servers:
            srv.kill()
        remove_studio_resources(domains)


def test_no_app_publishes_a_port_or_shares_the_hosts_network(installation):
    for name, container in installation["containers"].items():
        host_config = container.attrs["HostConfig"]
        assert host_config["NetworkMode"] not in ("host", "default", "bridge"), name
        assert not host_config["PortBindings"] and not container.attrs["NetworkSettings"]["Ports"], name
        assert list(container.attrs["NetworkSettings"]["Networks"]) == [container.labels["byoi.network"]], name


def test_a_users_code_cannot_reach_another_users_apps_by_address_or_name(installation):
    c = installation["containers"]
    for attacker, victims in {"alice": ["bob", "bob-editor", "space"], "bob": ["alice", "alice-server", "space"],
                              "alice-server": ["bob", "bob-editor", "space"], "bob-editor": ["alice", "alice-server", "space"],
                              "space": ["alice", "bob", "alice-server", "bob-editor"]}.items():
        targets = []
        for victim in victims:
            targets.append((f"{victim} by address", address_of(c[victim]), 8888, None, {}))
            targets.append((f"{victim} by container name", c[victim].name, 8888, None, {}))
        results = probe(c[attacker], targets)
        where = {n: (x.labels["byoi.network"], address_of(x)) for n, x in c.items()}
        assert set(results.values()) <= BLOCKED, (attacker, results, where)


def test_a_users_own_apps_reach_each_other_so_the_refusals_above_are_real(installation):
    c = installation["containers"]
    assert probe(c["alice"], [("own server", "jupyterserver-default", 8888, None, {})]) == {"own server": "connected"}
    assert probe(c["bob-editor"], [("own kernels", "kernelgateway-default", 8888, None, {})]) == {"own kernels": "connected"}


def test_the_users_own_kernel_gateway_refuses_requests_without_a_token(installation):
    c = installation["containers"]
    config = c["alice-server"].exec_run(["cat", "/opt/ml/metadata/jupyter_server_config.json"], user="1000:100").output
    owner = json.loads(config)["GatewayClient"]["auth_token"]
    results = probe(c["alice-server"], [
        ("no token", "kernelgateway-default", 8888, "/api/kernels", {}),
        ("a wrong token", "kernelgateway-default", 8888, "/api/kernels", {"Authorization": "token " + "0" * 64}),
        ("the owner token", "kernelgateway-default", 8888, "/api/kernels", {"Authorization": f"token {owner}"}),
    ])
    assert results == {"no token": 401, "a wrong token": 401, "the owner token": 200}
    # bob's kernel gateway does not take alice's owner token, even if bob's gateway were reachable.
    assert owner not in c["bob"].exec_run(["cat", "/opt/ml/metadata/gateway-tokens"]).output.decode()


def test_apps_cannot_reach_byois_api_or_any_service_on_the_hosts_addresses(installation):
    port = installation["server"].port
    listener = socket.socket()
    listener.bind(("0.0.0.0", 0))
    listener.listen(8)
    accepted = []

    def accept():
        try:
            accepted.append(listener.accept())
        except OSError:  # closed at the end of the test, as it should be, unreached
            pass

    threading.Thread(target=accept, daemon=True).start()
    try:
        for name, container in installation["containers"].items():
            addresses = [gateway_of(container), *host_addresses()]
            targets = [(f"byoi at {a}", a, port, None, {}) for a in addresses]
            targets += [(f"a host service at {a}", a, listener.getsockname()[1], None, {}) for a in addresses]
            results = probe(container, targets)
            assert set(results.values()) <= BLOCKED, (name, results)
        assert not accepted
    finally:
        listener.close()


def test_secrets_are_never_on_a_command_line_or_in_the_environment(installation):
    secret_bits = [TEST_SECRET]
    server = installation["containers"]["alice-server"]
    owner = json.loads(server.exec_run(["cat", "/opt/ml/metadata/jupyter_server_config.json"]).output)["GatewayClient"]["auth_token"]
    secret_bits.append(owner)
    for name, container in installation["containers"].items():
        container.reload()
        visible = json.dumps([container.attrs["Config"]["Cmd"], container.attrs["Config"]["Entrypoint"], container.attrs["Config"]["Env"]])
        processes = container.exec_run(["sh", "-c", "cat /proc/[0-9]*/cmdline /proc/[0-9]*/environ 2>/dev/null | tr '\\0' ' '"], user="0:0")
        for secret in secret_bits:
            assert secret not in visible and secret not in processes.output.decode(errors="replace"), name


def test_apps_run_without_privileges_and_within_their_instance_types_limits(installation):
    for name, container in installation["containers"].items():
        host_config = container.attrs["HostConfig"]
        assert host_config["CapDrop"] == ["ALL"] and not host_config["CapAdd"], name
        assert "no-new-privileges" in host_config["SecurityOpt"] and host_config["PidsLimit"] == 4096, name
        expected = (2 * 10**9, 4 * 2**30)  # ml.t3.medium, and "system" for the JupyterServer app
        assert (min(host_config["NanoCpus"], 2 * 10**9), host_config["Memory"]) == expected, name
    status = installation["containers"]["alice"].exec_run(["sh", "-c", "grep -E 'NoNewPrivs|CapEff' /proc/self/status"], user="1000:100")
    assert "NoNewPrivs:\t1" in status.output.decode() and "CapEff:\t0000000000000000" in status.output.decode()


def test_a_user_and_a_space_of_the_same_name_get_different_containers_and_homes(installation):
    sm, domain_id = installation["sm"], installation["domain"]
    name = f"carol{uuid.uuid4().hex[:4]}"
    sm.create_user_profile(DomainId=domain_id, UserProfileName=name)
    sm.create_space(DomainId=domain_id, SpaceName=name)
    user_key = {"DomainId": domain_id, "UserProfileName": name, "AppType": "KernelGateway", "AppName": "default"}
    space_key = {"DomainId": domain_id, "SpaceName": name, "AppType": "JupyterLab", "AppName": "default"}
    user_arn = sm.create_app(**user_key, ResourceSpec={"SageMakerImageArn": image_arn("sample"), "InstanceType": "ml.t3.medium"})["AppArn"]
    space_arn = sm.create_app(**space_key, ResourceSpec={"SageMakerImageArn": image_arn("jupyterlab"), "InstanceType": "ml.t3.medium"})["AppArn"]
    in_service(sm, **user_key)
    in_service(sm, **space_key)
    user, space = container_of(user_arn), container_of(space_arn)
    assert user.name != space.name
    assert user.labels["byoi.home-volume"] != space.labels["byoi.home-volume"]
    assert user.labels["byoi.network"] != space.labels["byoi.network"]
    for key in (user_key, space_key):
        sm.delete_app(**key)
        wait_for_app(sm, **key)


def test_a_profile_recreated_under_a_deleted_profiles_name_is_a_new_person_with_a_new_home(installation):
    sm, domain_id = installation["sm"], installation["domain"]
    name = f"erin{uuid.uuid4().hex[:4]}"
    key = {"DomainId": domain_id, "UserProfileName": name, "AppType": "KernelGateway", "AppName": "default"}
    spec = {"ResourceSpec": {"SageMakerImageArn": image_arn("sample"), "InstanceType": "ml.t3.medium"}}
    uids = []
    for _ in range(2):
        sm.create_user_profile(DomainId=domain_id, UserProfileName=name)
        uids.append(sm.describe_user_profile(DomainId=domain_id, UserProfileName=name)["HomeEfsFileSystemUid"])
        arn = sm.create_app(**key, **spec)["AppArn"]
        in_service(sm, **key)
        container = container_of(arn)
        listing = container.exec_run(["sh", "-c", "ls /home/sagemaker-user; touch /home/sagemaker-user/erins-diary"], user="1000:100")
        assert listing.output.decode().strip() == "", listing.output  # the earlier erin's diary is not here
        sm.delete_app(**key)
        wait_for_app(sm, **key)
        sm.delete_user_profile(DomainId=domain_id, UserProfileName=name)
    assert uids[0] != uids[1]
