"""Lifecycle configurations attached to Studio settings and chosen by CreateApp, as AWS checks them."""

import base64

import pytest

from byoi.aws.errors import ResourceInUse, ValidationException
from byoi.aws.protocol import Scope
from byoi.services.wiring import build_services
from byoi.store.database import Database
from tests.services.test_settling import FakeClock, FakeResolver

SCOPE = Scope("123456789012", "us-east-1")
CONTENT = base64.b64encode(b"#!/bin/bash\necho hi\n").decode()
KG = {"KernelSpecs": [{"Name": "python3"}]}


class World:
    """An image with a CREATED version and a KernelGateway config, and lifecycle configs to attach."""

    def __init__(self, tmp_path):
        db = Database(f"sqlite:///{tmp_path / 'l.db'}")
        db.migrate()
        self.services = s = build_services(db, FakeClock(), FakeResolver())
        s.images.create(SCOPE, "img", "arn:aws:iam::123456789012:role/r")
        s.image_versions.create(SCOPE, "img", "sample:1", "token-1")
        s.app_image_configs.create(SCOPE, "cfg", {"KernelGatewayImageConfig": KG})
        self.kg = s.studio_lifecycle_configs.create(SCOPE, "kg-prep", CONTENT, "KernelGateway")
        self.lab = s.studio_lifecycle_configs.create(SCOPE, "lab-prep", CONTENT, "JupyterLab")

    def domain(self, kernel_gateway_settings: dict):
        settings = {"AuthMode": "IAM", "DefaultUserSettings": {"KernelGatewayAppSettings": {
            "CustomImages": [{"ImageName": "img", "AppImageConfigName": "cfg"}], **kernel_gateway_settings}}}
        domain = self.services.domains.create(SCOPE, "d", settings, None)
        self.services.domains.create_member(SCOPE, domain.domain_id, "user", "alice", {}, None)
        return domain.domain_id

    def create_app(self, domain_id: str, name: str = "default", **spec):
        image = "arn:aws:sagemaker:us-east-1:123456789012:image/img"
        return self.services.apps.create(SCOPE, domain_id, "alice", None, "KernelGateway", name,
                                         {"SageMakerImageArn": image, "InstanceType": "ml.t3.medium", **spec})


@pytest.fixture
def world(tmp_path):
    return World(tmp_path)


def test_create_app_runs_the_default_lifecycle_config_and_records_it(world):
    domain = world.domain({"LifecycleConfigArns": [world.kg], "DefaultResourceSpec": {"LifecycleConfigArn": world.kg}})
    app = world.create_app(domain)
    assert app.resource_spec["LifecycleConfigArn"] == world.kg


def test_create_app_runs_the_config_it_names_when_that_is_attached(world):
    domain = world.domain({"LifecycleConfigArns": [world.kg]})
    assert "LifecycleConfigArn" not in world.create_app(domain, "plain").resource_spec  # no default: none runs
    assert world.create_app(domain, "prepared", LifecycleConfigArn=world.kg).resource_spec["LifecycleConfigArn"] == world.kg


def test_create_app_refuses_a_config_that_is_not_attached(world):
    domain = world.domain({})
    with pytest.raises(ValidationException, match="is not attached to user profile alice"):
        world.create_app(domain, LifecycleConfigArn=world.kg)


def test_create_app_refuses_a_config_for_another_app_type(world):
    domain = world.domain({})
    with pytest.raises(ValidationException, match="is for JupyterLab apps, not KernelGateway"):
        world.create_app(domain, LifecycleConfigArn=world.lab)


def test_create_app_refuses_a_config_that_does_not_exist(world):
    domain = world.domain({})
    missing = world.kg.replace("kg-prep", "nope")
    with pytest.raises(ValidationException, match="does not exist"):
        world.create_app(domain, LifecycleConfigArn=missing)


def test_settings_that_name_a_missing_config_or_one_of_another_type_are_refused(world):
    missing = world.kg.replace("kg-prep", "nope")
    with pytest.raises(ValidationException, match="KernelGatewayAppSettings.LifecycleConfigArns: .* does not exist"):
        world.domain({"LifecycleConfigArns": [missing]})
    with pytest.raises(ValidationException, match="is for JupyterLab apps, not KernelGateway"):
        world.domain({"LifecycleConfigArns": [world.lab]})


def test_a_config_that_settings_or_a_live_app_name_cannot_be_deleted(world):
    configs = world.services.studio_lifecycle_configs
    domain = world.domain({"LifecycleConfigArns": [world.kg]})
    with pytest.raises(ResourceInUse, match=f"domain {domain}"):
        configs.delete(SCOPE, "kg-prep")
    world.create_app(domain, LifecycleConfigArn=world.kg)
    world.services.domains.update(SCOPE, domain, {"DefaultUserSettings": {"KernelGatewayAppSettings": {
        "CustomImages": [{"ImageName": "img", "AppImageConfigName": "cfg"}], "LifecycleConfigArns": []}}})
    with pytest.raises(ResourceInUse, match="app default"):
        configs.delete(SCOPE, "kg-prep")
    configs.delete(SCOPE, "lab-prep")  # nothing names it
