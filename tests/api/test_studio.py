"""Domains, user profiles and spaces through boto3 (no container runtime needed)."""

import re
import time

import pytest
from botocore.exceptions import ClientError

from tests.conftest import ROLE_ARN, error_of


@pytest.fixture
def attached(sm, name):
    """An image with a version and an AppImageConfig, ready to attach."""
    sm.create_image(ImageName=name, RoleArn=ROLE_ARN)
    sm.create_image_version(ImageName=name, BaseImage="repo/img:1")
    sm.create_app_image_config(AppImageConfigName=name, KernelGatewayImageConfig={"KernelSpecs": [{"Name": "python3"}]})
    return [{"ImageName": name, "AppImageConfigName": name}]


def make_domain(sm, customs=None, **extra) -> str:
    settings = {"ExecutionRole": ROLE_ARN}
    if customs:
        settings["KernelGatewayAppSettings"] = {"CustomImages": customs}
    return sm.create_domain(DomainName="dom", AuthMode="IAM", DefaultUserSettings=settings, SubnetIds=["subnet-1"], VpcId="vpc-1", **extra)["DomainId"]


def test_domain_create_describe_update(sm, attached):
    created = sm.create_domain(
        DomainName="team", AuthMode="IAM", SubnetIds=["subnet-1"], VpcId="vpc-1",
        DefaultUserSettings={"ExecutionRole": ROLE_ARN, "KernelGatewayAppSettings": {"CustomImages": attached}},
        Tags=[{"Key": "team", "Value": "ml"}],
    )
    domain_id = created["DomainId"]
    assert re.fullmatch(r"d-[a-z0-9]{12}", domain_id)
    assert created["DomainArn"] == f"arn:aws:sagemaker:us-east-1:123456789012:domain/{domain_id}"
    assert re.fullmatch(rf"http://{domain_id}\.studio\.localhost:\d+", created["Url"])  # the domain's own origin
    described = sm.describe_domain(DomainId=domain_id)
    assert described["Status"] == "InService" and described["DomainName"] == "team" and described["AuthMode"] == "IAM"
    assert described["DefaultUserSettings"]["KernelGatewayAppSettings"]["CustomImages"] == attached
    assert (described["SubnetIds"], described["VpcId"]) == (["subnet-1"], "vpc-1")
    assert sm.list_tags(ResourceArn=created["DomainArn"])["Tags"] == [{"Key": "team", "Value": "ml"}]
    time.sleep(0.01)
    sm.update_domain(DomainId=domain_id, DefaultUserSettings={"JupyterLabAppSettings": {"CustomImages": attached}})
    updated = sm.describe_domain(DomainId=domain_id)
    assert updated["DefaultUserSettings"]["ExecutionRole"] == ROLE_ARN  # merged, not replaced
    assert updated["DefaultUserSettings"]["JupyterLabAppSettings"]["CustomImages"] == attached
    assert updated["LastModifiedTime"] > updated["CreationTime"]
    assert domain_id in [d["DomainId"] for d in sm.list_domains()["Domains"]]


@pytest.mark.parametrize(
    "custom, message",
    [
        ({"ImageName": "never-made", "AppImageConfigName": "x"}, "Image never-made does not exist"),
        ({"ImageName": "{name}", "AppImageConfigName": "never-made"}, "AppImageConfig never-made does not exist"),
        ({"ImageName": "{name}", "ImageVersionNumber": 9, "AppImageConfigName": "{name}"}, "has no version 9"),
    ],
)
def test_custom_images_must_exist(sm, attached, name, custom, message):
    custom = {k: (v.format(name=name) if isinstance(v, str) else v) for k, v in custom.items()}
    with pytest.raises(ClientError) as exc:
        make_domain(sm, [custom])
    code, text = error_of(exc)
    assert code == "ValidationException" and message in text
    assert "DefaultUserSettings.KernelGatewayAppSettings.CustomImages.1" in text
    domain_id = make_domain(sm)
    with pytest.raises(ClientError, match="ValidationException"):
        sm.create_user_profile(DomainId=domain_id, UserProfileName="u", UserSettings={"KernelGatewayAppSettings": {"CustomImages": [custom]}})


