"""Runs the settlers that move resources out of their transitional states.

API calls only record intent (an Image CREATING, a Cloud Control request
PENDING, ...) and call ``changed(kind)``. Each *settler* knows one ``kind`` of
row ("images", "domains", ...) and finishes the ones that are due; a pass runs
settlers in registration order, so a later settler sees what an earlier one
finished in the same pass.

With ``transition_seconds == 0`` (the default) ``changed(kind)`` settles that
kind before the API call returns, so a Describe right after a Create sees the
final state; other kinds are not touched, which keeps a write to one
resource from paying for every settler's queries. A settler whose work itself
records intent (Cloud Control creating an Image) triggers ``changed()``
again; that asks for one more pass, over the new kind and the kinds that
caused it, instead of re-entering. Otherwise the ``run()`` task settles rows as they fall due. All
work is level-triggered and compare-and-set (``byoi.store.transitions``), so it is safe from several
threads and resumes after a restart whatever was interrupted; with several replicas on one database
each row is settled by the replica holding its lease (``lease``, given to every settler's Transitions).
"""

from __future__ import annotations

import asyncio
import logging
import threading
from typing import Protocol

import anyio

from byoi.store.transitions import PROCESS_LEASE, Lease, soonest

log = logging.getLogger(__name__)


class Settler(Protocol):
    #: The rows it settles, as named in ``Settling.changed(kind)``.
    kind: str

    def settle_due(self) -> float | None:
        """Finish every due row; return seconds until the next one is due, or None."""


class Settling:
    def __init__(self, transition_seconds: float, lease: Lease = PROCESS_LEASE):
        self.transition_seconds = transition_seconds
        #: This replica's name and lease length, for every settler's Transitions (their claims).
        self.lease = lease
        self._settlers: list[Settler] = []
        self._background: list[Settler] = []
        self._local = threading.local()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None

    def add(self, settler: Settler, background_only: bool = False) -> None:
        """Register a settler. ``background_only`` ones (slow work, such as starting
        containers) never run inside an API call, only in the ``run()`` task."""
        (self._background if background_only else self._settlers).append(settler)

    def changed(self, kind: str) -> None:
        """Rows of ``kind`` entered a transitional state. Call after their transaction commits."""
        local = self._local
        if self.transition_seconds == 0 and getattr(local, "active", False):
            local.pending.add(kind)  # we are inside a pass: do one more after it
        elif self.transition_seconds == 0:
            local.active = True
            local.pending = {kind}
            try:
                kinds: set[str] = set()
                while local.pending:
                    kinds |= local.pending
                    local.pending = set()
                    self.settle_due(kinds=kinds)
            finally:
                local.active = False
        # (also from inside a pass: a background settler's rows, such as the apps Cloud Control
        # creates, are the run() task's to settle)
        if self._loop is not None and self._wake is not None and (
            self.transition_seconds or any(s.kind == kind for s in self._background)
        ):
            self._loop.call_soon_threadsafe(self._wake.set)

    def settle_due(self, background: bool = False, foreground: bool = True, kinds: set[str] | None = None) -> float | None:
        """One pass over the (``foreground``) settlers and, with ``background``, the
        background ones, of ``kinds`` (None: all); seconds until the next row falls due, or None."""
        settlers = (self._settlers if foreground else []) + (self._background if background else [])
        return soonest(*(settler.settle_due() for settler in settlers if kinds is None or settler.kind in kinds))

    async def run(self) -> None:
        """Settle rows as they fall due, until cancelled. Also settles what a restart left."""
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        first = True
        sweep_at = self._loop.time() + self.lease.seconds
        while True:
            self._wake.clear()
            # With no transition delay, API calls settle the fast settlers themselves; running
            # them here too would race those calls (a caller could see IN_PROGRESS). So here
            # they run on the first pass, to finish what a restart interrupted, and then once a
            # lease (a *sweep*), to finish what another replica left when it was killed (its
            # leases have run out by then) even if no API call of that kind comes.
            now = self._loop.time()
            sweep = self.transition_seconds == 0 and now >= sweep_at
            if sweep or first:
                sweep_at = now + self.lease.seconds
            foreground = first or sweep or self.transition_seconds > 0
            first = False
            try:
                wait = await anyio.to_thread.run_sync(self.settle_due, True, foreground)
            except Exception:  # noqa: BLE001 - keep settling; the next pass retries
                log.exception("settling pass failed; retrying shortly")
                wait = 1.0
            if self.transition_seconds == 0:
                wait = soonest(wait, max(sweep_at - self._loop.time(), 0.0))
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=wait)
            except asyncio.TimeoutError:
                pass
