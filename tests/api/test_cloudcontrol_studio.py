"""A whole Studio through boto3's ``cloudcontrol`` client: lifecycle configs, domains, user
profiles, spaces and apps, each the same resource the SageMaker API sees."""

import base64
import json

import pytest
from botocore.exceptions import ClientError

from tests.api.test_cloudcontrol import create, failed, patch, properties, remove
from tests.conftest import ROLE_ARN, error_of

DOMAIN, PROFILE, SPACE, APP = (
    "AWS::SageMaker::Domain",
    "AWS::SageMaker::UserProfile",
    "AWS::SageMaker::Space",
    "AWS::SageMaker::App",
)
LIFECYCLE = "AWS::SageMaker::StudioLifecycleConfig"
ARN = "arn:aws:sagemaker:us-east-1:123456789012"
SCRIPT = base64.b64encode(b"#!/bin/bash\necho hello\n").decode()


@pytest.fixture
def cc(server):
    return server.client("cloudcontrol")


@pytest.fixture
def images(cc, name):
    """An image, its version and an AppImageConfig, made through Cloud Control; the CustomImages entry."""
    create(cc, "AWS::SageMaker::Image", {"ImageName": name, "ImageRoleArn": ROLE_ARN})
    create(cc, "AWS::SageMaker::ImageVersion", {"ImageName": name, "BaseImage": "repo/img:1"})
    create(
        cc,
        "AWS::SageMaker::AppImageConfig",
        {"AppImageConfigName": name, "KernelGatewayImageConfig": {"KernelSpecs": [{"Name": "python3"}]}},
    )
    return {"ImageName": name, "AppImageConfigName": name}


def make_domain(cc, custom: dict, **extra) -> str:
    model = {
        "DomainName": "cc-studio",
        "AuthMode": "IAM",
        "DefaultUserSettings": {"ExecutionRole": ROLE_ARN, "KernelGatewayAppSettings": {"CustomImages": [custom]}},
        "SubnetIds": ["subnet-1"],
        "VpcId": "vpc-1",
        **extra,
    }
    return create(cc, DOMAIN, model)["Identifier"]


def identifiers(cc, type_name: str, **model) -> list[str]:
    pages = cc.get_paginator("list_resources").paginate(TypeName=type_name, ResourceModel=json.dumps(model))
    return [d["Identifier"] for page in pages for d in page["ResourceDescriptions"]]


