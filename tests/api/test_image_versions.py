"""ImageVersion and alias operations through boto3."""

import time

import pytest
from botocore.exceptions import ClientError

from tests.conftest import ROLE_ARN, error_of

WAIT = {"Delay": 1, "MaxAttempts": 20}


@pytest.fixture
def image(sm, name):
    sm.create_image(ImageName=name, RoleArn=ROLE_ARN)
    return name


def version_arn(name: str, number: int) -> str:
    return f"arn:aws:sagemaker:us-east-1:123456789012:image-version/{name}/{number}"


def test_create_numbers_versions_and_describe_latest(sm, image):
    assert sm.create_image_version(ImageName=image, BaseImage="repo/img:1")["ImageVersionArn"] == version_arn(image, 1)
    assert sm.create_image_version(ImageName=image, BaseImage="repo/img:2")["ImageVersionArn"] == version_arn(image, 2)
    sm.get_waiter("image_version_created").wait(ImageName=image, Version=2, WaiterConfig=WAIT)
    latest = sm.describe_image_version(ImageName=image)
    assert latest["Version"] == 2
    assert latest["BaseImage"] == "repo/img:2"
    assert latest["ContainerImage"] == "repo/img:2"  # no Docker engine on this server: recorded as given
    assert latest["ImageVersionStatus"] == "CREATED"
    assert latest["ImageArn"] == f"arn:aws:sagemaker:us-east-1:123456789012:image/{image}"
    assert latest["ImageVersionArn"] == version_arn(image, 2)
    assert sm.describe_image_version(ImageName=image, Version=1)["BaseImage"] == "repo/img:1"


def test_metadata_round_trips_and_updates(sm, image):
    meta = {
        "VendorGuidance": "STABLE",
        "JobType": "NOTEBOOK_KERNEL",
        "MLFramework": "PyTorch 2.1",
        "ProgrammingLang": "Python 3.11",
        "Processor": "GPU",
        "Horovod": False,
        "ReleaseNotes": "first",
    }
    sm.create_image_version(ImageName=image, BaseImage="repo/img:1", **meta)
    described = sm.describe_image_version(ImageName=image, Version=1)
    assert {k: described[k] for k in meta} == meta
    time.sleep(0.01)
    sm.update_image_version(ImageName=image, Version=1, VendorGuidance="ARCHIVED", Horovod=True)
    updated = sm.describe_image_version(ImageName=image, Version=1)
    assert updated["VendorGuidance"] == "ARCHIVED" and updated["Horovod"] is True
    assert updated["ReleaseNotes"] == "first"
    assert updated["LastModifiedTime"] > described["LastModifiedTime"]


def test_client_token_makes_create_idempotent(sm_raw, image):
    first = sm_raw.create_image_version(ImageName=image, BaseImage="repo/img:1", ClientToken="token-1")
    again = sm_raw.create_image_version(ImageName=image, BaseImage="repo/img:1", ClientToken="token-1")
    assert first["ImageVersionArn"] == again["ImageVersionArn"] == version_arn(image, 1)
    assert len(sm_raw.list_image_versions(ImageName=image)["ImageVersions"]) == 1
    with pytest.raises(ClientError) as exc:
        sm_raw.create_image_version(ImageName=image, BaseImage="repo/img:OTHER", ClientToken="token-1")
    code, message = error_of(exc)
    assert code == "ValidationException" and "token-1" in message


def test_aliases_select_versions_and_move_with_update(sm, image):
    sm.create_image_version(ImageName=image, BaseImage="repo/img:1", Aliases=["stable", "v1"])
    sm.create_image_version(ImageName=image, BaseImage="repo/img:2")
    assert sm.describe_image_version(ImageName=image, Alias="stable")["Version"] == 1
    assert sorted(sm.list_aliases(ImageName=image)["SageMakerImageVersionAliases"]) == ["stable", "v1"]
    # An alias names one version: adding it elsewhere first needs it deleted.
    with pytest.raises(sm.exceptions.ResourceInUse):
        sm.update_image_version(ImageName=image, Version=2, AliasesToAdd=["stable"])
    sm.update_image_version(ImageName=image, Alias="stable", AliasesToDelete=["stable"])
    sm.update_image_version(ImageName=image, Version=2, AliasesToAdd=["stable", "latest"])
    assert sm.describe_image_version(ImageName=image, Alias="stable")["Version"] == 2
    assert sm.list_aliases(ImageName=image, Version=1)["SageMakerImageVersionAliases"] == ["v1"]
    assert sm.list_aliases(ImageName=image, Version=2)["SageMakerImageVersionAliases"] == ["latest", "stable"]
    assert sm.list_aliases(ImageName=image, Alias="latest")["SageMakerImageVersionAliases"] == ["latest"]
    assert sm.list_aliases(ImageName=image, Alias="nope")["SageMakerImageVersionAliases"] == []


def test_alias_errors(sm, image):
    sm.create_image_version(ImageName=image, BaseImage="repo/img:1", Aliases=["a"])
    with pytest.raises(sm.exceptions.ResourceInUse):
        sm.create_image_version(ImageName=image, BaseImage="repo/img:2", Aliases=["a"])
    with pytest.raises(ClientError, match="ValidationException"):
        sm.update_image_version(ImageName=image, Version=1, AliasesToDelete=["not-there"])
    with pytest.raises(ClientError, match="ValidationException"):
        sm.update_image_version(ImageName=image, Version=1, AliasesToAdd=["b"], AliasesToDelete=["b"])
    with pytest.raises(sm.exceptions.ResourceNotFound):
        sm.describe_image_version(ImageName=image, Alias="missing")
    with pytest.raises(ClientError) as exc:
        sm.create_image_version(ImageName=image, BaseImage="x", Aliases=[".dot-first"])
    assert "at 'aliases.1.member'" in error_of(exc)[1]


