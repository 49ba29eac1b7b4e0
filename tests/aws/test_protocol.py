"""Round trips through the wire layer with botocore on the other end.

botocore serializes a request exactly as boto3 sends it; byoi's endpoint parses
it and hands the handler the parameters; the handler's answer goes back through
byoi's serializer and botocore's parser. Nothing here touches the store.
"""

import asyncio
import dataclasses
import json
import threading
from datetime import datetime, timezone

import pytest
from botocore.parsers import create_parser
from botocore.serialize import create_serializer
from starlette.testclient import TestClient

from byoi.aws import errors
from byoi.aws.model import operation_model, service_model
from byoi.aws.protocol import JsonProtocolEndpoint, JsonService, region_from_authorization

T0 = datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=timezone.utc)

REQUESTS = {
    "CreateAppImageConfig": {
        "AppImageConfigName": "cfg",
        "Tags": [{"Key": "team", "Value": "ml"}],
        "JupyterLabAppImageConfig": {
            "FileSystemConfig": {"MountPath": "/home/u", "DefaultUid": 0, "DefaultGid": 0},
            "ContainerConfig": {
                "ContainerArguments": ["--x"],
                "ContainerEntrypoint": ["/bin/start"],
                "ContainerEnvironmentVariables": {"A": "1"},
            },
        },
    },
    "ListAppImageConfigs": {"CreationTimeAfter": T0, "SortBy": "Name", "SortOrder": "Ascending", "MaxResults": 5},
    "CreateImageVersion": {
        "ImageName": "img",
        "BaseImage": "repo/img:1",
        "ClientToken": "tok-1",
        "Aliases": ["stable"],
        "Horovod": False,
        "Processor": "GPU",
        "MLFramework": "PyTorch 2.1",
    },
    "UpdateImage": {"ImageName": "img", "DeleteProperties": ["Description"], "DisplayName": "Img"},
    "ListTags": {"ResourceArn": "arn:aws:sagemaker:us-east-1:123456789012:image/img", "MaxResults": 50},
}

RESPONSES = {
    "DescribeAppImageConfig": {
        "AppImageConfigArn": "arn:aws:sagemaker:us-east-1:123456789012:app-image-config/cfg",
        "AppImageConfigName": "cfg",
        "CreationTime": T0,
        "LastModifiedTime": T0,
        "KernelGatewayImageConfig": {
            "KernelSpecs": [{"Name": "python3", "DisplayName": "Python 3"}],
            "FileSystemConfig": {"MountPath": "/home/sagemaker-user", "DefaultUid": 1000, "DefaultGid": 100},
        },
    },
    "DescribeImageVersion": {
        "BaseImage": "repo/img:1",
        "ContainerImage": "repo/img@sha256:" + "0" * 64,
        "CreationTime": T0,
        "ImageVersionStatus": "CREATED",
        "Version": 3,
        "Horovod": True,
    },
    "ListImages": {"Images": [{"ImageName": "img", "ImageStatus": "CREATED", "CreationTime": T0, "LastModifiedTime": T0, "ImageArn": "arn:x"}], "NextToken": "abc"},
}


def endpoint_with(handlers) -> TestClient:
    endpoint = JsonProtocolEndpoint([JsonService("SageMaker", "sagemaker", handlers)], "123456789012", "us-east-1")
    return TestClient(endpoint.asgi)


def send(client: TestClient, op: str, params: dict):
    """Serialize like botocore, post, and parse like botocore."""
    model = service_model("sagemaker")
    op_model = model.operation_model(op)
    request = create_serializer("json").serialize_to_request(params, op_model)
    response = client.post("/", content=request["body"], headers=request["headers"])
    parsed = create_parser("json").parse(
        {"status_code": response.status_code, "headers": dict(response.headers), "body": response.content},
        op_model.output_shape,
    )
    return response, parsed


@pytest.mark.parametrize("op", sorted(REQUESTS))
def test_botocore_requests_reach_the_handler_intact(op):
    seen = {}

    def handler(ctx, params):
        seen.update(params)
        return None

    response, _ = send(endpoint_with({op: handler}), op, REQUESTS[op])
    assert response.status_code == 200
    assert seen == REQUESTS[op]


RESPONSE_INPUTS = {"DescribeAppImageConfig": {"AppImageConfigName": "cfg"}, "DescribeImageVersion": {"ImageName": "img"}, "ListImages": {}}


@pytest.mark.parametrize("op", sorted(RESPONSES))
def test_handler_results_parse_in_botocore(op):
    response, parsed = send(endpoint_with({op: lambda ctx, p: RESPONSES[op]}), op, RESPONSE_INPUTS[op])
    assert response.status_code == 200
    parsed.pop("ResponseMetadata", None)
    assert parsed == RESPONSES[op]
    assert response.headers["x-amzn-RequestId"]
    assert response.headers["content-type"] == "application/x-amz-json-1.1"


