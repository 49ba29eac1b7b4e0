"""The Studio home page, as a browser uses it (forms posted with the page's Origin), on a byoi
without Docker: apps fail there, which is how the page's failure reasons are seen. The same
page driving real apps in Chromium is in test_browser.py."""

from __future__ import annotations

import time

import pytest

from tests.conftest import ROLE_ARN, ByoiServer
from tests.security.test_space_origins import Browser

SECRET = "studio-home-test-secret"


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    server = ByoiServer(tmp_path_factory.mktemp("studio-home"), BYOI_DOCKER="off", BYOI_SESSION_SECRET=SECRET).start()
    yield server
    server.kill()


@pytest.fixture
def domain(srv):
    sm = srv.client()
    sm.create_image(ImageName="lab-image", RoleArn=ROLE_ARN)
    sm.create_image_version(ImageName="lab-image", BaseImage="example/lab:1")
    sm.create_app_image_config(AppImageConfigName="lab", JupyterLabAppImageConfig={})
    sm.create_app_image_config(AppImageConfigName="kg", KernelGatewayImageConfig={"KernelSpecs": [{"Name": "python3", "DisplayName": "Python 3"}]})
    domain_id = sm.create_domain(
        DomainName="home", AuthMode="IAM", SubnetIds=["subnet-1"], VpcId="vpc-1",
        DefaultUserSettings={"ExecutionRole": ROLE_ARN, "JupyterLabAppSettings": {"CustomImages": [{"ImageName": "lab-image", "AppImageConfigName": "lab"}]}},
    )["DomainId"]
    for user in ("alice", "bob"):
        sm.create_user_profile(DomainId=domain_id, UserProfileName=user)
    for space, owner, sharing in (("alices", "alice", "Private"), ("team", "bob", "Shared"), ("bobs", "bob", "Private")):
        sm.create_space(DomainId=domain_id, SpaceName=space, OwnershipSettings={"OwnerUserProfileName": owner},
                        SpaceSharingSettings={"SharingType": sharing}, SpaceSettings={"AppType": "JupyterLab"})
    yield sm, domain_id
    for image in ("lab-image",):
        sm.delete_image(ImageName=image)
    for config in ("lab", "kg"):
        sm.delete_app_image_config(AppImageConfigName=config)


def signed_in(sm, domain_id: str, user: str) -> tuple[Browser, str]:
    browser = Browser()
    landed = browser.get(sm.create_presigned_domain_url(DomainId=domain_id, UserProfileName=user)["AuthorizedUrl"])
    assert landed.status_code == 200, landed.text
    return browser, sm.describe_domain(DomainId=domain_id)["Url"]


def test_the_home_page_shows_a_user_the_spaces_they_may_use_and_the_images_they_may_run(domain):
    sm, domain_id = domain
    browser, home = signed_in(sm, domain_id, "alice")
    page = browser.get(f"{home}/").text
    assert 'data-space="alices"' in page and 'data-space="team"' in page
    assert 'data-space="bobs"' not in page  # bob's private space
    assert '<option value="lab-image">lab-image (lab)</option>' in page
    assert 'href="/studio/static/studio.css"' in page and "http" not in page.split("<body>")[0].replace(home, "")  # nothing from elsewhere
    assert browser.get(f"{home}/studio/static/studio.css").status_code == 200
    assert Browser().get(f"{home}/").status_code == 401  # signed out: how to sign in


def test_starting_an_app_from_the_home_page_shows_its_state_why_it_failed_and_its_log(domain):
    sm, domain_id = domain
    browser, home = signed_in(sm, domain_id, "alice")
    started = browser.post(f"{home}/studio/spaces/alices/apps/JupyterLab/start", data={"image": "lab-image", "instance_type": "ml.t3.medium"},
                           headers={"Origin": home})
    assert "Starting the JupyterLab app of space alices." in started.text
    app = sm.describe_app(DomainId=domain_id, SpaceName="alices", AppType="JupyterLab", AppName="default")
    assert app["ResourceSpec"]["SageMakerImageArn"].endswith(":image/lab-image") and app["ResourceSpec"]["InstanceType"] == "ml.t3.medium"
    deadline = time.monotonic() + 60
    while sm.describe_app(DomainId=domain_id, SpaceName="alices", AppType="JupyterLab", AppName="default")["Status"] == "Pending":
        assert time.monotonic() < deadline, "the app never settled"
        time.sleep(0.2)
    reason = sm.describe_app(DomainId=domain_id, SpaceName="alices", AppType="JupyterLab", AppName="default")["FailureReason"]
    page = browser.get(f"{home}/").text
    assert "status-failed" in page and reason.split("(")[0].strip() in page  # byoi here has no Docker engine
    assert browser.get(f"{home}/studio/spaces/alices/apps/JupyterLab/logs").status_code == 200
    cleared = browser.post(f"{home}/studio/spaces/alices/apps/JupyterLab/stop", headers={"Origin": home})
    assert "Stopping the JupyterLab app of space alices." in cleared.text


