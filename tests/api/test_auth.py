"""SigV4 authentication of a live server: keys from a credentials file and from
``byoi keys``, AWS's error codes for everything else, and when auth is on."""

import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from unittest import mock

import boto3
import httpx
import pytest
from botocore import UNSIGNED
from botocore.config import Config
from botocore.exceptions import ClientError

from byoi.settings import Settings
from tests.conftest import aws_cli, error_of

FILE_KEY = ("AKIAFILEKEY000000001", "file-secret-0000000000000000000000000000")


@pytest.fixture
def secured(fresh_server, tmp_path):
    """A server with auth on, accepting the key in a credentials file."""
    creds = tmp_path / "credentials"
    creds.write_text(f"[team]\naws_access_key_id = {FILE_KEY[0]}\naws_secret_access_key = {FILE_KEY[1]}\n")
    return fresh_server(BYOI_AUTH="on", BYOI_CREDENTIALS_FILE=str(creds))


def client(server, key_id: str, secret: str, service: str = "sagemaker", region: str = "us-east-1", **extra):
    cfg = Config(retries={"max_attempts": 1, "mode": "standard"}, **extra)
    return boto3.client(service, endpoint_url=server.url, region_name=region, aws_access_key_id=key_id,
                        aws_secret_access_key=secret, config=cfg)


def byoi_keys(server, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "byoi", "keys", *args], env=server.env, capture_output=True, text=True, timeout=60)


def test_a_key_from_the_credentials_file_signs_every_service(secured):
    sm = client(secured, *FILE_KEY, region="eu-west-1")
    sm.create_app_image_config(AppImageConfigName="cfg", CodeEditorAppImageConfig={})
    assert sm.describe_app_image_config(AppImageConfigName="cfg")["AppImageConfigArn"].startswith("arn:aws:sagemaker:eu-west-1:")
    assert client(secured, *FILE_KEY, service="cloudcontrol").list_resources(TypeName="AWS::SageMaker::Image")["ResourceDescriptions"] == []
    assert client(secured, *FILE_KEY, service="logs").describe_log_groups()["logGroups"] is not None


def test_unsigned_requests_are_refused(secured):
    sm = boto3.client("sagemaker", endpoint_url=secured.url, region_name="us-east-1", config=Config(signature_version=UNSIGNED))
    with pytest.raises(ClientError) as excinfo:
        sm.list_images()
    assert error_of(excinfo) == ("MissingAuthenticationTokenException", "Missing Authentication Token")
    assert excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_an_unknown_key_is_unrecognized(secured):
    with pytest.raises(ClientError) as excinfo:
        client(secured, "AKIAUNKNOWN000000000", FILE_KEY[1]).list_images()
    assert error_of(excinfo) == ("UnrecognizedClientException", "The security token included in the request is invalid.")


def test_a_wrong_secret_is_an_invalid_signature_and_changes_nothing(secured):
    with pytest.raises(ClientError) as excinfo:
        client(secured, FILE_KEY[0], "wrong-secret").create_app_image_config(AppImageConfigName="cfg", CodeEditorAppImageConfig={})
    assert error_of(excinfo)[0] == "InvalidSignatureException"
    assert client(secured, *FILE_KEY).list_app_image_configs()["AppImageConfigs"] == []


def test_a_stale_signature_has_expired(secured):
    stale = datetime.now(UTC).replace(tzinfo=None) - timedelta(minutes=10)
    sm = client(secured, *FILE_KEY)
    with mock.patch("botocore.auth.get_current_datetime", return_value=stale), pytest.raises(ClientError) as excinfo:
        sm.list_images()
    code, message = error_of(excinfo)
    assert code == "InvalidSignatureException"
    assert message.startswith("Signature expired: ") and message.endswith(" - 5 min.)")


def test_a_signature_for_another_service_is_refused(secured):
    body = b"{}"
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    request = AWSRequest("POST", f"{secured.url}/", data=body, headers={"X-Amz-Target": "SageMaker.ListImages", "Content-Type": "application/x-amz-json-1.1"})
    SigV4Auth(Credentials(*FILE_KEY), "s3", "us-east-1").add_auth(request)
    response = httpx.post(f"{secured.url}/", content=body, headers=dict(request.headers))
    assert response.status_code == 400
    assert response.json() == {"__type": "InvalidSignatureException", "message": "Credential should be scoped to correct service: 'sagemaker'. "}


