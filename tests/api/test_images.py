"""Image operations through boto3, including the waiters."""

import time

import pytest
from botocore.exceptions import ClientError

from tests.conftest import ROLE_ARN, error_of

WAIT = {"Delay": 1, "MaxAttempts": 20}


def arn_of(name: str) -> str:
    return f"arn:aws:sagemaker:us-east-1:123456789012:image/{name}"


def test_create_then_describe(sm, name):
    arn = sm.create_image(ImageName=name, RoleArn=ROLE_ARN, DisplayName="My Image", Description="d")["ImageArn"]
    assert arn == arn_of(name)
    sm.get_waiter("image_created").wait(ImageName=name, WaiterConfig=WAIT)
    image = sm.describe_image(ImageName=name)
    assert image["ImageArn"] == arn
    assert image["ImageName"] == name
    assert image["ImageStatus"] == "CREATED"
    assert image["RoleArn"] == ROLE_ARN
    assert image["DisplayName"] == "My Image" and image["Description"] == "d"
    assert image["CreationTime"] <= image["LastModifiedTime"]
    assert "FailureReason" not in image


def test_mixed_case_names_keep_their_case_but_arns_are_lower_case(sm, name):
    mixed = "My" + name
    arn = sm.create_image(ImageName=mixed, RoleArn=ROLE_ARN)["ImageArn"]
    assert arn == arn_of(mixed.lower())
    assert sm.describe_image(ImageName=mixed)["ImageName"] == mixed
    assert sm.describe_image(ImageName=mixed.lower())["ImageName"] == mixed
    with pytest.raises(ClientError, match="ResourceInUse"):
        sm.create_image(ImageName=mixed.lower(), RoleArn=ROLE_ARN)


def test_duplicate_name_is_resource_in_use(sm, name):
    sm.create_image(ImageName=name, RoleArn=ROLE_ARN)
    with pytest.raises(sm.exceptions.ResourceInUse) as exc:
        sm.create_image(ImageName=name, RoleArn=ROLE_ARN)
    assert error_of(exc) == ("ResourceInUse", f"Image with ARN {arn_of(name)} already exists")


@pytest.mark.parametrize("op", ["describe_image", "delete_image", "update_image"])
def test_missing_image_is_resource_not_found_in_aws_words(sm, name, op):
    with pytest.raises(sm.exceptions.ResourceNotFound) as exc:
        getattr(sm, op)(ImageName=name)
    assert error_of(exc) == ("ResourceNotFound", f"Image with ARN {arn_of(name)} does not exist")


def test_update_sets_and_deletes_properties(sm, name):
    sm.create_image(ImageName=name, RoleArn=ROLE_ARN, DisplayName="Old", Description="old")
    time.sleep(0.01)
    new_role = "arn:aws:iam::123456789012:role/other"
    assert sm.update_image(ImageName=name, DisplayName="New", RoleArn=new_role)["ImageArn"] == arn_of(name)
    sm.get_waiter("image_updated").wait(ImageName=name, WaiterConfig=WAIT)
    image = sm.describe_image(ImageName=name)
    assert (image["DisplayName"], image["Description"], image["RoleArn"]) == ("New", "old", new_role)
    assert image["LastModifiedTime"] > image["CreationTime"]
    sm.update_image(ImageName=name, DeleteProperties=["Description", "DisplayName"])
    image = sm.describe_image(ImageName=name)
    assert "Description" not in image and "DisplayName" not in image


def test_update_cannot_set_and_delete_the_same_property(sm, name):
    sm.create_image(ImageName=name, RoleArn=ROLE_ARN, DisplayName="Keep")
    with pytest.raises(ClientError) as exc:
        sm.update_image(ImageName=name, DisplayName="X", DeleteProperties=["DisplayName"])
    assert error_of(exc)[0] == "ValidationException"
    assert sm.describe_image(ImageName=name)["DisplayName"] == "Keep"


