"""Generic input parsing and validation against a botocore input shape.

``parse_input(shape, data)`` walks the decoded JSON request body alongside the
shape and returns the same structure with wire types converted (timestamps to
aware ``datetime``, blobs to ``bytes``). It enforces, for every member at any
depth, exactly what the model declares:

* JSON type mismatches -> ``SerializationException`` (as Coral does);
* required members, string/list/map length (``min``/``max``), numeric ranges,
  enums and patterns -> one ``ValidationException`` listing every violation in
  AWS's own words::

      1 validation error detected: Value 'x!' at 'appImageConfigName' failed to
      satisfy constraint: Member must satisfy regular expression pattern: ...

Patterns are Java regular expressions applied as a *full match*; the ``regex``
module understands their ``\\p{L}``-style classes. Members the shape does not
declare are ignored, as AWS ignores them.
"""

from __future__ import annotations

import base64
import binascii
import math
from datetime import datetime, timezone
from functools import lru_cache
from typing import Any

import regex
from botocore.model import Shape

from byoi.aws.errors import SerializationException, ValidationException

_SURROGATE_PAIR = regex.compile(r"\\u(D[89AB][0-9A-F]{2})\\u(D[C-F][0-9A-F]{2})", regex.IGNORECASE)


def java_to_python_pattern(pattern: str) -> str:
    """Java regexes write supplementary characters as UTF-16 surrogate pairs
    (``\\uD800\\uDC00``); Python strings hold code points, so rewrite each pair
    as the one code point it encodes (``\\U00010000``)."""

    def code_point(match: regex.Match) -> str:
        high, low = int(match.group(1), 16), int(match.group(2), 16)
        return f"\\U{0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00):08X}"

    return _SURROGATE_PAIR.sub(code_point, pattern)


@lru_cache(maxsize=None)
def compiled_pattern(pattern: str) -> regex.Pattern:
    """Compile a model pattern once; matching is done with ``fullmatch``."""
    return regex.compile(java_to_python_pattern(pattern))


def member_path(parent: str, name: str) -> str:
    """AWS names members in messages lowerCamelCase: ``kernelGatewayImageConfig.kernelSpecs``."""
    local = name[:1].lower() + name[1:]
    return f"{parent}.{local}" if parent else local


def render_value(value: Any) -> str:
    """Render a value the way Coral's messages do (Java ``toString`` style)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ", ".join(render_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}={render_value(v)}" for k, v in value.items()) + "}"
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


class _Violations:
    """Collects constraint violations in document order."""

    def __init__(self) -> None:
        self.items: list[str] = []

    def add(self, value: Any, path: str, constraint: str) -> None:
        shown = "null" if value is None else f"'{render_value(value)}'"
        self.items.append(f"Value {shown} at '{path}' failed to satisfy constraint: {constraint}")

    def raise_if_any(self) -> None:
        if not self.items:
            return
        count = len(self.items)
        noun = "error" if count == 1 else "errors"
        raise ValidationException(f"{count} validation {noun} detected: " + "; ".join(self.items))


def parse_input(shape: Shape | None, data: Any) -> dict:
    """Parse and validate a request body against ``shape``; see the module docstring."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise SerializationException("Request body must be a JSON object")
    if shape is None:
        return {}
    violations = _Violations()
    parsed = _parse_structure(shape, data, "", violations)
    violations.raise_if_any()
    return parsed


def _type_error(path: str, expected: str) -> SerializationException:
    where = f" at '{path}'" if path else ""
    return SerializationException(f"Expected {expected}{where}")