def test_members_outside_the_output_shape_never_reach_the_wire():
    response, parsed = send(endpoint_with({"CreateImage": lambda c, p: {"ImageArn": "arn:a", "Secret": "x"}}), "CreateImage", {"ImageName": "i", "RoleArn": "arn:aws:iam::123456789012:role/r"})
    assert response.json() == {"ImageArn": "arn:a"}


@pytest.mark.parametrize(
    "exc, status",
    [
        (errors.ResourceNotFound("Image with ARN arn:x does not exist"), 400),
        (errors.ResourceInUse("busy"), 400),
        (errors.ResourceLimitExceeded("too many"), 400),
        (errors.ValidationException("bad"), 400),
    ],
)
def test_errors_parse_as_their_aws_codes(exc, status):
    def handler(ctx, params):
        raise exc

    response, parsed = send(endpoint_with({"DescribeImage": handler}), "DescribeImage", {"ImageName": "img"})
    assert response.status_code == status
    assert parsed["Error"]["Code"] == exc.code
    assert parsed["Error"]["Message"] == exc.message
    assert parsed["ResponseMetadata"]["RequestId"] == response.headers["x-amzn-RequestId"]


def test_unexpected_exceptions_become_internal_failure_not_a_crash():
    def handler(ctx, params):
        raise RuntimeError("boom")

    response, parsed = send(endpoint_with({"DescribeImage": handler}), "DescribeImage", {"ImageName": "img"})
    assert response.status_code == 500
    assert parsed["Error"]["Code"] == "InternalFailure"
    assert "boom" not in response.text


def test_operation_in_model_but_not_implemented_is_501():
    response, parsed = send(endpoint_with({}), "DescribeImage", {"ImageName": "img"})
    assert response.status_code == 501
    assert parsed["Error"]["Code"] == "NotImplemented"
    assert "SageMaker.DescribeImage" in parsed["Error"]["Message"]


@pytest.mark.parametrize(
    "headers, body, code",
    [
        ({"X-Amz-Target": "SageMaker.NoSuchOperation"}, b"{}", "UnknownOperationException"),
        ({"X-Amz-Target": "Nope.DescribeImage"}, b"{}", "UnknownOperationException"),
        ({}, b"{}", "UnknownOperationException"),
        ({"X-Amz-Target": "SageMaker.DescribeImage"}, b"{not json", "SerializationException"),
        ({"X-Amz-Target": "SageMaker.DescribeImage"}, b"\xff\xfe", "SerializationException"),
        ({"X-Amz-Target": "SageMaker.DescribeImage"}, b"[1]", "SerializationException"),
        ({"X-Amz-Target": "SageMaker.DescribeImage"}, b"", "ValidationException"),
    ],
)
def test_malformed_requests_get_aws_errors(headers, body, code):
    client = endpoint_with({"DescribeImage": lambda c, p: {}})
    response = client.post("/", content=body, headers=headers)
    assert response.status_code == 400
    assert response.json()["__type"] == code


def test_region_comes_from_the_sigv4_credential_scope():
    header = "AWS4-HMAC-SHA256 Credential=AKID/20261123/eu-west-1/sagemaker/aws4_request, SignedHeaders=host, Signature=0"
    assert region_from_authorization(header) == "eu-west-1"
    assert region_from_authorization("garbage") is None
    assert region_from_authorization(None) is None


def test_every_implemented_operation_exists_in_the_model():
    from unittest.mock import MagicMock

    from byoi.sagemaker import sagemaker_service

    service = sagemaker_service(MagicMock())
    for op in service.handlers:
        assert operation_model("sagemaker", op) is not None, op
    assert len(service.handlers) == 42


# --- body size and nesting limits -------------------------------------------


def run_asgi(endpoint: JsonProtocolEndpoint, headers: list[tuple[bytes, bytes]], chunks) -> tuple[dict, dict, int]:
    """Drive ``endpoint.asgi`` with a body arriving in ``chunks`` (an iterator, maybe endless).

    Returns the response start message, its parsed JSON body and how many chunks the endpoint received."""

    received = 0
    sent: list[dict] = []

    async def receive() -> dict:
        nonlocal received
        received += 1
        chunk = next(chunks, None)
        return {"type": "http.request", "body": chunk or b"", "more_body": chunk is not None}

    async def send(message: dict) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": "/", "raw_path": b"/", "query_string": b"",
             "headers": [(b"x-amz-target", b"SageMaker.DescribeImage"), *headers]}
    asyncio.run(endpoint.asgi(scope, receive, send))
    start, body = sent
    return start, json.loads(body["body"]), received