def test_delete_removes_image_versions_and_tags(sm, name):
    sm.create_image(ImageName=name, RoleArn=ROLE_ARN, Tags=[{"Key": "a", "Value": "1"}])
    v1 = sm.create_image_version(ImageName=name, BaseImage="repo/img:1", Aliases=["stable"])["ImageVersionArn"]
    sm.add_tags(ResourceArn=v1, Tags=[{"Key": "v", "Value": "1"}])
    sm.delete_image(ImageName=name)
    sm.get_waiter("image_deleted").wait(ImageName=name, WaiterConfig=WAIT)
    with pytest.raises(sm.exceptions.ResourceNotFound):
        sm.describe_image(ImageName=name)
    # The name is free again, with nothing left over from before.
    sm.create_image(ImageName=name, RoleArn=ROLE_ARN)
    assert sm.list_tags(ResourceArn=arn_of(name))["Tags"] == []
    assert sm.list_image_versions(ImageName=name)["ImageVersions"] == []
    assert sm.list_aliases(ImageName=name)["SageMakerImageVersionAliases"] == []


def test_quota_gives_resource_limit_exceeded(fresh_server):
    sm = fresh_server(BYOI_MAX_IMAGES="2").client()
    sm.create_image(ImageName="one", RoleArn=ROLE_ARN)
    sm.create_image(ImageName="two", RoleArn=ROLE_ARN)
    with pytest.raises(sm.exceptions.ResourceLimitExceeded):
        sm.create_image(ImageName="three", RoleArn=ROLE_ARN)


def test_regions_are_separate_namespaces(server, name):
    east, west = server.client(region="us-east-1"), server.client(region="us-west-2")
    east.create_image(ImageName=name, RoleArn=ROLE_ARN)
    arn = west.create_image(ImageName=name, RoleArn=ROLE_ARN)["ImageArn"]
    assert arn == f"arn:aws:sagemaker:us-west-2:123456789012:image/{name}"
    west.delete_image(ImageName=name)
    assert east.describe_image(ImageName=name)["ImageStatus"] == "CREATED"


@pytest.mark.parametrize(
    "kwargs, member",
    [
        ({"ImageName": "-bad", "RoleArn": ROLE_ARN}, "imageName"),
        ({"ImageName": "ok", "RoleArn": "arn:aws:iam::12:role/x"}, "roleArn"),
        ({"ImageName": "ok", "RoleArn": ROLE_ARN, "DisplayName": " padded "}, "displayName"),
    ],
)
def test_invalid_create_input(sm, kwargs, member):
    with pytest.raises(ClientError) as exc:
        sm.create_image(**kwargs)
    code, message = error_of(exc)
    assert code == "ValidationException" and f"at '{member}'" in message


class TestList:
    @pytest.fixture
    def images(self, fresh_server):
        sm = fresh_server().client()
        names = ["img-b", "img-a", "other-c"]
        for n in names:
            sm.create_image(ImageName=n, RoleArn=ROLE_ARN)
            time.sleep(0.01)
        return sm, names

    def test_default_is_creation_time_descending(self, images):
        sm, names = images
        assert [i["ImageName"] for i in sm.list_images()["Images"]] == list(reversed(names))

    def test_sort_by_name_and_filter(self, images):
        sm, _ = images
        listed = sm.list_images(SortBy="IMAGE_NAME", SortOrder="ASCENDING", NameContains="img")["Images"]
        assert [i["ImageName"] for i in listed] == ["img-a", "img-b"]
        assert set(listed[0]) >= {"ImageArn", "ImageName", "ImageStatus", "CreationTime", "LastModifiedTime"}

    def test_last_modified_filters_and_sort(self, images):
        sm, _ = images
        sm.update_image(ImageName="img-a", Description="touched")
        touched = sm.describe_image(ImageName="img-a")["LastModifiedTime"]
        listed = sm.list_images(LastModifiedTimeAfter=touched)["Images"]
        assert [i["ImageName"] for i in listed] == ["img-a"]
        assert sm.list_images(SortBy="LAST_MODIFIED_TIME")["Images"][0]["ImageName"] == "img-a"
        before = sm.list_images(LastModifiedTimeBefore=touched, SortBy="IMAGE_NAME", SortOrder="ASCENDING")["Images"]
        assert [i["ImageName"] for i in before] == ["img-a", "img-b", "other-c"]

    def test_pagination(self, images):
        sm, names = images
        pages = list(sm.get_paginator("list_images").paginate(PaginationConfig={"PageSize": 1}))
        assert [p["Images"][0]["ImageName"] for p in pages] == list(reversed(names))
