"""CreateImageVersion on a cluster deployment (BYOI_RUNTIME=kubernetes) resolves BaseImage in the
registry the cluster pulls from: a real docker-registry on loopback, with htpasswd credentials."""

from __future__ import annotations

import base64
import json

import pytest

from tests.conftest import ROLE_ARN
from tests.registry import PASSWORD, USER, running_registries
from tests.runtime.kubernetes.fake_api import FakeKubernetes


@pytest.fixture(scope="module")
def registries(tmp_path_factory):
    yield from running_registries(tmp_path_factory)


@pytest.fixture
def on_a_cluster(tmp_path):
    """The settings of a byoi on a (fake) cluster: BYOI_RUNTIME=kubernetes and what it needs."""
    with FakeKubernetes() as api:
        yield {"BYOI_RUNTIME": "kubernetes", "BYOI_KUBERNETES_KUBECONFIG": api.kubeconfig(tmp_path / "kubeconfig"),
               "BYOI_KUBERNETES_GATEWAY_IMAGE": "registry.example/byoi-gateway:1"}


def test_image_versions_resolve_in_the_registry_or_fail_with_a_reason(fresh_server, registries, on_a_cluster):
    srv = fresh_server(
        **on_a_cluster,
        BYOI_REGISTRY_URL=registries.basic.url,
        BYOI_REGISTRY_USERNAME=USER,
        BYOI_REGISTRY_PASSWORD=PASSWORD,
    )
    sm = srv.client()
    sm.create_image(ImageName="team-app", RoleArn=ROLE_ARN)
    sm.create_image_version(ImageName="team-app", BaseImage="team/app:1", ClientToken="a" * 36)
    resolved = sm.describe_image_version(ImageName="team-app", Version=1)
    assert (resolved["ImageVersionStatus"], resolved["BaseImage"], resolved["ContainerImage"]) == (
        "CREATED",
        "team/app:1",
        f"{registries.basic.host}/team/app@{registries.app.digest}",
    )
    sm.create_image_version(ImageName="team-app", BaseImage="team/app:gone", ClientToken="b" * 36)
    missing = sm.describe_image_version(ImageName="team-app", Version=2)
    assert missing["ImageVersionStatus"] == "CREATE_FAILED"
    assert "ContainerImage" not in missing
    assert missing["FailureReason"].startswith(
        f"BaseImage team/app:gone could not be resolved: the repository team/app in the registry {registries.basic.host} has no tag gone"
    )


def test_a_pull_secret_shaped_auth_file_serves_and_wrong_credentials_fail_the_version(fresh_server, registries, tmp_path, on_a_cluster):
    auth_file = tmp_path / "config.json"
    wrong = base64.b64encode(f"{USER}:not-the-password".encode()).decode()
    auth_file.write_text(json.dumps({"auths": {registries.basic.host: {"auth": wrong}}}))
    srv = fresh_server(**on_a_cluster, BYOI_REGISTRY_URL=registries.basic.url, BYOI_REGISTRY_AUTH_FILE=str(auth_file))
    sm = srv.client()
    sm.create_image(ImageName="team-app", RoleArn=ROLE_ARN)
    sm.create_image_version(ImageName="team-app", BaseImage="team/app:1", ClientToken="c" * 36)
    failed = sm.describe_image_version(ImageName="team-app", Version=1)
    assert failed["ImageVersionStatus"] == "CREATE_FAILED"
    assert (
        f"the registry {registries.basic.host} refused byoi's credentials for user '{USER}' (HTTP 401" in failed["FailureReason"]
    )
    assert "not-the-password" not in failed["FailureReason"]