def limited_endpoint(limit: int, calls: list) -> JsonProtocolEndpoint:
    service = JsonService("SageMaker", "sagemaker", {"DescribeImage": lambda c, p: calls.append(p) or {}})
    return JsonProtocolEndpoint([service], "123456789012", "us-east-1", max_body_bytes=limit)


def test_a_content_length_over_the_limit_is_refused_before_any_of_the_body_is_received():
    calls: list = []
    endless = iter(lambda: b"x" * 100, None)
    start, body, received = run_asgi(limited_endpoint(1024, calls), [(b"content-length", b"1025")], endless)
    assert (start["status"], body["__type"], received, calls) == (413, "RequestEntityTooLargeException", 0, [])
    assert body["message"] == "Request body of 1025 bytes exceeds the limit of 1024 bytes (BYOI_MAX_REQUEST_BYTES)"
    assert (b"connection", b"close") in start["headers"]


def test_a_chunked_body_is_refused_once_what_arrived_passes_the_limit():
    calls: list = []
    endless = iter(lambda: b"x" * 100, None)
    start, body, received = run_asgi(limited_endpoint(1024, calls), [], endless)
    assert (start["status"], body["__type"], calls) == (413, "RequestEntityTooLargeException", [])
    assert received == 11  # 1,100 bytes: the first chunk past 1,024, and not one more


def test_a_body_of_exactly_the_limit_is_served():
    calls: list = []
    body = b'{"ImageName":"img"}'.ljust(1024)
    start, _, _ = run_asgi(limited_endpoint(1024, calls), [(b"content-length", b"1024")], iter([body[:500], body[500:]]))
    assert start["status"] == 200
    assert calls == [{"ImageName": "img"}]


@pytest.mark.parametrize("depth", [101, 1_000, 1_000_000])
def test_deep_nesting_is_a_serialization_error_never_a_500(depth):
    client = endpoint_with({"DescribeImage": lambda c, p: {}})
    response = client.post("/", content=b'{"a":' + b"[" * depth + b"]" * depth + b"}", headers={"X-Amz-Target": "SageMaker.DescribeImage"})
    assert response.status_code == 400
    assert response.json() == {
        "__type": "SerializationException",
        "message": "Request body has JSON arrays and objects nested more than 100 levels deep (at most 100 are accepted)",
    }


# --- where handlers run ------------------------------------------------------


def test_logs_reads_run_in_a_worker_thread_and_sagemaker_reads_inline(tmp_path):
    """With ``inline`` (SQLite), a SageMaker Describe touches only the store and runs on the event
    loop; the logs service's reads read whole log files, so they run in a worker thread."""
    from byoi.cloudwatch_logs import logs_service
    from byoi.runtime.app_logs import AppLogs

    logs = AppLogs(tmp_path)
    stream = "d-1/alice/JupyterLab/default"
    logs.path(stream).parent.mkdir(parents=True)
    logs.path(stream).write_text("2026-01-02T03:04:05.000000000Z hello\n")
    threads: dict[str, int] = {}

    def recorded(name, handler):
        def run(ctx, params):
            threads[name] = threading.get_ident()
            return handler(ctx, params)
        return run

    service = logs_service(logs)
    service = dataclasses.replace(service, handlers={op: recorded(op, h) for op, h in service.handlers.items()})
    sagemaker = JsonService("SageMaker", "sagemaker", {"DescribeImage": recorded("DescribeImage", lambda c, p: {"ImageName": "img"})})
    endpoint = JsonProtocolEndpoint([sagemaker, service], "123456789012", "us-east-1", inline=True)

    async def call(target: str, body: dict) -> dict:
        sent: list[dict] = []

        async def receive() -> dict:
            return {"type": "http.request", "body": json.dumps(body).encode(), "more_body": False}

        async def send(message: dict) -> None:
            sent.append(message)

        scope = {"type": "http", "method": "POST", "path": "/", "raw_path": b"/", "query_string": b"",
                 "headers": [(b"x-amz-target", target.encode())]}
        await endpoint.asgi(scope, receive, send)
        assert sent[0]["status"] == 200, sent
        return json.loads(sent[1]["body"])

    async def main() -> tuple[int, dict, dict]:
        loop_thread = threading.get_ident()
        described = await call("SageMaker.DescribeImage", {"ImageName": "img"})
        got = await call("Logs_20140328.GetLogEvents", {"logGroupName": "/aws/sagemaker/studio", "logStreamName": stream})
        await call("Logs_20140328.DescribeLogStreams", {"logGroupName": "/aws/sagemaker/studio"})
        return loop_thread, described, got

    loop_thread, described, got = asyncio.run(main())
    assert described == {"ImageName": "img"}
    assert [e["message"] for e in got["events"]] == ["hello"]
    assert threads["DescribeImage"] == loop_thread
    assert threads["GetLogEvents"] != loop_thread
    assert threads["DescribeLogStreams"] != loop_thread
