"""No request makes byoi answer 500: every failure is an AWS-shaped 4xx/501.

Requests are generated from the botocore model of each implemented operation
with hypothesis: valid-looking and wrong-typed members, random strings,
numbers out of range, nested junk. Each operation gets an equal share of at
least ``FUZZ_REQUESTS`` requests in all (docs/reliability.md reports a run).
"""

import json
import math
from collections import Counter

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from byoi.aws.model import operation_model
from byoi.cloudcontrol.schema import SCHEMA_FILES, ResourceSchema
from byoi.sagemaker import sagemaker_service


def implemented_operations() -> list[tuple[str, str, str]]:
    """(botocore service, target prefix, operation) for every operation byoi implements."""
    from unittest.mock import MagicMock

    from byoi.cloudcontrol import cloudcontrol_service
    from byoi.cloudwatch_logs import logs_service

    services = [sagemaker_service(MagicMock()), cloudcontrol_service(MagicMock(), MagicMock(), MagicMock()), logs_service(MagicMock())]
    return [(s.model_name, s.target_prefix, op) for s in services for op in sorted(s.handlers)]


json_scalars = st.none() | st.booleans() | st.integers(-(2**40), 2**40) | st.floats(allow_nan=False) | st.text(max_size=80)
json_values = st.recursive(json_scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4), max_leaves=12)


def member_strategy(shape, depth: int = 0):
    """Values that are usually of the member's type, sometimes anything at all."""
    kind = shape.type_name
    if depth > 3:
        return json_values
    if kind == "structure":
        typed = st.fixed_dictionaries({}, optional={n: member_strategy(m, depth + 1) for n, m in shape.members.items()})
    elif kind == "list":
        typed = st.lists(member_strategy(shape.member, depth + 1), max_size=6)
    elif kind == "map":
        typed = st.dictionaries(st.text(max_size=20), member_strategy(shape.value, depth + 1), max_size=4)
    elif kind == "string":
        enum = shape.metadata.get("enum")
        typed = st.sampled_from(enum) | st.text(max_size=300) if enum else st.text(max_size=300) | st.from_regex(r"[a-z0-9-]{1,20}", fullmatch=True)
    elif kind in ("integer", "long"):
        typed = st.integers(-(2**33), 2**33)
    elif kind == "boolean":
        typed = st.booleans()
    elif kind == "timestamp":
        typed = st.floats(-1e12, 1e12, allow_nan=False) | st.text(max_size=30)
    else:
        typed = json_values
    return typed | json_values if depth else typed


OPERATIONS = implemented_operations()
FUZZ_REQUESTS = 10_000
EXAMPLES_PER_OPERATION = math.ceil(FUZZ_REQUESTS / len(OPERATIONS))
#: Requests sent and answers seen by the fuzz, per operation and per status.
SENT: Counter = Counter()
STATUSES: Counter = Counter()
AWS_ERROR_CODES = {
    "ValidationException",
    "SerializationException",
    "ResourceNotFound",
    "ResourceInUse",
    "ResourceLimitExceeded",
    "TypeNotFoundException",
    "ResourceNotFoundException",
    "NotUpdatableException",
    "ClientTokenConflictException",
    "ConcurrentOperationException",
    "RequestTokenNotFoundException",
    "ConcurrentModificationException",
    "InvalidParameterException",
}


def assert_aws_shaped(response: httpx.Response) -> None:
    """No 5xx; an error has a known AWS code, a message and a request id."""
    assert response.status_code < 500, response.text
    assert response.headers["x-amzn-RequestId"]
    if response.status_code >= 400:
        payload = response.json()
        assert payload["__type"] in AWS_ERROR_CODES, payload
        assert payload.get("message") or payload.get("Message")


@pytest.fixture(scope="module")
def http(server):
    with httpx.Client(base_url=server.url, timeout=30) as client:
        yield client


@pytest.mark.parametrize("model, prefix, op", OPERATIONS)
def test_generated_requests_never_get_a_500(http, model, prefix, op):
    shape = operation_model(model, op).input_shape

    @settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(body=member_strategy(shape))
    def check(body):
        response = http.post("/", content=json.dumps(body), headers={"X-Amz-Target": f"{prefix}.{op}", "Content-Type": "application/x-amz-json-1.1"})
        SENT[op] += 1
        STATUSES[response.status_code] += 1
        assert_aws_shaped(response)

    check()


@pytest.mark.parametrize("model, prefix, op", OPERATIONS)
@pytest.mark.parametrize(
    "body",
    [b"", b"{", b"[]", b"null", b'"text"', b"\xff\xfe", b'{"a":' * 200, json.dumps({"x": "\ud800"}).encode()],
    ids=["empty", "truncated", "array", "null", "string", "not-utf8", "deep", "lone-surrogate"],
)
def test_malformed_bodies_get_aws_errors(http, model, prefix, op, body):
    response = http.post("/", content=body, headers={"X-Amz-Target": f"{prefix}.{op}", "Content-Type": "application/x-amz-json-1.1"})
    SENT[op] += 1
    STATUSES[response.status_code] += 1
    assert_aws_shaped(response)


def test_the_fuzz_sent_at_least_ten_thousand_requests():
    """Runs last in this module: the generated requests above add up to the target."""
    if len({op for _, _, op in OPERATIONS} - set(SENT)) > 0:
        pytest.skip("only part of the fuzz ran (run the whole module)")
    total = sum(SENT.values())
    print(f"\nfuzz: {total} requests over {len(OPERATIONS)} operations, answers by status {dict(sorted(STATUSES.items()))}")
    assert total >= FUZZ_REQUESTS
    assert not any(status >= 500 for status in STATUSES)


@pytest.mark.parametrize("path, method", [("/", "GET"), ("/anything", "POST"), ("/x/y", "DELETE")])
def test_other_paths_answer_json_errors(http, path, method):
    response = http.request(method, path)
    assert response.status_code == 404
    assert response.json()["__type"] == "UnknownOperationException"


def test_unimplemented_sagemaker_operations_say_so(server):
    sm = server.client()
    with pytest.raises(Exception) as exc:
        sm.list_notebook_instances()
    assert exc.value.response["Error"]["Code"] == "NotImplemented"
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 501


@pytest.mark.parametrize("type_name", sorted(SCHEMA_FILES))
def test_generated_resource_models_end_in_a_clean_outcome(server, type_name):
    """Random models built from the schema's property names: each request ends
    SUCCESS or FAILED with a modeled ErrorCode, never InternalFailure (a bug)."""
    cc = server.client("cloudcontrol")
    names = sorted(ResourceSchema.load(type_name).document["properties"])
    models = st.dictionaries(st.sampled_from(names), json_values, max_size=6)

    @settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
    @given(model=models)
    def check(model):
        event = cc.create_resource(TypeName=type_name, DesiredState=json.dumps(model))["ProgressEvent"]
        final = cc.get_resource_request_status(RequestToken=event["RequestToken"])["ProgressEvent"]
        assert final["OperationStatus"] in ("SUCCESS", "FAILED"), final
        assert final.get("ErrorCode") != "InternalFailure", final

    check()
