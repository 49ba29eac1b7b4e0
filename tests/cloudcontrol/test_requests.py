"""Retention windows of Cloud Control requests, with a clock the test controls."""

import json

import pytest

from byoi.aws.protocol import Scope
from byoi.cloudcontrol.errors import ClientTokenConflictException, RequestTokenNotFoundException
from byoi.cloudcontrol.requests import CloudControlService, patch_paths
from byoi.cloudcontrol.resources import DomainResource, resource_types
from byoi.cloudcontrol.schema import ResourceSchema
from byoi.cloudcontrol.settler import RequestSettler
from byoi.services.base_images import PassThroughResolver
from byoi.services.wiring import build_services
from byoi.store.database import Database
from tests.services.test_settling import FakeClock

SCOPE = Scope("123456789012", "us-east-1")
HOUR_MS = 3600 * 1000


@pytest.fixture
def world(tmp_path):
    db = Database(f"sqlite:///{tmp_path / 'cc.db'}")
    db.migrate()
    clock = FakeClock()
    services = build_services(db, clock, PassThroughResolver())
    cc = CloudControlService(db, clock, services.settling, resource_types(services))
    services.settling.add(RequestSettler(db, clock, cc, 0))
    return cc, clock


def config(name: str) -> str:
    return json.dumps({"AppImageConfigName": name, "CodeEditorAppImageConfig": {}})


def test_client_tokens_expire_after_36_hours(world):
    cc, clock = world
    first = cc.create(SCOPE, "AWS::SageMaker::AppImageConfig", config("a"), "tok")
    clock.ms += 36 * HOUR_MS - 1
    assert cc.create(SCOPE, "AWS::SageMaker::AppImageConfig", config("a"), "tok")["RequestToken"] == first["RequestToken"]
    with pytest.raises(ClientTokenConflictException):
        cc.create(SCOPE, "AWS::SageMaker::AppImageConfig", config("b"), "tok")
    clock.ms += 2
    reused = cc.create(SCOPE, "AWS::SageMaker::AppImageConfig", config("b"), "tok")
    assert reused["RequestToken"] != first["RequestToken"] and reused["OperationStatus"] == "SUCCESS"


def test_requests_are_kept_seven_days(world):
    cc, clock = world
    token = cc.create(SCOPE, "AWS::SageMaker::AppImageConfig", config("a"), "t1")["RequestToken"]
    clock.ms += 7 * 24 * HOUR_MS
    assert cc.status(SCOPE, token)["OperationStatus"] == "SUCCESS"
    assert len(cc.list_requests(SCOPE, None, None, 10, None)[0]) == 1
    clock.ms += 1
    with pytest.raises(RequestTokenNotFoundException):
        cc.status(SCOPE, token)
    assert cc.list_requests(SCOPE, None, None, 10, None)[0] == []
    cc.purge_expired()
    with pytest.raises(RequestTokenNotFoundException):
        cc.status(SCOPE, token)


def test_requests_of_another_region_are_not_visible(world):
    cc, _ = world
    token = cc.create(SCOPE, "AWS::SageMaker::AppImageConfig", config("a"), "t1")["RequestToken"]
    with pytest.raises(RequestTokenNotFoundException):
        cc.status(Scope("123456789012", "eu-west-1"), token)


def test_patch_paths_are_the_written_ones():
    ops = [{"op": "test", "path": "/A"}, {"op": "copy", "from": "/B", "path": "/C"}, {"op": "move", "from": "/D", "path": "/E"}]
    assert patch_paths(ops) == ["/C", "/E", "/D"]


def test_schemas_know_their_property_classes():
    image = ResourceSchema.load("AWS::SageMaker::Image")
    assert image.primary_identifier == "ImageArn"
    assert image.create_only == {"ImageName"} and image.read_only == {"ImageArn"}
    version = ResourceSchema.load("AWS::SageMaker::ImageVersion")
    assert version.write_only == {"Aliases", "Alias"}
    assert version.readable({"Aliases": ["a"], "Version": 1}) == {"Version": 1}
    assert ResourceSchema.load("AWS::S3::Bucket") is None


def test_schema_validation_understands_java_unicode_classes():
    image = ResourceSchema.load("AWS::SageMaker::Image")
    ok = {"ImageName": "x", "ImageRoleArn": "arn:aws:iam::123456789012:role/r", "Tags": [{"Key": "équipe", "Value": "v"}]}
    assert image.errors(ok) == []
    bad = {**ok, "Tags": [{"Key": "bad#key", "Value": "v"}]}
    assert [e.split(":")[0] for e in image.errors(bad)] == ["#/Tags/0/Key"]


