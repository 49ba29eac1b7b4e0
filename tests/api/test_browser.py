"""A person in a browser (Debian's headless Chromium, driven with Selenium): presigned URL ->
Studio -> a JupyterLab app of their own image, on the space's own origin, running a cell and
a terminal; a Code Editor app (code-server standing in for sagemaker-code-editor) rendering
the home and a file of it; the Studio home page starting an app and opening it; another user
refused at every origin.

Each step's screenshot is saved under ``test-artifacts/browser/<test>/`` (BYOI_TEST_ARTIFACTS
moves it). Every wait is on a condition of the page, never a fixed time: these tests pass on
a loaded 2-core machine (scripts/browser-under-load.sh runs them 20 times beside two
CPU-bound processes).
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from urllib.parse import urlsplit

import docker
import pytest

from byoi.vocabulary import SPACE_APPS
from tests.api.test_apps import image_arn, in_service, make_studio

pytestmark = pytest.mark.docker

WAIT = 180  # seconds any page condition may take on a loaded machine
ARTIFACTS = Path(os.environ.get("BYOI_TEST_ARTIFACTS", Path(__file__).parents[2] / "test-artifacts")) / "browser"
PROBE = "import os, json\nmeta = json.load(open('/opt/ml/metadata/resource-metadata.json'))\nprint(6 * 7, os.getuid(), meta['AppType'])"


def notebook(source: str) -> dict:
    return {
        "cells": [{"cell_type": "code", "execution_count": None, "id": "probe", "metadata": {}, "outputs": [], "source": source}],
        "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}},
        "nbformat": 4,
        "nbformat_minor": 5,
    }


class Page:
    """One browser tab, with the waits and clicks JupyterLab needs, and a screenshot per step."""

    def __init__(self, driver, name: str):
        from selenium.webdriver.support.ui import WebDriverWait

        self.driver = driver
        self.wait = WebDriverWait(driver, WAIT, poll_frequency=0.5)
        self.dir = ARTIFACTS / name
        shutil.rmtree(self.dir, ignore_errors=True)
        self.dir.mkdir(parents=True)
        self.steps = 0

    def shot(self, step: str) -> None:
        self.steps += 1
        self.driver.save_screenshot(str(self.dir / f"{self.steps:02d}-{step}.png"))

    def open(self, url: str, step: str) -> None:
        self.driver.get(url)
        self.shot(step)

    def text(self) -> str:
        from selenium.webdriver.common.by import By

        return self.driver.find_element(By.TAG_NAME, "body").text

    def until(self, condition, step: str, timeout: float = WAIT):
        """Wait for ``condition(driver)``; a timeout fails with the page's text and a screenshot."""
        from selenium.common.exceptions import TimeoutException
        from selenium.webdriver.support.ui import WebDriverWait

        try:
            value = WebDriverWait(self.driver, timeout, poll_frequency=0.5).until(condition)
        except TimeoutException:
            self.shot(f"timeout-{step}")
            raise AssertionError(f"{step}: timed out at {self.driver.current_url}; page text: {self.text()[:2000]}") from None
        self.shot(step)
        return value

    def until_after(self, action, done, step: str, attempts: int = 4, each: float = 30) -> None:
        """Do ``action`` until ``done()`` holds within ``each`` seconds of it (keys sent while a
        page is still starting can be lost; the action must be safe to repeat)."""
        from selenium.common.exceptions import TimeoutException
        from selenium.webdriver.support.ui import WebDriverWait

        for attempt in range(attempts):
            action()
            try:
                WebDriverWait(self.driver, each, poll_frequency=0.5).until(lambda _d: done())
            except TimeoutException:
                self.shot(f"retry-{step}-{attempt}")
                continue
            self.shot(step)
            return
        raise AssertionError(f"{step}: not done after {attempts} tries; page text: {self.text()[:2000]}")

    def css(self, selector: str) -> list:
        from selenium.webdriver.common.by import By

        return self.driver.find_elements(By.CSS_SELECTOR, selector)

    def click(self, selector: str, step: str) -> None:
        """Click the first match once nothing covers it (JupyterLab covers the page with a
        spinner while it starts; a click that lands then is refused, not lost)."""
        from selenium.common.exceptions import (
            ElementClickInterceptedException,
            ElementNotInteractableException,
            StaleElementReferenceException,
        )

        def attempt(_driver):
            targets = self.css(selector)
            try:
                targets[0].click()
            except (IndexError, ElementClickInterceptedException, ElementNotInteractableException, StaleElementReferenceException):
                return False
            return True

        self.until(attempt, step)

    def run_first_cell(self) -> str:
        """Run a notebook's first cell with the toolbar's Run button; its output's text."""
        from selenium.common.exceptions import TimeoutException
        from selenium.webdriver.support.ui import WebDriverWait

        self.until(lambda _d: self.css(".jp-Notebook .jp-Cell"), "notebook-open")
        self.until(lambda _d: (self.css(".jp-Notebook-ExecutionIndicator") or [None])[0] is not None
                   and self.css(".jp-Notebook-ExecutionIndicator")[0].get_attribute("data-status") == "idle", "kernel-idle")

        def output(_driver):
            return next((e.text for e in self.css(".jp-OutputArea-output") if e.text.strip()), False)

        for attempt in range(4):  # a run that the kernel's start-up swallowed is run again
            self.click(".jp-Notebook .jp-Cell", f"select-cell-{attempt}")
            self.click('[data-command="notebook:run-cell-and-select-next"]', f"run-cell-{attempt}")
            try:
                text = WebDriverWait(self.driver, 30, poll_frequency=0.5).until(output)
            except TimeoutException:
                continue
            self.shot("cell-output")
            return text
        raise AssertionError(f"no output after 4 runs; page text: {self.text()[:2000]}")


