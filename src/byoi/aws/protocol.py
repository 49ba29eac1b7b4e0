"""The AWS JSON 1.0/1.1 wire protocol, as a Starlette endpoint.

A request is ``POST /`` with ``X-Amz-Target: <Prefix>.<Operation>`` and a JSON
body. ``JsonProtocolEndpoint`` finds the service by target prefix, the
operation in that service's botocore model, authenticates the request (when
an ``Authenticator`` is given: SigV4, ``byoi.auth.sigv4``), parses and
validates the body (``byoi.aws.validate``), calls the registered handler and
serializes its result from the output shape; all of that after reading the
body runs in one worker thread, off the event loop, except when the store
answers in microseconds (``inline``: SQLite on a local file) and the operation
touches nothing else (a read, when its service's ``reads_store_only``, or one
of the service's ``store_only`` writes): those run on the event loop itself,
because a hop to a thread and back costs more CPU (about 0.3 ms, measured with
benchmarks/api_throughput.py) than the work. SQLite readers never wait; writers wait only for another writer's short
transaction.

The body is read under a size limit (``max_body_bytes``, from
``BYOI_MAX_REQUEST_BYTES``: 413 ``RequestEntityTooLargeException``, checked as
it arrives, before authentication) and parsed under a nesting limit
(``byoi.aws.json_depth``: 400 ``SerializationException`` beyond 100 levels,
never a RecursionError). Every failure leaves as AWS's error form: the right
HTTP status, ``{"__type": ..., "message": ...}`` and an ``x-amzn-RequestId``
header. Nothing a client sends produces a bare 500 page: an unexpected
exception is logged and answered as ``InternalFailure``.
"""

from __future__ import annotations

import json
import logging
import os
import random
import re
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import anyio

from byoi.auth.sigv4 import Caller, SignedRequest
from byoi.aws import errors, json_depth
from byoi.aws.model import operation_model, service_model
from byoi.aws.serialize import serialize_output
from byoi.aws.validate import parse_input
from byoi.settings import DEFAULT_MAX_REQUEST_BYTES

log = logging.getLogger(__name__)

_CREDENTIAL_SCOPE = re.compile(r"Credential=[^/,\s]+/\d{8}/([a-z0-9-]+)/")


@dataclass(frozen=True)
class Scope:
    """Whose resources a request touches: names are unique per account and region."""

    account_id: str
    region: str


@dataclass(frozen=True)
class RequestContext:
    """What a handler knows about the request besides its parameters."""

    request_id: str
    scope: Scope


#: A handler takes the context and the validated parameters and returns the
#: output members (or None for an empty output). It runs in a worker thread.
Handler = Callable[[RequestContext, dict], "dict | None"]

#: Verifies a request's signature and returns its caller, or raises an AwsError.
Authenticator = Callable[[SignedRequest], Caller]


@dataclass
class JsonService:
    """One AWS service served over the JSON protocol."""

    target_prefix: str  # e.g. "SageMaker"
    model_name: str  # botocore service name, e.g. "sagemaker"
    handlers: Mapping[str, Handler] = field(default_factory=dict)
    #: Write operations whose handlers touch only the store (no Docker, network
    #: or image resolution, directly or through settling).
    store_only: frozenset[str] = frozenset()
    #: Whether this service's reads (Describe, List, Get, Filter) touch only the
    #: store, and so may run on the event loop like ``store_only`` writes. False
    #: for a service whose reads do other I/O (the CloudWatch Logs API reads whole
    #: log files): all its operations run in a worker thread.
    reads_store_only: bool = True


#: Operations that only read, by AWS's naming convention (every service byoi serves follows it).
READ_PREFIXES = ("Describe", "List", "Get", "Filter")


def is_read(target: str) -> bool:
    """Whether an ``X-Amz-Target`` names a read-only operation (by its verb)."""
    return target.rpartition(".")[2].startswith(READ_PREFIXES)


_request_ids = random.Random(os.urandom(32))


def new_request_id() -> str:
    """A random (version 4) UUID for ``x-amzn-RequestId``; unique, not secret, so no system call per request."""
    return str(uuid.UUID(int=_request_ids.getrandbits(128), version=4))


