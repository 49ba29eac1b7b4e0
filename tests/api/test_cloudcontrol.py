"""Cloud Control drives the SageMaker resources through boto3's ``cloudcontrol`` client."""

import json

import pytest
from botocore.exceptions import ClientError, WaiterError

from tests.conftest import ROLE_ARN, error_of

IMAGE, VERSION, CONFIG = "AWS::SageMaker::Image", "AWS::SageMaker::ImageVersion", "AWS::SageMaker::AppImageConfig"
WAIT = {"Delay": 1, "MaxAttempts": 20}


@pytest.fixture
def cc(server):
    return server.client("cloudcontrol")


def create(cc, type_name: str, model: dict, **kwargs) -> dict:
    """Create and wait for success; the final ProgressEvent."""
    event = cc.create_resource(TypeName=type_name, DesiredState=json.dumps(model), **kwargs)["ProgressEvent"]
    return succeeded(cc, event)


def succeeded(cc, event: dict) -> dict:
    """Wait for the request to succeed (a failure shows its ErrorCode and StatusMessage); its final ProgressEvent."""
    try:
        cc.get_waiter("resource_request_success").wait(RequestToken=event["RequestToken"], WaiterConfig=WAIT)
    except WaiterError as exc:
        final = exc.last_response.get("ProgressEvent", {})
        raise AssertionError(f"{final.get('OperationStatus')}: {final.get('ErrorCode')}: {final.get('StatusMessage')}") from None
    return cc.get_resource_request_status(RequestToken=event["RequestToken"])["ProgressEvent"]


def properties(cc, type_name: str, identifier: str) -> dict:
    return json.loads(cc.get_resource(TypeName=type_name, Identifier=identifier)["ResourceDescription"]["Properties"])


def patch(cc, type_name: str, identifier: str, ops: list) -> dict:
    event = cc.update_resource(TypeName=type_name, Identifier=identifier, PatchDocument=json.dumps(ops))["ProgressEvent"]
    succeeded(cc, event)
    return event


def remove(cc, type_name: str, identifier: str) -> None:
    succeeded(cc, cc.delete_resource(TypeName=type_name, Identifier=identifier)["ProgressEvent"])
    with pytest.raises(cc.exceptions.ResourceNotFoundException):
        cc.get_resource(TypeName=type_name, Identifier=identifier)


def test_image_full_cycle_and_the_sagemaker_view(cc, sm, name):
    model = {"ImageName": name, "ImageRoleArn": ROLE_ARN, "ImageDisplayName": "CC image", "Tags": [{"Key": "team", "Value": "ml"}]}
    done = create(cc, IMAGE, model)
    arn = f"arn:aws:sagemaker:us-east-1:123456789012:image/{name}"
    assert (done["Operation"], done["OperationStatus"], done["Identifier"]) == ("CREATE", "SUCCESS", arn)
    assert json.loads(done["ResourceModel"]) == {**model, "ImageArn": arn}
    assert properties(cc, IMAGE, arn) == {**model, "ImageArn": arn}  # readOnly ImageArn is returned
    # The SageMaker API sees the same resource.
    image = sm.describe_image(ImageName=name)
    assert (image["ImageStatus"], image["DisplayName"], image["RoleArn"]) == ("CREATED", "CC image", ROLE_ARN)
    assert sm.list_tags(ResourceArn=arn)["Tags"] == [{"Key": "team", "Value": "ml"}]
    # Update: all six JSON Patch operations are understood.
    patch(
        cc,
        IMAGE,
        arn,
        [
            {"op": "test", "path": "/ImageDisplayName", "value": "CC image"},
            {"op": "add", "path": "/ImageDescription", "value": "described"},
            {"op": "copy", "from": "/ImageDescription", "path": "/Tags/-", "value": None},
            {"op": "remove", "path": "/Tags/1"},
            {"op": "replace", "path": "/Tags/0/Value", "value": "platform"},
            {"op": "move", "from": "/ImageDisplayName", "path": "/ImageDisplayName"},
        ],
    )
    after = properties(cc, IMAGE, arn)
    assert after["ImageDescription"] == "described" and after["Tags"] == [{"Key": "team", "Value": "platform"}]
    assert sm.describe_image(ImageName=name)["Description"] == "described"
    patch(cc, IMAGE, arn, [{"op": "remove", "path": "/ImageDisplayName"}, {"op": "remove", "path": "/Tags"}])
    after = properties(cc, IMAGE, arn)
    assert "ImageDisplayName" not in after and "Tags" not in after
    assert "DisplayName" not in sm.describe_image(ImageName=name)
    pages = cc.get_paginator("list_resources").paginate(TypeName=IMAGE)  # (other tests' images may fill a page)
    assert arn in [d["Identifier"] for page in pages for d in page["ResourceDescriptions"]]
    remove(cc, IMAGE, arn)
    with pytest.raises(sm.exceptions.ResourceNotFound):
        sm.describe_image(ImageName=name)