@pytest.fixture
def chromium(tmp_path):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    binary, driver = shutil.which("chromium"), shutil.which("chromedriver")
    assert binary and driver, "Debian's chromium and chromium-driver are test dependencies (scripts/test.sh installs them)"
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync", "--window-size=1400,1000",
                 f"--user-data-dir={tmp_path / 'chromium'}"):
        options.add_argument(flag)
    session = webdriver.Chrome(service=Service(driver), options=options)
    session.set_page_load_timeout(WAIT)
    yield session
    session.quit()


def space_studio(fresh_server, test_images, studio_domains, app_type: str = "JupyterLab", image: str = "jupyterlab",
                 space: str = "lab", **env):
    """make_studio, with the test image ``image`` attached for ``app_type`` apps (a config with
    that type's member) and a Private space ``space`` of alice's for that app type."""
    kind = SPACE_APPS[app_type]
    srv, sm, domain_id, customs = make_studio(fresh_server, test_images, studio_domains, **env)
    sm.create_app_image_config(AppImageConfigName=space, **{kind.config: {}})
    sm.update_domain(DomainId=domain_id, DefaultUserSettings={
        "ExecutionRole": sm.describe_domain(DomainId=domain_id)["DefaultUserSettings"]["ExecutionRole"],
        "KernelGatewayAppSettings": {"CustomImages": customs},
        kind.settings: {"CustomImages": [{"ImageName": image, "AppImageConfigName": space}]},
    })
    sm.create_space(DomainId=domain_id, SpaceName=space, OwnershipSettings={"OwnerUserProfileName": "alice"},
                    SpaceSharingSettings={"SharingType": "Private"}, SpaceSettings={"AppType": app_type})
    return srv, sm, domain_id


def lab_studio(fresh_server, test_images, studio_domains, **env):
    """A JupyterLab space ``lab`` of alice's, from the jupyterlab test image."""
    return space_studio(fresh_server, test_images, studio_domains, **env)


def write_home_file(arn: str, path: str, content: str) -> None:
    (container,) = docker.from_env().containers.list(filters={"label": f"byoi.app-arn={arn}"})
    write = f"import pathlib; pathlib.Path({path!r}).write_text({content!r})"
    assert container.exec_run(["python3", "-c", write], user="1000:100").exit_code == 0


def read_home_file(arn: str, path: str) -> str | None:
    (container,) = docker.from_env().containers.list(filters={"label": f"byoi.app-arn={arn}"})
    result = container.exec_run(["cat", path], user="1000:100")
    return result.output.decode() if result.exit_code == 0 else None


