"""The AWS JSON 1.0/1.1 wire protocol, as a Starlette endpoint.

A request is ``POST /`` with ``X-Amz-Target: <Prefix>.<Operation>`` and a JSON
body. ``JsonProtocolEndpoint`` finds the service by target prefix, the
operation in that service's botocore model, parses and validates the body
(``byoi.aws.validate``), calls the registered handler off the event loop, and
serializes its result from the output shape. Every failure leaves as AWS's
error form: the right HTTP status, ``{"__type": ..., "message": ...}`` and an
``x-amzn-RequestId`` header. Nothing a client sends produces a bare 500 page:
an unexpected exception is logged and answered as ``InternalFailure``.
"""

from __future__ import annotations

import json
import logging
import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import anyio
from starlette.requests import Request
from starlette.responses import Response

from byoi.aws import errors
from byoi.aws.model import operation_model, service_model
from byoi.aws.serialize import serialize_output
from byoi.aws.validate import parse_input

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


@dataclass
class JsonService:
    """One AWS service served over the JSON protocol."""

    target_prefix: str  # e.g. "SageMaker"
    model_name: str  # botocore service name, e.g. "sagemaker"
    handlers: Mapping[str, Handler] = field(default_factory=dict)


def region_from_authorization(header: str | None) -> str | None:
    """The region in a SigV4 ``Authorization`` header's credential scope, if any."""
    if not header:
        return None
    match = _CREDENTIAL_SCOPE.search(header)
    return match.group(1) if match else None


class JsonProtocolEndpoint:
    """Serves any number of ``JsonService``s; mount ``handle`` as the ``POST /`` route."""

    def __init__(self, services: list[JsonService], account_id: str, default_region: str):
        self._services = {s.target_prefix: s for s in services}
        self._account_id = account_id
        self._default_region = default_region

    async def handle(self, request: Request) -> Response:
        request_id = str(uuid.uuid4())
        content_type = "application/x-amz-json-1.1"
        try:
            target = request.headers.get("x-amz-target", "")
            prefix, _, operation = target.rpartition(".")
            service = self._services.get(prefix)
            if service is None:
                raise errors.UnknownOperationException(
                    f"Unknown operation: X-Amz-Target {target!r} names no service byoi serves"
                )
            content_type = f"application/x-amz-json-{service_model(service.model_name).metadata['jsonVersion']}"
            result = await self._dispatch(service, operation, request, request_id)
            body = json.dumps(result, separators=(",", ":"))
            return Response(body, 200, headers={"x-amzn-RequestId": request_id}, media_type=content_type)
        except errors.AwsError as exc:
            return self._error(exc, request_id, content_type)
        except Exception:  # noqa: BLE001 - the last line of defence: never a bare 500
            log.exception("internal error handling request %s", request_id)
            exc = errors.InternalFailure(f"An internal error occurred (request {request_id}); see the server log")
            return self._error(exc, request_id, content_type)

    async def _dispatch(self, service: JsonService, operation: str, request: Request, request_id: str) -> dict:
        op_model = operation_model(service.model_name, operation)
        if op_model is None:
            raise errors.UnknownOperationException(f"Unknown operation {operation!r} for service {service.target_prefix}")
        handler = service.handlers.get(operation)
        if handler is None:
            raise errors.NotImplementedOperation(
                f"{service.target_prefix}.{operation} is not implemented by byoi yet"
            )
        raw = await request.body()
        try:
            data = json.loads(raw) if raw.strip() else {}
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise errors.SerializationException(f"Request body is not valid JSON: {exc}") from None
        params = parse_input(op_model.input_shape, data)
        region = region_from_authorization(request.headers.get("authorization")) or self._default_region
        ctx = RequestContext(request_id=request_id, scope=Scope(self._account_id, region))
        result = await anyio.to_thread.run_sync(handler, ctx, params)
        return serialize_output(op_model.output_shape, result)

    @staticmethod
    def _error(exc: errors.AwsError, request_id: str, content_type: str) -> Response:
        body = json.dumps(exc.body(), separators=(",", ":"))
        headers = {"x-amzn-RequestId": request_id, "x-amzn-ErrorType": exc.code}
        return Response(body, exc.status, headers=headers, media_type=content_type)