def test_image_version_full_cycle(cc, sm, name):
    sm.create_image(ImageName=name, RoleArn=ROLE_ARN)  # made through SageMaker, used through Cloud Control
    done = create(cc, VERSION, {"ImageName": name, "BaseImage": "repo/img:1", "Aliases": ["stable"], "JobType": "NOTEBOOK_KERNEL"})
    arn = f"arn:aws:sagemaker:us-east-1:123456789012:image-version/{name}/1"
    assert done["Identifier"] == arn
    props = properties(cc, VERSION, arn)
    assert props["Version"] == 1 and props["ContainerImage"] == "repo/img:1" and props["JobType"] == "NOTEBOOK_KERNEL"
    assert "Aliases" not in props  # write-only
    assert sm.describe_image_version(ImageName=name, Alias="stable")["Version"] == 1
    patch(cc, VERSION, arn, [{"op": "add", "path": "/Aliases", "value": ["prod"]}, {"op": "add", "path": "/ReleaseNotes", "value": "n"}])
    assert sm.list_aliases(ImageName=name)["SageMakerImageVersionAliases"] == ["prod"]
    assert sm.describe_image_version(ImageName=name, Version=1)["ReleaseNotes"] == "n"
    listed = cc.list_resources(TypeName=VERSION, ResourceModel=json.dumps({"ImageName": name}))["ResourceDescriptions"]
    assert [d["Identifier"] for d in listed] == [arn]
    remove(cc, VERSION, arn)
    assert sm.list_image_versions(ImageName=name)["ImageVersions"] == []


def test_app_image_config_full_cycle(cc, sm, name):
    kg = {"KernelSpecs": [{"Name": "python3", "DisplayName": "Python 3"}], "FileSystemConfig": {"MountPath": "/home/sagemaker-user", "DefaultUid": 1000, "DefaultGid": 100}}
    done = create(cc, CONFIG, {"AppImageConfigName": name, "KernelGatewayImageConfig": kg})
    assert done["Identifier"] == name
    props = properties(cc, CONFIG, name)
    assert props == {"AppImageConfigName": name, "AppImageConfigArn": f"arn:aws:sagemaker:us-east-1:123456789012:app-image-config/{name}", "KernelGatewayImageConfig": kg}
    patch(cc, CONFIG, name, [{"op": "replace", "path": "/KernelGatewayImageConfig/KernelSpecs/0/Name", "value": "ir"}, {"op": "add", "path": "/Tags", "value": [{"Key": "k", "Value": "v"}]}])
    described = sm.describe_app_image_config(AppImageConfigName=name)
    assert described["KernelGatewayImageConfig"]["KernelSpecs"] == [{"Name": "ir", "DisplayName": "Python 3"}]
    assert properties(cc, CONFIG, name)["Tags"] == [{"Key": "k", "Value": "v"}]
    remove(cc, CONFIG, name)


def test_resources_made_through_sagemaker_are_visible_in_cloud_control(cc, sm, name):
    sm.create_app_image_config(AppImageConfigName=name, CodeEditorAppImageConfig={}, Tags=[{"Key": "a", "Value": "b"}])
    props = properties(cc, CONFIG, name)
    assert props["CodeEditorAppImageConfig"] == {} and props["Tags"] == [{"Key": "a", "Value": "b"}]


def test_same_client_token_same_request_is_idempotent(cc, sm, name):
    desired = json.dumps({"AppImageConfigName": name, "CodeEditorAppImageConfig": {}})
    first = cc.create_resource(TypeName=CONFIG, DesiredState=desired, ClientToken="retry-1")["ProgressEvent"]
    again = cc.create_resource(TypeName=CONFIG, DesiredState=desired, ClientToken="retry-1")["ProgressEvent"]
    assert again["RequestToken"] == first["RequestToken"]
    assert again["OperationStatus"] == "SUCCESS"  # not a second create (which would fail AlreadyExists)
    with pytest.raises(cc.exceptions.ClientTokenConflictException) as exc:
        cc.create_resource(TypeName=CONFIG, DesiredState=json.dumps({"AppImageConfigName": name + "x", "CodeEditorAppImageConfig": {}}), ClientToken="retry-1")
    assert "retry-1" in error_of(exc)[1]
    assert sm.list_app_image_configs(NameContains=name)["AppImageConfigs"][0]["AppImageConfigName"] == name


