"""A person in a browser: presigned URL -> JupyterLab -> run a cell in a custom-image kernel.

The JupyterServer app is a JupyterLab whose kernels are the user's KernelGateway
app's, reached through byoi's gateway, as in Studio's architecture. Headless
Chromium (Debian's) is driven with Selenium.
"""

import json
import shutil

import docker
import pytest

from tests.api.test_apps import image_arn, in_service, make_studio

pytestmark = pytest.mark.docker

NOTEBOOK = {
    "cells": [{"cell_type": "code", "execution_count": None, "id": "probe", "metadata": {}, "outputs": [],
               "source": "import os, json\nmeta = json.load(open('/opt/ml/metadata/resource-metadata.json'))\nprint(6 * 7, os.getuid(), meta['AppType'])"}],
    "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}},
    "nbformat": 4,
    "nbformat_minor": 5,
}


@pytest.fixture
def browser(tmp_path):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    chromium, driver = shutil.which("chromium"), shutil.which("chromedriver")
    assert chromium and driver, "Debian's chromium and chromium-driver are test dependencies (scripts/test.sh installs them)"
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync", "--window-size=1400,1000",
                 f"--user-data-dir={tmp_path / 'chromium'}"):
        options.add_argument(flag)
    session = webdriver.Chrome(service=Service(driver), options=options)
    session.set_page_load_timeout(120)
    yield session
    session.quit()


def test_a_browser_runs_a_cell_in_jupyterlab_on_a_custom_image_kernel(fresh_server, test_images, studio_domains, browser, tmp_path):
    from selenium.common.exceptions import (
        ElementClickInterceptedException,
        ElementNotInteractableException,
        StaleElementReferenceException,
        TimeoutException,
    )
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    srv, sm, domain_id, _ = make_studio(fresh_server, test_images, studio_domains, BYOI_JUPYTER_SERVER_IMAGE=test_images["jupyterlab"])
    kernels = {"DomainId": domain_id, "UserProfileName": "alice", "AppType": "KernelGateway", "AppName": "default"}
    sm.create_app(**kernels, ResourceSpec={"SageMakerImageArn": image_arn("sample"), "InstanceType": "ml.t3.medium"})
    server = {"DomainId": domain_id, "UserProfileName": "alice", "AppType": "JupyterServer", "AppName": "default"}
    server_arn = sm.create_app(**server)["AppArn"]
    in_service(sm, **kernels)
    in_service(sm, **server)
    (container,) = docker.from_env().containers.list(filters={"label": f"byoi.app-arn={server_arn}"})
    write = f"import json; json.dump(json.loads({json.dumps(json.dumps(NOTEBOOK))}), open('/home/sagemaker-user/probe.ipynb', 'w'))"
    assert container.exec_run(["python3", "-c", write], user="1000:100").exit_code == 0

    landing = f"/apps/{domain_id}/alice/JupyterServer/default/lab/tree/probe.ipynb"
    url = sm.create_presigned_domain_url(DomainId=domain_id, UserProfileName="alice", ExpiresInSeconds=300, LandingUri=landing)["AuthorizedUrl"]
    browser.get(url)
    wait = WebDriverWait(browser, 120, poll_frequency=0.5)
    wait.until(lambda b: b.find_elements(By.CSS_SELECTOR, ".jp-Notebook .jp-Cell") or False)
    wait.until(lambda b: "Idle" in (b.find_elements(By.CSS_SELECTOR, ".jp-Notebook-ExecutionIndicator") or [None])[0].get_attribute("data-status").capitalize()
               if b.find_elements(By.CSS_SELECTOR, ".jp-Notebook-ExecutionIndicator") else False)
    # Select the first cell and run it with the toolbar's Run button. JupyterLab covers the
    # notebook with a spinner while it wires the kernel up, and a click that lands then is
    # intercepted or lost: click until one gets through, and run again if no output came.
    def output_text(b):
        return next((e.text for e in b.find_elements(By.CSS_SELECTOR, ".jp-OutputArea-output") if e.text.strip()), False)

    def click_when_uncovered(css):
        def attempt(b):  # a click the spinner intercepts is refused, not lost: try again
            targets = b.find_elements(By.CSS_SELECTOR, css)
            try:
                targets[0].click()
            except (IndexError, ElementClickInterceptedException, ElementNotInteractableException, StaleElementReferenceException):
                return False
            return True
        wait.until(attempt)

    output = False
    for _ in range(4):
        click_when_uncovered(".jp-Notebook .jp-Cell")
        click_when_uncovered('[data-command="notebook:run-cell-and-select-next"]')
        try:
            output = WebDriverWait(browser, 30, poll_frequency=0.5).until(output_text)
            break
        except TimeoutException:
            browser.save_screenshot(str(tmp_path / "no-output.png"))
    assert output, f"no output after 4 runs; page text: {browser.find_element(By.TAG_NAME, 'body').text[:2000]}"
    browser.save_screenshot(str(tmp_path / "jupyterlab.png"))
    assert output.strip() == "42 1000 KernelGateway", output  # ran in the KernelGateway app's custom image
