"""AppImageConfig operations through boto3, as AWS documents them."""

import time
from datetime import timedelta

import pytest
from botocore.exceptions import ClientError

from tests.conftest import error_of

KG = {"KernelSpecs": [{"Name": "python3", "DisplayName": "Python 3"}]}
DEFAULT_FS = {"MountPath": "/home/sagemaker-user", "DefaultUid": 1000, "DefaultGid": 100}


def test_create_returns_the_arn_and_describe_returns_what_was_created(sm, name):
    arn = sm.create_app_image_config(AppImageConfigName=name, KernelGatewayImageConfig=KG)["AppImageConfigArn"]
    assert arn == f"arn:aws:sagemaker:us-east-1:123456789012:app-image-config/{name}"
    described = sm.describe_app_image_config(AppImageConfigName=name)
    assert described["AppImageConfigArn"] == arn
    assert described["AppImageConfigName"] == name
    assert described["KernelGatewayImageConfig"] == KG  # no FileSystemConfig given: none invented
    assert "JupyterLabAppImageConfig" not in described and "CodeEditorAppImageConfig" not in described
    assert described["CreationTime"] == described["LastModifiedTime"]


@pytest.mark.parametrize("given", [{}, {"MountPath": "/home/me"}, {"DefaultUid": 0, "DefaultGid": 0}])
def test_a_given_file_system_config_is_completed_with_defaults(sm, name, given):
    sm.create_app_image_config(AppImageConfigName=name, KernelGatewayImageConfig={**KG, "FileSystemConfig": given})
    fs = sm.describe_app_image_config(AppImageConfigName=name)["KernelGatewayImageConfig"]["FileSystemConfig"]
    assert fs == {**DEFAULT_FS, **given}


@pytest.mark.parametrize(
    "mode",
    [
        {"CodeEditorAppImageConfig": {}},
        {
            "JupyterLabAppImageConfig": {
                "FileSystemConfig": {},
                "ContainerConfig": {
                    "ContainerEntrypoint": ["jupyter-lab"],
                    "ContainerArguments": ["--ServerApp.token=''"],
                    "ContainerEnvironmentVariables": {"MY_VAR": "1"},
                },
            }
        },
    ],
)
def test_code_editor_and_jupyterlab_modes(sm, name, mode):
    sm.create_app_image_config(AppImageConfigName=name, **mode)
    described = sm.describe_app_image_config(AppImageConfigName=name)
    (member, config), = mode.items()
    expected = dict(config)
    if "FileSystemConfig" in expected:
        expected["FileSystemConfig"] = DEFAULT_FS
    assert described[member] == expected


@pytest.mark.parametrize(
    "modes",
    [
        {},
        {"KernelGatewayImageConfig": KG, "CodeEditorAppImageConfig": {}},
        {"KernelGatewayImageConfig": KG, "JupyterLabAppImageConfig": {}, "CodeEditorAppImageConfig": {}},
    ],
)
def test_exactly_one_mode_is_required(sm, name, modes):
    with pytest.raises(ClientError) as exc:
        sm.create_app_image_config(AppImageConfigName=name, **modes)
    code, message = error_of(exc)
    assert code == "ValidationException"
    assert "Exactly one of KernelGatewayImageConfig, JupyterLabAppImageConfig or CodeEditorAppImageConfig" in message
    with pytest.raises(ClientError, match="ResourceNotFound"):
        sm.describe_app_image_config(AppImageConfigName=name)


def test_names_are_unique_regardless_of_case(sm, name):
    sm.create_app_image_config(AppImageConfigName=name, CodeEditorAppImageConfig={})
    for clash in (name, name.upper()):
        with pytest.raises(ClientError) as exc:
            sm.create_app_image_config(AppImageConfigName=clash, KernelGatewayImageConfig=KG)
        code, message = error_of(exc)
        assert code == "ResourceInUse"
        assert name in message
    assert "CodeEditorAppImageConfig" in sm.describe_app_image_config(AppImageConfigName=name)


