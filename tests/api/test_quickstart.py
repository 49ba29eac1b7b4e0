"""README's path for a newcomer: ``byoi quickstart IMAGE`` on a running byoi prints a URL that
opens JupyterLab from that image in a space of their own."""

import subprocess
import sys

import pytest

from tests.api.test_apps import TEST_SECRET
from tests.security.test_space_origins import Browser

pytestmark = pytest.mark.docker


def quickstart(srv, image: str, *more: str) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "byoi", "quickstart", image, "--endpoint-url", srv.url, "--user", "alice", "--timeout", "300", *more]
    return subprocess.run(command, capture_output=True, text=True, timeout=900)


def first_quickstart(fresh_server, studio_domains, image: str, *more: str):
    """byoi quickstart on a new byoi: (the server, a client, the domain it made, its result)."""
    srv = fresh_server(BYOI_DOCKER="on", BYOI_SESSION_SECRET=TEST_SECRET)
    result = quickstart(srv, image, *more)
    assert result.returncode == 0, result.stderr
    sm = srv.client()
    (domain,) = sm.list_domains()["Domains"]
    studio_domains.append(domain["DomainId"])
    return srv, sm, domain, result


def test_quickstart_runs_a_local_image_as_a_jupyterlab_space_and_prints_a_url_that_opens_it(fresh_server, test_images, studio_domains):
    srv, sm, domain, first = first_quickstart(fresh_server, studio_domains, test_images["jupyterlab"], "--space", "lab")
    assert "creating image jupyterlab" in first.stderr and "JupyterLab is running" in first.stderr

    landed = Browser().get(first.stdout.strip())
    space = sm.describe_space(DomainId=domain["DomainId"], SpaceName="lab")["Url"]
    assert landed.status_code == 200 and str(landed.url) == f"{space}/jupyterlab/default/lab"
    assert "JupyterLab" in landed.text

    again = quickstart(srv, test_images["jupyterlab"], "--space", "lab")  # run again: everything is reused
    assert again.returncode == 0 and "creating" not in again.stderr and "starting" not in again.stderr, again.stderr
    assert Browser().get(again.stdout.strip()).status_code == 200


def test_quickstart_runs_a_code_editor_image_in_a_space_of_its_own(fresh_server, test_images, studio_domains):
    srv, sm, domain, result = first_quickstart(fresh_server, studio_domains, test_images["code-server"], "--app-type", "CodeEditor")
    assert "CodeEditor is running" in result.stderr
    space = sm.describe_space(DomainId=domain["DomainId"], SpaceName="my-editor")
    assert space["SpaceSettings"]["AppType"] == "CodeEditor"
    assert sm.describe_domain(DomainId=domain["DomainId"])["DefaultUserSettings"]["CodeEditorAppSettings"]["CustomImages"] == [
        {"ImageName": "code-server", "AppImageConfigName": "code-server-codeeditor"}]

    landed = Browser().get(result.stdout.strip())  # code-server's workbench, opened on the home
    assert landed.status_code == 200 and str(landed.url).startswith(f"{space['Url']}/codeeditor/default/?folder=")
    assert "workbench" in landed.text

    # The JupyterLab quickstart's default space is another one; a space keeps its app type.
    clash = quickstart(srv, test_images["jupyterlab"], "--space", "my-editor")
    assert clash.returncode == 1 and "space my-editor is a CodeEditor space; name another with --space" in clash.stderr, clash.stderr


def test_quickstart_says_why_it_cannot_go_on(fresh_server):
    srv = fresh_server(BYOI_DOCKER="off")
    result = quickstart(srv, "no-such/image:1")
    assert result.returncode == 1 and "the JupyterLab app failed:" in result.stderr, result.stderr
