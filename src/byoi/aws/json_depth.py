"""JSON parsing with a nesting limit, checked before the parser recurses.

Python's ``json`` recurses once per nested array or object and raises
``RecursionError`` near the interpreter's recursion limit (about 1,000 levels),
which would surface as a 500. ``loads`` refuses a text nested deeper than
``MAX_DEPTH`` with ``TooDeep`` (a ``ValueError``) before parsing it.

The check costs almost nothing on ordinary requests (about 0.3 µs): a text with
no more than ``limit`` opening brackets in all cannot nest deeper than
``limit``, and two ``count`` calls (C loops) tell that. Only a text with more
brackets is measured, in linear time, mostly in C (0.1 to 0.7 s for
pathological 16 MiB bodies, on which ``json.loads`` itself spends 0.2 to 4 s).
"""

from __future__ import annotations

import json
from itertools import accumulate
from typing import Any

#: The deepest nesting of JSON arrays and objects accepted. The input shapes of
#: the service models byoi serves nest at most 10 deep (SageMaker's
#: CreateAlgorithm), so 100 leaves room for any real request.
MAX_DEPTH = 100

#: Every byte but the four brackets and the quote, to delete; then braces become square brackets.
_NOT_BRACKETS_OR_QUOTE = bytes(b for b in range(256) if b not in b'[]{}"')
_SQUARE = bytes.maketrans(b"{}", b"[]")
#: Opening brackets to 1, closing ones to -1 (as signed bytes).
_STEPS = bytes.maketrans(b"[]", b"\x01\xff")
_BLOCK = 4096


class TooDeep(ValueError):
    """A JSON text nests arrays and objects deeper than the limit."""

    def __init__(self, limit: int):
        self.limit = limit
        super().__init__(f"JSON arrays and objects nested more than {limit} levels deep (at most {limit} are accepted)")


def nesting_depth(text: bytes | str, stop_above: int | None = None) -> int:
    """The deepest nesting of arrays and objects in ``text`` (brackets inside strings do not count).

    With ``stop_above``, a result above it may be a lower bound: counting stops once it is passed.
    Meant for JSON: on text that is not JSON the figure means little (and the parser refuses it anyway)."""
    raw = text.encode("utf-8", "surrogatepass") if isinstance(text, str) else bytes(text)
    # Escaped backslashes, then escaped quotes, can go: every quote left opens or
    # closes a string. Keep only quotes and brackets; strings left empty (those
    # without brackets: nearly all) go in one pass; only strings holding brackets
    # cost a split.
    raw = raw.replace(b"\\\\", b"").replace(b'\\"', b"")
    kept = raw.translate(_SQUARE, _NOT_BRACKETS_OR_QUOTE).replace(b'""', b"")
    brackets = b"".join(kept.split(b'"')[0::2]) if b'"' in kept else kept
    # Each pass removes the innermost pairs, exactly one level: cheap, and it leaves
    # little of a wide document for the running sum below (a loop per bracket).
    depth = 0
    while depth < 2:
        inner = brackets.replace(b"[]", b"")
        if len(inner) == len(brackets):
            break
        brackets, depth = inner, depth + 1
    steps = memoryview(brackets.translate(_STEPS)).cast("b")
    deepest = level = 0
    for start in range(0, len(steps), _BLOCK):  # in blocks, to stop early once past ``stop_above``
        block = steps[start : start + _BLOCK]
        deepest = max(deepest, max(accumulate(block, initial=level)))
        level += sum(block)
        if stop_above is not None and depth + deepest > stop_above:
            break
    return depth + deepest


def check_depth(text: bytes | str, limit: int = MAX_DEPTH) -> None:
    """Raise ``TooDeep`` when ``text`` nests deeper than ``limit``."""
    if isinstance(text, str):
        openers = text.count("[") + text.count("{")
    else:
        openers = text.count(b"[") + text.count(b"{")
    if openers <= limit:
        return
    if nesting_depth(text, stop_above=limit) > limit:
        raise TooDeep(limit)


def loads(text: bytes | str, limit: int = MAX_DEPTH) -> Any:
    """``json.loads``, refusing a text nested deeper than ``limit`` with ``TooDeep``.

    Raises ``ValueError``: ``TooDeep``, ``json.JSONDecodeError`` or ``UnicodeDecodeError``."""
    check_depth(text, limit)
    try:
        return json.loads(text)
    except RecursionError:  # only if ``limit`` is near the recursion limit; never a 500
        raise TooDeep(limit) from None
