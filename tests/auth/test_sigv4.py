"""SigV4 verification, checked against signatures made by botocore itself."""

import dataclasses
import hashlib
from datetime import UTC, datetime, timedelta
from unittest import mock
from urllib.parse import urlsplit

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from byoi.auth.sigv4 import Caller, Credential, SignedRequest, canonical_request, verify
from byoi.aws import errors

KEY = Credential("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
TEMPORARY = Credential("ASIATEMPORARY", "temporary-secret", "session-token-1")
NOW = datetime(2026, 11, 23, 12, 0, 0, tzinfo=UTC)


def lookup(key_id: str) -> Credential | None:
    return {KEY.access_key_id: KEY, TEMPORARY.access_key_id: TEMPORARY}.get(key_id)


def signed(
    body: bytes = b'{"ImageName":"x"}',
    credential: Credential = KEY,
    service: str = "sagemaker",
    region: str = "eu-west-1",
    at: datetime = NOW,
    url: str = "http://127.0.0.1:8080/",
    headers: dict | None = None,
) -> SignedRequest:
    """A request exactly as botocore signs and sends it."""
    request = AWSRequest(
        method="POST",
        url=url,
        data=body,
        headers={"X-Amz-Target": "SageMaker.DescribeImage", "Content-Type": "application/x-amz-json-1.1", **(headers or {})},
    )
    creds = Credentials(credential.access_key_id, credential.secret_access_key, credential.session_token)
    with mock.patch("botocore.auth.get_current_datetime", return_value=at.replace(tzinfo=None)):
        SigV4Auth(creds, service, region).add_auth(request)
    parts = urlsplit(url)
    sent = [("host", parts.netloc), *((k, v) for k, v in request.headers.items())]
    return SignedRequest("POST", parts.path or "/", parts.query, sent, body)


def replace(request: SignedRequest, **changes) -> SignedRequest:
    return dataclasses.replace(request, **changes)


def with_header(request: SignedRequest, name: str, value: str | None) -> SignedRequest:
    headers = [(k, v) for k, v in request.headers if k.lower() != name.lower()]
    if value is not None:
        headers.append((name, value))
    return replace(request, headers=headers)


def rejected(request: SignedRequest, now: datetime = NOW) -> errors.AwsError:
    with pytest.raises(errors.AwsError) as excinfo:
        verify(request, lookup, now)
    return excinfo.value


def test_a_botocore_signature_verifies_and_names_the_caller_region_and_service():
    assert verify(signed(), lookup, NOW) == Caller("AKIDEXAMPLE", "eu-west-1", "sagemaker")


@pytest.mark.parametrize(
    "url",
    ["http://localhost:9000/", "http://127.0.0.1:8080/a/b%20c", "http://127.0.0.1:8080/x?b=2&a=1&a=0", "http://[::1]:8080/"],
)
def test_paths_queries_and_hosts_canonicalise_as_botocore_does(url):
    assert verify(signed(url=url), lookup, NOW).access_key_id == "AKIDEXAMPLE"


def test_temporary_credentials_need_their_session_token():
    assert verify(signed(credential=TEMPORARY), lookup, NOW).access_key_id == "ASIATEMPORARY"
    error = rejected(with_header(signed(credential=TEMPORARY), "X-Amz-Security-Token", "another-token"))
    assert (error.code, error.message) == ("UnrecognizedClientException", "The security token included in the request is invalid.")


def test_a_long_term_key_with_a_session_token_is_refused():
    forged = Credential(KEY.access_key_id, KEY.secret_access_key, "made-up-token")
    assert rejected(signed(credential=forged)).code == "UnrecognizedClientException"


def test_no_authorization_header_is_a_missing_token():
    error = rejected(with_header(signed(), "Authorization", None))
    assert (error.code, error.message, error.status) == ("MissingAuthenticationTokenException", "Missing Authentication Token", 400)


def test_an_unknown_access_key_is_unrecognized():
    error = rejected(signed(credential=Credential("AKIDUNKNOWN", KEY.secret_access_key)))
    assert error.code == "UnrecognizedClientException"


def test_a_wrong_secret_is_an_invalid_signature():
    error = rejected(signed(credential=Credential(KEY.access_key_id, "not-the-secret")))
    assert error.code == "InvalidSignatureException"
    assert error.message.startswith("The request signature we calculated does not match the signature you provided.")


@pytest.mark.parametrize(
    "tamper",
    [
        lambda r: replace(r, body=b'{"ImageName":"y"}'),
        lambda r: with_header(r, "X-Amz-Target", "SageMaker.DeleteImage"),
        lambda r: replace(r, raw_path="/other"),
        lambda r: replace(r, raw_query="a=1"),
        lambda r: with_header(r, "host", "evil.example:80"),
    ],
    ids=["body", "signed-header", "path", "query", "host"],
)
def test_any_change_to_a_signed_part_breaks_the_signature(tamper):
    assert rejected(tamper(signed())).code == "InvalidSignatureException"


def test_unsigned_headers_may_change():
    assert verify(with_header(signed(), "User-Agent", "changed"), lookup, NOW)


def test_a_signature_older_than_five_minutes_has_expired():
    error = rejected(signed(at=NOW - timedelta(minutes=5, seconds=1)))
    assert error.code == "InvalidSignatureException"
    assert error.message == (
        "Signature expired: 20261123T115459Z is now earlier than 20261123T115500Z (20261123T120000Z - 5 min.)"
    )
    assert verify(signed(at=NOW - timedelta(minutes=4, seconds=59)), lookup, NOW)


def test_a_signature_from_the_future_is_not_yet_current():
    error = rejected(signed(at=NOW + timedelta(minutes=6)))
    assert error.message.startswith("Signature not yet current: 20261123T120600Z is still later than 20261123T120500Z")


def test_a_payload_hash_header_must_match_the_body():
    request = with_header(signed(), "X-Amz-Content-SHA256", "0" * 64)
    assert rejected(request).message == "The provided 'x-amz-content-sha256' header does not match what was computed."


@pytest.mark.parametrize(
    "authorization, fragment",
    [
        ("AWS AKIDEXAMPLE:c2lnbmF0dXJl", "Unsupported Authorization algorithm 'AWS'"),
        ("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261123/us-east-1/sagemaker/aws4_request", "requires 'Signature' parameter"),
        ("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261123/us-east-1, SignedHeaders=host, Signature=00", "Credential should have the form"),
        ("AWS4-HMAC-SHA256 garbage", "not a valid key=value pair"),
    ],
)
def test_malformed_authorization_is_an_incomplete_signature(authorization, fragment):
    error = rejected(with_header(signed(), "Authorization", authorization))
    assert error.code == "IncompleteSignatureException"
    assert fragment in error.message


def test_a_malformed_date_is_an_incomplete_signature():
    error = rejected(with_header(signed(), "X-Amz-Date", "2026-11-23 12:00"))
    assert (error.code, error.message.split(".")[0]) == ("IncompleteSignatureException", "Date must be in ISO-8601 'basic format'")


def test_the_scope_date_must_be_the_request_date():
    request = with_header(signed(), "X-Amz-Date", "20261124T000000Z")
    error = rejected(request, now=datetime(2026, 11, 24, tzinfo=UTC))
    assert error.message.startswith("Date in Credential scope does not match YYYYMMDD")


def test_host_must_be_signed():
    request = signed()
    authorization = request.header("authorization").replace("SignedHeaders=content-type;host;", "SignedHeaders=content-type;")
    assert "'Host' or ':authority' must be a 'SignedHeader'" in rejected(with_header(request, "Authorization", authorization)).message


class _DeclaredPayloadSigner(SigV4Auth):
    """botocore's signer with ``declared`` as the canonical request's payload hash (as S3 clients do)."""

    def __init__(self, credentials, declared: str):
        super().__init__(credentials, "sagemaker", "eu-west-1")
        self._declared = declared

    def payload(self, request) -> str:
        return self._declared


def signed_declaring(declared: str, signed_body: bytes = b'{"ImageName":"x"}', sent_body: bytes | None = None) -> SignedRequest:
    """A request signed with X-Amz-Content-Sha256 ``declared`` over ``signed_body``, sent with ``sent_body``."""
    request = AWSRequest(method="POST", url="http://127.0.0.1:8080/", data=signed_body, headers={
        "X-Amz-Target": "SageMaker.DescribeImage", "X-Amz-Content-Sha256": declared})
    with mock.patch("botocore.auth.get_current_datetime", return_value=NOW.replace(tzinfo=None)):
        _DeclaredPayloadSigner(Credentials(KEY.access_key_id, KEY.secret_access_key), declared).add_auth(request)
    sent = [("host", "127.0.0.1:8080"), *request.headers.items()]
    return SignedRequest("POST", "/", "", sent, signed_body if sent_body is None else sent_body)


@pytest.mark.parametrize("sent_body", [None, b'{"ImageName":"swapped"}'], ids=["same-body", "swapped-body"])
def test_an_unsigned_payload_never_verifies(sent_body):
    error = rejected(signed_declaring("UNSIGNED-PAYLOAD", sent_body=sent_body))
    assert (error.code, error.message) == (
        "InvalidSignatureException", "The provided 'x-amz-content-sha256' header does not match what was computed."
    )


def test_a_payload_hash_header_that_is_the_body_hash_verifies():
    body = b'{"ImageName":"x"}'
    assert verify(signed_declaring(hashlib.sha256(body).hexdigest(), body), lookup, NOW).access_key_id == KEY.access_key_id


def test_the_canonical_request_hashes_the_body_received_whatever_the_header_says():
    request = signed_declaring("UNSIGNED-PAYLOAD")
    signed = request.header("authorization").split("SignedHeaders=")[1].split(",")[0].split(";")
    with pytest.raises(errors.InvalidSignatureException):
        canonical_request(request, signed)
    honest = with_header(request, "X-Amz-Content-Sha256", None)
    assert canonical_request(honest, signed).endswith("\n" + hashlib.sha256(request.body).hexdigest())