def test_a_jupyterlab_space_from_a_custom_image_runs_a_cell_and_a_terminal_on_its_own_origin(fresh_server, test_images, studio_domains, chromium):
    from selenium.common.exceptions import WebDriverException

    srv, sm, domain_id = lab_studio(fresh_server, test_images, studio_domains)
    key = {"DomainId": domain_id, "SpaceName": "lab", "AppType": "JupyterLab", "AppName": "default"}
    arn = sm.create_app(**key, ResourceSpec={"SageMakerImageArn": image_arn("jupyterlab"), "InstanceType": "ml.t3.medium"})["AppArn"]
    in_service(sm, **key)
    write_home_file(arn, "/home/sagemaker-user/probe.ipynb", json.dumps(notebook(PROBE)))
    origin = sm.describe_space(DomainId=domain_id, SpaceName="lab")["Url"]

    page = Page(chromium, "jupyterlab-space")
    url = sm.create_presigned_domain_url(DomainId=domain_id, UserProfileName="alice", SpaceName="lab",
                                         LandingUri="app:JupyterLab:lab/tree/probe.ipynb")["AuthorizedUrl"]
    page.open(url, "presigned-url")
    page.until(lambda d: d.current_url.startswith(f"{origin}/jupyterlab/default/lab"), "on-the-spaces-origin")
    # The file browser lists the home; a notebook runs a cell on a kernel of the image.
    page.until(lambda _d: any(e.text == "probe.ipynb" for e in page.css(".jp-DirListing-itemText")), "files-listed")
    assert page.run_first_cell().strip() == "42 1000 JupyterLab"
    # JupyterLab's _xsrf cookie reached the browser, on the space's origin only.
    names = {c["name"]: c for c in chromium.get_cookies()}
    assert "_xsrf" in names and names["_xsrf"].get("domain", "").lstrip(".") == urlsplit(origin).hostname

    # The terminal opens and runs a command. It is made as JupyterLab's own scripts make one: a
    # POST that carries the _xsrf cookie's value back (it would be refused without it).
    made = chromium.execute_async_script("""
        const done = arguments[arguments.length - 1];
        const xsrf = document.cookie.split('; ').find(c => c.startsWith('_xsrf=')).slice(6);
        fetch('/jupyterlab/default/api/terminals', {method: 'POST', headers: {'X-XSRFToken': decodeURIComponent(xsrf),
              'Content-Type': 'application/json'}, body: JSON.stringify({name: 'probe'})}).then(r => done(r.status), e => done(String(e)));
    """)
    assert made == 200, made
    page.open(f"{origin}/jupyterlab/default/lab?reset", "launcher")  # ?reset: a fresh workspace shows the Launcher

    def open_terminal(driver):
        card = driver.execute_script("return [...document.querySelectorAll('.jp-LauncherCard')].find(c => c.innerText.trim() === 'Terminal') || null")
        try:
            card and card.click()
        except WebDriverException:  # covered by JupyterLab's start-up spinner: try again
            return False
        return bool(card)

    page.until(open_terminal, "terminal-open")
    page.until(lambda _d: page.css(".xterm-helper-textarea"), "terminal-ready")

    def typed(_driver):  # xterm draws on a canvas: what the command printed is read back from a file it writes
        page.css(".xterm-helper-textarea")[0].send_keys("echo $((6*7))-$(id -u) | tee terminal-probe.txt\n")
        return True

    page.until(lambda _d: page.css(".jp-Terminal") and typed(_d), "terminal-typed")
    page.until(lambda _d: read_home_file(arn, "/home/sagemaker-user/terminal-probe.txt") == "42-1000\n", "terminal-answered")