def test_update_without_version_or_alias_updates_the_latest(sm, image):
    sm.create_image_version(ImageName=image, BaseImage="repo/img:1")
    sm.create_image_version(ImageName=image, BaseImage="repo/img:2")
    assert sm.update_image_version(ImageName=image, ReleaseNotes="newest")["ImageVersionArn"] == version_arn(image, 2)
    assert sm.describe_image_version(ImageName=image, Version=2)["ReleaseNotes"] == "newest"
    assert "ReleaseNotes" not in sm.describe_image_version(ImageName=image, Version=1)


def test_version_and_alias_together_are_refused(sm, image):
    sm.create_image_version(ImageName=image, BaseImage="repo/img:1", Aliases=["a"])
    with pytest.raises(ClientError, match="ValidationException"):
        sm.describe_image_version(ImageName=image, Version=1, Alias="a")


def test_not_found_paths(sm, image, name):
    with pytest.raises(sm.exceptions.ResourceNotFound) as exc:
        sm.describe_image_version(ImageName=image)
    assert "has no versions" in error_of(exc)[1]
    with pytest.raises(sm.exceptions.ResourceNotFound) as exc:
        sm.describe_image_version(ImageName=image, Version=7)
    assert error_of(exc)[1] == f"Image version {version_arn(image, 7)} does not exist"
    for call in (
        lambda: sm.create_image_version(ImageName=name + "x", BaseImage="b"),
        lambda: sm.list_image_versions(ImageName=name + "x"),
        lambda: sm.list_aliases(ImageName=name + "x"),
        lambda: sm.delete_image_version(ImageName=name + "x", Version=1),
        lambda: sm.update_image_version(ImageName=image, Version=3),
    ):
        with pytest.raises(sm.exceptions.ResourceNotFound):
            call()


def test_delete_version_by_number_or_alias_and_numbers_are_not_reused(sm, image):
    sm.create_image_version(ImageName=image, BaseImage="repo/img:1")
    sm.create_image_version(ImageName=image, BaseImage="repo/img:2", Aliases=["two"])
    sm.delete_image_version(ImageName=image, Alias="two")
    sm.get_waiter("image_version_deleted").wait(ImageName=image, Version=2, WaiterConfig=WAIT)
    assert sm.list_aliases(ImageName=image)["SageMakerImageVersionAliases"] == []
    assert sm.create_image_version(ImageName=image, BaseImage="repo/img:3")["ImageVersionArn"] == version_arn(image, 3)
    sm.delete_image_version(ImageName=image, Version=1)
    assert [v["Version"] for v in sm.list_image_versions(ImageName=image)["ImageVersions"]] == [3]
    with pytest.raises(ClientError, match="ValidationException"):
        sm.delete_image_version(ImageName=image)


def test_version_quota(fresh_server):
    sm = fresh_server(BYOI_MAX_VERSIONS_PER_IMAGE="1").client()
    sm.create_image(ImageName="img", RoleArn=ROLE_ARN)
    sm.create_image_version(ImageName="img", BaseImage="b:1")
    with pytest.raises(sm.exceptions.ResourceLimitExceeded):
        sm.create_image_version(ImageName="img", BaseImage="b:2")


def test_list_versions_sorting_filters_and_pages(sm, image):
    for i in range(1, 6):
        sm.create_image_version(ImageName=image, BaseImage=f"repo/img:{i}")
        time.sleep(0.01)
    listed = sm.list_image_versions(ImageName=image)["ImageVersions"]
    assert [v["Version"] for v in listed] == [5, 4, 3, 2, 1]
    assert set(listed[0]) >= {"ImageArn", "ImageVersionArn", "ImageVersionStatus", "CreationTime", "LastModifiedTime", "Version"}
    ascending = sm.list_image_versions(ImageName=image, SortBy="VERSION", SortOrder="ASCENDING")["ImageVersions"]
    assert [v["Version"] for v in ascending] == [1, 2, 3, 4, 5]
    third = sm.describe_image_version(ImageName=image, Version=3)["CreationTime"]
    after = sm.list_image_versions(ImageName=image, CreationTimeAfter=third)["ImageVersions"]
    assert [v["Version"] for v in after] == [5, 4, 3]
    sm.update_image_version(ImageName=image, Version=2, ReleaseNotes="touched")
    assert sm.list_image_versions(ImageName=image, SortBy="LAST_MODIFIED_TIME")["ImageVersions"][0]["Version"] == 2
    pages = list(sm.get_paginator("list_image_versions").paginate(ImageName=image, PaginationConfig={"PageSize": 2}))
    assert [len(p["ImageVersions"]) for p in pages] == [2, 2, 1]
    alias_pages = sm.list_aliases(ImageName=image, MaxResults=1)
    assert alias_pages["SageMakerImageVersionAliases"] == [] and "NextToken" not in alias_pages


def test_alias_pagination(sm, image):
    aliases = [f"a{i}" for i in range(5)]
    sm.create_image_version(ImageName=image, BaseImage="repo/img:1", Aliases=aliases)
    got, token = [], None
    while True:
        page = sm.list_aliases(ImageName=image, MaxResults=2, **({"NextToken": token} if token else {}))
        got += page["SageMakerImageVersionAliases"]
        token = page.get("NextToken")
        if not token:
            break
    assert got == aliases
