"""Carries out Cloud Control requests and follows them to a final state.

Each pass (see ``byoi.services.settling``):

* PENDING requests that have waited ``transition_seconds`` are claimed
  (-> IN_PROGRESS), validated against the resource schema and executed through
  the resource handler; a failure ends them FAILED with a HandlerErrorCode;
* IN_PROGRESS requests whose operation ran are checked for stabilization: the
  resource CREATED (or gone, for a delete) ends them SUCCESS with the resource
  model; a resource that failed ends them FAILED (NotStabilized);
* CANCEL_IN_PROGRESS requests become CANCEL_COMPLETE (an operation that already
  ran is not undone; a PENDING one never runs).

``RequestFollower`` (a background settler) keeps following requests whose
resource settles later, in a background settler of its own (an app the
runtime starts).

Claims and endings are compare-and-set on the request's status, so several
threads or processes can share the work.
"""

from __future__ import annotations

import json
import logging

from byoi.aws.errors import (
    AwsError,
    ResourceInUse,
    ResourceLimitExceeded,
    ResourceNotFound,
    SerializationException,
    ValidationException,
)
from byoi.aws.protocol import Scope
from byoi.clock import Clock
from byoi.cloudcontrol.requests import (
    CANCEL_COMPLETE,
    CANCEL_IN_PROGRESS,
    FAILED,
    IN_PROGRESS,
    PENDING,
    SUCCESS,
    CloudControlService,
)
from byoi.cloudcontrol.resources import Readiness
from byoi.store.database import Database
from byoi.store.resource_requests import REQUEST_BY_TOKEN, request_transitions
from byoi.store.transitions import PROCESS_LEASE, Lease, soonest

log = logging.getLogger(__name__)

#: How often settling requests are re-checked while their resource settles.
POLL_SECONDS = 0.25
#: A claimed request whose operation has not run after this long was cut off by a restart.
ABANDONED_MS = 60_000
PURGE_EVERY_MS = 60_000