def test_a_whole_studio_stack_is_created_read_listed_updated_and_deleted(cc, sm, images, name):
    # A lifecycle configuration, attached to the domain's JupyterLab apps.
    done = create(
        cc,
        LIFECYCLE,
        {
            "StudioLifecycleConfigName": name,
            "StudioLifecycleConfigContent": SCRIPT,
            "StudioLifecycleConfigAppType": "JupyterLab",
            "Tags": [{"Key": "k", "Value": "v"}],
        },
    )
    lifecycle_arn = f"{ARN}:studio-lifecycle-config/{name}"
    assert done["Identifier"] == name
    assert json.loads(done["ResourceModel"]) == {
        "StudioLifecycleConfigArn": lifecycle_arn,
        "StudioLifecycleConfigName": name,
        "StudioLifecycleConfigAppType": "JupyterLab",
        "StudioLifecycleConfigContent": SCRIPT,
        "Tags": [{"Key": "k", "Value": "v"}],
    }
    assert sm.describe_studio_lifecycle_config(StudioLifecycleConfigName=name)["StudioLifecycleConfigAppType"] == "JupyterLab"

    # The domain: its id is chosen when it is created, and becomes its identifier.
    jupyterlab = {"LifecycleConfigArns": [lifecycle_arn], "CustomImages": [images]}
    domain_id = make_domain(
        cc,
        images,
        DefaultSpaceSettings={"ExecutionRole": ROLE_ARN, "JupyterLabAppSettings": jupyterlab},
        Tags=[{"Key": "team", "Value": "ml"}],
    )
    domain = properties(cc, DOMAIN, domain_id)
    described = sm.describe_domain(DomainId=domain_id)
    assert domain["DomainArn"] == f"{ARN}:domain/{domain_id}" == described["DomainArn"]
    assert (domain["Url"], domain["HomeEfsFileSystemId"]) == (described["Url"], described["HomeEfsFileSystemId"])
    assert domain["DefaultSpaceSettings"]["JupyterLabAppSettings"] == jupyterlab and domain["Tags"] == [
        {"Key": "team", "Value": "ml"}
    ]
    assert described["Status"] == "InService" and described["DefaultUserSettings"]["KernelGatewayAppSettings"][
        "CustomImages"
    ] == [images]
    assert domain_id in identifiers(cc, DOMAIN)

    # A user profile and a space: compound identifiers, in the schemas' order.
    profile = create(cc, PROFILE, {"DomainId": domain_id, "UserProfileName": "alice", "Tags": [{"Key": "who", "Value": "alice"}]})
    assert profile["Identifier"] == f"alice|{domain_id}"
    assert properties(cc, PROFILE, f"alice|{domain_id}") == {
        "DomainId": domain_id,
        "UserProfileName": "alice",
        "UserProfileArn": f"{ARN}:user-profile/{domain_id}/alice",
    }
    assert sm.list_tags(ResourceArn=f"{ARN}:user-profile/{domain_id}/alice")["Tags"] == [
        {"Key": "who", "Value": "alice"}
    ]  # write-only Tags
    space_model = {
        "DomainId": domain_id,
        "SpaceName": "lab",
        "SpaceDisplayName": "Lab",
        "SpaceSettings": {"AppType": "JupyterLab"},
        "OwnershipSettings": {"OwnerUserProfileName": "alice"},
        "SpaceSharingSettings": {"SharingType": "Private"},
    }
    space = create(cc, SPACE, space_model)
    assert space["Identifier"] == f"{domain_id}|lab"
    got = properties(cc, SPACE, f"{domain_id}|lab")
    assert (
        got["Url"] == sm.describe_space(DomainId=domain_id, SpaceName="lab")["Url"]
        and got["SpaceArn"] == f"{ARN}:space/{domain_id}/lab"
    )
    assert "SpaceSettings" not in got  # write-only
    assert got["OwnershipSettings"] == {"OwnerUserProfileName": "alice"} and got["SpaceDisplayName"] == "Lab"
    assert sm.describe_space(DomainId=domain_id, SpaceName="lab")["SpaceSettings"] == {"AppType": "JupyterLab"}
    assert identifiers(cc, PROFILE, DomainId=domain_id) == [f"alice|{domain_id}"]
    assert identifiers(cc, SPACE, DomainId=domain_id) == [f"{domain_id}|lab"]

    # Updates go through UpdateDomain, UpdateUserProfile and UpdateSpace.
    patch(
        cc,
        PROFILE,
        f"alice|{domain_id}",
        [{"op": "add", "path": "/UserSettings", "value": {"JupyterLabAppSettings": jupyterlab}}],
    )
    assert (
        sm.describe_user_profile(DomainId=domain_id, UserProfileName="alice")["UserSettings"]["JupyterLabAppSettings"]
        == jupyterlab
    )
    patch(
        cc,
        SPACE,
        f"{domain_id}|lab",
        [
            {"op": "replace", "path": "/SpaceDisplayName", "value": "Lab 2"},
            {"op": "add", "path": "/Tags", "value": [{"Key": "s", "Value": "1"}]},
        ],
    )
    assert sm.describe_space(DomainId=domain_id, SpaceName="lab")["SpaceDisplayName"] == "Lab 2"
    assert sm.list_tags(ResourceArn=f"{ARN}:space/{domain_id}/lab")["Tags"] == [{"Key": "s", "Value": "1"}]
    patch(
        cc,
        DOMAIN,
        domain_id,
        [{"op": "add", "path": "/AppNetworkAccessType", "value": "VpcOnly"}, {"op": "remove", "path": "/Tags"}],
    )
    assert sm.describe_domain(DomainId=domain_id)["AppNetworkAccessType"] == "VpcOnly"
    # UpdateDomain cannot remove a member: a property the patch removes keeps its value.
    patch(cc, DOMAIN, domain_id, [{"op": "remove", "path": "/AppNetworkAccessType"}])
    assert properties(cc, DOMAIN, domain_id)["AppNetworkAccessType"] == "VpcOnly"
    assert sm.list_tags(ResourceArn=f"{ARN}:domain/{domain_id}")["Tags"] == []

    # The lifecycle config is attached: deleting it fails as DeleteStudioLifecycleConfig does.
    held = failed(cc, cc.delete_resource(TypeName=LIFECYCLE, Identifier=name)["ProgressEvent"])
    assert held["ErrorCode"] == "ResourceConflict" and "in use" in held["StatusMessage"]
    # So does deleting a domain that has user profiles and spaces.
    busy = failed(cc, cc.delete_resource(TypeName=DOMAIN, Identifier=domain_id)["ProgressEvent"])
    assert busy["ErrorCode"] == "ResourceConflict"

    remove(cc, SPACE, f"{domain_id}|lab")
    remove(cc, PROFILE, f"alice|{domain_id}")
    remove(cc, DOMAIN, domain_id)
    remove(cc, LIFECYCLE, name)
    with pytest.raises(sm.exceptions.ResourceNotFound):
        sm.describe_domain(DomainId=domain_id)


