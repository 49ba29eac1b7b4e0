"""With a Docker engine, CreateImageVersion resolves BaseImage like SageMaker resolves ECR tags.

Needs a running engine. ``.ci/run`` starts one and sets BYOI_TEST_DOCKER=1, which
turns a missing engine into a failure instead of a skip.
"""

import subprocess
import uuid

import pytest

from tests.conftest import ROLE_ARN, require_docker

pytestmark = pytest.mark.docker


@pytest.fixture(scope="module")
def local_image():
    """A tiny image made offline with ``docker import`` of an empty file system."""
    require_docker()
    tag = f"byoi-test/empty:{uuid.uuid4().hex[:8]}"
    subprocess.run(f"tar cf - --files-from /dev/null | docker import - {tag}", shell=True, check=True, capture_output=True)
    image_id = subprocess.run(["docker", "image", "inspect", tag, "--format", "{{.Id}}"], capture_output=True, text=True, check=True).stdout.strip()
    yield tag, image_id
    subprocess.run(["docker", "image", "rm", "-f", tag], capture_output=True)


@pytest.fixture
def docker_sm(fresh_server, local_image):
    return fresh_server(BYOI_DOCKER="on").client()


def test_an_existing_image_records_its_resolved_id(docker_sm, local_image):
    tag, image_id = local_image
    docker_sm.create_image(ImageName="img", RoleArn=ROLE_ARN)
    docker_sm.create_image_version(ImageName="img", BaseImage=tag)
    docker_sm.get_waiter("image_version_created").wait(ImageName="img", Version=1, WaiterConfig={"Delay": 1, "MaxAttempts": 10})
    version = docker_sm.describe_image_version(ImageName="img", Version=1)
    assert version["BaseImage"] == tag
    assert version["ContainerImage"] == image_id and image_id.startswith("sha256:")


def test_a_missing_image_fails_the_version_with_a_clear_reason(docker_sm):
    docker_sm.create_image(ImageName="img", RoleArn=ROLE_ARN)
    docker_sm.create_image_version(ImageName="img", BaseImage="byoi-test/never-built:1")
    with pytest.raises(Exception, match="CREATE_FAILED|Waiter encountered a terminal failure state"):
        docker_sm.get_waiter("image_version_created").wait(ImageName="img", Version=1, WaiterConfig={"Delay": 1, "MaxAttempts": 10})
    version = docker_sm.describe_image_version(ImageName="img", Version=1)
    assert version["ImageVersionStatus"] == "CREATE_FAILED"
    assert "byoi-test/never-built:1 does not exist in the Docker engine" in version["FailureReason"]
    assert "ContainerImage" not in version
    listed = docker_sm.list_image_versions(ImageName="img")["ImageVersions"][0]
    assert listed["ImageVersionStatus"] == "CREATE_FAILED" and listed["FailureReason"] == version["FailureReason"]


def test_docker_on_without_an_engine_refuses_to_start(tmp_path):
    from tests.conftest import ByoiServer

    srv = ByoiServer(tmp_path / "nodocker", BYOI_DOCKER="on", DOCKER_HOST="unix:///nonexistent.sock")
    with pytest.raises(RuntimeError, match="no Docker engine answers"):
        srv.start()
