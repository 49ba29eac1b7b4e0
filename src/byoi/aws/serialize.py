"""Serialize handler results to the JSON an AWS JSON-protocol service sends.

``serialize_output(shape, data)`` keeps only members the output shape declares
(so an internal field can never leak onto the wire), drops ``None``, and
converts timestamps to epoch seconds with millisecond precision, as AWS does.
"""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Any

from botocore.model import Shape


def epoch_seconds(value: datetime | int | float) -> float:
    """A ``datetime`` (or epoch milliseconds as ``int``) as epoch seconds, ms precision."""
    if isinstance(value, datetime):
        return round(value.timestamp(), 3)
    if isinstance(value, int):
        return value / 1000
    return round(float(value), 3)


def serialize_output(shape: Shape | None, data: dict | None) -> dict:
    """The response body for ``data`` under ``shape`` (``{}`` for no output)."""
    if shape is None or not data:
        return {}
    return _serialize(shape, data)


#: Shapes whose JSON is the value itself.
_AS_IS = frozenset({"string", "integer", "long", "boolean", "float", "double"})


def _serialize(shape: Shape, value: Any) -> Any:
    kind = shape.type_name
    if kind == "structure":
        members = shape.members
        out = {}
        for name, item in value.items():  # (JSON objects are unordered: the handler's order will do)
            member = members.get(name)
            if member is not None and item is not None:
                out[name] = item if member.type_name in _AS_IS else _serialize(member, item)
        return out
    if kind == "list":
        return [_serialize(shape.member, item) for item in value]
    if kind == "map":
        return {key: _serialize(shape.value, item) for key, item in value.items()}
    if kind == "timestamp":
        return epoch_seconds(value)
    if kind == "blob":
        return base64.b64encode(value).decode("ascii")
    return value