def failed(cc, event: dict) -> dict:
    with pytest.raises(WaiterError):
        cc.get_waiter("resource_request_success").wait(RequestToken=event["RequestToken"], WaiterConfig=WAIT)
    final = cc.get_resource_request_status(RequestToken=event["RequestToken"])["ProgressEvent"]
    assert final["OperationStatus"] == "FAILED"
    return final


def test_handler_failures_end_failed_with_model_error_codes(cc, sm, name):
    sm.create_image(ImageName=name, RoleArn=ROLE_ARN)
    exists = cc.create_resource(TypeName=IMAGE, DesiredState=json.dumps({"ImageName": name, "ImageRoleArn": ROLE_ARN}))["ProgressEvent"]
    assert failed(cc, exists)["ErrorCode"] == "AlreadyExists"
    invalid = cc.create_resource(TypeName=IMAGE, DesiredState=json.dumps({"ImageName": "bad name!", "ImageRoleArn": ROLE_ARN, "Extra": 1}))["ProgressEvent"]
    final = failed(cc, invalid)
    assert final["ErrorCode"] == "InvalidRequest" and final["StatusMessage"].startswith("Model validation failed (")
    assert "#/ImageName" in final["StatusMessage"] and "Extra" in final["StatusMessage"]
    missing_required = cc.create_resource(TypeName=IMAGE, DesiredState=json.dumps({"ImageName": name + "y"}))["ProgressEvent"]
    assert "ImageRoleArn" in failed(cc, missing_required)["StatusMessage"]
    no_image = cc.create_resource(TypeName=VERSION, DesiredState=json.dumps({"ImageName": name + "-none", "BaseImage": "b:1"}))["ProgressEvent"]
    assert failed(cc, no_image)["ErrorCode"] == "NotFound"
    gone = cc.delete_resource(TypeName=CONFIG, Identifier=name + "-never")["ProgressEvent"]
    assert failed(cc, gone)["ErrorCode"] == "NotFound"
    # SageMaker's own rules apply too: a mode is required.
    no_mode = cc.create_resource(TypeName=CONFIG, DesiredState=json.dumps({"AppImageConfigName": name}))["ProgressEvent"]
    assert failed(cc, no_mode)["ErrorCode"] == "InvalidRequest"


def test_synchronous_errors(cc, sm, name):
    sm.create_image(ImageName=name, RoleArn=ROLE_ARN)
    arn = f"arn:aws:sagemaker:us-east-1:123456789012:image/{name}"
    with pytest.raises(cc.exceptions.TypeNotFoundException):
        cc.get_resource(TypeName="AWS::S3::Bucket", Identifier="b")
    with pytest.raises(cc.exceptions.ResourceNotFoundException) as exc:
        cc.get_resource(TypeName=IMAGE, Identifier=arn + "x")
    assert error_of(exc)[1] == f"Resource of type '{IMAGE}' with identifier '{arn}x' was not found."
    with pytest.raises(cc.exceptions.NotUpdatableException) as exc:
        cc.update_resource(TypeName=IMAGE, Identifier=arn, PatchDocument=json.dumps([{"op": "replace", "path": "/ImageName", "value": "other"}]))
    assert error_of(exc)[1] == "Invalid patch update: createOnlyProperties [/properties/ImageName] cannot be updated"
    with pytest.raises(cc.exceptions.NotUpdatableException) as exc:
        cc.update_resource(TypeName=IMAGE, Identifier=arn, PatchDocument=json.dumps([{"op": "replace", "path": "/ImageArn", "value": "x"}]))
    assert "readOnlyProperties [/properties/ImageArn]" in error_of(exc)[1]
    with pytest.raises(cc.exceptions.ResourceNotFoundException):
        cc.update_resource(TypeName=IMAGE, Identifier=arn + "x", PatchDocument=json.dumps([{"op": "add", "path": "/ImageDescription", "value": "d"}]))
    for bad in ("not json", json.dumps({"op": "add"}), json.dumps([{"op": "frobnicate", "path": "/x"}]), json.dumps([{"op": "test", "path": "/ImageRoleArn", "value": "nope"}]), json.dumps([{"op": "remove", "path": "/Missing"}])):
        with pytest.raises(ClientError) as exc:
            cc.update_resource(TypeName=IMAGE, Identifier=arn, PatchDocument=bad)
        assert error_of(exc)[0] == "ValidationException", bad
    with pytest.raises(ClientError) as exc:
        cc.create_resource(TypeName=IMAGE, DesiredState="[1, 2]")
    assert error_of(exc)[0] == "ValidationException"
    with pytest.raises(cc.exceptions.RequestTokenNotFoundException):
        cc.get_resource_request_status(RequestToken="no-such-token")
    done = create(cc, CONFIG, {"AppImageConfigName": name, "CodeEditorAppImageConfig": {}})
    with pytest.raises(cc.exceptions.ConcurrentModificationException):
        cc.cancel_resource_request(RequestToken=done["RequestToken"])
    assert sm.describe_image(ImageName=name).get("Description") is None  # nothing was applied


