"""``aws cloudcontrol`` drives a full create / get / list / update / delete cycle."""

import json

import pytest

from tests.conftest import ROLE_ARN, aws_cli


@pytest.fixture
def cc(server, tmp_path):
    return aws_cli(server, tmp_path, "cloudcontrol")


@pytest.mark.parametrize(
    "type_name, name_key, desired, identifier, patch",
    [
        ("AWS::SageMaker::Image", "ImageName", {"ImageRoleArn": ROLE_ARN}, "arn:aws:sagemaker:us-east-1:123456789012:image/{name}", [{"op": "add", "path": "/ImageDescription", "value": "cli"}]),
        ("AWS::SageMaker::AppImageConfig", "AppImageConfigName", {"CodeEditorAppImageConfig": {}}, "{name}", [{"op": "add", "path": "/Tags", "value": [{"Key": "k", "Value": "cli"}]}]),
    ],
)
def test_cli_cycle(cc, name, type_name, name_key, desired, identifier, patch):
    identifier = identifier.format(name=name)
    event = cc("create-resource", "--type-name", type_name, "--desired-state", json.dumps({name_key: name, **desired}))["ProgressEvent"]
    cc("wait", "resource-request-success", "--request-token", event["RequestToken"])
    got = cc("get-resource", "--type-name", type_name, "--identifier", identifier)
    assert json.loads(got["ResourceDescription"]["Properties"])[name_key] == name
    assert identifier in [d["Identifier"] for d in cc("list-resources", "--type-name", type_name)["ResourceDescriptions"]]
    event = cc("update-resource", "--type-name", type_name, "--identifier", identifier, "--patch-document", json.dumps(patch))["ProgressEvent"]
    cc("wait", "resource-request-success", "--request-token", event["RequestToken"])
    assert "cli" in cc("get-resource", "--type-name", type_name, "--identifier", identifier)["ResourceDescription"]["Properties"]
    assert cc("get-resource-request-status", "--request-token", event["RequestToken"])["ProgressEvent"]["OperationStatus"] == "SUCCESS"
    event = cc("delete-resource", "--type-name", type_name, "--identifier", identifier)["ProgressEvent"]
    cc("wait", "resource-request-success", "--request-token", event["RequestToken"])
    assert "ResourceNotFoundException" in cc("get-resource", "--type-name", type_name, "--identifier", identifier, expect_error=True)


def test_cli_image_version_and_errors(cc, sm, name):
    sm.create_image(ImageName=name, RoleArn=ROLE_ARN)
    event = cc("create-resource", "--type-name", "AWS::SageMaker::ImageVersion", "--desired-state", json.dumps({"ImageName": name, "BaseImage": "r:1"}))["ProgressEvent"]
    cc("wait", "resource-request-success", "--request-token", event["RequestToken"])
    assert event["Identifier"].endswith(f"image-version/{name}/1")
    stderr = cc("update-resource", "--type-name", "AWS::SageMaker::ImageVersion", "--identifier", event["Identifier"], "--patch-document", json.dumps([{"op": "replace", "path": "/BaseImage", "value": "r:2"}]), expect_error=True)
    assert "NotUpdatableException" in stderr and "/properties/BaseImage" in stderr
    stderr = cc("get-resource", "--type-name", "AWS::Nope::Thing", "--identifier", "x", expect_error=True)
    assert "TypeNotFoundException" in stderr
    requests = cc("list-resource-requests", "--resource-request-status-filter", "Operations=CREATE,OperationStatuses=SUCCESS")
    assert event["RequestToken"] in [e["RequestToken"] for e in requests["ResourceRequestStatusSummaries"]]


def test_cli_studio_domain_and_user_profile(cc, name):
    def done(event: dict) -> dict:
        cc("wait", "resource-request-success", "--request-token", event["RequestToken"])
        return cc("get-resource-request-status", "--request-token", event["RequestToken"])["ProgressEvent"]

    domain = {"DomainName": name, "AuthMode": "IAM", "DefaultUserSettings": {"ExecutionRole": ROLE_ARN}}
    domain_id = done(cc("create-resource", "--type-name", "AWS::SageMaker::Domain", "--desired-state", json.dumps(domain))["ProgressEvent"])["Identifier"]
    profile = done(cc("create-resource", "--type-name", "AWS::SageMaker::UserProfile", "--desired-state", json.dumps({"DomainId": domain_id, "UserProfileName": "cli"}))["ProgressEvent"])
    assert profile["Identifier"] == f"cli|{domain_id}"
    listed = cc("list-resources", "--type-name", "AWS::SageMaker::UserProfile", "--resource-model", json.dumps({"DomainId": domain_id}))
    assert [d["Identifier"] for d in listed["ResourceDescriptions"]] == [f"cli|{domain_id}"]
    stderr = cc("list-resources", "--type-name", "AWS::SageMaker::UserProfile", expect_error=True)
    assert "InvalidRequestException" in stderr and "Required property: [DomainId]" in stderr
    space = {"DomainId": domain_id, "SpaceName": "lab", "SpaceDisplayName": "Lab", "SpaceSettings": {"AppType": "JupyterLab"}}
    assert done(cc("create-resource", "--type-name", "AWS::SageMaker::Space", "--desired-state", json.dumps(space))["ProgressEvent"])["Identifier"] == f"{domain_id}|lab"
    renamed = json.dumps([{"op": "replace", "path": "/SpaceDisplayName", "value": "cli lab"}])
    done(cc("update-resource", "--type-name", "AWS::SageMaker::Space", "--identifier", f"{domain_id}|lab", "--patch-document", renamed)["ProgressEvent"])
    got = json.loads(cc("get-resource", "--type-name", "AWS::SageMaker::Space", "--identifier", f"{domain_id}|lab")["ResourceDescription"]["Properties"])
    assert got["SpaceDisplayName"] == "cli lab" and "SpaceSettings" not in got
    script = {"StudioLifecycleConfigName": name, "StudioLifecycleConfigContent": "ZWNobyBjbGkK", "StudioLifecycleConfigAppType": "CodeEditor"}
    done(cc("create-resource", "--type-name", "AWS::SageMaker::StudioLifecycleConfig", "--desired-state", json.dumps(script))["ProgressEvent"])
    assert name in [d["Identifier"] for d in cc("list-resources", "--type-name", "AWS::SageMaker::StudioLifecycleConfig")["ResourceDescriptions"]]
    got = json.loads(cc("get-resource", "--type-name", "AWS::SageMaker::StudioLifecycleConfig", "--identifier", name)["ResourceDescription"]["Properties"])
    assert got["StudioLifecycleConfigContent"] == "ZWNobyBjbGkK"
    done(cc("delete-resource", "--type-name", "AWS::SageMaker::StudioLifecycleConfig", "--identifier", name)["ProgressEvent"])
    done(cc("delete-resource", "--type-name", "AWS::SageMaker::Space", "--identifier", f"{domain_id}|lab")["ProgressEvent"])
    done(cc("delete-resource", "--type-name", "AWS::SageMaker::UserProfile", "--identifier", f"cli|{domain_id}")["ProgressEvent"])
    done(cc("delete-resource", "--type-name", "AWS::SageMaker::Domain", "--identifier", domain_id)["ProgressEvent"])
    assert "ResourceNotFoundException" in cc("get-resource", "--type-name", "AWS::SageMaker::Domain", "--identifier", domain_id, expect_error=True)