def test_user_profiles(sm, attached):
    domain_id = make_domain(sm, attached)
    arn = sm.create_user_profile(DomainId=domain_id, UserProfileName="alice", UserSettings={"ExecutionRole": ROLE_ARN})["UserProfileArn"]
    assert arn == f"arn:aws:sagemaker:us-east-1:123456789012:user-profile/{domain_id}/alice"
    sm.create_user_profile(DomainId=domain_id, UserProfileName="bob")
    alice = sm.describe_user_profile(DomainId=domain_id, UserProfileName="alice")
    bob = sm.describe_user_profile(DomainId=domain_id, UserProfileName="bob")
    assert alice["Status"] == "InService" and alice["UserSettings"] == {"ExecutionRole": ROLE_ARN}
    assert (alice["HomeEfsFileSystemUid"], bob["HomeEfsFileSystemUid"]) == ("200001", "200002")
    with pytest.raises(sm.exceptions.ResourceInUse):
        sm.create_user_profile(DomainId=domain_id, UserProfileName="Alice")
    sm.update_user_profile(DomainId=domain_id, UserProfileName="alice", UserSettings={"KernelGatewayAppSettings": {"CustomImages": attached}})
    assert sm.describe_user_profile(DomainId=domain_id, UserProfileName="alice")["UserSettings"]["ExecutionRole"] == ROLE_ARN
    listed = sm.list_user_profiles(DomainIdEquals=domain_id, SortBy="CreationTime", SortOrder="Ascending")["UserProfiles"]
    assert [p["UserProfileName"] for p in listed] == ["alice", "bob"]
    assert [p["UserProfileName"] for p in sm.list_user_profiles(DomainIdEquals=domain_id, UserProfileNameContains="bo")["UserProfiles"]] == ["bob"]
    sm.delete_user_profile(DomainId=domain_id, UserProfileName="bob")
    with pytest.raises(sm.exceptions.ResourceNotFound) as exc:
        sm.describe_user_profile(DomainId=domain_id, UserProfileName="bob")
    assert error_of(exc)[1] == f"User profile with ARN arn:aws:sagemaker:us-east-1:123456789012:user-profile/{domain_id}/bob does not exist"


def test_spaces(sm, attached):
    domain_id = make_domain(sm)
    arn = sm.create_space(
        DomainId=domain_id, SpaceName="shared", SpaceDisplayName="Shared",
        SpaceSettings={"AppType": "JupyterLab", "KernelGatewayAppSettings": {"CustomImages": attached}},
    )["SpaceArn"]
    assert arn == f"arn:aws:sagemaker:us-east-1:123456789012:space/{domain_id}/shared"
    space = sm.describe_space(DomainId=domain_id, SpaceName="shared")
    assert space["SpaceDisplayName"] == "Shared" and space["SpaceSettings"]["AppType"] == "JupyterLab"
    sm.update_space(DomainId=domain_id, SpaceName="shared", SpaceDisplayName="Team")
    assert sm.describe_space(DomainId=domain_id, SpaceName="shared")["SpaceDisplayName"] == "Team"
    assert [s["SpaceName"] for s in sm.list_spaces(DomainIdEquals=domain_id)["Spaces"]] == ["shared"]
    sm.delete_space(DomainId=domain_id, SpaceName="shared")
    with pytest.raises(sm.exceptions.ResourceNotFound):
        sm.describe_space(DomainId=domain_id, SpaceName="shared")


def test_list_spaces_summarises_each_spaces_settings(sm, attached):
    domain_id = make_domain(sm)
    sm.create_user_profile(DomainId=domain_id, UserProfileName="alice")
    sm.create_space(DomainId=domain_id, SpaceName="mine", SpaceDisplayName="Mine",
                    OwnershipSettings={"OwnerUserProfileName": "alice"}, SpaceSharingSettings={"SharingType": "Private"},
                    SpaceSettings={"AppType": "JupyterLab", "SpaceStorageSettings": {"EbsStorageSettings": {"EbsVolumeSizeInGb": 20}}})
    sm.create_space(DomainId=domain_id, SpaceName="bare")
    mine, bare = sm.list_spaces(DomainIdEquals=domain_id)["Spaces"]  # Ascending by default
    assert mine["SpaceDisplayName"] == "Mine"
    assert mine["OwnershipSettingsSummary"] == {"OwnerUserProfileName": "alice"}
    assert mine["SpaceSharingSettingsSummary"] == {"SharingType": "Private"}
    assert mine["SpaceSettingsSummary"] == {"AppType": "JupyterLab", "SpaceStorageSettings": {"EbsStorageSettings": {"EbsVolumeSizeInGb": 20}}}
    assert not {"SpaceDisplayName", "OwnershipSettingsSummary", "SpaceSharingSettingsSummary", "SpaceSettingsSummary"} & set(bare)


def test_user_profiles_and_spaces_list_ascending_by_default_as_the_model_documents(sm):
    domain_id = make_domain(sm)
    for name in ("first", "second", "third"):
        sm.create_user_profile(DomainId=domain_id, UserProfileName=name)
        sm.create_space(DomainId=domain_id, SpaceName=name)
    assert [p["UserProfileName"] for p in sm.list_user_profiles(DomainIdEquals=domain_id)["UserProfiles"]] == ["first", "second", "third"]
    assert [s["SpaceName"] for s in sm.list_spaces(DomainIdEquals=domain_id)["Spaces"]] == ["first", "second", "third"]
    assert [s["SpaceName"] for s in sm.list_spaces(DomainIdEquals=domain_id, SortOrder="Descending")["Spaces"]] == ["third", "second", "first"]