def test_list_resource_requests_filters_and_pages(fresh_server):
    srv = fresh_server()
    cc = srv.client("cloudcontrol")
    for i in range(3):
        create(cc, CONFIG, {"AppImageConfigName": f"c{i}", "CodeEditorAppImageConfig": {}})
    failed(cc, cc.delete_resource(TypeName=CONFIG, Identifier="never")["ProgressEvent"])
    everything = cc.list_resource_requests()["ResourceRequestStatusSummaries"]
    assert len(everything) == 4
    creates = cc.list_resource_requests(ResourceRequestStatusFilter={"Operations": ["CREATE"]})["ResourceRequestStatusSummaries"]
    assert len(creates) == 3 and {e["Operation"] for e in creates} == {"CREATE"}
    failures = cc.list_resource_requests(ResourceRequestStatusFilter={"OperationStatuses": ["FAILED"]})["ResourceRequestStatusSummaries"]
    assert [e["Operation"] for e in failures] == ["DELETE"]
    pages = list(cc.get_paginator("list_resource_requests").paginate(PaginationConfig={"PageSize": 3}))
    assert [len(p["ResourceRequestStatusSummaries"]) for p in pages] == [3, 1]
    tokens = [e["RequestToken"] for p in pages for e in p["ResourceRequestStatusSummaries"]]
    assert sorted(tokens) == sorted(e["RequestToken"] for e in everything)
    resources = list(cc.get_paginator("list_resources").paginate(TypeName=CONFIG, PaginationConfig={"PageSize": 2}))
    assert [d["Identifier"] for p in resources for d in p["ResourceDescriptions"]] == ["c0", "c1", "c2"]


def test_progress_moves_through_pending_and_in_progress_and_can_be_cancelled(fresh_server):
    srv = fresh_server(BYOI_TRANSITION_SECONDS="1")
    cc, sm = srv.client("cloudcontrol"), srv.client()
    event = cc.create_resource(TypeName=IMAGE, DesiredState=json.dumps({"ImageName": "slow", "ImageRoleArn": ROLE_ARN}))["ProgressEvent"]
    assert event["OperationStatus"] == "PENDING"
    seen = set()
    cc.meta.events.register("after-call.cloudcontrol.GetResourceRequestStatus", lambda parsed, **_: seen.add(parsed["ProgressEvent"]["OperationStatus"]))
    cc.get_waiter("resource_request_success").wait(RequestToken=event["RequestToken"], WaiterConfig={"Delay": 0.2, "MaxAttempts": 50})
    assert {"IN_PROGRESS", "SUCCESS"} <= seen
    # A second operation on the same resource while one is in flight is refused.
    update = cc.update_resource(TypeName=IMAGE, Identifier=event["Identifier"], PatchDocument=json.dumps([{"op": "add", "path": "/ImageDescription", "value": "d"}]))["ProgressEvent"]
    with pytest.raises(cc.exceptions.ConcurrentOperationException):
        cc.delete_resource(TypeName=IMAGE, Identifier=event["Identifier"])
    cancelled = cc.cancel_resource_request(RequestToken=update["RequestToken"])["ProgressEvent"]
    assert cancelled["OperationStatus"] == "CANCEL_IN_PROGRESS"
    with pytest.raises(WaiterError, match="CANCEL_COMPLETE|terminal failure"):
        cc.get_waiter("resource_request_success").wait(RequestToken=update["RequestToken"], WaiterConfig={"Delay": 0.2, "MaxAttempts": 50})
    assert cc.get_resource_request_status(RequestToken=update["RequestToken"])["ProgressEvent"]["OperationStatus"] == "CANCEL_COMPLETE"
    assert "Description" not in sm.describe_image(ImageName="slow")  # the cancelled update never ran


def test_requests_survive_a_restart(fresh_server):
    srv = fresh_server()
    cc = srv.client("cloudcontrol")
    done = create(cc, CONFIG, {"AppImageConfigName": "kept", "CodeEditorAppImageConfig": {}})
    srv.kill()
    srv.start()
    cc = srv.client("cloudcontrol")
    assert cc.get_resource_request_status(RequestToken=done["RequestToken"])["ProgressEvent"]["OperationStatus"] == "SUCCESS"
    assert properties(cc, CONFIG, "kept")["AppImageConfigName"] == "kept"