class HandlerFailure(Exception):
    """A request ends FAILED with this HandlerErrorCode and message."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


def handler_error_code(exc: AwsError, operation: str) -> str:
    """The HandlerErrorCode Cloud Control reports for a SageMaker error."""
    if isinstance(exc, ResourceInUse):
        return "AlreadyExists" if operation == "CREATE" else "ResourceConflict"
    if isinstance(exc, ResourceNotFound):
        return "NotFound"
    if isinstance(exc, ResourceLimitExceeded):
        return "ServiceLimitExceeded"
    if isinstance(exc, (ValidationException, SerializationException)):
        return "InvalidRequest"
    return "GeneralServiceException"


class RequestSettler:
    kind = "resource-requests"

    def __init__(self, db: Database, clock: Clock, requests: CloudControlService, transition_seconds: float,
                 lease: Lease = PROCESS_LEASE):
        self._db = db
        self._clock = clock
        self._requests = requests
        # A PENDING request is due once it has waited the delay; the others are followed at once.
        self._pending = request_transitions(db, (PENDING,), transition_seconds, lease)
        self._claimed = request_transitions(db, (IN_PROGRESS, CANCEL_IN_PROGRESS), lease=lease)
        self._last_purge = 0

    def settle_due(self) -> float | None:
        now = self._clock.now_ms()
        if now - self._last_purge > PURGE_EVERY_MS:
            self._last_purge = now
            self._requests.purge_expired()
        pending, claimed = self._pending.scan(now), self._claimed.scan(now)
        following = False
        for row in claimed.due:
            if row.status == CANCEL_IN_PROGRESS:
                self._end(row.key, CANCEL_IN_PROGRESS, CANCEL_COMPLETE)
            else:
                following |= self._follow(row.key)
        for row in pending.due:
            self._execute(row.key)
            following |= self._follow(row.key)
        return soonest(pending.next_in, POLL_SECONDS if following else None)

    # --- steps ----------------------------------------------------------------

    def follow_due(self) -> float | None:
        """Follow the requests whose operation ran and whose resource still settles (an app
        starting, a domain deleting); seconds until the next look, or None. ``RequestFollower``
        runs this in the background, where nothing waits on it."""
        claimed = self._claimed.scan(self._clock.now_ms())
        following = False
        for row in claimed.due:
            if row.status == IN_PROGRESS:
                following |= self._follow(row.key)
        return POLL_SECONDS if following else None

    def _execute(self, token: str) -> None:
        if not self._pending.advance(token, PENDING, status=IN_PROGRESS, event_ms=self._clock.now_ms()):
            return
        row = self._request(token)
        scope = Scope(row.account_id, row.region)
        handler = self._requests.handler(row.type_name)
        try:
            identifier = self._run(handler, scope, row)
        except HandlerFailure as failure:
            self._end(token, IN_PROGRESS, FAILED, error_code=failure.code, status_message=failure.message)
            return
        except AwsError as exc:
            code = handler_error_code(exc, row.operation)
            self._end(token, IN_PROGRESS, FAILED, error_code=code, status_message=exc.message)
            return
        except Exception as exc:  # noqa: BLE001 - a bug fails the request, not byoi
            log.exception("Cloud Control request %s failed", token)
            self._end(token, IN_PROGRESS, FAILED, error_code="InternalFailure", status_message=f"Internal failure: {exc}")
            return
        # (a fact about the operation, kept even if the request was cancelled meanwhile)
        self._claimed.record(token, identifier=identifier, executed=True, event_ms=self._clock.now_ms())

    def _request(self, token: str):
        """Request ``token`` as a row (None once purged)."""
        with self._db.raw_read() as tx:
            return REQUEST_BY_TOKEN.row(tx, request_token=token)

    def _run(self, handler, scope: Scope, row) -> str:
        if row.operation == "DELETE":
            if handler.read(scope, row.identifier) is None:
                raise HandlerFailure("NotFound", self._requests.not_found(row.type_name, row.identifier).message)
            handler.delete(scope, row.identifier)
            return row.identifier
        desired = json.loads(row.desired_state)
        problems = handler.schema.errors(desired)
        if problems:
            raise HandlerFailure("InvalidRequest", "Model validation failed (" + "; ".join(problems) + ")")
        writable = {k: v for k, v in desired.items() if k not in handler.schema.read_only}
        if row.operation == "CREATE":
            return handler.create(scope, writable, row.request_token)
        previous = handler.read(scope, row.identifier)
        if previous is None:
            raise HandlerFailure("NotFound", self._requests.not_found(row.type_name, row.identifier).message)
        handler.update(scope, row.identifier, previous, writable)
        return row.identifier

    def _follow(self, token: str) -> bool:
        """Check an executed request's resource; True while it is still settling."""
        row = self._request(token)
        if row is None or row.status != IN_PROGRESS:
            return False
        if not row.executed:
            if self._clock.now_ms() - row.event_ms > ABANDONED_MS:
                message = "byoi restarted while this request was being carried out; check the resource and retry"
                self._end(token, IN_PROGRESS, FAILED, error_code="InternalFailure", status_message=message)
                return False
            return True
        scope = Scope(row.account_id, row.region)
        handler = self._requests.handler(row.type_name)
        state = handler.state(scope, row.identifier)
        if row.operation == "DELETE":
            if state.readiness is Readiness.GONE:
                self._end(token, IN_PROGRESS, SUCCESS)
                return False
        elif state.readiness is Readiness.READY:
            model = handler.schema.readable(handler.read(scope, row.identifier) or {})
            self._end(token, IN_PROGRESS, SUCCESS, resource_model=json.dumps(model))
            return False
        elif state.readiness is Readiness.GONE:
            self._end(token, IN_PROGRESS, FAILED, error_code="NotFound", status_message="The resource disappeared")
            return False
        if state.readiness is Readiness.FAILED:
            self._end(token, IN_PROGRESS, FAILED, error_code="NotStabilized", status_message=state.reason)
            return False
        return True

    def _end(self, token: str, expected: str, new: str, **fields) -> None:
        self._claimed.advance(token, expected, status=new, event_ms=self._clock.now_ms(), **fields)


class RequestFollower:
    """The background half of ``RequestSettler``: follows executed requests until their
    resource settles. API calls carry out requests and follow them while they wait
    (``Settling.changed``), but a resource that settles later, in a background settler
    (apps, started by the runtime), is followed here."""

    kind = "resource-requests"

    def __init__(self, settler: RequestSettler):
        self._settler = settler

    def settle_due(self) -> float | None:
        return self._settler.follow_due()