def test_resources_made_through_sagemaker_are_read_as_their_schema_describes(cc, sm, name):
    domain_id = sm.create_domain(
        DomainName="sm-made",
        AuthMode="IAM",
        SubnetIds=["s"],
        VpcId="v",
        HomeEfsFileSystemKmsKeyId="key",
        DefaultUserSettings={
            "ExecutionRole": ROLE_ARN,
            "KernelGatewayAppSettings": {
                "DefaultResourceSpec": {"InstanceType": "ml.t3.medium", "SageMakerImageVersionAlias": "1.0"}
            },
        },
    )["DomainId"]
    sm.create_user_profile(DomainId=domain_id, UserProfileName="bob", UserSettings={"ExecutionRole": ROLE_ARN})
    domain = properties(cc, DOMAIN, domain_id)
    # Members the CloudFormation type lacks are left out, so the model passes its own schema.
    assert "HomeEfsFileSystemKmsKeyId" not in domain
    assert domain["DefaultUserSettings"]["KernelGatewayAppSettings"]["DefaultResourceSpec"] == {"InstanceType": "ml.t3.medium"}
    assert properties(cc, PROFILE, f"bob|{domain_id}")["UserSettings"] == {"ExecutionRole": ROLE_ARN}
    # A JSON object of the primary identifier's properties names the resource too.
    got = cc.get_resource(TypeName=PROFILE, Identifier=json.dumps({"DomainId": domain_id, "UserProfileName": "bob"}))[
        "ResourceDescription"
    ]
    assert got["Identifier"] == f"bob|{domain_id}"
    sm.delete_user_profile(DomainId=domain_id, UserProfileName="bob")
    sm.delete_domain(DomainId=domain_id)


def test_identifiers_that_name_nothing_or_are_malformed_are_refused(cc):
    for type_name, identifier in [
        (PROFILE, "only-a-name"),
        (PROFILE, "a|d-000000000000"),
        (SPACE, "d-x|y|z"),
        (APP, "a|KernelGateway|d-x"),
        (DOMAIN, "d-000000000000"),
    ]:
        with pytest.raises(cc.exceptions.ResourceNotFoundException):
            cc.get_resource(TypeName=type_name, Identifier=identifier)
    for bad in ('{"DomainId": "d-1"}', '{"DomainId": "d-1", "UserProfileName": 3}', "{not json"):
        with pytest.raises(ClientError) as exc:
            cc.get_resource(TypeName=PROFILE, Identifier=bad)
        assert error_of(exc)[0] == "ValidationException" and "UserProfileName|DomainId" in error_of(exc)[1]