def test_a_code_editor_space_from_a_custom_image_renders_and_lists_the_home(fresh_server, test_images, studio_domains, chromium):
    """The image is tests/images/code-server: code-server (VS Code in the browser, from the npm
    registry) stands in for sagemaker-code-editor, serving /codeeditor/default on 8888 with no
    token. The workbench's files come over its websocket, through byoi's gateway."""
    srv, sm, domain_id = space_studio(fresh_server, test_images, studio_domains, "CodeEditor", "code-server", "editor")
    key = {"DomainId": domain_id, "SpaceName": "editor", "AppType": "CodeEditor", "AppName": "default"}
    arn = sm.create_app(**key, ResourceSpec={"SageMakerImageArn": image_arn("code-server"), "InstanceType": "ml.t3.medium"})["AppArn"]
    in_service(sm, **key)
    write_home_file(arn, "/home/sagemaker-user/probe.py", "print(6 * 7)  # written in the space's home\n")
    origin = sm.describe_space(DomainId=domain_id, SpaceName="editor")["Url"]

    page = Page(chromium, "code-editor-space")
    page.open(sm.create_presigned_domain_url(DomainId=domain_id, UserProfileName="alice", SpaceName="editor",
                                             LandingUri="app:CodeEditor:")["AuthorizedUrl"], "presigned-url")
    page.until(lambda d: d.current_url.startswith(f"{origin}/codeeditor/default/"), "on-the-spaces-origin")
    page.until(lambda _d: page.css(".monaco-workbench"), "workbench-rendered")
    # The Explorer lists the home (the folder code-server opened), read over the websocket.
    row = '.explorer-folders-view .monaco-list-row[aria-label^="probe.py"]'
    page.until(lambda _d: page.css(row), "home-listed")
    page.click(row, "file-clicked")
    page.until(lambda _d: any("written in the space" in e.text for e in page.css(".editor-instance .view-lines")), "file-open")

    # An edit saved in the browser lands in the space's home.
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.keys import Keys

    def keys(*chord_then_text):
        modifier, key, *text = chord_then_text
        ActionChains(chromium).key_down(modifier).send_keys(key).key_up(modifier).send_keys(*text).perform()

    page.click(".editor-instance .view-lines", "editor-focused")
    keys(Keys.CONTROL, Keys.END, "answer = 42")
    page.until_after(lambda: keys(Keys.CONTROL, "s"), lambda: "answer = 42" in (read_home_file(arn, "/home/sagemaker-user/probe.py") or ""), "edit-saved")

    # The terminal (node-pty, compiled for the image) runs a command as the image's user.
    def type_in_terminal():
        if not page.css(".integrated-terminal .xterm-helper-textarea"):
            keys(Keys.CONTROL, "`")  # opens the panel (only when it is not open: the same keys close it)
            page.until(lambda _d: page.css(".integrated-terminal .xterm-helper-textarea"), "terminal-open")
        page.css(".integrated-terminal .xterm-helper-textarea")[0].send_keys("echo $((6*7))-$(id -u) > terminal-probe.txt\n")

    page.until_after(type_in_terminal, lambda: read_home_file(arn, "/home/sagemaker-user/terminal-probe.txt") == "42-1000\n", "terminal-answered")

    # AWS's docs also write the base path /CodeEditor/default: the same app, the same home.
    page.open(f"{origin}/CodeEditor/default/", "capitalised-base-path")
    page.until(lambda _d: page.css('.explorer-folders-view .monaco-list-row[aria-label^="terminal-probe.txt"]'), "capitalised-home-listed")


def test_the_studio_home_page_creates_a_space_starts_its_app_and_opens_it(fresh_server, test_images, studio_domains, chromium):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    srv, sm, domain_id = lab_studio(fresh_server, test_images, studio_domains)
    page = Page(chromium, "studio-home")
    page.open(sm.create_presigned_domain_url(DomainId=domain_id, UserProfileName="alice")["AuthorizedUrl"], "signed-in")
    page.until(lambda _d: page.css("#create-space"), "home-page")
    assert page.css("#user")[0].text == "alice"

    form = page.css("#create-space")[0]
    form.find_element(By.NAME, "name").send_keys("mine")
    Select(form.find_element(By.NAME, "sharing")).select_by_value("Private")
    form.find_element(By.CSS_SELECTOR, "button").click()
    row = '#spaces tr[data-space="mine"]'
    page.until(lambda _d: page.css(row) and page.css("#message"), "space-created")

    start = page.css(f"{row} form.start")[0]
    choices = [o.get_attribute("value") for o in start.find_elements(By.CSS_SELECTOR, "select[name=image] option")]
    assert choices == ["jupyterlab"]  # the images attached for JupyterLab apps, and only those
    start.find_element(By.CSS_SELECTOR, "button").click()
    # The page refreshes itself while the app starts.
    page.until(lambda _d: page.css(f"{row} .status-inservice"), "app-in-service")
    page.click(f"{row} a.button.primary", "open-clicked")
    space = sm.describe_space(DomainId=domain_id, SpaceName="mine")["Url"]
    page.until(lambda d: d.current_url.startswith(f"{space}/jupyterlab/default/lab"), "opened-on-the-spaces-origin")
    page.until(lambda _d: page.css(".jp-DirListing-content") and page.css(".jp-LauncherCard"), "jupyterlab-rendered")

    # Back home: stop it.
    page.open(srv.url.replace("127.0.0.1", f"{domain_id}.studio.localhost") + "/", "home-again")
    page.css(f"{row} form[action$='/stop'] button")[0].click()
    page.until(lambda _d: page.css(f"{row} .status-stopped"), "app-stopped")


