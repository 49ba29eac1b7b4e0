"""Verifying AWS Signature Version 4 (header form) on an incoming request.

``verify(request, lookup, now)`` recomputes the signature the way AWS's SDKs
compute it (``botocore.auth.SigV4Auth``): the canonical request from the
method, path, query, the headers named in ``SignedHeaders`` and the payload
hash; the string to sign from the date and the credential scope; the key
derived from the secret through date, region and service. It returns the
``Caller`` on success and raises the AWS error a real endpoint answers
otherwise:

* no ``Authorization`` header             -> MissingAuthenticationTokenException
* malformed header or date                -> IncompleteSignatureException
* unknown access key or session token     -> UnrecognizedClientException
* wrong signature, scope, or stale date   -> InvalidSignatureException
* X-Amz-Content-Sha256 not the body's hash (UNSIGNED-PAYLOAD too)
                                          -> InvalidSignatureException

The payload hash in the canonical request is always the SHA-256 of the body
as received, never the client's claim.

The function is pure apart from ``lookup``; the protocol layer feeds it the
request as received (raw path and query, header values as sent).
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from urllib.parse import quote

from byoi.aws import errors

ALGORITHM = "AWS4-HMAC-SHA256"
#: How far a request's date may be from the server's clock, either way (AWS: 5 minutes).
ALLOWED_SKEW = timedelta(minutes=5)
#: What S3 clients send to sign no body; byoi's JSON services refuse it (the body is always hashed).
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
_AMZ_DATE = re.compile(r"^\d{8}T\d{6}Z$")
_AMZ_DATE_FORMAT = "%Y%m%dT%H%M%SZ"

MISMATCH = (
    "The request signature we calculated does not match the signature you provided. "
    "Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
)
INVALID_TOKEN = "The security token included in the request is invalid."


@dataclass(frozen=True)
class Credential:
    """An access key byoi accepts; ``session_token`` is set only for temporary keys."""

    access_key_id: str
    secret_access_key: str
    session_token: str | None = None


@dataclass(frozen=True)
class Caller:
    """Who signed a verified request, and for which region and service."""

    access_key_id: str
    region: str
    service: str


@dataclass(frozen=True)
class SignedRequest:
    """A request as received: ``headers`` are (name, value) pairs, repeats allowed."""

    method: str
    raw_path: str
    raw_query: str
    headers: Sequence[tuple[str, str]]
    body: bytes

    @functools.cached_property
    def _by_name(self) -> dict[str, list[str]]:
        by_name: dict[str, list[str]] = {}
        for name, value in self.headers:
            by_name.setdefault(name.lower(), []).append(value)
        return by_name

    def values(self, name: str) -> list[str]:
        """Every value sent for header ``name`` (lower case), in order."""
        return self._by_name.get(name, [])

    def header(self, name: str) -> str | None:
        """All values of one header joined with ',', or None when it was not sent."""
        values = self.values(name)
        return ",".join(values) if values else None


@dataclass(frozen=True)
class _Authorization:
    access_key_id: str
    date: str
    region: str
    service: str
    terminator: str
    signed_headers: list[str]
    signature: str


def verify(request: SignedRequest, lookup: Callable[[str], Credential | None], now: datetime) -> Caller:
    """The caller of a correctly signed ``request``, or the AWS error for why it is not."""
    header = request.header("authorization")
    if header is None or not header.strip():
        raise errors.MissingAuthenticationTokenException("Missing Authentication Token")
    auth = _parse_authorization(header)
    timestamp = _request_time(request, header)
    t = timestamp  # (formatted by hand: strftime costs a tenth of the whole check)
    amz_date = f"{t.year:04d}{t.month:02d}{t.day:02d}T{t.hour:02d}{t.minute:02d}{t.second:02d}Z"
    if auth.date != amz_date[:8]:
        raise errors.InvalidSignatureException(
            f"Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: "
            f"'{auth.date}' != '{amz_date[:8]}', from '{amz_date}'."
        )
    if auth.terminator != "aws4_request":
        raise errors.InvalidSignatureException(
            f"Credential should be scoped with a valid terminator: 'aws4_request', not '{auth.terminator}'."
        )
    if "host" not in auth.signed_headers:
        raise errors.InvalidSignatureException("'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.")
    _check_skew(timestamp, now)
    credential = lookup(auth.access_key_id)
    if credential is None or request.header("x-amz-security-token") != credential.session_token:
        raise errors.UnrecognizedClientException(INVALID_TOKEN)
    canonical = canonical_request(request, auth.signed_headers)
    scope = f"{auth.date}/{auth.region}/{auth.service}/aws4_request"
    to_sign = "\n".join([ALGORITHM, amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()])
    key = signing_key(credential.secret_access_key, auth.date, auth.region, auth.service)
    expected = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, auth.signature):
        raise errors.InvalidSignatureException(MISMATCH)
    return Caller(auth.access_key_id, auth.region, auth.service)


def canonical_request(request: SignedRequest, signed_headers: list[str]) -> str:
    """SigV4's canonical request, built as botocore builds it for non-S3 services."""
    lines = [
        request.method.upper(),
        "/" if request.raw_path == "/" else quote(_remove_dot_segments(request.raw_path or "/"), safe="/~"),
        _canonical_query(request.raw_query),
    ]
    for name in signed_headers:
        lines.append(f"{name}:{','.join(' '.join(v.split()) for v in request.values(name))}")
    lines.append("")
    lines.append(";".join(signed_headers))
    lines.append(_payload_hash(request))
    return "\n".join(lines)


