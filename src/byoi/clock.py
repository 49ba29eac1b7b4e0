"""Time for the services: injectable so tests can pin it."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Protocol


class Clock(Protocol):
    def now_ms(self) -> int:
        """Current time as integer epoch milliseconds."""


class SystemClock:
    """Wall-clock time, never going backwards within one process."""

    def __init__(self) -> None:
        self._last = 0

    def now_ms(self) -> int:
        now = time.time_ns() // 1_000_000
        self._last = max(self._last, now)
        return self._last


def to_ms(value: datetime) -> int:
    """An aware ``datetime`` as epoch milliseconds."""
    return int(round(value.timestamp() * 1000))
