"""Cloud Control resource requests: submission, idempotency, status and listing.

Create, Update and Delete are *requests*: each is recorded PENDING with a new
RequestToken and carried out by ``RequestSettler`` (``settler.py``), whose
ProgressEvents move PENDING -> IN_PROGRESS -> SUCCESS or FAILED. What AWS
refuses synchronously is refused here before anything is recorded:

* an unknown type (``TypeNotFoundException``);
* a ``ClientToken`` used in the last 36 hours for a *different* request
  (``ClientTokenConflictException``); the same request again returns the
  original request's progress instead of doing anything twice;
* an operation on a resource that already has one in flight
  (``ConcurrentOperationException``);
* for updates: a resource that does not exist (``ResourceNotFoundException``),
  a PatchDocument that is not RFC 6902 or does not apply, and patches touching
  create-only or read-only properties (``NotUpdatableException``; a nested
  create-only property counts as touched when its value would change).

An identifier is the primary identifier as a string (a compound one's values
joined with ``|``) or as a JSON object of the primary identifier's properties.
ListResources reads one keyset page (the resource handlers' ``list``); a child
type needs its parent's identifier in ResourceModel (``InvalidRequestException``
as AWS words it).

Request records are kept 7 days; after that their tokens are not found.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass

import jsonpatch

from byoi.app_settings import value_at
from byoi.aws import json_depth
from byoi.aws.errors import ValidationException
from byoi.aws.protocol import Scope
from byoi.clock import Clock
from byoi.cloudcontrol.errors import (
    ClientTokenConflictException,
    ConcurrentModificationException,
    ConcurrentOperationException,
    InvalidRequestException,
    NotUpdatableException,
    RequestTokenNotFoundException,
    ResourceNotFoundException,
    TypeNotFoundException,
)
from byoi.services.settling import Settling
from byoi.store.database import Database
from byoi.store.raw import Transaction
from byoi.store.resource_requests import (
    REQUEST_BY_TOKEN,
    delete_requests_created_before,
    insert_request,
    latest_request_with_client_token,
    request_page,
    request_token_in_states,
    update_request,
)

PENDING, IN_PROGRESS, SUCCESS, FAILED = "PENDING", "IN_PROGRESS", "SUCCESS", "FAILED"
CANCEL_IN_PROGRESS, CANCEL_COMPLETE = "CANCEL_IN_PROGRESS", "CANCEL_COMPLETE"
ACTIVE = (PENDING, IN_PROGRESS, CANCEL_IN_PROGRESS)

CLIENT_TOKEN_TTL_MS = 36 * 3600 * 1000
REQUEST_TTL_MS = 7 * 24 * 3600 * 1000


def progress_event(row) -> dict:
    """The ProgressEvent of a request (a row of the resource_requests table), as the API returns it."""
    return {
        "TypeName": row.type_name,
        "Identifier": row.identifier,
        "RequestToken": row.request_token,
        "Operation": row.operation,
        "OperationStatus": row.status,
        "EventTime": row.event_ms,
        "ResourceModel": row.resource_model,
        "StatusMessage": row.status_message,
        "ErrorCode": row.error_code,
    }


def parse_json_object(text: str, member: str) -> dict:
    try:
        value = json_depth.loads(text)
    except json_depth.TooDeep as exc:
        raise ValidationException(f"{member} has {exc}") from None
    except json.JSONDecodeError as exc:
        raise ValidationException(f"{member} is not valid JSON: {exc}") from None
    if not isinstance(value, dict):
        raise ValidationException(f"{member} must be a JSON object")
    return value


def patch_paths(patch: list) -> list[str]:
    """The paths a patch writes to (``test`` writes nothing; ``move`` also removes ``from``)."""
    paths = []
    for op in patch:
        if op.get("op") != "test":
            paths.append(op.get("path", ""))
        if op.get("op") == "move":
            paths.append(op.get("from", ""))
    return paths


@dataclass
class ResourceDescription:
    identifier: str
    properties: str


class CloudControlService:
    def __init__(self, db: Database, clock: Clock, settling: Settling, types: dict):
        self._db = db
        self._clock = clock
        self._settling = settling
        self._types = types

    def handler(self, type_name: str):
        handler = self._types.get(type_name)
        if handler is None:
            raise TypeNotFoundException(
                f"The type {type_name} cannot be found; byoi serves {', '.join(sorted(self._types))}"
            )
        return handler

    # --- requests -------------------------------------------------------------

    def create(self, scope: Scope, type_name: str, desired_state: str, client_token: str) -> dict:
        handler = self.handler(type_name)
        model = parse_json_object(desired_state, "DesiredState")
        identifier = handler.planned_identifier(scope, model)
        return self._submit(scope, type_name, "CREATE", identifier, desired_state, client_token, [desired_state])

    @staticmethod
    def identifier(handler, identifier: str) -> str:
        """The primary identifier, as a string, that ``identifier`` (a string or a JSON object) gives."""
        if not identifier.lstrip().startswith("{"):
            return identifier
        try:
            given = json_depth.loads(identifier)
        except (json_depth.TooDeep, json.JSONDecodeError):
            given = None
        names = handler.schema.identifier_properties
        if not isinstance(given, dict) or set(given) != set(names) or not all(isinstance(given[n], str) for n in names):
            raise ValidationException(
                f"Identifier {identifier} is not a primary identifier of {handler.schema.type_name}: "
                f"give {handler.schema.primary_identifier} as a string or a JSON object of {', '.join(names)}"
            )
        return handler.schema.identifier_of(given)

    def update(self, scope: Scope, type_name: str, identifier: str, patch_document: str, client_token: str) -> dict:
        handler = self.handler(type_name)
        identifier = self.identifier(handler, identifier)
        try:
            json_depth.check_depth(patch_document)  # (TooDeep is a ValueError; json's RecursionError would be a 500)
            patch = jsonpatch.JsonPatch.from_string(patch_document)
        except (jsonpatch.InvalidJsonPatch, ValueError) as exc:
            raise ValidationException(f"PatchDocument is not an RFC 6902 JSON Patch: {exc}") from None
        if not isinstance(patch.patch, list) or not all(isinstance(op, dict) for op in patch.patch):
            raise ValidationException("PatchDocument must be a JSON array of operations")
        self._check_updatable(handler, patch.patch)
        current = handler.read(scope, identifier)
        if current is None:
            raise self.not_found(type_name, identifier)
        try:
            desired = patch.apply(current)  # works on a copy: all operations apply, or none
        except (jsonpatch.JsonPatchException, jsonpatch.JsonPointerException) as exc:
            raise ValidationException(f"PatchDocument does not apply to the resource: {exc}") from None
        self._check_nested(handler, current, desired)
        return self._submit(
            scope, type_name, "UPDATE", identifier, json.dumps(desired), client_token, [identifier, patch_document]
        )

    def delete(self, scope: Scope, type_name: str, identifier: str, client_token: str) -> dict:
        identifier = self.identifier(self.handler(type_name), identifier)
        return self._submit(scope, type_name, "DELETE", identifier, None, client_token, [identifier])

    @staticmethod
    def _check_updatable(handler, patch: list) -> None:
        for kind, names in (("createOnlyProperties", handler.schema.create_only), ("readOnlyProperties", handler.schema.read_only)):
            hits = sorted({p for p in patch_paths(patch) if p.split("/")[1:2] and p.split("/")[1] in names})
            if hits:
                listed = ", ".join(f"/properties{p}" for p in hits)
                raise NotUpdatableException(f"Invalid patch update: {kind} [{listed}] cannot be updated")

    @staticmethod
    def _check_nested(handler, current: dict, desired: dict) -> None:
        """Create-only properties inside others (such as a domain's
        DomainSettings/RStudioServerProDomainSettings/DefaultResourceSpec) keep their values."""
        hits = [p for p in handler.schema.create_only_nested if value_at(current, *p) != value_at(desired, *p)]
        if hits:
            listed = ", ".join("/properties/" + "/".join(p) for p in hits)
            raise NotUpdatableException(f"Invalid patch update: createOnlyProperties [{listed}] cannot be updated")

    def _submit(
        self,
        scope: Scope,
        type_name: str,
        operation: str,
        identifier: str | None,
        desired_state: str | None,
        client_token: str,
        material: list,
    ) -> dict:
        digest = hashlib.sha256(json.dumps([operation, type_name, *material]).encode()).hexdigest()
        now = self._clock.now_ms()
        with self._db.raw_write() as tx:
            # Replicas on one database: the same ClientToken (or operations on one resource) sent
            # to two of them at once must not both find "no earlier request" and both insert one.
            tx.serialize(f"cloudcontrol:{scope.account_id}:{scope.region}:token:{client_token}")
            if identifier is not None:
                tx.serialize(f"cloudcontrol:{scope.account_id}:{scope.region}:{type_name}:{identifier}")
            earlier = latest_request_with_client_token(
                tx, scope.account_id, scope.region, client_token, now - CLIENT_TOKEN_TTL_MS
            )
            if earlier is not None:
                if earlier.request_hash != digest:
                    raise ClientTokenConflictException(
                        f"ClientToken {client_token} was already used for a different request "
                        f"(RequestToken {earlier.request_token}) in the last 36 hours"
                    )
                return progress_event(earlier)
            if identifier is not None:
                busy = request_token_in_states(tx, scope.account_id, scope.region, type_name, identifier, ACTIVE)
                if busy is not None:
                    raise ConcurrentOperationException(
                        f"Another resource operation (RequestToken {busy}) is in progress on {type_name} {identifier}"
                    )
            token = str(uuid.uuid4())
            insert_request(
                tx,
                request_token=token,
                account_id=scope.account_id,
                region=scope.region,
                client_token=client_token,
                request_hash=digest,
                type_name=type_name,
                operation=operation,
                status=PENDING,
                identifier=identifier,
                desired_state=desired_state,
                executed=False,
                created_ms=now,
                event_ms=now,
            )
        self._settling.changed("resource-requests")
        return self.status(scope, token)

    # --- reads ----------------------------------------------------------------

    @staticmethod
    def not_found(type_name: str, identifier: str) -> ResourceNotFoundException:
        return ResourceNotFoundException(f"Resource of type '{type_name}' with identifier '{identifier}' was not found.")

    def get(self, scope: Scope, type_name: str, identifier: str) -> ResourceDescription:
        handler = self.handler(type_name)
        identifier = self.identifier(handler, identifier)
        model = handler.read(scope, identifier)
        if model is None:
            raise self.not_found(type_name, identifier)
        return ResourceDescription(identifier, json.dumps(handler.schema.readable(model)))

    def list(
        self, scope: Scope, type_name: str, resource_model: str | None, max_results: int, next_token: str | None
    ) -> tuple[list[ResourceDescription], str | None]:
        """One page of resources, oldest first; only that page's models are built."""
        handler = self.handler(type_name)
        filter_model = parse_json_object(resource_model, "ResourceModel") if resource_model else {}
        missing = [n for n in handler.list_requires if not isinstance(filter_model.get(n), str) or not filter_model[n]]
        missing += [n for n in handler.list_filters if n in filter_model and not isinstance(filter_model[n], str)]
        if missing:
            raise InvalidRequestException(
                f"Missing Or Invalid ResourceModel property in {type_name} list handler request input. "
                f"Required property: [{', '.join(missing)}]"
            )
        page = handler.list(scope, filter_model, max_results, next_token)
        return [ResourceDescription(i, json.dumps(handler.schema.readable(m))) for i, m in page.items], page.next_token

    def _live_request(self, tx: Transaction, scope: Scope, token: str):
        """Request ``token`` of ``scope`` as a row, unless expired; else RequestTokenNotFound."""
        row = REQUEST_BY_TOKEN.row(tx, request_token=token)
        if (
            row is None
            or (row.account_id, row.region) != (scope.account_id, scope.region)
            or row.created_ms < self._clock.now_ms() - REQUEST_TTL_MS
        ):
            raise RequestTokenNotFoundException(f"Request token {token} was not found")
        return row

    def status(self, scope: Scope, token: str) -> dict:
        with self._db.raw_read() as tx:
            return progress_event(self._live_request(tx, scope, token))

    def list_requests(
        self, scope: Scope, operations: list[str] | None, statuses: list[str] | None, max_results: int, next_token: str | None
    ) -> tuple[list[dict], str | None]:
        """Requests of the last 7 days, newest first, optionally filtered."""
        since_ms = self._clock.now_ms() - REQUEST_TTL_MS
        with self._db.raw_read() as tx:
            page = request_page(
                tx, scope.account_id, scope.region, since_ms, operations or (), statuses or (), max_results, next_token
            )
        return [progress_event(r) for r in page.items], page.next_token

    def cancel(self, scope: Scope, token: str) -> dict:
        with self._db.raw_write() as tx:
            row = self._live_request(tx, scope, token)
            if row.status not in (PENDING, IN_PROGRESS):
                raise ConcurrentModificationException(
                    f"Request {token} is {row.status}; only PENDING or IN_PROGRESS requests can be cancelled"
                )
            changes = {"status": CANCEL_IN_PROGRESS, "event_ms": self._clock.now_ms()}
            update_request(tx, token, **changes)
            event = progress_event(row._replace(**changes))
        self._settling.changed("resource-requests")
        return event

    def purge_expired(self) -> None:
        """Forget requests older than 7 days."""
        with self._db.raw_write() as tx:
            delete_requests_created_before(tx, self._clock.now_ms() - REQUEST_TTL_MS)