def test_update_replaces_the_mode_and_moves_last_modified(sm, name):
    sm.create_app_image_config(AppImageConfigName=name, KernelGatewayImageConfig=KG)
    before = sm.describe_app_image_config(AppImageConfigName=name)
    time.sleep(0.01)
    new_kg = {"KernelSpecs": [{"Name": "conda-env-r-r"}], "FileSystemConfig": {"DefaultUid": 0, "DefaultGid": 0}}
    arn = sm.update_app_image_config(AppImageConfigName=name, KernelGatewayImageConfig=new_kg)["AppImageConfigArn"]
    after = sm.describe_app_image_config(AppImageConfigName=name)
    assert arn == before["AppImageConfigArn"]
    assert after["KernelGatewayImageConfig"] == {"KernelSpecs": [{"Name": "conda-env-r-r"}], "FileSystemConfig": {**DEFAULT_FS, "DefaultUid": 0, "DefaultGid": 0}}
    assert after["CreationTime"] == before["CreationTime"]
    assert after["LastModifiedTime"] > before["LastModifiedTime"]
    # Switching mode: the new mode replaces the old one.
    sm.update_app_image_config(AppImageConfigName=name, CodeEditorAppImageConfig={})
    switched = sm.describe_app_image_config(AppImageConfigName=name)
    assert switched["CodeEditorAppImageConfig"] == {} and "KernelGatewayImageConfig" not in switched


def test_update_without_a_mode_only_touches_last_modified(sm, name):
    sm.create_app_image_config(AppImageConfigName=name, KernelGatewayImageConfig=KG)
    before = sm.describe_app_image_config(AppImageConfigName=name)
    time.sleep(0.01)
    sm.update_app_image_config(AppImageConfigName=name)
    after = sm.describe_app_image_config(AppImageConfigName=name)
    assert after["KernelGatewayImageConfig"] == KG
    assert after["LastModifiedTime"] > before["LastModifiedTime"]


def test_update_with_two_modes_changes_nothing(sm, name):
    sm.create_app_image_config(AppImageConfigName=name, KernelGatewayImageConfig=KG)
    with pytest.raises(ClientError, match="ValidationException"):
        sm.update_app_image_config(AppImageConfigName=name, KernelGatewayImageConfig=KG, CodeEditorAppImageConfig={})
    assert sm.describe_app_image_config(AppImageConfigName=name)["KernelGatewayImageConfig"] == KG


@pytest.mark.parametrize("op", ["describe_app_image_config", "update_app_image_config", "delete_app_image_config"])
def test_missing_configs_are_resource_not_found(sm, name, op):
    with pytest.raises(ClientError) as exc:
        getattr(sm, op)(AppImageConfigName=name)
    code, message = error_of(exc)
    assert code == "ResourceNotFound"
    assert message == f"AppImageConfig with ARN arn:aws:sagemaker:us-east-1:123456789012:app-image-config/{name} does not exist"
    assert isinstance(exc.value, sm.exceptions.ResourceNotFound)


def test_delete_removes_the_config_and_its_tags(sm, name):
    arn = sm.create_app_image_config(AppImageConfigName=name, CodeEditorAppImageConfig={}, Tags=[{"Key": "k", "Value": "v"}])["AppImageConfigArn"]
    assert sm.list_tags(ResourceArn=arn)["Tags"] == [{"Key": "k", "Value": "v"}]
    sm.delete_app_image_config(AppImageConfigName=name)
    with pytest.raises(ClientError, match="ResourceNotFound"):
        sm.describe_app_image_config(AppImageConfigName=name)
    # Re-creating the name starts clean: the old tags are gone.
    sm.create_app_image_config(AppImageConfigName=name, CodeEditorAppImageConfig={})
    assert sm.list_tags(ResourceArn=arn)["Tags"] == []


@pytest.mark.parametrize(
    "bad, member",
    [
        ({"AppImageConfigName": "has space"}, "appImageConfigName"),
        ({"AppImageConfigName": "a" * 64}, "appImageConfigName"),
        ({"AppImageConfigName": "ok", "KernelGatewayImageConfig": {"KernelSpecs": [{"Name": "k"}] * 6}}, "kernelGatewayImageConfig.kernelSpecs"),
        ({"AppImageConfigName": "ok", "KernelGatewayImageConfig": {"KernelSpecs": [{"Name": "k"}], "FileSystemConfig": {"MountPath": "home"}}}, "kernelGatewayImageConfig.fileSystemConfig.mountPath"),
        ({"AppImageConfigName": "ok", "JupyterLabAppImageConfig": {"ContainerConfig": {"ContainerEntrypoint": ["a", "b"]}}}, "jupyterLabAppImageConfig.containerConfig.containerEntrypoint"),
        ({"AppImageConfigName": "ok", "JupyterLabAppImageConfig": {"ContainerConfig": {"ContainerArguments": ["   "]}}}, "jupyterLabAppImageConfig.containerConfig.containerArguments.1.member"),
    ],
)
def test_invalid_input_names_the_member_and_constraint(sm, bad, member):
    with pytest.raises(ClientError) as exc:
        sm.create_app_image_config(**bad)
    code, message = error_of(exc)
    assert code == "ValidationException"
    assert f"at '{member}' failed to satisfy constraint: Member must" in message


