"""The generic validator enforces the botocore model exactly, in AWS's words."""

from datetime import datetime, timezone

import pytest

from byoi.aws.errors import SerializationException, ValidationException
from byoi.aws.model import operation_model, service_model
from byoi.aws.validate import compiled_pattern, parse_input


def shape(op: str, service: str = "sagemaker"):
    return operation_model(service, op).input_shape


def message_of(op: str, body: dict) -> str:
    with pytest.raises(ValidationException) as exc:
        parse_input(shape(op), body)
    return exc.value.message


def test_valid_input_is_returned_unchanged():
    body = {"AppImageConfigName": "cfg-1", "KernelGatewayImageConfig": {"KernelSpecs": [{"Name": "python3"}]}}
    assert parse_input(shape("CreateAppImageConfig"), body) == body


def test_pattern_is_a_full_match_and_message_is_aws_shaped():
    # "abc-" matches the pattern's prefix but not the whole name.
    assert message_of("CreateAppImageConfig", {"AppImageConfigName": "abc-"}) == (
        "1 validation error detected: Value 'abc-' at 'appImageConfigName' failed to satisfy constraint: "
        "Member must satisfy regular expression pattern: [a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}"
    )


def test_missing_required_member_is_reported_as_null():
    assert message_of("CreateImage", {"ImageName": "x"}) == (
        "1 validation error detected: Value null at 'roleArn' failed to satisfy constraint: Member must not be null"
    )


def test_every_violation_is_listed_with_nested_paths():
    body = {
        "AppImageConfigName": "x" * 64,
        "KernelGatewayImageConfig": {
            "KernelSpecs": [{"Name": "a"}, {}],
            "FileSystemConfig": {"DefaultUid": 70000, "MountPath": "relative"},
        },
    }
    message = message_of("CreateAppImageConfig", body)
    assert message.startswith("5 validation errors detected: ")
    assert "Value '" + "x" * 64 + "' at 'appImageConfigName' failed to satisfy constraint: Member must satisfy regular" in message
    assert "at 'appImageConfigName' failed to satisfy constraint: Member must have length less than or equal to 63" in message
    assert "Value null at 'kernelGatewayImageConfig.kernelSpecs.2.member.name'" in message
    assert "Value 'relative' at 'kernelGatewayImageConfig.fileSystemConfig.mountPath'" in message
    assert (
        "Value '70000' at 'kernelGatewayImageConfig.fileSystemConfig.defaultUid' failed to satisfy constraint: "
        "Member must have value less than or equal to 65535" in message
    )


def test_list_length_limits():
    message = message_of("CreateAppImageConfig", {"AppImageConfigName": "c", "KernelGatewayImageConfig": {"KernelSpecs": []}})
    assert "at 'kernelGatewayImageConfig.kernelSpecs' failed to satisfy constraint: Member must have length greater than or equal to 1" in message
    tags = [{"Key": f"k{i}", "Value": "v"} for i in range(51)]
    assert "Member must have length less than or equal to 50" in message_of("CreateAppImageConfig", {"AppImageConfigName": "c", "Tags": tags})


def test_enum_values_are_listed():
    message = message_of("ListImages", {"SortBy": "SIZE"})
    assert message.endswith("Member must satisfy enum value set: [CREATION_TIME, LAST_MODIFIED_TIME, IMAGE_NAME]")


def test_numeric_minimum():
    assert "Member must have value greater than or equal to 1" in message_of("ListImages", {"MaxResults": 0})


def test_unicode_property_patterns_work():
    parse_input(shape("AddTags"), {"ResourceArn": "arn:aws:sagemaker:us-east-1:123456789012:image/x", "Tags": [{"Key": "équipe", "Value": "données 1"}]})
    message = message_of("AddTags", {"ResourceArn": "arn:aws:sagemaker:us-east-1:123456789012:image/x", "Tags": [{"Key": "bad#key", "Value": ""}]})
    assert "at 'tags.1.member.key'" in message


@pytest.mark.parametrize(
    "body",
    [
        {"ImageName": 5, "RoleArn": "arn:aws:iam::123456789012:role/r"},
        {"ImageName": "x", "RoleArn": "arn:aws:iam::123456789012:role/r", "Tags": {"Key": "a"}},
        {"ImageName": "x", "RoleArn": "arn:aws:iam::123456789012:role/r", "Tags": ["a"]},
    ],
)
def test_wrong_json_types_are_serialization_errors(body):
    with pytest.raises(SerializationException):
        parse_input(shape("CreateImage"), body)


@pytest.mark.parametrize("value", [True, 1.5, "3"])
def test_integers_must_be_integers(value):
    with pytest.raises(SerializationException):
        parse_input(shape("ListImages"), {"MaxResults": value})


def test_booleans_must_be_booleans():
    with pytest.raises(SerializationException):
        parse_input(shape("CreateImageVersion"), {"ImageName": "i", "BaseImage": "b", "ClientToken": "t", "Horovod": "yes"})


def test_timestamps_accept_epoch_seconds_and_iso_text():
    epoch = parse_input(shape("ListImages"), {"CreationTimeAfter": 1700000000.5})
    iso = parse_input(shape("ListImages"), {"CreationTimeAfter": "2023-11-14T22:13:20.5Z"})
    expected = datetime(2023, 11, 14, 22, 13, 20, 500000, tzinfo=timezone.utc)
    assert epoch["CreationTimeAfter"] == iso["CreationTimeAfter"] == expected
    with pytest.raises(SerializationException):
        parse_input(shape("ListImages"), {"CreationTimeAfter": "yesterday"})
    with pytest.raises(SerializationException):
        parse_input(shape("ListImages"), {"CreationTimeAfter": 1e300})


def test_unknown_members_are_ignored():
    assert parse_input(shape("DescribeImage"), {"ImageName": "a", "Bogus": 1}) == {"ImageName": "a"}


def test_body_must_be_an_object():
    with pytest.raises(SerializationException):
        parse_input(shape("DescribeImage"), ["ImageName"])


def test_java_surrogate_pairs_become_code_points():
    pattern = compiled_pattern("[\\u0020-\\uD7FF\\uE000-\\uFFFD\\uD800\\uDC00-\\uDBFF\\uDFFF\\t]*")
    assert pattern.fullmatch("plain text \U0001F600 emoji\t")
    assert not pattern.fullmatch("bell\x07")


@pytest.mark.parametrize("service", ["sagemaker", "cloudcontrol"])
def test_every_pattern_in_the_models_compiles(service):
    model = service_model(service)
    seen = 0
    for name in model.shape_names:
        pattern = model.shape_for(name).metadata.get("pattern")
        if pattern:
            compiled_pattern(pattern)
            seen += 1
    assert seen > 10
