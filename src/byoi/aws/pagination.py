"""Opaque NextToken values for keyset pagination.

A token records the sort key of the last item returned and the sort it was
made for, so the next page starts strictly after it however many items are
created or deleted in between (no offsets: page cost does not grow with
depth). A token that was altered, or is replayed under another sort, is a
``ValidationException``, as AWS answers for a bad NextToken.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from byoi.aws import json_depth
from byoi.aws.errors import ValidationException


def encode_token(sort: str, last_key: list[Any]) -> str:
    """A NextToken that resumes after ``last_key`` under the sort named ``sort``."""
    raw = json.dumps({"s": sort, "k": last_key}, separators=(",", ":")).encode()
    return base64.b64encode(raw).decode("ascii")


def decode_token(token: str, sort: str, arity: int) -> list[Any]:
    """The key a token resumes after; ValidationException unless it was made for ``sort``."""
    try:
        data = json_depth.loads(base64.b64decode(token.encode("ascii"), validate=True))  # (never a RecursionError)
    except (UnicodeEncodeError, binascii.Error, ValueError):
        raise ValidationException("Invalid pagination token: NextToken was not issued by this service") from None
    key = data.get("k") if isinstance(data, dict) else None
    if not isinstance(key, list) or len(key) != arity or not all(isinstance(k, (str, int)) for k in key):
        raise ValidationException("Invalid pagination token: NextToken was not issued by this service")
    if data.get("s") != sort:
        raise ValidationException("Invalid pagination token: it was issued for a different request")
    return key