def test_another_users_session_is_refused_at_every_origin(fresh_server, test_images, studio_domains, chromium):
    """Bob, signed in to the same domain, tries alice's private space (by its hand-off path and
    by its origin), alice's own apps, and another domain's Studio."""
    srv, sm, domain_id = lab_studio(fresh_server, test_images, studio_domains)
    sm.create_user_profile(DomainId=domain_id, UserProfileName="bob")
    other = sm.create_domain(DomainName="other", AuthMode="IAM", SubnetIds=["subnet-1"], VpcId="vpc-1",
                             DefaultUserSettings={"ExecutionRole": "arn:aws:iam::123456789012:role/x"})["DomainId"]
    studio_domains.append(other)
    studio = sm.describe_domain(DomainId=domain_id)["Url"]
    space = sm.describe_space(DomainId=domain_id, SpaceName="lab")["Url"]

    page = Page(chromium, "other-user")
    page.open(sm.create_presigned_domain_url(DomainId=domain_id, UserProfileName="bob", SpaceName="lab")["AuthorizedUrl"], "bob-opens-alices-space")
    page.until(lambda _d: "private to another user" in page.text(), "refused-by-the-studio")
    page.open(f"{studio}/", "bobs-home")
    page.until(lambda _d: page.css("#user") and page.css("#user")[0].text == "bob", "bob-signed-in")
    assert 'data-space="lab"' not in chromium.page_source  # alice's private space is not listed for bob
    for url, expected in (
        (f"{space}/jupyterlab/default/lab", "Open this space from"),  # the space's origin: no session there
        (f"{space}/", "Open this space from"),
        (f"{space}/codeeditor/default/", "Open this space from"),
        (f"{studio}/spaces/lab/JupyterLab/lab", "private to another user"),
        (f"{studio}/apps/{domain_id}/alice/JupyterServer/default/lab", "belongs to another user"),
        (f"{sm.describe_domain(DomainId=other)['Url']}/", "Sign in to Studio"),
    ):
        page.open(url, urlsplit(url).path.strip("/").replace("/", "-") or "root")
        page.until(lambda _d, e=expected: e in page.text(), f"refused-{expected[:12]}")


def test_a_jupyterserver_app_runs_a_cell_on_the_users_kernelgateway_app(fresh_server, test_images, studio_domains, chromium):
    """Studio Classic's shape, kept: a JupyterServer app under /apps/ on the domain's Studio,
    whose kernels are the user's KernelGateway app's, reached through byoi's gateway."""
    srv, sm, domain_id, _ = make_studio(fresh_server, test_images, studio_domains, BYOI_JUPYTER_SERVER_IMAGE=test_images["jupyterlab"])
    kernels = {"DomainId": domain_id, "UserProfileName": "alice", "AppType": "KernelGateway", "AppName": "default"}
    sm.create_app(**kernels, ResourceSpec={"SageMakerImageArn": image_arn("sample"), "InstanceType": "ml.t3.medium"})
    server = {"DomainId": domain_id, "UserProfileName": "alice", "AppType": "JupyterServer", "AppName": "default"}
    server_arn = sm.create_app(**server)["AppArn"]
    in_service(sm, **kernels)
    in_service(sm, **server)
    write_home_file(server_arn, "/home/sagemaker-user/probe.ipynb", json.dumps(notebook(PROBE)))

    page = Page(chromium, "jupyterserver")
    url = sm.create_presigned_domain_url(DomainId=domain_id, UserProfileName="alice", LandingUri="app:JupyterServer:lab/tree/probe.ipynb")["AuthorizedUrl"]
    page.open(url, "presigned-url")
    assert page.run_first_cell().strip() == "42 1000 KernelGateway"  # ran in the KernelGateway app's custom image
