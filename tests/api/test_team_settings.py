"""What teams set around images, through boto3: how updates merge settings, where users land,
space storage sizes, Docker settings and custom POSIX users, with AWS's validation. (Their
effects on running apps are in tests/runtime/test_app_settler.py and test_contract.py, on
the home page in test_studio_home.py; ResourceInUse while apps run in
tests/services/test_team_settings.py.)"""

import pytest
from botocore.exceptions import ClientError

from tests.api.test_studio import make_domain
from tests.conftest import ROLE_ARN, error_of


def test_update_user_profile_merges_settings_member_by_member_and_replaces_lists(sm):
    domain_id = make_domain(sm)
    sm.create_user_profile(DomainId=domain_id, UserProfileName="alice", UserSettings={
        "ExecutionRole": ROLE_ARN,
        "JupyterLabAppSettings": {"DefaultResourceSpec": {"InstanceType": "ml.t3.large"}, "CodeRepositories": [{"RepositoryUrl": "https://example.com/a.git"}]},
        "StudioWebPortalSettings": {"HiddenAppTypes": ["CodeEditor", "JupyterServer"]},
    })
    sm.update_user_profile(DomainId=domain_id, UserProfileName="alice", UserSettings={
        "JupyterLabAppSettings": {"CodeRepositories": [{"RepositoryUrl": "https://example.com/b.git"}]},
        "StudioWebPortalSettings": {"HiddenAppTypes": ["CodeEditor"]},
    })
    settings = sm.describe_user_profile(DomainId=domain_id, UserProfileName="alice")["UserSettings"]
    assert settings["ExecutionRole"] == ROLE_ARN  # not given: kept
    assert settings["JupyterLabAppSettings"] == {  # a structure merges; its list is replaced
        "DefaultResourceSpec": {"InstanceType": "ml.t3.large"}, "CodeRepositories": [{"RepositoryUrl": "https://example.com/b.git"}]}
    assert settings["StudioWebPortalSettings"] == {"HiddenAppTypes": ["CodeEditor"]}


def test_update_domain_merges_domain_settings_for_update_and_records_docker_settings(sm):
    domain_id = make_domain(sm, DomainSettings={"SecurityGroupIds": ["sg-1"]})
    sm.update_domain(DomainId=domain_id, DomainSettingsForUpdate={"DockerSettings": {"EnableDockerAccess": "ENABLED", "VpcOnlyTrustedAccounts": ["111122223333"]}},
                     DefaultUserSettings={"StudioWebPortal": "ENABLED"})
    described = sm.describe_domain(DomainId=domain_id)
    assert described["DomainSettings"] == {"SecurityGroupIds": ["sg-1"], "DockerSettings": {"EnableDockerAccess": "ENABLED", "VpcOnlyTrustedAccounts": ["111122223333"]}}
    assert described["DefaultUserSettings"] == {"ExecutionRole": ROLE_ARN, "StudioWebPortal": "ENABLED"}
    with pytest.raises(ClientError) as bad:
        sm.update_domain(DomainId=domain_id, DomainSettingsForUpdate={"DockerSettings": {"EnableDockerAccess": "MAYBE"}})
    assert error_of(bad)[0] == "ValidationException"


def test_studio_as_default_landing_needs_the_web_portal_enabled(sm):
    domain_id = make_domain(sm)
    with pytest.raises(ClientError) as refused:
        sm.create_user_profile(DomainId=domain_id, UserProfileName="u1", UserSettings={"DefaultLandingUri": "studio::", "StudioWebPortal": "DISABLED"})
    assert error_of(refused) == ("ValidationException", "UserSettings: DefaultLandingUri studio:: can only be passed if StudioWebPortal is set to ENABLED")
    # the domain's StudioWebPortal applies to a user who sets none
    sm.update_domain(DomainId=domain_id, DefaultUserSettings={"StudioWebPortal": "DISABLED"})
    with pytest.raises(ClientError) as refused:
        sm.create_user_profile(DomainId=domain_id, UserProfileName="u2", UserSettings={"DefaultLandingUri": "studio::"})
    assert error_of(refused)[0] == "ValidationException"
    sm.create_user_profile(DomainId=domain_id, UserProfileName="u3", UserSettings={"DefaultLandingUri": "app:JupyterServer:"})
    with pytest.raises(ClientError) as refused:
        sm.update_domain(DomainId=domain_id, DefaultUserSettings={"DefaultLandingUri": "studio::"})
    assert "StudioWebPortal" in error_of(refused)[1]
    with pytest.raises(ClientError) as refused:
        sm.create_user_profile(DomainId=domain_id, UserProfileName="u4", UserSettings={"DefaultLandingUri": "https://example.com/"})
    assert "must be studio::<path> or app:<AppType>:<path>" in error_of(refused)[1]
    assert [p["UserProfileName"] for p in sm.list_user_profiles(DomainIdEquals=domain_id)["UserProfiles"]] == ["u3"]