class TestList:
    @pytest.fixture
    def configs(self, fresh_server):
        """Five configs on a server of their own, created 10 ms apart."""
        srv = fresh_server()
        sm = srv.client()
        names = ["delta", "alpha", "echo", "charlie", "bravo"]
        for n in names:
            sm.create_app_image_config(AppImageConfigName=n, CodeEditorAppImageConfig={})
            time.sleep(0.01)
        return sm, names

    def test_default_sort_is_creation_time_descending(self, configs):
        sm, names = configs
        listed = [c["AppImageConfigName"] for c in sm.list_app_image_configs()["AppImageConfigs"]]
        assert listed == list(reversed(names))

    @pytest.mark.parametrize("order", ["Ascending", "Descending"])
    def test_sort_by_name(self, configs, order):
        sm, names = configs
        listed = [c["AppImageConfigName"] for c in sm.list_app_image_configs(SortBy="Name", SortOrder=order)["AppImageConfigs"]]
        assert listed == sorted(names, reverse=order == "Descending")

    def test_sort_by_last_modified(self, configs):
        sm, names = configs
        sm.update_app_image_config(AppImageConfigName="alpha", KernelGatewayImageConfig=KG)
        listed = [c["AppImageConfigName"] for c in sm.list_app_image_configs(SortBy="LastModifiedTime")["AppImageConfigs"]]
        assert listed[0] == "alpha"

    def test_default_page_size_is_ten_and_pages_cover_everything_once(self, fresh_server):
        sm = fresh_server().client()
        for i in range(23):
            sm.create_app_image_config(AppImageConfigName=f"c{i:02d}", CodeEditorAppImageConfig={})
        first = sm.list_app_image_configs()
        assert len(first["AppImageConfigs"]) == 10 and first["NextToken"]
        seen = []
        for page in sm.get_paginator("list_app_image_configs").paginate(SortBy="Name", SortOrder="Ascending", PaginationConfig={"PageSize": 7}):
            assert len(page["AppImageConfigs"]) <= 7
            seen += [c["AppImageConfigName"] for c in page["AppImageConfigs"]]
        assert seen == [f"c{i:02d}" for i in range(23)]

    def test_pages_stay_consistent_while_items_are_added(self, configs):
        sm, names = configs
        first = sm.list_app_image_configs(SortBy="Name", SortOrder="Ascending", MaxResults=2)
        sm.create_app_image_config(AppImageConfigName="aardvark", CodeEditorAppImageConfig={})  # sorts before the token
        rest = sm.list_app_image_configs(SortBy="Name", SortOrder="Ascending", MaxResults=10, NextToken=first["NextToken"])
        got = [c["AppImageConfigName"] for c in first["AppImageConfigs"] + rest["AppImageConfigs"]]
        assert got == ["alpha", "bravo", "charlie", "delta", "echo"]
        assert "NextToken" not in rest

    def test_name_contains_is_a_case_sensitive_substring(self, configs):
        sm, _ = configs
        assert [c["AppImageConfigName"] for c in sm.list_app_image_configs(NameContains="ha")["AppImageConfigs"]] == ["charlie", "alpha"]
        assert sm.list_app_image_configs(NameContains="HA")["AppImageConfigs"] == []

    def test_time_filters_are_inclusive(self, configs):
        sm, names = configs
        alpha = sm.describe_app_image_config(AppImageConfigName="alpha")
        created = alpha["CreationTime"]
        at_or_after = [c["AppImageConfigName"] for c in sm.list_app_image_configs(CreationTimeAfter=created, SortBy="Name", SortOrder="Ascending")["AppImageConfigs"]]
        assert at_or_after == ["alpha", "bravo", "charlie", "echo"]
        at_or_before = [c["AppImageConfigName"] for c in sm.list_app_image_configs(CreationTimeBefore=created, SortBy="Name", SortOrder="Ascending")["AppImageConfigs"]]
        assert at_or_before == ["alpha", "delta"]
        exactly = sm.list_app_image_configs(ModifiedTimeAfter=created, ModifiedTimeBefore=created)["AppImageConfigs"]
        assert [c["AppImageConfigName"] for c in exactly] == ["alpha"]
        later = sm.list_app_image_configs(CreationTimeAfter=created + timedelta(days=1))["AppImageConfigs"]
        assert later == []

    def test_a_forged_next_token_is_a_validation_error(self, configs):
        sm, _ = configs
        with pytest.raises(ClientError, match="ValidationException"):
            sm.list_app_image_configs(NextToken="not-a-token")
        token = sm.list_app_image_configs(MaxResults=1)["NextToken"]
        with pytest.raises(ClientError, match="different request"):
            sm.list_app_image_configs(NextToken=token, SortBy="Name")