@pytest.mark.parametrize("type_name", [PROFILE, SPACE, APP])
def test_listing_a_domains_children_needs_the_domain_id(cc, type_name):
    for model in (None, "{}", '{"DomainId": ""}'):
        with pytest.raises(cc.exceptions.InvalidRequestException) as exc:
            cc.list_resources(TypeName=type_name, **({"ResourceModel": model} if model else {}))
        assert (
            error_of(exc)[1]
            == f"Missing Or Invalid ResourceModel property in {type_name} list handler request input. Required property: [DomainId]"
        )
    assert cc.list_resources(TypeName=type_name, ResourceModel='{"DomainId": "d-000000000000"}')["ResourceDescriptions"] == []
    if type_name == APP:
        with pytest.raises(cc.exceptions.InvalidRequestException) as exc:
            cc.list_resources(TypeName=APP, ResourceModel='{"DomainId": "d-000000000000", "UserProfileName": 7}')
        assert error_of(exc)[1].endswith("Required property: [UserProfileName]")


def test_image_versions_are_listed_per_image(cc):
    with pytest.raises(cc.exceptions.InvalidRequestException) as exc:
        cc.list_resources(TypeName="AWS::SageMaker::ImageVersion")
    assert error_of(exc)[1].endswith("Required property: [ImageName]")
    assert (
        cc.list_resources(TypeName="AWS::SageMaker::ImageVersion", ResourceModel='{"ImageName": "never-made"}')[
            "ResourceDescriptions"
        ]
        == []
    )


def test_create_only_and_read_only_properties_are_not_updatable_even_nested(cc, images):
    rstudio = {"DomainExecutionRoleArn": ROLE_ARN, "DefaultResourceSpec": {"InstanceType": "system"}}
    domain_id = make_domain(cc, images, DomainSettings={"SecurityGroupIds": ["sg-1"], "RStudioServerProDomainSettings": rstudio})
    for ops, pointer in [
        (
            [
                {
                    "op": "replace",
                    "path": "/DomainSettings/RStudioServerProDomainSettings/DefaultResourceSpec/InstanceType",
                    "value": "ml.t3.medium",
                }
            ],
            "/properties/DomainSettings/RStudioServerProDomainSettings/DefaultResourceSpec",
        ),
        (
            [{"op": "replace", "path": "/DomainSettings", "value": {"SecurityGroupIds": ["sg-1"]}}],
            "/properties/DomainSettings/RStudioServerProDomainSettings/DefaultResourceSpec",
        ),
        ([{"op": "replace", "path": "/DomainName", "value": "other"}], "/properties/DomainName"),
    ]:
        with pytest.raises(cc.exceptions.NotUpdatableException) as exc:
            cc.update_resource(TypeName=DOMAIN, Identifier=domain_id, PatchDocument=json.dumps(ops))
        assert error_of(exc)[1] == f"Invalid patch update: createOnlyProperties [{pointer}] cannot be updated"
    with pytest.raises(cc.exceptions.NotUpdatableException) as exc:
        cc.update_resource(
            TypeName=DOMAIN, Identifier=domain_id, PatchDocument=json.dumps([{"op": "replace", "path": "/Url", "value": "x"}])
        )
    assert "readOnlyProperties [/properties/Url]" in error_of(exc)[1]
    # The rest of DomainSettings goes to UpdateDomain as DomainSettingsForUpdate.
    patch(cc, DOMAIN, domain_id, [{"op": "replace", "path": "/DomainSettings/SecurityGroupIds", "value": ["sg-2"]}])
    assert properties(cc, DOMAIN, domain_id)["DomainSettings"]["SecurityGroupIds"] == ["sg-2"]
    with pytest.raises(cc.exceptions.NotUpdatableException):
        cc.update_resource(
            TypeName=PROFILE, Identifier=f"a|{domain_id}", PatchDocument=json.dumps([{"op": "add", "path": "/Tags", "value": []}])
        )
    remove(cc, DOMAIN, domain_id)


