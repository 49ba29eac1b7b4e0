"""The API boundary under attack, against a live ``byoi serve`` on loopback.

Each test sends what an attacker would, over raw HTTP where a client library
would refuse to (a Content-Length with no body behind it, a chunked body that
never ends, a body nested 100,000 deep, a signature that does not cover the
body), and checks the answer byoi gives: an AWS error, at once, and nothing
done. A server that read the whole body before refusing it would leave the
raw-socket tests waiting on their (generous) timeout: they fail, never hang.
"""

from __future__ import annotations

import base64
import hashlib
import http.client
import json
import os
import stat
from pathlib import Path

import boto3
import httpx
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from byoi.settings import DEFAULT_MAX_REQUEST_BYTES
from tests.conftest import POSTGRES_URL, ByoiServer, aws_cli

KEY = ("AKIAHARDENING0000001", "hardening-secret-000000000000000000000000")
LIMIT = 4096
#: How long a refusal may take on a loaded machine; a server that waited for the body would wait forever.
ANSWER_WITHIN = 60
JSON_HEADERS = {"Content-Type": "application/x-amz-json-1.1"}


@pytest.fixture(scope="module")
def guarded(tmp_path_factory) -> ByoiServer:
    """A server with authentication on, one key, and a small body limit (LIMIT bytes)."""
    data_dir = tmp_path_factory.mktemp("byoi-hardening")
    creds = data_dir.parent / f"{data_dir.name}-credentials"
    creds.write_text(f"[team]\naws_access_key_id = {KEY[0]}\naws_secret_access_key = {KEY[1]}\n")
    srv = ByoiServer(data_dir, BYOI_AUTH="on", BYOI_CREDENTIALS_FILE=str(creds), BYOI_MAX_REQUEST_BYTES=str(LIMIT)).start()
    yield srv
    srv.kill()


def signed_client(server: ByoiServer):
    cfg = Config(retries={"max_attempts": 1, "mode": "standard"})
    return boto3.client("sagemaker", endpoint_url=server.url, region_name="us-east-1",
                        aws_access_key_id=KEY[0], aws_secret_access_key=KEY[1], config=cfg)


def connect(server: ByoiServer) -> http.client.HTTPConnection:
    return http.client.HTTPConnection("127.0.0.1", server.port, timeout=ANSWER_WITHIN)


def start_post(conn: http.client.HTTPConnection, target: str, headers: dict[str, str]) -> None:
    """Send a POST / request line and headers, and not one byte of the body."""
    conn.putrequest("POST", "/", skip_accept_encoding=True)
    for name, value in {"X-Amz-Target": target, **JSON_HEADERS, **headers}.items():
        conn.putheader(name, value)
    conn.endheaders()


def chunk(data: bytes) -> bytes:
    return b"%x\r\n" % len(data) + data + b"\r\n"


def assert_refused_as_too_large(response: http.client.HTTPResponse, limit: int) -> str:
    """Check the 413 and return its message."""
    body = json.loads(response.read())
    assert response.status == 413
    assert body["__type"] == "RequestEntityTooLargeException"
    assert f"exceeds the limit of {limit} bytes (BYOI_MAX_REQUEST_BYTES)" in body["message"]
    assert response.getheader("x-amzn-ErrorType") == "RequestEntityTooLargeException"
    assert response.getheader("x-amzn-RequestId")
    assert response.getheader("Connection") == "close"
    return body["message"]


def assert_connection_closed(conn: http.client.HTTPConnection) -> None:
    """The server closed the connection: the rest of the body is never read."""
    assert conn.sock is None or conn.sock.recv(1) == b""


# --- body size ---------------------------------------------------------------


def test_an_oversized_body_is_refused_with_413_before_it_is_read(server):
    conn = connect(server)
    start_post(conn, "SageMaker.ListImages", {"Content-Length": str(DEFAULT_MAX_REQUEST_BYTES + 1)})
    response = conn.getresponse()  # answered with no body sent at all
    assert_refused_as_too_large(response, DEFAULT_MAX_REQUEST_BYTES)
    assert_connection_closed(conn)


def test_an_oversized_body_is_refused_before_authentication(guarded):
    conn = connect(guarded)
    start_post(conn, "SageMaker.ListImages", {"Content-Length": str(LIMIT + 1)})
    assert_refused_as_too_large(conn.getresponse(), LIMIT)