def test_keys_made_with_byoi_keys_work_at_once_and_stop_working_when_deleted(secured):
    made = byoi_keys(secured, "create", "--description", "ci")
    assert made.returncode == 0, made.stderr
    values = dict(line.split("=", 1) for line in made.stdout.split())
    sm = client(secured, values["AWS_ACCESS_KEY_ID"], values["AWS_SECRET_ACCESS_KEY"])
    assert sm.list_images()["Images"] == []
    listed = byoi_keys(secured, "list").stdout
    assert values["AWS_ACCESS_KEY_ID"] in listed and "ci" in listed and values["AWS_SECRET_ACCESS_KEY"] not in listed

    assert byoi_keys(secured, "delete", values["AWS_ACCESS_KEY_ID"]).returncode == 0
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            sm.list_images()
        except ClientError as exc:
            assert exc.response["Error"]["Code"] == "UnrecognizedClientException"
            break
        time.sleep(0.5)
    else:
        pytest.fail("a deleted key still signs requests after 15 s")
    assert byoi_keys(secured, "delete", values["AWS_ACCESS_KEY_ID"]).returncode == 1


def test_the_aws_cli_signs_with_a_profile(secured, tmp_path, monkeypatch):
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    run = aws_cli(secured, tmp_path, "sagemaker")
    (tmp_path / "aws-creds").write_text(f"[default]\naws_access_key_id = {FILE_KEY[0]}\naws_secret_access_key = {FILE_KEY[1]}\n")
    assert run("list-images") == {"Images": []}
    (tmp_path / "aws-creds").write_text("[default]\naws_access_key_id = AKIAWRONG\naws_secret_access_key = nope\n")
    assert "UnrecognizedClientException" in run("list-images", expect_error=True)


def test_the_gateway_and_health_check_do_not_need_signatures(secured):
    assert httpx.get(f"{secured.url}/_byoi/health").status_code == 200


def test_an_unreadable_credentials_file_stops_start_up(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "byoi", "serve", "--auth", "on", "--credentials-file", str(tmp_path / "absent"), "--port", "0",
         "--data-dir", str(tmp_path), "--docker", "off"],
        capture_output=True, text=True, timeout=60,
    )
    assert proc.returncode == 2
    assert "cannot read credentials file" in proc.stderr


@pytest.mark.parametrize(
    "host, auth, enabled",
    [("127.0.0.1", "auto", False), ("::1", "auto", False), ("localhost", "auto", False), ("0.0.0.0", "auto", True),
     ("192.168.1.5", "auto", True), ("::", "auto", True), ("0.0.0.0", "off", False), ("127.0.0.1", "on", True)],
)
def test_auth_is_on_by_default_beyond_loopback(host, auth, enabled):
    assert Settings(host=host, auth=auth).auth_enabled() is enabled


def test_a_created_key_can_be_printed_as_a_credentials_file_section(secured, tmp_path):
    made = byoi_keys(secured, "create", "--profile", "byoi")
    assert made.returncode == 0, made.stderr
    (tmp_path / "printed").write_text(made.stdout)
    from byoi.auth.keys import read_credentials_file

    (key,) = read_credentials_file(tmp_path / "printed").values()
    assert client(secured, key.access_key_id, key.secret_access_key).list_images()["Images"] == []


def test_generated_authorization_headers_get_aws_errors_never_a_500(secured):
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    header_text = st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=200)
    scopes = st.builds(
        lambda key, date, region, service, end: f"{key}/{date}/{region}/{service}/{end}",
        st.sampled_from([FILE_KEY[0], "AKIAOTHER"]) | header_text, st.from_regex(r"[0-9]{8}", fullmatch=True) | header_text,
        st.sampled_from(["us-east-1", ""]) | header_text, st.sampled_from(["sagemaker", "s3"]), st.sampled_from(["aws4_request", "x"]),
    )
    authorizations = header_text | st.builds(
        lambda scope, signed, signature: f"AWS4-HMAC-SHA256 Credential={scope}, SignedHeaders={signed}, Signature={signature}",
        scopes, st.sampled_from(["host", "host;x-amz-date", "content-type;host;x-amz-date;x-amz-target", ""]) | header_text,
        st.from_regex(r"[0-9a-f]{64}", fullmatch=True) | header_text,
    )
    dates = st.none() | st.from_regex(r"[0-9]{8}T[0-9]{6}Z", fullmatch=True) | header_text
    codes = {"MissingAuthenticationTokenException", "IncompleteSignatureException", "InvalidSignatureException", "UnrecognizedClientException"}

    with httpx.Client(base_url=secured.url, timeout=30) as http:

        @settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        @given(authorization=authorizations, date=dates)
        def check(authorization, date):
            # (HTTP clients refuse header values with surrounding spaces.)
            headers = {"X-Amz-Target": "SageMaker.ListImages", "Content-Type": "application/x-amz-json-1.1", "Authorization": authorization.strip()}
            if date is not None:
                headers["X-Amz-Date"] = date.strip()
            response = http.post("/", content=b"{}", headers=headers)
            assert response.status_code == 400, response.text
            assert response.json()["__type"] in codes

        check()
