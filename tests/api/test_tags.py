"""AddTags, ListTags and DeleteTags on images, image versions and app image configs."""

import pytest
from botocore.exceptions import ClientError

from tests.conftest import ROLE_ARN, error_of


@pytest.fixture(params=["image", "image-version", "app-image-config"])
def resource_arn(request, sm, name):
    if request.param == "app-image-config":
        return sm.create_app_image_config(AppImageConfigName=name, CodeEditorAppImageConfig={})["AppImageConfigArn"]
    image_arn = sm.create_image(ImageName=name, RoleArn=ROLE_ARN)["ImageArn"]
    if request.param == "image":
        return image_arn
    return sm.create_image_version(ImageName=name, BaseImage="repo/img:1")["ImageVersionArn"]


def test_add_returns_tags_and_overwrites_existing_keys(sm, resource_arn):
    added = sm.add_tags(ResourceArn=resource_arn, Tags=[{"Key": "team", "Value": "ml"}, {"Key": "env", "Value": "dev"}])
    assert added["Tags"] == [{"Key": "team", "Value": "ml"}, {"Key": "env", "Value": "dev"}]
    sm.add_tags(ResourceArn=resource_arn, Tags=[{"Key": "env", "Value": "prod"}, {"Key": "cost", "Value": ""}])
    assert sm.list_tags(ResourceArn=resource_arn)["Tags"] == [
        {"Key": "team", "Value": "ml"},
        {"Key": "env", "Value": "prod"},
        {"Key": "cost", "Value": ""},
    ]


def test_delete_removes_only_named_keys_and_ignores_unknown_ones(sm, resource_arn):
    sm.add_tags(ResourceArn=resource_arn, Tags=[{"Key": "a", "Value": "1"}, {"Key": "b", "Value": "2"}])
    sm.delete_tags(ResourceArn=resource_arn, TagKeys=["a", "never-there"])
    assert sm.list_tags(ResourceArn=resource_arn)["Tags"] == [{"Key": "b", "Value": "2"}]


def test_fifty_tags_fit_and_the_fifty_first_is_refused(sm, resource_arn):
    sm.add_tags(ResourceArn=resource_arn, Tags=[{"Key": f"k{i:02d}", "Value": "v"} for i in range(50)])
    with pytest.raises(ClientError) as exc:
        sm.add_tags(ResourceArn=resource_arn, Tags=[{"Key": "one-more", "Value": "v"}])
    code, message = error_of(exc)
    assert code == "ValidationException" and "50" in message
    sm.add_tags(ResourceArn=resource_arn, Tags=[{"Key": "k00", "Value": "overwrite is fine"}])
    tags = sm.list_tags(ResourceArn=resource_arn)["Tags"]
    assert len(tags) == 50 and tags[0] == {"Key": "k00", "Value": "overwrite is fine"}


def test_list_tags_pages(sm, resource_arn):
    sm.add_tags(ResourceArn=resource_arn, Tags=[{"Key": f"k{i:02d}", "Value": "v"} for i in range(50)])
    first = sm.list_tags(ResourceArn=resource_arn, MaxResults=50)
    assert len(first["Tags"]) == 50 and "NextToken" not in first


def test_tags_given_at_creation_are_listed(sm, name):
    arn = sm.create_image(ImageName=name, RoleArn=ROLE_ARN, Tags=[{"Key": "k", "Value": "v"}])["ImageArn"]
    assert sm.list_tags(ResourceArn=arn)["Tags"] == [{"Key": "k", "Value": "v"}]


def test_aws_prefixed_keys_are_reserved(sm, resource_arn):
    with pytest.raises(ClientError) as exc:
        sm.add_tags(ResourceArn=resource_arn, Tags=[{"Key": "aws:cloudformation:stack-name", "Value": "x"}])
    assert error_of(exc)[0] == "ValidationException"
    assert sm.list_tags(ResourceArn=resource_arn)["Tags"] == []


@pytest.mark.parametrize(
    "arn",
    [
        "arn:aws:sagemaker:us-east-1:123456789012:image/never-created",
        "arn:aws:sagemaker:us-east-1:123456789012:image-version/never-created/1",
        "arn:aws:sagemaker:us-east-1:123456789012:app-image-config/never-created",
        "arn:aws:sagemaker:us-east-1:123456789012:notebook-instance/nb",
    ],
)
@pytest.mark.parametrize("op", ["add", "list", "delete"])
def test_unknown_resources_are_validation_errors(sm, arn, op):
    calls = {
        "add": lambda: sm.add_tags(ResourceArn=arn, Tags=[{"Key": "k", "Value": "v"}]),
        "list": lambda: sm.list_tags(ResourceArn=arn),
        "delete": lambda: sm.delete_tags(ResourceArn=arn, TagKeys=["k"]),
    }
    with pytest.raises(ClientError) as exc:
        calls[op]()
    assert error_of(exc) == ("ValidationException", f"Resource {arn} does not exist")


def test_a_malformed_arn_fails_validation(sm):
    with pytest.raises(ClientError) as exc:
        sm.list_tags(ResourceArn="not-an-arn")
    assert "at 'resourceArn' failed to satisfy constraint" in error_of(exc)[1]
