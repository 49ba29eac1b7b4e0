"""Cloud Control's error codes (its error shapes carry ``Message``)."""

from byoi.aws.errors import AwsError


class CloudControlError(AwsError):
    status = 400
    message_key = "Message"


class TypeNotFoundException(CloudControlError):
    code = "TypeNotFoundException"


class ResourceNotFoundException(CloudControlError):
    code = "ResourceNotFoundException"


class NotUpdatableException(CloudControlError):
    code = "NotUpdatableException"


class ClientTokenConflictException(CloudControlError):
    code = "ClientTokenConflictException"


class ConcurrentOperationException(CloudControlError):
    code = "ConcurrentOperationException"


class RequestTokenNotFoundException(CloudControlError):
    code = "RequestTokenNotFoundException"


class ConcurrentModificationException(CloudControlError):
    code = "ConcurrentModificationException"


class InvalidRequestException(CloudControlError):
    code = "InvalidRequestException"