@functools.lru_cache(maxsize=1024)
def signing_key(secret: str, date: str, region: str, service: str) -> bytes:
    """The derived key kSigning = HMAC(HMAC(HMAC(HMAC("AWS4"+secret, date), region), service), "aws4_request")."""
    key = f"AWS4{secret}".encode()
    for part in (date, region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return key


def _parse_authorization(header: str) -> _Authorization:
    algorithm, _, rest = header.strip().partition(" ")
    if algorithm != ALGORITHM:
        raise errors.IncompleteSignatureException(
            f"Unsupported Authorization algorithm '{algorithm}': byoi accepts only {ALGORITHM} (Signature Version 4)."
        )
    fields: dict[str, str] = {}
    for part in rest.split(","):
        key, eq, value = part.strip().partition("=")
        if not eq:
            raise errors.IncompleteSignatureException(
                f"'{part.strip()}' not a valid key=value pair (missing equal-sign) in Authorization header: '{header}'."
            )
        fields[key] = value
    missing = [
        f"Authorization header requires '{name}' parameter."
        for name in ("Credential", "Signature", "SignedHeaders")
        if not fields.get(name)
    ]
    if missing:
        raise errors.IncompleteSignatureException(" ".join(missing) + f" Authorization={header}")
    scope = fields["Credential"].split("/")
    if len(scope) != 5 or not all(scope):
        raise errors.IncompleteSignatureException(
            f"Credential should have the form <access key id>/<YYYYMMDD>/<region>/<service>/aws4_request, "
            f"not '{fields['Credential']}'."
        )
    access_key_id, date, region, service, terminator = scope
    return _Authorization(
        access_key_id, date, region, service, terminator,
        [h.strip().lower() for h in fields["SignedHeaders"].split(";")],
        fields["Signature"].strip(),
    )


def _request_time(request: SignedRequest, header: str) -> datetime:
    amz_date = request.header("x-amz-date")
    if amz_date is not None:
        if not _AMZ_DATE.match(amz_date.strip()):
            raise errors.IncompleteSignatureException(
                f"Date must be in ISO-8601 'basic format'. Got '{amz_date}'. See http://en.wikipedia.org/wiki/ISO_8601"
            )
        d = amz_date.strip()
        try:  # (datetime.strptime costs more than the whole signature check)
            return datetime(int(d[:4]), int(d[4:6]), int(d[6:8]), int(d[9:11]), int(d[11:13]), int(d[13:15]), tzinfo=UTC)
        except ValueError:
            raise errors.IncompleteSignatureException(f"Date '{amz_date}' is not a valid date.") from None
    date = request.header("date")
    if date is not None:
        try:
            parsed = parsedate_to_datetime(date)
        except (TypeError, ValueError):
            parsed = None
        if parsed is not None and parsed.tzinfo is not None:
            return parsed.astimezone(UTC)
    raise errors.IncompleteSignatureException(
        f"Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. Authorization={header}"
    )


def _check_skew(timestamp: datetime, now: datetime) -> None:
    def fmt(moment: datetime) -> str:
        return moment.astimezone(UTC).strftime(_AMZ_DATE_FORMAT)

    if timestamp < now - ALLOWED_SKEW:
        raise errors.InvalidSignatureException(
            f"Signature expired: {fmt(timestamp)} is now earlier than {fmt(now - ALLOWED_SKEW)} ({fmt(now)} - 5 min.)"
        )
    if timestamp > now + ALLOWED_SKEW:
        raise errors.InvalidSignatureException(
            f"Signature not yet current: {fmt(timestamp)} is still later than {fmt(now + ALLOWED_SKEW)} ({fmt(now)} + 5 min.)"
        )


def _canonical_query(raw_query: str) -> str:
    if not raw_query:
        return ""
    pairs = [pair.partition("=") for pair in raw_query.split("&")]
    return "&".join(f"{key}={value}" for key, value in sorted((k, v) for k, _, v in pairs))


def _payload_hash(request: SignedRequest) -> str:
    """The body's SHA-256, always computed from the body, as AWS's JSON services do.

    An ``X-Amz-Content-Sha256`` header other than that hash (``UNSIGNED-PAYLOAD``
    and the streaming forms included) is refused: a signature must cover the
    body it arrived with, or a captured request could carry another body."""
    actual = hashlib.sha256(request.body).hexdigest()
    declared = request.header("x-amz-content-sha256")
    if declared is not None and declared != actual:
        raise errors.InvalidSignatureException(
            "The provided 'x-amz-content-sha256' header does not match what was computed."
        )
    return actual


def _remove_dot_segments(path: str) -> str:
    """RFC 3986 dot-segment removal, also collapsing repeated slashes (as AWS requires)."""
    output: list[str] = []
    for segment in path.split("/"):
        if segment in ("", "."):
            continue
        if segment == "..":
            if output:
                output.pop()
        else:
            output.append(segment)
    first = "/" if path.startswith("/") else ""
    last = "/" if path.endswith("/") and output else ""
    return first + "/".join(output) + last
