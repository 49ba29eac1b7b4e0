"""Settling finishes transitional states when due, and only then."""

import asyncio
import contextlib
import threading

import pytest

from byoi.aws.protocol import Scope
from byoi.services.base_images import BaseImageError
from byoi.services.settling import Settling
from byoi.services.wiring import build_services
from byoi.store.database import Database
from byoi.store.transitions import Lease

SCOPE = Scope("123456789012", "us-east-1")
ROLE = "arn:aws:iam::123456789012:role/r"


class FakeClock:
    def __init__(self):
        self.ms = 1_700_000_000_000

    def now_ms(self) -> int:
        return self.ms


class FakeResolver:
    def resolve(self, base_image: str) -> str:
        if base_image.startswith("missing"):
            raise BaseImageError(f"{base_image} is not there")
        return f"{base_image}@sha256:{'a' * 64}"


@pytest.fixture
def world(tmp_path):
    db = Database(f"sqlite:///{tmp_path / 'l.db'}")
    db.migrate()
    clock = FakeClock()
    services = build_services(db, clock, FakeResolver(), transition_seconds=5)
    return services, clock


def test_nothing_settles_before_it_is_due(world):
    services, clock = world
    services.images.create(SCOPE, "img", ROLE)
    assert services.settling.settle_due() == pytest.approx(5.0)
    clock.ms += 4999
    services.settling.settle_due()
    assert services.images.describe(SCOPE, "img").status == "CREATING"
    clock.ms += 1
    assert services.settling.settle_due() is None
    assert services.images.describe(SCOPE, "img").status == "CREATED"


def test_versions_resolve_or_fail_with_the_resolver_reason(world):
    services, clock = world
    services.images.create(SCOPE, "img", ROLE)
    services.image_versions.create(SCOPE, "img", "repo/ok:1", "t1")
    services.image_versions.create(SCOPE, "img", "missing/x:1", "t2")
    clock.ms += 5000
    services.settling.settle_due()
    ok = services.image_versions.describe(SCOPE, "img", 1, None).version
    bad = services.image_versions.describe(SCOPE, "img", 2, None).version
    assert (ok.status, ok.container_image) == ("CREATED", f"repo/ok:1@sha256:{'a' * 64}")
    assert (bad.status, bad.failure_reason, bad.container_image) == ("CREATE_FAILED", "missing/x:1 is not there", None)


def test_a_new_process_finishes_what_an_old_one_left(world, tmp_path):
    services, clock = world
    services.images.create(SCOPE, "img", ROLE)
    clock.ms += 5000
    # The first process "dies" here, before settling; a new one starts on the same database.
    again = build_services(Database(f"sqlite:///{tmp_path / 'l.db'}"), clock, FakeResolver(), transition_seconds=5)
    again.settling.settle_due()
    assert again.images.describe(SCOPE, "img").status == "CREATED"


def test_a_background_kind_changed_inside_a_pass_wakes_the_background_task():
    """Cloud Control creating an app: the request settler runs inside an API call's pass, and the
    app it records is the background (runtime) settler's to start."""
    settling = Settling(transition_seconds=0)
    ran = []

    class Recorder:
        kind = "requests"

        to_record = 0

        def settle_due(self):
            if self.to_record:  # (records an app, inside the pass)
                self.to_record -= 1
                settling.changed("apps")
            return None

    class Apps:
        kind = "apps"

        def settle_due(self):
            ran.append("apps")
            loop.call_soon_threadsafe((first_pass if len(ran) == 1 else woken).set)
            return None

    recorder = Recorder()
    settling.add(recorder)
    settling.add(Apps(), background_only=True)

    async def scenario():
        task = asyncio.create_task(settling.run())
        await asyncio.wait_for(first_pass.wait(), timeout=30)  # the first pass (what a restart left)
        recorder.to_record = 1
        caller = threading.Thread(target=settling.changed, args=("requests",))  # an API call, in its worker thread
        caller.start()
        await asyncio.wait_for(woken.wait(), timeout=30)
        caller.join()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    loop = asyncio.new_event_loop()
    first_pass, woken = asyncio.Event(), asyncio.Event()
    try:
        loop.run_until_complete(scenario())
    finally:
        loop.close()
    assert ran == ["apps", "apps"]


class CountingSettler:
    kind = "counted"

    def __init__(self):
        self.passes = 0
        self.swept = threading.Event()

    def settle_due(self):
        self.passes += 1
        if self.passes >= 3:
            self.swept.set()
        return None


def test_with_no_delay_the_fast_settlers_are_swept_once_a_lease_to_finish_what_a_killed_replica_left():
    """API calls settle the fast settlers themselves; the background task runs them at start and
    then once every lease, so rows a killed replica held are finished though no API call comes."""
    settling = Settling(0, Lease("me", 0.2))
    settler = CountingSettler()
    settling.add(settler)

    async def main():
        task = asyncio.create_task(settling.run())
        try:
            assert await asyncio.to_thread(settler.swept.wait, 30)
        finally:
            task.cancel()

    asyncio.run(main())
    assert settler.passes >= 3  # the first pass, then sweeps, with no changed() at all