def test_a_spaces_ebs_size_stays_within_the_maximum_that_applies_and_never_shrinks(sm, sm_raw):
    domain_id = make_domain(sm, DefaultSpaceSettings={"ExecutionRole": ROLE_ARN, "SpaceStorageSettings": {
        "DefaultEbsStorageSettings": {"DefaultEbsVolumeSizeInGb": 10, "MaximumEbsVolumeSizeInGb": 100}}})
    sm.create_user_profile(DomainId=domain_id, UserProfileName="owner", UserSettings={"SpaceStorageSettings": {
        "DefaultEbsStorageSettings": {"DefaultEbsVolumeSizeInGb": 5, "MaximumEbsVolumeSizeInGb": 20}}})

    def storage(size):
        return {"SpaceStorageSettings": {"EbsStorageSettings": {"EbsVolumeSizeInGb": size}}}

    sm.create_space(DomainId=domain_id, SpaceName="shared", SpaceSettings=storage(100))
    with pytest.raises(ClientError) as refused:  # the owner's own maximum applies to their space
        sm.create_space(DomainId=domain_id, SpaceName="mine", SpaceSettings=storage(21), OwnershipSettings={"OwnerUserProfileName": "owner"},
                        SpaceSharingSettings={"SharingType": "Private"})
    assert error_of(refused) == ("ValidationException", "SpaceSettings.SpaceStorageSettings.EbsStorageSettings.EbsVolumeSizeInGb (21) "
                                 "cannot be larger than MaximumEbsVolumeSizeInGb (20) that applies to the space")
    sm.create_space(DomainId=domain_id, SpaceName="mine", SpaceSettings=storage(20), OwnershipSettings={"OwnerUserProfileName": "owner"},
                    SpaceSharingSettings={"SharingType": "Private"})
    sm.update_space(DomainId=domain_id, SpaceName="shared", SpaceSettings={"AppType": "JupyterLab"})  # the size is kept
    assert sm.describe_space(DomainId=domain_id, SpaceName="shared")["SpaceSettings"] == {"AppType": "JupyterLab", **storage(100)}
    with pytest.raises(ClientError) as refused:
        sm.update_space(DomainId=domain_id, SpaceName="shared", SpaceSettings=storage(50))
    assert "cannot be smaller than the space's current size (100)" in error_of(refused)[1]
    with pytest.raises(ClientError) as refused:
        sm.update_space(DomainId=domain_id, SpaceName="shared", SpaceSettings=storage(101))
    assert error_of(refused)[0] == "ValidationException"
    with pytest.raises(ClientError) as refused:
        sm_raw.create_space(DomainId=domain_id, SpaceName="tiny", SpaceSettings=storage(4))  # below the model's minimum
    assert error_of(refused)[0] == "ValidationException"


def test_a_default_ebs_size_above_its_maximum_is_refused(sm):
    with pytest.raises(ClientError) as refused:
        make_domain(sm, DefaultSpaceSettings={"ExecutionRole": ROLE_ARN, "SpaceStorageSettings": {
            "DefaultEbsStorageSettings": {"DefaultEbsVolumeSizeInGb": 50, "MaximumEbsVolumeSizeInGb": 20}}})
    assert error_of(refused) == ("ValidationException", "DefaultSpaceSettings: DefaultEbsVolumeSizeInGb (50) cannot be larger than MaximumEbsVolumeSizeInGb (20)")


def test_custom_posix_user_config_is_kept_and_bounded_as_the_model_says(sm, sm_raw):
    domain_id = make_domain(sm)
    sm.create_user_profile(DomainId=domain_id, UserProfileName="posix", UserSettings={"CustomPosixUserConfig": {"Uid": 10001, "Gid": 1001}})
    assert sm.describe_user_profile(DomainId=domain_id, UserProfileName="posix")["UserSettings"]["CustomPosixUserConfig"] == {"Uid": 10001, "Gid": 1001}
    with pytest.raises(ClientError) as refused:
        sm_raw.create_user_profile(DomainId=domain_id, UserProfileName="low", UserSettings={"CustomPosixUserConfig": {"Uid": 1000, "Gid": 100}})
    assert error_of(refused)[0] == "ValidationException"
