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
