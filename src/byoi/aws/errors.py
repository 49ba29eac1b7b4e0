"""AWS-shaped errors: one class per error code, with its code and HTTP status.

Raise these anywhere below the protocol layer; ``byoi.aws.protocol`` turns
them into the JSON body AWS sends (``{"__type": code, "message": ...}``).
"""

from __future__ import annotations


class AwsError(Exception):
    """Base class. ``code`` is the wire ``__type``; ``status`` the HTTP status."""

    code = "InternalFailure"
    status = 500
    #: Key of the message in the body. SageMaker's modeled errors use
    #: ``Message``; Coral's framework errors use ``message``.
    message_key = "message"

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message

    def body(self) -> dict:
        return {"__type": self.code, self.message_key: self.message}


# --- framework errors, common to every JSON service -------------------------


class ValidationException(AwsError):
    code = "ValidationException"
    status = 400


class SerializationException(AwsError):
    code = "SerializationException"
    status = 400


class RequestEntityTooLargeException(AwsError):
    """A request body over ``BYOI_MAX_REQUEST_BYTES``, refused as it arrives (before authentication)."""

    code = "RequestEntityTooLargeException"
    status = 413


class UnknownOperationException(AwsError):
    code = "UnknownOperationException"
    status = 400


class NotImplementedOperation(AwsError):
    """An operation the service model has but byoi does not implement yet."""

    code = "NotImplemented"
    status = 501


class InternalFailure(AwsError):
    code = "InternalFailure"
    status = 500


# --- authentication errors (AWS's front door, before any operation runs) -----
# JSON-protocol services answer these with HTTP 400 and a ``message`` member.


class MissingAuthenticationTokenException(AwsError):
    """The request carries no SigV4 ``Authorization`` header at all."""

    code = "MissingAuthenticationTokenException"
    status = 400


class IncompleteSignatureException(AwsError):
    """An ``Authorization`` header (or its date) that is not a well-formed SigV4 signature."""

    code = "IncompleteSignatureException"
    status = 400


class InvalidSignatureException(AwsError):
    """A well-formed signature that does not verify: wrong secret, expired, wrong scope."""

    code = "InvalidSignatureException"
    status = 400


class UnrecognizedClientException(AwsError):
    """An access key id (or session token) that byoi does not know."""

    code = "UnrecognizedClientException"
    status = 400


# --- SageMaker's modeled errors ---------------------------------------------


class ResourceNotFound(AwsError):
    code = "ResourceNotFound"
    status = 400
    message_key = "Message"


class ResourceInUse(AwsError):
    code = "ResourceInUse"
    status = 400
    message_key = "Message"


class ResourceLimitExceeded(AwsError):
    code = "ResourceLimitExceeded"
    status = 400
    message_key = "Message"