def test_sagemaker_rules_fail_requests_with_handler_error_codes(cc, images):
    domain_id = make_domain(cc, images)
    bad_image = {
        "DomainId": domain_id,
        "UserProfileName": "u",
        "UserSettings": {"KernelGatewayAppSettings": {"CustomImages": [{"ImageName": "never-made", "AppImageConfigName": "x"}]}},
    }
    final = failed(cc, cc.create_resource(TypeName=PROFILE, DesiredState=json.dumps(bad_image))["ProgressEvent"])
    assert final["ErrorCode"] == "InvalidRequest" and "Image never-made does not exist" in final["StatusMessage"]
    create(cc, PROFILE, {"DomainId": domain_id, "UserProfileName": "u"})
    again = failed(
        cc,
        cc.create_resource(TypeName=PROFILE, DesiredState=json.dumps({"DomainId": domain_id, "UserProfileName": "u"}))[
            "ProgressEvent"
        ],
    )
    assert again["ErrorCode"] == "AlreadyExists"
    no_domain = failed(
        cc,
        cc.create_resource(TypeName=SPACE, DesiredState=json.dumps({"DomainId": "d-000000000000", "SpaceName": "s"}))[
            "ProgressEvent"
        ],
    )
    assert no_domain["ErrorCode"] == "NotFound"
    invalid = failed(
        cc,
        cc.create_resource(
            TypeName=DOMAIN, DesiredState=json.dumps({"DomainName": "x", "AuthMode": "Password", "DefaultUserSettings": {}})
        )["ProgressEvent"],
    )
    assert invalid["ErrorCode"] == "InvalidRequest" and "#/AuthMode" in invalid["StatusMessage"]
    script = failed(
        cc,
        cc.create_resource(
            TypeName=LIFECYCLE,
            DesiredState=json.dumps(
                {
                    "StudioLifecycleConfigName": "s",
                    "StudioLifecycleConfigContent": "not base64!",
                    "StudioLifecycleConfigAppType": "JupyterLab",
                }
            ),
        )["ProgressEvent"],
    )
    assert script["ErrorCode"] == "InvalidRequest" and "base64" in script["StatusMessage"]
    remove(cc, PROFILE, f"u|{domain_id}")
    remove(cc, DOMAIN, domain_id)


def test_an_app_without_a_container_runtime_fails_to_stabilize_and_can_be_deleted(cc, sm, images, name):
    domain_id = make_domain(cc, images)
    create(cc, PROFILE, {"DomainId": domain_id, "UserProfileName": "alice"})
    sm.create_space(DomainId=domain_id, SpaceName="sp")
    spec = {"SageMakerImageArn": f"{ARN}:image/{name}", "InstanceType": "ml.t3.medium"}
    sm.create_app(DomainId=domain_id, SpaceName="sp", AppType="KernelGateway", AppName="of-a-space", ResourceSpec=spec)
    model = {
        "DomainId": domain_id,
        "UserProfileName": "alice",
        "AppType": "KernelGateway",
        "AppName": "default",
        "ResourceSpec": spec,
        "Tags": [{"Key": "a", "Value": "b"}],
    }
    event = cc.create_resource(TypeName=APP, DesiredState=json.dumps(model))["ProgressEvent"]
    identifier = f"default|KernelGateway|{domain_id}|alice"
    assert event["Identifier"] == identifier  # known before the app exists
    final = failed(cc, event)
    assert final["ErrorCode"] == "NotStabilized" and "no container runtime" in final["StatusMessage"]
    app = properties(cc, APP, identifier)  # a Failed app exists until it is deleted
    assert app["AppArn"] == f"{ARN}:app/{domain_id}/alice/kernelgateway/default" and app["Tags"] == [{"Key": "a", "Value": "b"}]
    assert app["ResourceSpec"]["SageMakerImageVersionArn"] == f"{ARN}:image-version/{name}/1"
    # Only user profiles' apps are the type's (it has no SpaceName).
    assert identifiers(cc, APP, DomainId=domain_id) == [identifier]
    assert identifiers(cc, APP, DomainId=domain_id, UserProfileName="nobody") == []
    # An update changes the tags, and ends as the app stands: still Failed.
    tagged = cc.update_resource(
        TypeName=APP, Identifier=identifier, PatchDocument=json.dumps([{"op": "replace", "path": "/Tags/0/Value", "value": "c"}])
    )
    assert failed(cc, tagged["ProgressEvent"])["ErrorCode"] == "NotStabilized"
    assert sm.list_tags(ResourceArn=app["AppArn"])["Tags"] == [{"Key": "a", "Value": "c"}]
    with pytest.raises(cc.exceptions.NotUpdatableException):
        cc.update_resource(
            TypeName=APP,
            Identifier=identifier,
            PatchDocument=json.dumps([{"op": "replace", "path": "/ResourceSpec/InstanceType", "value": "ml.t3.large"}]),
        )
    remove(cc, APP, identifier)
    assert (
        sm.describe_app(DomainId=domain_id, UserProfileName="alice", AppType="KernelGateway", AppName="default")["Status"]
        == "Deleted"
    )
    assert identifiers(cc, APP, DomainId=domain_id) == []  # Deleted apps are gone for Cloud Control
    unattached = failed(
        cc,
        cc.create_resource(
            TypeName=APP,
            DesiredState=json.dumps(
                {
                    **model,
                    "AppName": "other",
                    "ResourceSpec": {"SageMakerImageArn": f"{ARN}:image/never-made", "InstanceType": "ml.t3.medium"},
                }
            ),
        )["ProgressEvent"],
    )
    assert unattached["ErrorCode"] == "InvalidRequest" and "does not exist" in unattached["StatusMessage"]


