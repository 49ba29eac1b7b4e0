"""README's path for a newcomer: ``byoi quickstart IMAGE`` on a running byoi prints a URL that
opens JupyterLab from that image in a space of their own."""

import subprocess
import sys

import pytest

from tests.api.test_apps import TEST_SECRET
from tests.security.test_space_origins import Browser

pytestmark = pytest.mark.docker


def quickstart(srv, image: str) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "byoi", "quickstart", image, "--endpoint-url", srv.url, "--user", "alice", "--space", "lab", "--timeout", "300"]
    return subprocess.run(command, capture_output=True, text=True, timeout=900)


def test_quickstart_runs_a_local_image_as_a_jupyterlab_space_and_prints_a_url_that_opens_it(fresh_server, test_images, studio_domains):
    srv = fresh_server(BYOI_DOCKER="on", BYOI_SESSION_SECRET=TEST_SECRET)
    first = quickstart(srv, test_images["jupyterlab"])
    assert first.returncode == 0, first.stderr
    sm = srv.client()
    (domain,) = sm.list_domains()["Domains"]
    studio_domains.append(domain["DomainId"])
    assert "creating image jupyterlab" in first.stderr and "JupyterLab is running" in first.stderr

    landed = Browser().get(first.stdout.strip())
    space = sm.describe_space(DomainId=domain["DomainId"], SpaceName="lab")["Url"]
    assert landed.status_code == 200 and str(landed.url) == f"{space}/jupyterlab/default/lab"
    assert "JupyterLab" in landed.text

    again = quickstart(srv, test_images["jupyterlab"])  # run again: everything is reused
    assert again.returncode == 0 and "creating" not in again.stderr and "starting" not in again.stderr, again.stderr
    assert Browser().get(again.stdout.strip()).status_code == 200


def test_quickstart_says_why_it_cannot_go_on(fresh_server):
    srv = fresh_server(BYOI_DOCKER="off")
    result = quickstart(srv, "no-such/image:1")
    assert result.returncode == 1 and "the JupyterLab app failed:" in result.stderr, result.stderr