def _content_length(headers: list[tuple[bytes, bytes]]) -> int | None:
    """The request's Content-Length, or None when it has none (chunked) or it is not a number."""
    for name, value in headers:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def region_from_authorization(header: str | None) -> str | None:
    """The region in a SigV4 ``Authorization`` header's credential scope, if any."""
    if not header:
        return None
    match = _CREDENTIAL_SCOPE.search(header)
    return match.group(1) if match else None


class JsonProtocolEndpoint:
    """Serves any number of ``JsonService``s; ``asgi`` is the ASGI app for ``POST /``.

    With an ``authenticator``, every request must be signed for the service its
    target names, and its region is the signature's. Without one, nothing is
    checked and the region is read, unverified, from the credential scope.
    """

    def __init__(
        self,
        services: list[JsonService],
        account_id: str,
        default_region: str,
        authenticator: Authenticator | None = None,
        inline: bool = False,
        max_body_bytes: int = DEFAULT_MAX_REQUEST_BYTES,
        observe: Callable[[str, str, float, str | None], None] | None = None,
    ):
        self._services = {s.target_prefix: s for s in services}
        #: Told each call's (service, operation, seconds, error code or None); labels are bounded
        #: ("unknown" for a service or operation the models do not name).
        self._observe = observe
        self._max_body_bytes = max_body_bytes
        self._account_id = account_id
        self._default_region = default_region
        self._authenticator = authenticator
        self._inline = inline

    async def asgi(self, scope: dict, receive: Callable, send: Callable) -> None:
        """The endpoint as a bare ASGI app for ``POST /``: the hot path, without routing or middleware.

        A body over ``max_body_bytes`` is refused with 413 before anything else
        (authentication included): at once when its Content-Length says so,
        without reading it; else (chunked) as soon as what arrived passes the
        limit. The connection is then closed, so the rest is never read."""
        limit = self._max_body_bytes
        declared = _content_length(scope["headers"])
        if declared is not None and declared > limit:
            return await self._refuse_too_large(send, f"{declared} bytes")
        chunks = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                return await self._refuse_too_large(send, f"more than {limit} bytes")
            chunks.append(chunk)
            more = message.get("more_body", False)
        await self._respond(send, *await self._answer(scope, b"".join(chunks)))

    async def _refuse_too_large(self, send: Callable, size: str) -> None:
        exc = errors.RequestEntityTooLargeException(
            f"Request body of {size} exceeds the limit of {self._max_body_bytes} bytes (BYOI_MAX_REQUEST_BYTES)"
        )
        status, body, headers, content_type = self._error(exc, new_request_id(), "application/x-amz-json-1.1")
        await self._respond(send, status, body, {**headers, "connection": "close"}, content_type)

    @staticmethod
    async def _respond(send: Callable, status: int, body: str, headers: dict[str, str], content_type: str) -> None:
        encoded = body.encode()
        raw_headers = [(k.lower().encode(), v.encode()) for k, v in headers.items()]
        raw_headers += [(b"content-type", content_type.encode()), (b"content-length", str(len(encoded)).encode())]
        await send({"type": "http.response.start", "status": status, "headers": raw_headers})
        await send({"type": "http.response.body", "body": encoded})

    async def _answer(self, scope: dict, raw: bytes) -> tuple[int, str, dict[str, str], str]:
        signed = SignedRequest(
            method=scope["method"],
            raw_path=scope.get("raw_path", b"/").decode("latin-1"),
            raw_query=scope.get("query_string", b"").decode("latin-1"),
            headers=[(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"]],
            body=raw,
        )
        if self._inline and self._store_only(signed.header("x-amz-target") or ""):
            return self._process(signed, new_request_id())
        return await anyio.to_thread.run_sync(self._process, signed, new_request_id())

    def _store_only(self, target: str) -> bool:
        prefix, _, operation = target.rpartition(".")
        service = self._services.get(prefix)
        if service is None:
            return False
        return (service.reads_store_only and is_read(target)) or operation in service.store_only

    def _process(self, request: SignedRequest, request_id: str) -> tuple[int, str, dict[str, str], str]:
        """(status, body, headers, content type) of the answer to one request; never raises."""
        if self._observe is None:
            return self._answer_one(request, request_id)
        started = time.perf_counter()
        answer = self._answer_one(request, request_id)
        prefix, _, operation = (request.header("x-amz-target") or "").rpartition(".")
        service = self._services.get(prefix)
        if service is None:
            prefix = operation = "unknown"
        elif operation_model(service.model_name, operation) is None:
            operation = "unknown"
        code = None if answer[0] == 200 else answer[2].get("x-amzn-ErrorType", "unknown")
        self._observe(prefix, operation, time.perf_counter() - started, code)
        return answer

    def _answer_one(self, request: SignedRequest, request_id: str) -> tuple[int, str, dict[str, str], str]:
        content_type = "application/x-amz-json-1.1"
        try:
            caller = self._authenticator(request) if self._authenticator else None
            target = request.header("x-amz-target") or ""
            prefix, _, operation = target.rpartition(".")
            service = self._services.get(prefix)
            if service is None:
                raise errors.UnknownOperationException(
                    f"Unknown operation: X-Amz-Target {target!r} names no service byoi serves"
                )
            model = service_model(service.model_name)
            content_type = f"application/x-amz-json-{model.metadata['jsonVersion']}"
            if caller is not None and caller.service != model.signing_name:
                raise errors.InvalidSignatureException(
                    f"Credential should be scoped to correct service: '{model.signing_name}'. "
                )
            region = caller.region if caller else region_from_authorization(request.header("authorization"))
            ctx = RequestContext(request_id=request_id, scope=Scope(self._account_id, region or self._default_region))
            result = self._dispatch(service, operation, request.body, ctx)
            return 200, json.dumps(result, separators=(",", ":")), {"x-amzn-RequestId": request_id}, content_type
        except errors.AwsError as exc:
            return self._error(exc, request_id, content_type)
        except Exception:  # noqa: BLE001 - the last line of defence: never a bare 500
            log.exception("internal error handling request %s", request_id)
            exc = errors.InternalFailure(f"An internal error occurred (request {request_id}); see the server log")
            return self._error(exc, request_id, content_type)

    @staticmethod
    def _dispatch(service: JsonService, operation: str, raw: bytes, ctx: RequestContext) -> dict:
        op_model = operation_model(service.model_name, operation)
        if op_model is None:
            raise errors.UnknownOperationException(f"Unknown operation {operation!r} for service {service.target_prefix}")
        handler = service.handlers.get(operation)
        if handler is None:
            raise errors.NotImplementedOperation(
                f"{service.target_prefix}.{operation} is not implemented by byoi yet"
            )
        try:
            data = json_depth.loads(raw) if raw.strip() else {}
        except json_depth.TooDeep as exc:
            raise errors.SerializationException(f"Request body has {exc}") from None
        except ValueError as exc:  # UnicodeDecodeError, json.JSONDecodeError
            raise errors.SerializationException(f"Request body is not valid JSON: {exc}") from None
        params = parse_input(op_model.input_shape, data)
        return serialize_output(op_model.output_shape, handler(ctx, params))

    def call(self, target_prefix: str, operation: str, data: dict, scope: Scope) -> dict:
        """One operation called in-process (byoi's own pages act through the API this way, with
        its validation and errors): ``data`` as a client would send it, the output as a client
        would get it. Raises the operation's ``AwsError``. Blocks: call from a worker thread."""
        service = self._services.get(target_prefix)
        if service is None:
            raise errors.UnknownOperationException(f"byoi serves no service {target_prefix}")
        ctx = RequestContext(request_id=new_request_id(), scope=scope)
        return self._dispatch(service, operation, json.dumps(data).encode(), ctx)

    @staticmethod
    def _error(exc: errors.AwsError, request_id: str, content_type: str) -> tuple[int, str, dict[str, str], str]:
        body = json.dumps(exc.body(), separators=(",", ":"))
        headers = {"x-amzn-RequestId": request_id, "x-amzn-ErrorType": exc.code}
        return exc.status, body, headers, content_type