def _parse(shape: Shape, value: Any, path: str, v: _Violations) -> Any:
    kind = shape.type_name
    if kind == "structure":
        if not isinstance(value, dict):
            raise _type_error(path, "a JSON object")
        return _parse_structure(shape, value, path, v)
    if kind == "list":
        if not isinstance(value, list):
            raise _type_error(path, "a JSON array")
        _check_length(shape, value, len(value), path, v)
        return [_parse(shape.member, item, f"{path}.{i}.member", v) for i, item in enumerate(value, 1)]
    if kind == "map":
        if not isinstance(value, dict):
            raise _type_error(path, "a JSON object")
        _check_length(shape, value, len(value), path, v)
        result = {}
        for key, item in value.items():
            result[_parse(shape.key, key, f"{path}.{key}.key", v)] = _parse(
                shape.value, item, f"{path}.{key}.member", v
            )
        return result
    if kind == "string":
        if not isinstance(value, str):
            raise _type_error(path, "a string")
        _check_string(shape, value, path, v)
        return value
    if kind in ("integer", "long"):
        if isinstance(value, bool) or not isinstance(value, int):
            if isinstance(value, float) and value.is_integer():
                value = int(value)
            else:
                raise _type_error(path, "an integer")
        _check_range(shape, value, path, v)
        return value
    if kind in ("float", "double"):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise _type_error(path, "a number")
        _check_range(shape, value, path, v)
        return float(value)
    if kind == "boolean":
        if not isinstance(value, bool):
            raise _type_error(path, "a boolean")
        return value
    if kind == "timestamp":
        return _parse_timestamp(value, path)
    if kind == "blob":
        if not isinstance(value, str):
            raise _type_error(path, "a base64 string")
        try:
            return base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            raise _type_error(path, "valid base64") from None
    # 'document' and anything newer: pass through untouched.
    return value


def _parse_structure(shape: Shape, data: dict, path: str, v: _Violations) -> dict:
    result: dict[str, Any] = {}
    for name, member in shape.members.items():
        value = data.get(name)
        if value is None:
            if name in shape.required_members:
                v.add(None, member_path(path, name), "Member must not be null")
            continue
        result[name] = _parse(member, value, member_path(path, name), v)
    return result


def _check_length(shape: Shape, value: Any, length: int, path: str, v: _Violations) -> None:
    meta = shape.metadata
    if "max" in meta and length > meta["max"]:
        v.add(value, path, f"Member must have length less than or equal to {meta['max']}")
    if "min" in meta and length < meta["min"]:
        v.add(value, path, f"Member must have length greater than or equal to {meta['min']}")


def _check_string(shape: Shape, value: str, path: str, v: _Violations) -> None:
    _check_length(shape, value, len(value), path, v)
    enum = shape.metadata.get("enum")
    if enum and value not in enum:
        v.add(value, path, "Member must satisfy enum value set: [" + ", ".join(enum) + "]")
    pattern = shape.metadata.get("pattern")
    if pattern and compiled_pattern(pattern).fullmatch(value) is None:
        v.add(value, path, f"Member must satisfy regular expression pattern: {pattern}")


def _check_range(shape: Shape, value: float, path: str, v: _Violations) -> None:
    meta = shape.metadata
    if "max" in meta and value > meta["max"]:
        v.add(value, path, f"Member must have value less than or equal to {meta['max']}")
    if "min" in meta and value < meta["min"]:
        v.add(value, path, f"Member must have value greater than or equal to {meta['min']}")


def _parse_timestamp(value: Any, path: str) -> datetime:
    """Timestamps arrive as epoch seconds (botocore's JSON default) or ISO-8601 text."""
    if isinstance(value, bool):
        raise _type_error(path, "a timestamp")
    if isinstance(value, (int, float)):
        if not math.isfinite(value):
            raise _type_error(path, "a timestamp")
        try:
            return datetime.fromtimestamp(value, tz=timezone.utc)
        except (OverflowError, OSError, ValueError):
            raise _type_error(path, "a timestamp in range") from None
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            try:
                return datetime.fromtimestamp(float(value), tz=timezone.utc)
            except (ValueError, OverflowError, OSError):
                raise _type_error(path, "a timestamp") from None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)
    raise _type_error(path, "a timestamp")
