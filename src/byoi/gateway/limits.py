"""What keeps one user from starving the others: a bounded connection pool per app, a cap
on each user's requests in flight, and an HTTP client that keeps no cookies.

Limits are per byoi process (several processes serving one database each apply them).
"""

from __future__ import annotations

import http.cookiejar
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx

#: Connections one app's pool may hold open to it; a request beyond waits POOL_WAIT_SECONDS
#: for one to free, then is answered 503.
APP_CONNECTIONS = 64
POOL_WAIT_SECONDS = 5.0
#: Proxied HTTP requests one user profile may have in flight at once (bodies still
#: streaming included), over all the apps it reaches; beyond, 429.
USER_REQUESTS = 32
#: Websockets one user profile may hold open at once; beyond, refused (403 before the upgrade).
USER_WEBSOCKETS = 64
#: An app's pool with nothing in flight for this long is closed (its connections with it).
POOL_IDLE_SECONDS = 60.0


class NoCookies(http.cookiejar.CookiePolicy):
    """A cookie policy that accepts and returns nothing: byoi's HTTP client never keeps a
    cookie from one response for the next request (which may be another user's). The
    browser keeps each app's cookies, scoped to the app's path (``policy.scope_set_cookie``)."""

    netscape = True
    rfc2965 = False
    hide_cookie2 = True

    def set_ok(self, cookie, request) -> bool:
        return False

    def return_ok(self, cookie, request) -> bool:
        return False

    def domain_return_ok(self, domain, request) -> bool:
        return False

    def path_return_ok(self, path, request) -> bool:
        return False


class NoCookieJar(http.cookiejar.CookieJar):
    """A jar that stays empty, whatever is put in it (by a response or by hand)."""

    def __init__(self):
        super().__init__(policy=NoCookies())

    def set_cookie(self, cookie) -> None:
        pass


def app_client(max_connections: int = APP_CONNECTIONS, pool_wait: float = POOL_WAIT_SECONDS) -> httpx.AsyncClient:
    """One app's HTTP client: a bounded pool, no cookie jar, no redirects followed, no proxy
    taken from the environment."""
    return httpx.AsyncClient(
        timeout=httpx.Timeout(30.0, read=None, pool=pool_wait),
        limits=httpx.Limits(max_connections=max_connections, max_keepalive_connections=min(16, max_connections), keepalive_expiry=30),
        follow_redirects=False,
        trust_env=False,
        cookies=NoCookieJar(),
    )


@dataclass
class _Pool:
    client: httpx.AsyncClient
    in_flight: int = 0
    last_used: float = field(default_factory=time.monotonic)


class AppPools:
    """A pool per app (by store id), made on first use and closed once idle."""

    def __init__(
        self,
        max_connections: int = APP_CONNECTIONS,
        pool_wait: float = POOL_WAIT_SECONDS,
        idle_seconds: float = POOL_IDLE_SECONDS,
        monotonic: Callable[[], float] = time.monotonic,
    ):
        self._max = max_connections
        self._wait = pool_wait
        self._idle = idle_seconds
        self._monotonic = monotonic
        self._pools: dict[int, _Pool] = {}
        self._last_sweep = monotonic()

    def __len__(self) -> int:
        return len(self._pools)

    def take(self, app_id: int) -> httpx.AsyncClient:
        """The app's client, counted in flight until ``give(app_id)``."""
        pool = self._pools.get(app_id)
        if pool is None:
            pool = self._pools[app_id] = _Pool(app_client(self._max, self._wait))
        pool.in_flight += 1
        pool.last_used = self._monotonic()
        return pool.client

    def give(self, app_id: int) -> None:
        pool = self._pools.get(app_id)
        if pool is not None:
            pool.in_flight -= 1
            pool.last_used = self._monotonic()

    async def sweep(self, force: bool = False) -> int:
        """Close the pools idle for ``idle_seconds`` (looked for at most every half of it,
        unless ``force``); how many were closed."""
        now = self._monotonic()
        if not force and now - self._last_sweep < self._idle / 2:
            return 0
        self._last_sweep = now
        idle = [app_id for app_id, pool in self._pools.items() if pool.in_flight <= 0 and now - pool.last_used >= self._idle]
        for app_id in idle:
            await self._pools.pop(app_id).client.aclose()
        return len(idle)

    async def aclose(self) -> None:
        pools, self._pools = list(self._pools.values()), {}
        for pool in pools:
            await pool.client.aclose()


class Slots:
    """At most ``limit`` things in flight per key (a user profile); runs on the event loop."""

    def __init__(self, limit: int):
        self.limit = limit
        self._used: dict[object, int] = {}

    def take(self, key: object) -> bool:
        used = self._used.get(key, 0)
        if used >= self.limit:
            return False
        self._used[key] = used + 1
        return True

    def give(self, key: object) -> None:
        used = self._used.get(key, 0) - 1
        if used > 0:
            self._used[key] = used
        else:
            self._used.pop(key, None)

    def used(self, key: object) -> int:
        return self._used.get(key, 0)