def test_a_user_cannot_act_on_or_read_another_users_private_space_from_the_home_page(domain):
    sm, domain_id = domain
    browser, home = signed_in(sm, domain_id, "alice")
    refused = browser.post(f"{home}/studio/spaces/bobs/apps/JupyterLab/start", data={"image": "lab-image"}, headers={"Origin": home})
    assert "private to another user" in refused.text
    assert sm.list_apps(DomainIdEquals=domain_id, SpaceNameEquals="bobs")["Apps"] == []
    assert browser.get(f"{home}/studio/spaces/bobs/apps/JupyterLab/logs").status_code == 403
    # Posted from another origin (a space's page, say): refused before anything is done.
    space = sm.describe_space(DomainId=domain_id, SpaceName="alices")["Url"]
    assert browser.post(f"{home}/studio/spaces", data={"name": "x"}, headers={"Origin": space}).status_code == 403
    assert "x" not in [s["SpaceName"] for s in sm.list_spaces(DomainIdEquals=domain_id)["Spaces"]]


def test_a_space_created_from_the_home_page_is_its_creators_and_bad_names_are_explained(domain):
    sm, domain_id = domain
    browser, home = signed_in(sm, domain_id, "alice")
    created = browser.post(f"{home}/studio/spaces", data={"name": "mine", "sharing": "Private", "app_type": "CodeEditor"}, headers={"Origin": home})
    assert "Space mine created." in created.text
    space = sm.describe_space(DomainId=domain_id, SpaceName="mine")
    assert space["OwnershipSettings"] == {"OwnerUserProfileName": "alice"} and space["SpaceSharingSettings"] == {"SharingType": "Private"}
    assert space["SpaceSettings"]["AppType"] == "CodeEditor"
    bad = browser.post(f"{home}/studio/spaces", data={"name": "no spaces!"}, headers={"Origin": home})
    assert "ValidationException" in bad.text and "spaceName" in bad.text  # AWS names members in camelCase here
    again = browser.post(f"{home}/studio/spaces", data={"name": "mine"}, headers={"Origin": home})
    assert "ResourceInUse" in again.text


def test_app_and_instance_types_hidden_by_the_users_web_portal_settings_are_neither_shown_nor_accepted(domain):
    sm, domain_id = domain
    sm.create_user_profile(DomainId=domain_id, UserProfileName="carol", UserSettings={"StudioWebPortalSettings": {
        "HiddenAppTypes": ["CodeEditor"], "HiddenInstanceTypes": ["ml.g4dn.xlarge", "ml.t3.large"]}})
    sm.create_space(DomainId=domain_id, SpaceName="carols-code", OwnershipSettings={"OwnerUserProfileName": "carol"},
                    SpaceSharingSettings={"SharingType": "Private"}, SpaceSettings={"AppType": "CodeEditor"})
    sm.create_space(DomainId=domain_id, SpaceName="carols-lab", OwnershipSettings={"OwnerUserProfileName": "carol"},
                    SpaceSharingSettings={"SharingType": "Private"}, SpaceSettings={"AppType": "JupyterLab"})
    browser, home = signed_in(sm, domain_id, "carol")
    page = browser.get(f"{home}/").text
    assert 'data-space="carols-lab"' in page and 'data-space="carols-code"' not in page
    assert "<option>ml.t3.medium</option>" in page and "ml.g4dn.xlarge" not in page and "ml.t3.large" not in page
    assert "<option>CodeEditor</option>" not in page and "<option>JupyterLab</option>" in page
    refused = browser.post(f"{home}/studio/spaces/carols-lab/apps/JupyterLab/start", data={"image": "lab-image", "instance_type": "ml.g4dn.xlarge"},
                           headers={"Origin": home})
    assert "ml.g4dn.xlarge is hidden" in refused.text
    refused = browser.post(f"{home}/studio/spaces", data={"name": "more-code", "app_type": "CodeEditor"}, headers={"Origin": home})
    assert "CodeEditor is hidden" in refused.text
    assert sm.list_apps(DomainIdEquals=domain_id, SpaceNameEquals="carols-lab")["Apps"] == []
    # alice's settings hide nothing: another user's hidden types are theirs alone
    alice, _ = signed_in(sm, domain_id, "alice")
    assert "ml.g4dn.xlarge" in alice.get(f"{home}/").text


def test_a_user_lands_on_their_default_landing_uri_and_without_studio_on_studio_classic(domain):
    sm, domain_id = domain
    sm.create_user_profile(DomainId=domain_id, UserProfileName="dave", UserSettings={"DefaultLandingUri": "app:JupyterServer:"})
    sm.create_user_profile(DomainId=domain_id, UserProfileName="erin", UserSettings={"StudioWebPortal": "DISABLED"})
    home = sm.describe_domain(DomainId=domain_id)["Url"]
    for user in ("dave", "erin"):
        url = sm.create_presigned_domain_url(DomainId=domain_id, UserProfileName=user)["AuthorizedUrl"]
        landed = Browser().get(url, follow=False)
        assert landed.headers["location"] == f"/apps/{domain_id}/{user}/JupyterServer/default/"
    # a LandingUri given to the call wins over the default
    url = sm.create_presigned_domain_url(DomainId=domain_id, UserProfileName="dave", LandingUri="studio::")["AuthorizedUrl"]
    assert Browser().get(url, follow=False).headers["location"] == "/"
    browser = Browser()
    browser.get(sm.create_presigned_domain_url(DomainId=domain_id, UserProfileName="erin", LandingUri="studio::")["AuthorizedUrl"], follow=False)
    refused = browser.get(f"{home}/")
    assert refused.status_code == 403 and "StudioWebPortal is DISABLED" in refused.text