def test_list_resources_pages_oldest_first(fresh_server):
    srv = fresh_server()
    cc, sm = srv.client("cloudcontrol"), srv.client()
    domain_id = sm.create_domain(DomainName="d", AuthMode="IAM", DefaultUserSettings={}, SubnetIds=["s"], VpcId="v")["DomainId"]
    names = [f"user-{i}" for i in range(5)]
    for user in names:
        sm.create_user_profile(DomainId=domain_id, UserProfileName=user)
    pages = list(
        cc.get_paginator("list_resources").paginate(
            TypeName=PROFILE, ResourceModel=json.dumps({"DomainId": domain_id}), PaginationConfig={"PageSize": 2}
        )
    )
    assert [len(p["ResourceDescriptions"]) for p in pages] == [2, 2, 1]
    assert [d["Identifier"] for p in pages for d in p["ResourceDescriptions"]] == [f"{u}|{domain_id}" for u in names]
    assert json.loads(pages[0]["ResourceDescriptions"][0]["Properties"])["UserProfileName"] == "user-0"
    # A token resumes where it stopped, even after the resource it stopped at is gone.
    sm.delete_user_profile(DomainId=domain_id, UserProfileName="user-1")
    rest = cc.list_resources(TypeName=PROFILE, ResourceModel=json.dumps({"DomainId": domain_id}), NextToken=pages[0]["NextToken"])
    assert [d["Identifier"] for d in rest["ResourceDescriptions"]] == [f"{u}|{domain_id}" for u in names[2:]]
    with pytest.raises(ClientError) as exc:
        cc.list_resources(TypeName=DOMAIN, NextToken=pages[0]["NextToken"])
    assert error_of(exc)[0] == "ValidationException"


def test_domains_settle_before_their_requests_succeed(fresh_server):
    srv = fresh_server(BYOI_TRANSITION_SECONDS="0.5")
    cc, sm = srv.client("cloudcontrol"), srv.client()
    event = cc.create_resource(
        TypeName=DOMAIN,
        DesiredState=json.dumps({"DomainName": "slow", "AuthMode": "IAM", "DefaultUserSettings": {"ExecutionRole": ROLE_ARN}}),
    )["ProgressEvent"]
    cc.get_waiter("resource_request_success").wait(
        RequestToken=event["RequestToken"], WaiterConfig={"Delay": 0.2, "MaxAttempts": 50}
    )
    domain_id = cc.get_resource_request_status(RequestToken=event["RequestToken"])["ProgressEvent"]["Identifier"]
    assert sm.describe_domain(DomainId=domain_id)["Status"] == "InService"  # success waited for Pending to end
    gone = cc.delete_resource(TypeName=DOMAIN, Identifier=domain_id)["ProgressEvent"]
    cc.get_waiter("resource_request_success").wait(
        RequestToken=gone["RequestToken"], WaiterConfig={"Delay": 0.2, "MaxAttempts": 50}
    )
    with pytest.raises(sm.exceptions.ResourceNotFound):
        sm.describe_domain(DomainId=domain_id)  # success waited for Deleting to end


