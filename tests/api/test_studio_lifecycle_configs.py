"""Studio lifecycle configuration operations through boto3, as AWS documents them."""

import base64
from datetime import datetime, timedelta, timezone

import pytest
from botocore.exceptions import ClientError

from tests.conftest import error_of

SCRIPT = base64.b64encode(b"#!/bin/bash\necho hello > /tmp/lcc-ran\n").decode()


def test_create_returns_the_arn_and_describe_returns_the_script(sm, name):
    arn = sm.create_studio_lifecycle_config(
        StudioLifecycleConfigName=name, StudioLifecycleConfigContent=SCRIPT, StudioLifecycleConfigAppType="JupyterLab"
    )["StudioLifecycleConfigArn"]
    assert arn == f"arn:aws:sagemaker:us-east-1:123456789012:studio-lifecycle-config/{name}"
    described = sm.describe_studio_lifecycle_config(StudioLifecycleConfigName=name)
    assert described["StudioLifecycleConfigArn"] == arn
    assert described["StudioLifecycleConfigName"] == name
    assert described["StudioLifecycleConfigContent"] == SCRIPT
    assert described["StudioLifecycleConfigAppType"] == "JupyterLab"
    assert described["CreationTime"] == described["LastModifiedTime"]


def test_a_name_is_taken_whatever_its_case(sm, name):
    sm.create_studio_lifecycle_config(
        StudioLifecycleConfigName=name, StudioLifecycleConfigContent=SCRIPT, StudioLifecycleConfigAppType="CodeEditor"
    )
    with pytest.raises(ClientError) as excinfo:
        sm.create_studio_lifecycle_config(
            StudioLifecycleConfigName=name.upper(), StudioLifecycleConfigContent=SCRIPT, StudioLifecycleConfigAppType="CodeEditor"
        )
    assert error_of(excinfo)[0] == "ResourceInUse"


@pytest.mark.parametrize("content", ["not base64!", "YWJ", "#!/bin/bash\necho hi"])
def test_content_that_is_not_base64_is_refused(sm, name, content):
    with pytest.raises(ClientError) as excinfo:
        sm.create_studio_lifecycle_config(
            StudioLifecycleConfigName=name, StudioLifecycleConfigContent=content, StudioLifecycleConfigAppType="JupyterLab"
        )
    code, message = error_of(excinfo)
    assert code == "ValidationException"
    assert "base64" in message


def test_an_unknown_app_type_is_refused_by_the_model(sm_raw, name):
    with pytest.raises(ClientError) as excinfo:
        sm_raw.create_studio_lifecycle_config(
            StudioLifecycleConfigName=name, StudioLifecycleConfigContent=SCRIPT, StudioLifecycleConfigAppType="RStudio"
        )
    assert error_of(excinfo)[0] == "ValidationException"


def test_describe_and_delete_of_a_missing_config_answer_resource_not_found(sm, name):
    for call in (sm.describe_studio_lifecycle_config, sm.delete_studio_lifecycle_config):
        with pytest.raises(ClientError) as excinfo:
            call(StudioLifecycleConfigName=name)
        assert error_of(excinfo)[0] == "ResourceNotFound"


def test_delete_removes_the_config_and_its_tags(sm, name):
    arn = sm.create_studio_lifecycle_config(
        StudioLifecycleConfigName=name, StudioLifecycleConfigContent=SCRIPT, StudioLifecycleConfigAppType="KernelGateway",
        Tags=[{"Key": "team", "Value": "ml"}],
    )["StudioLifecycleConfigArn"]
    assert sm.list_tags(ResourceArn=arn)["Tags"] == [{"Key": "team", "Value": "ml"}]
    sm.delete_studio_lifecycle_config(StudioLifecycleConfigName=name)
    with pytest.raises(ClientError):
        sm.describe_studio_lifecycle_config(StudioLifecycleConfigName=name)
    with pytest.raises(ClientError) as excinfo:
        sm.list_tags(ResourceArn=arn)
    assert error_of(excinfo)[0] == "ValidationException"  # the resource no longer exists


def test_list_filters_by_app_type_and_name_and_pages_in_the_order_asked(sm, name):
    names = [f"{name}-{i}" for i in range(5)]
    for i, n in enumerate(names):
        sm.create_studio_lifecycle_config(
            StudioLifecycleConfigName=n, StudioLifecycleConfigContent=SCRIPT,
            StudioLifecycleConfigAppType="JupyterLab" if i % 2 == 0 else "CodeEditor",
        )
    pages = sm.get_paginator("list_studio_lifecycle_configs").paginate(
        NameContains=name, AppTypeEquals="JupyterLab", SortBy="Name", SortOrder="Ascending", PaginationConfig={"PageSize": 2}
    )
    listed = [c["StudioLifecycleConfigName"] for page in pages for c in page["StudioLifecycleConfigs"]]
    assert listed == [names[0], names[2], names[4]]
    newest_first = sm.list_studio_lifecycle_configs(NameContains=name)["StudioLifecycleConfigs"]
    assert [c["StudioLifecycleConfigName"] for c in newest_first] == names[::-1]
    assert set(newest_first[0]) == {
        "StudioLifecycleConfigArn", "StudioLifecycleConfigName", "CreationTime", "LastModifiedTime", "StudioLifecycleConfigAppType",
    }


def test_list_honours_the_time_windows(sm, name):
    sm.create_studio_lifecycle_config(
        StudioLifecycleConfigName=name, StudioLifecycleConfigContent=SCRIPT, StudioLifecycleConfigAppType="JupyterLab"
    )
    created = sm.describe_studio_lifecycle_config(StudioLifecycleConfigName=name)["CreationTime"]
    def listed(**window):
        found = sm.list_studio_lifecycle_configs(NameContains=name, **window)["StudioLifecycleConfigs"]
        return [c["StudioLifecycleConfigName"] for c in found]
    assert listed(CreationTimeAfter=created - timedelta(seconds=1)) == [name]
    assert listed(CreationTimeBefore=created - timedelta(seconds=1)) == []
    assert listed(ModifiedTimeAfter=datetime.now(timezone.utc) + timedelta(hours=1)) == []