def test_list_resources_builds_the_models_of_one_page_only(tmp_path):
    db = Database(f"sqlite:///{tmp_path / 'cc.db'}")
    db.migrate()
    services = build_services(db, FakeClock(), PassThroughResolver())
    cc = CloudControlService(db, FakeClock(), services.settling, resource_types(services))
    domain = services.domains.create(SCOPE, "d", {"AuthMode": "IAM", "DefaultUserSettings": {}}, None)
    for i in range(30):
        services.domains.create_member(SCOPE, domain.domain_id, "space", f"s{i:02}", {}, None)
    read_tags = []
    tags_list = services.tags.list
    services.tags.list = lambda arn, *args: read_tags.append(arn) or tags_list(arn, *args)  # one read per model built
    found, token = cc.list(SCOPE, "AWS::SageMaker::Space", json.dumps({"DomainId": domain.domain_id}), 3, None)
    assert [d.identifier for d in found] == [f"{domain.domain_id}|s{i:02}" for i in range(3)] and token
    assert len(read_tags) == 3
    found, _ = cc.list(SCOPE, "AWS::SageMaker::Space", json.dumps({"DomainId": domain.domain_id}), 3, token)
    assert [d.identifier for d in found] == [f"{domain.domain_id}|s{i:02}" for i in range(3, 6)]
    assert len(read_tags) == 6


def test_compound_identifiers_follow_the_schemas_order():
    profile = ResourceSchema.load("AWS::SageMaker::UserProfile")
    assert profile.primary_identifier == "UserProfileName|DomainId"
    assert profile.identifier_of({"DomainId": "d-1", "UserProfileName": "u"}) == "u|d-1"
    assert profile.identifier_values("u|d-1") == {"UserProfileName": "u", "DomainId": "d-1"}
    assert profile.identifier_values("u") is None and profile.identifier_values("u|") is None
    app = ResourceSchema.load("AWS::SageMaker::App")
    assert app.primary_identifier == "AppName|AppType|DomainId|UserProfileName"
    domain = ResourceSchema.load("AWS::SageMaker::Domain")
    assert "DomainSettings" not in domain.create_only
    assert ("DomainSettings", "RStudioServerProDomainSettings", "DefaultResourceSpec") in domain.create_only_nested


def test_projection_keeps_what_the_schema_describes():
    domain = ResourceSchema.load("AWS::SageMaker::Domain")
    model = {
        "DomainName": "d",
        "HomeEfsFileSystemKmsKeyId": "k",
        "DefaultUserSettings": {
            "ExecutionRole": "r",
            "CustomPosixUserConfig": {"Uid": 1, "Gid": 2},
            "Unknown": 1,
            "JupyterLabAppSettings": {"CustomImages": [{"ImageName": "i", "AppImageConfigName": "c", "X": 1}]},
        },
    }
    assert domain.project(model) == {
        "DomainName": "d",
        "DefaultUserSettings": {
            "ExecutionRole": "r",
            "CustomPosixUserConfig": {"Uid": 1, "Gid": 2},
            "JupyterLabAppSettings": {"CustomImages": [{"ImageName": "i", "AppImageConfigName": "c"}]},
        },
    }


def test_every_domain_settings_member_of_the_schema_can_go_to_update_domain():
    document = ResourceSchema.load("AWS::SageMaker::Domain").document
    settings = document["definitions"][document["properties"]["DomainSettings"]["$ref"].rsplit("/", 1)[1]]
    assert set(settings["properties"]) <= set(DomainResource.SETTINGS_FOR_UPDATE)


def test_replicas_given_the_same_client_token_at_once_record_one_request(tmp_path):
    """Eight replicas (each its own Database, so nothing in-process orders them) on one database
    receive the same create with the same ClientToken at the same moment: one request is
    recorded and every replica answers with its RequestToken. Run on PostgreSQL in CI."""
    import threading

    from tests.conftest import fresh_database_url

    url = fresh_database_url(tmp_path)
    Database(url).migrate()
    replicas = []
    for _ in range(8):
        db = Database(url)
        clock = FakeClock()
        services = build_services(db, clock, PassThroughResolver())
        replicas.append(CloudControlService(db, clock, services.settling, resource_types(services)))
    start, answers = threading.Barrier(len(replicas)), []

    def submit(cc):
        start.wait(30)
        answers.append(cc.create(SCOPE, "AWS::SageMaker::AppImageConfig", config("raced"), "same-token")["RequestToken"])

    threads = [threading.Thread(target=submit, args=(cc,)) for cc in replicas]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert len(answers) == 8 and len(set(answers)) == 1
    assert len(replicas[0].list_requests(SCOPE, None, None, 100, None)[0]) == 1
