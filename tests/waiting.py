"""The one way tests (and benchmarks) wait: on a condition, polled, never a fixed sleep."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

#: How long a condition may take on a loaded 2-core machine before the wait fails.
WAIT_SECONDS = 60.0


def wait_for(condition: Callable[[], T], what: str, timeout: float = WAIT_SECONDS, every: float = 0.02) -> T:
    """Poll ``condition`` every ``every`` seconds until it returns something truthy, and return
    that; after ``timeout`` seconds fail with an AssertionError naming ``what``."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(every)