def test_a_chunked_body_is_refused_as_soon_as_it_passes_the_limit(guarded):
    conn = connect(guarded)
    start_post(conn, "SageMaker.ListImages", {"Transfer-Encoding": "chunked"})
    # LIMIT + 1 bytes in five chunks, and the body never ends: no last chunk follows.
    conn.send(b"".join(chunk(b"x" * (LIMIT // 4)) for _ in range(4)) + chunk(b"x"))
    message = assert_refused_as_too_large(conn.getresponse(), LIMIT)
    assert message.startswith(f"Request body of more than {LIMIT} bytes exceeds")  # (its size is unknown)
    assert_connection_closed(conn)


def test_a_body_of_exactly_the_limit_is_served(guarded):
    body = b"{}".ljust(LIMIT, b" ")
    response = signed_post(guarded, "SageMaker.ListImages", body)
    assert response.status_code == 200, response.text
    assert response.json() == {"Images": []}


def test_a_chunked_body_under_the_limit_is_served(server):
    conn = connect(server)
    start_post(conn, "SageMaker.ListImages", {"Transfer-Encoding": "chunked"})
    conn.send(chunk(b"{") + chunk(b"}") + b"0\r\n\r\n")
    response = conn.getresponse()
    assert response.status == 200
    assert "Images" in json.loads(response.read())


def test_an_oversized_body_sent_in_full_gets_the_413_too(guarded):
    conn = connect(guarded)  # (http.client sends headers and a bytes body in one write, as botocore does)
    conn.request("POST", "/", body=b"x" * (LIMIT + 1), headers={"X-Amz-Target": "SageMaker.ListImages", **JSON_HEADERS})
    message = assert_refused_as_too_large(conn.getresponse(), LIMIT)
    assert message.startswith(f"Request body of {LIMIT + 1} bytes exceeds")


# --- JSON nesting ------------------------------------------------------------


@pytest.mark.parametrize("depth", [101, 1_000, 100_000])
def test_a_deeply_nested_body_is_a_serialization_error_not_a_500(server, depth):
    body = b'{"ImageName":' + b"[" * depth + b"]" * depth + b"}"
    response = httpx.post(f"{server.url}/", content=body, headers={"X-Amz-Target": "SageMaker.DescribeImage", **JSON_HEADERS},
                          timeout=ANSWER_WITHIN)
    assert response.status_code == 400
    assert response.json() == {
        "__type": "SerializationException",
        "message": "Request body has JSON arrays and objects nested more than 100 levels deep (at most 100 are accepted)",
    }
    assert httpx.get(f"{server.url}/_byoi/health").status_code == 200


def test_nesting_up_to_the_limit_is_parsed_and_reaches_validation(server):
    body = b'{"ImageName":' + b"[" * 99 + b"]" * 99 + b"}"  # 100 levels with the outer object
    response = httpx.post(f"{server.url}/", content=body, headers={"X-Amz-Target": "SageMaker.DescribeImage", **JSON_HEADERS})
    assert response.status_code == 400
    assert response.json() == {"__type": "SerializationException", "message": "Expected a string at 'imageName'"}


def test_brackets_inside_strings_are_not_nesting(server):
    body = json.dumps({"ImageName": "[" * 1000}).encode()
    response = httpx.post(f"{server.url}/", content=body, headers={"X-Amz-Target": "SageMaker.DescribeImage", **JSON_HEADERS})
    assert response.status_code == 400
    assert response.json()["__type"] == "ValidationException"


DEEP = "[" * 5_000 + "]" * 5_000


@pytest.mark.parametrize(
    "call",
    [
        lambda cc, sm: cc.create_resource(TypeName="AWS::SageMaker::AppImageConfig", DesiredState=DEEP),
        lambda cc, sm: cc.update_resource(TypeName="AWS::SageMaker::AppImageConfig", Identifier="any", PatchDocument=DEEP),
        lambda cc, sm: cc.list_resources(TypeName="AWS::SageMaker::AppImageConfig", ResourceModel=DEEP),
        lambda cc, sm: sm.list_images(NextToken=base64.b64encode(DEEP[:3_000].encode() + DEEP[-3_000:].encode()).decode()),
        lambda cc, sm: cc.get_resource(TypeName="AWS::SageMaker::UserProfile", Identifier='{"a":' * 150 + "1" + "}" * 150),
    ],
    ids=["DesiredState", "PatchDocument", "ResourceModel", "NextToken", "Identifier"],
)
def test_json_nested_deep_inside_a_string_member_is_a_validation_error_not_a_500(server, call):
    with pytest.raises(ClientError) as excinfo:
        call(server.client("cloudcontrol"), server.client())
    assert excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert excinfo.value.response["Error"]["Code"] == "ValidationException"


# --- SigV4 payload hash ------------------------------------------------------


class _SigV4WithDeclaredPayload(SigV4Auth):
    """botocore's signer, but putting ``declared`` in the canonical request as the payload hash."""

    def __init__(self, declared: str):
        super().__init__(Credentials(*KEY), "sagemaker", "us-east-1")
        self._declared = declared

    def payload(self, request) -> str:
        return self._declared


def signed_headers(server: ByoiServer, target: str, body: bytes, declared: str | None = None) -> dict[str, str]:
    """Headers botocore signs for ``body``; with ``declared``, signed with that X-Amz-Content-Sha256 instead."""
    headers = {"X-Amz-Target": target, **JSON_HEADERS}
    if declared is None:
        signer = SigV4Auth(Credentials(*KEY), "sagemaker", "us-east-1")
    else:
        headers["X-Amz-Content-Sha256"] = declared
        signer = _SigV4WithDeclaredPayload(declared)
    request = AWSRequest("POST", f"{server.url}/", data=body, headers=headers)
    signer.add_auth(request)
    return dict(request.headers)


def signed_post(server: ByoiServer, target: str, body: bytes, **kwargs) -> httpx.Response:
    return httpx.post(f"{server.url}/", content=body, headers=signed_headers(server, target, body, **kwargs), timeout=ANSWER_WITHIN)


def create_config(name: str) -> bytes:
    return json.dumps({"AppImageConfigName": name, "CodeEditorAppImageConfig": {}}).encode()


@pytest.mark.parametrize(
    "declared",
    ["UNSIGNED-PAYLOAD", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD", hashlib.sha256(b"{}").hexdigest()],
    ids=["unsigned-payload", "streaming", "another-body's-hash"],
)
def test_a_signature_that_does_not_cover_the_body_does_not_verify(guarded, declared, name):
    # A signature over some other (or no) payload, sent with a body of the attacker's choosing.
    response = httpx.post(f"{guarded.url}/", content=create_config(name),
                          headers=signed_headers(guarded, "SageMaker.CreateAppImageConfig", b"{}", declared=declared))
    assert response.status_code == 400
    assert response.json() == {
        "__type": "InvalidSignatureException",
        "message": "The provided 'x-amz-content-sha256' header does not match what was computed.",
    }
    names = [c["AppImageConfigName"] for c in signed_client(guarded).list_app_image_configs()["AppImageConfigs"]]
    assert name not in names


def test_an_unsigned_payload_does_not_verify_even_with_the_body_it_was_signed_with(guarded):
    body = create_config("unsigned")
    response = signed_post(guarded, "SageMaker.CreateAppImageConfig", body, declared="UNSIGNED-PAYLOAD")
    assert response.json()["__type"] == "InvalidSignatureException"


def test_a_payload_hash_header_equal_to_the_body_hash_verifies(guarded):
    body = create_config("declared-hash")
    response = signed_post(guarded, "SageMaker.CreateAppImageConfig", body, declared=hashlib.sha256(body).hexdigest())
    assert response.status_code == 200, response.text


def test_boto3_and_the_aws_cli_still_sign_what_byoi_verifies(guarded, tmp_path, monkeypatch):
    sm = signed_client(guarded)
    sm.create_app_image_config(AppImageConfigName="by-boto3", CodeEditorAppImageConfig={})
    assert sm.describe_app_image_config(AppImageConfigName="by-boto3")["AppImageConfigName"] == "by-boto3"
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", KEY[0])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", KEY[1])
    run = aws_cli(guarded, tmp_path, "sagemaker")
    run("create-app-image-config", "--app-image-config-name", "by-cli", "--code-editor-app-image-config", "{}")
    assert run("describe-app-image-config", "--app-image-config-name", "by-cli")["AppImageConfigName"] == "by-cli"
    with pytest.raises(ClientError) as excinfo:  # a body over LIMIT once serialized
        sm.create_app_image_config(AppImageConfigName="too-large", CodeEditorAppImageConfig={"ContainerConfig": {
            "ContainerArguments": ["a" * 200] * 30}})
    assert excinfo.value.response["Error"]["Code"] == "RequestEntityTooLargeException"
    assert excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"] == 413


# --- file modes --------------------------------------------------------------


def mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def state_files(data_dir: Path) -> dict[str, int]:
    """Modes of the data directory, the database (with SQLite's sidecar files) and an older byoi's
    gateway.key (byoi keeps its key in the database now)."""
    names = [p.name for p in data_dir.glob("gateway.key")]
    if not POSTGRES_URL:
        names += [p.name for p in data_dir.glob("byoi.db*")]
    return {".": mode(data_dir), **{name: mode(data_dir / name) for name in names}}


def test_a_new_data_dir_and_its_secrets_are_private_whatever_the_umask(fresh_server, permissive_umask):
    srv = fresh_server()
    srv.client().create_app_image_config(AppImageConfigName="cfg", CodeEditorAppImageConfig={})
    modes = state_files(srv.data_dir)
    assert modes.pop(".") == 0o700
    assert all(m == 0o600 for m in modes.values()), {k: oct(v) for k, v in modes.items()}
    assert "gateway.key" not in modes  # the key is in the database, shared by every replica
    if not POSTGRES_URL:
        assert "byoi.db" in modes and "byoi.db-wal" in modes


def test_loose_modes_from_before_are_tightened_at_start_up_and_nothing_is_lost(fresh_server):
    srv = fresh_server()
    srv.client().create_app_image_config(AppImageConfigName="kept", CodeEditorAppImageConfig={})
    srv.stop()
    for name in state_files(srv.data_dir):
        os.chmod(srv.data_dir / name, 0o755 if name == "." else 0o644)
    assert all(m & 0o077 for m in state_files(srv.data_dir).values())

    srv.start()
    modes = state_files(srv.data_dir)
    assert modes.pop(".") == 0o700
    assert all(m == 0o600 for m in modes.values()), {k: oct(v) for k, v in modes.items()}
    assert srv.client().describe_app_image_config(AppImageConfigName="kept")["AppImageConfigName"] == "kept"