@pytest.fixture
def studio(fresh_server, test_images, studio_domains):
    from tests.api.test_apps import make_studio

    return make_studio(fresh_server, test_images, studio_domains)


@pytest.mark.docker
def test_an_app_created_through_cloud_control_reaches_in_service(studio):
    srv, sm, domain_id, _ = studio
    cc = srv.client("cloudcontrol")
    model = {
        "DomainId": domain_id,
        "UserProfileName": "alice",
        "AppType": "KernelGateway",
        "AppName": "default",
        "ResourceSpec": {"SageMakerImageArn": f"{ARN}:image/sample", "InstanceType": "ml.t3.medium"},
    }
    event = cc.create_resource(TypeName=APP, DesiredState=json.dumps(model))["ProgressEvent"]
    cc.get_waiter("resource_request_success").wait(
        RequestToken=event["RequestToken"], WaiterConfig={"Delay": 1, "MaxAttempts": 180}
    )
    assert (
        sm.describe_app(DomainId=domain_id, UserProfileName="alice", AppType="KernelGateway", AppName="default")["Status"]
        == "InService"
    )
    done = cc.get_resource_request_status(RequestToken=event["RequestToken"])["ProgressEvent"]
    assert json.loads(done["ResourceModel"])["AppArn"] == f"{ARN}:app/{domain_id}/alice/kernelgateway/default"
    gone = cc.delete_resource(TypeName=APP, Identifier=event["Identifier"])["ProgressEvent"]
    cc.get_waiter("resource_request_success").wait(
        RequestToken=gone["RequestToken"], WaiterConfig={"Delay": 1, "MaxAttempts": 120}
    )
    assert (
        sm.describe_app(DomainId=domain_id, UserProfileName="alice", AppType="KernelGateway", AppName="default")["Status"]
        == "Deleted"
    )


def test_another_regions_studio_is_out_of_reach(cc, server, sm, images):
    """Scope is the account and region of the request: identifiers of another region's domain,
    members and apps name nothing, whatever operation tries them."""
    domain_id = make_domain(cc, images)
    create(cc, PROFILE, {"DomainId": domain_id, "UserProfileName": "alice"})
    other = server.client("cloudcontrol", region="eu-west-1")
    for type_name, identifier in [(DOMAIN, domain_id), (PROFILE, f"alice|{domain_id}")]:
        with pytest.raises(other.exceptions.ResourceNotFoundException):
            other.get_resource(TypeName=type_name, Identifier=identifier)
        with pytest.raises(other.exceptions.ResourceNotFoundException):
            other.update_resource(TypeName=type_name, Identifier=identifier, PatchDocument="[]")
        assert (
            failed(other, other.delete_resource(TypeName=type_name, Identifier=identifier)["ProgressEvent"])["ErrorCode"]
            == "NotFound"
        )
    assert domain_id not in identifiers(other, DOMAIN)
    assert identifiers(other, PROFILE, DomainId=domain_id) == []
    stray = other.create_resource(
        TypeName=PROFILE, DesiredState=json.dumps({"DomainId": domain_id, "UserProfileName": "mallory"})
    )
    assert failed(other, stray["ProgressEvent"])["ErrorCode"] == "NotFound"
    assert identifiers(cc, PROFILE, DomainId=domain_id) == [f"alice|{domain_id}"]  # untouched
    remove(cc, PROFILE, f"alice|{domain_id}")
    remove(cc, DOMAIN, domain_id)