def test_domain_deletion_needs_an_empty_domain(sm):
    domain_id = make_domain(sm)
    sm.create_user_profile(DomainId=domain_id, UserProfileName="alice")
    with pytest.raises(sm.exceptions.ResourceInUse):
        sm.delete_domain(DomainId=domain_id)
    sm.delete_user_profile(DomainId=domain_id, UserProfileName="alice")
    sm.delete_domain(DomainId=domain_id)
    with pytest.raises(sm.exceptions.ResourceNotFound):
        sm.describe_domain(DomainId=domain_id)
    with pytest.raises(sm.exceptions.ResourceNotFound):
        sm.create_user_profile(DomainId=domain_id, UserProfileName="late")


def test_apps_without_a_container_runtime_fail_with_a_reason(sm, attached, name):
    domain_id = make_domain(sm, attached)
    sm.create_space(DomainId=domain_id, SpaceName="sp")
    key = {"DomainId": domain_id, "SpaceName": "sp", "AppType": "KernelGateway", "AppName": "default"}
    arn = sm.create_app(**key, ResourceSpec={"SageMakerImageArn": f"arn:aws:sagemaker:us-east-1:123456789012:image/{name}", "InstanceType": "ml.t3.medium"})["AppArn"]
    assert arn == f"arn:aws:sagemaker:us-east-1:123456789012:app/{domain_id}/sp/kernelgateway/default"
    deadline = time.monotonic() + 20
    while sm.describe_app(**key)["Status"] == "Pending" and time.monotonic() < deadline:
        time.sleep(0.2)
    app = sm.describe_app(**key)
    assert app["Status"] == "Failed" and "no container runtime" in app["FailureReason"]
    assert app["SpaceName"] == "sp" and app["ResourceSpec"]["SageMakerImageVersionArn"].endswith(f"image-version/{name}/1")
    assert [a["AppName"] for a in sm.list_apps(DomainIdEquals=domain_id, SpaceNameEquals="sp")["Apps"]] == ["default"]


def test_apps_list_ascending_by_default_as_the_model_documents(sm, attached, name):
    domain_id = make_domain(sm, attached)
    sm.create_user_profile(DomainId=domain_id, UserProfileName="alice")
    spec = {"SageMakerImageArn": f"arn:aws:sagemaker:us-east-1:123456789012:image/{name}", "InstanceType": "ml.t3.medium"}
    for app_name in ("first", "second", "third"):
        sm.create_app(DomainId=domain_id, UserProfileName="alice", AppType="KernelGateway", AppName=app_name, ResourceSpec=spec)
    assert [a["AppName"] for a in sm.list_apps(DomainIdEquals=domain_id)["Apps"]] == ["first", "second", "third"]
    assert [a["AppName"] for a in sm.list_apps(DomainIdEquals=domain_id, SortOrder="Descending")["Apps"]] == ["third", "second", "first"]


@pytest.mark.parametrize("owner", [{}, {"UserProfileName": "a", "SpaceName": "b"}])
def test_an_app_needs_exactly_one_owner(sm, owner):
    domain_id = make_domain(sm)
    with pytest.raises(ClientError) as exc:
        sm.create_app(DomainId=domain_id, AppType="KernelGateway", AppName="x", **owner)
    assert error_of(exc) == ("ValidationException", "Specify exactly one of UserProfileName and SpaceName")


def test_create_app_picks_the_version_by_arn_alias_number_or_latest(sm, attached, name):
    sm.create_image_version(ImageName=name, BaseImage="repo/img:2", Aliases=["2.0"])
    sm.create_image_version(ImageName=name, BaseImage="repo/img:3")
    customs = [{**attached[0], "ImageVersionNumber": 1}]
    domain_id = make_domain(sm, customs)
    sm.create_user_profile(DomainId=domain_id, UserProfileName="u")
    image = f"arn:aws:sagemaker:us-east-1:123456789012:image/{name}"
    version = f"arn:aws:sagemaker:us-east-1:123456789012:image-version/{name}"
    cases = {
        "by-arn": ({"SageMakerImageVersionArn": f"{version}/3"}, 3),
        "by-alias": ({"SageMakerImageArn": image, "SageMakerImageVersionAlias": "2.0"}, 2),
        "by-number": ({"SageMakerImageArn": image}, 1),  # the CustomImage pins version 1
    }
    for app_name, (spec, expected) in cases.items():
        key = {"DomainId": domain_id, "UserProfileName": "u", "AppType": "KernelGateway", "AppName": app_name}
        sm.create_app(**key, ResourceSpec={**spec, "InstanceType": "ml.t3.medium"})
        resolved = sm.describe_app(**key)["ResourceSpec"]
        assert resolved["SageMakerImageVersionArn"] == f"{version}/{expected}", app_name
        assert resolved["SageMakerImageArn"] == image
    sm.update_user_profile(DomainId=domain_id, UserProfileName="u", UserSettings={"KernelGatewayAppSettings": {"CustomImages": attached}})
    key = {"DomainId": domain_id, "UserProfileName": "u", "AppType": "KernelGateway", "AppName": "latest"}
    sm.create_app(**key, ResourceSpec={"SageMakerImageArn": image, "InstanceType": "ml.t3.medium"})
    assert sm.describe_app(**key)["ResourceSpec"]["SageMakerImageVersionArn"] == f"{version}/3"
