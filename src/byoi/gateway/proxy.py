"""Forwarding to apps' port 8888: HTTP (streamed both ways, nothing buffered whole) and
websockets, for a request the gateway's sites (``byoi.gateway.sites``) have already
authorized to one app.

* What crosses: byoi's own credentials never reach an app (its session cookies, a Bearer
  session); a KernelGateway app gets ``Authorization: token <app token>`` instead of whatever
  the client sent. The app's Set-Cookie headers reach the browser one by one, host-only, and
  on a shared origin scoped to the app's path; byoi's HTTP client keeps no cookies. The Host
  header is kept, as reverse proxies keep it: Jupyter servers compare it with the browser's
  Origin to refuse cross-site requests.
* Every forwarded request or websocket message counts as user activity
  (LastUserActivityTimestamp, which idle shutdown reads).
* Limits (``byoi.gateway.limits``): a bounded connection pool per app, and a cap on each
  user's requests and websockets in flight.
"""

from __future__ import annotations

import asyncio
import logging

import anyio
import httpx
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.websockets import WebSocket, WebSocketDisconnect
from websockets.asyncio.client import connect as ws_connect
from websockets.exceptions import ConnectionClosed

from byoi.auth.tokens import app_authorization
from byoi.clock import Clock
from byoi.gateway.limits import APP_CONNECTIONS, USER_REQUESTS, USER_WEBSOCKETS, AppPools, Slots
from byoi.gateway.policy import app_cookies, scope_set_cookie
from byoi.gateway.sessions import is_bearer, refuse
from byoi.metrics import Metrics
from byoi.services.apps import AppService

log = logging.getLogger(__name__)

#: Not passed on.
HOP_BY_HOP = {
    "connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailers",
    "transfer-encoding", "upgrade", "content-length",
}
ACTIVITY_EVERY_MS = 5_000
#: How long an app may take to send a response's headers (its body may then take as long as it takes).
APP_ANSWER_SECONDS = 300


def app_headers(headers, app_authorization: str | None = None) -> list[tuple[str, str]]:
    """The request's headers as the app should see them: no hop-by-hop headers, and
    none of byoi's own credentials (the session cookies, a Bearer session token). With
    ``app_authorization`` (a KernelGateway app's token), the client's Authorization is
    replaced by it."""
    forwarded = []
    for name, value in headers.items():
        lower = name.lower()
        if lower in HOP_BY_HOP or (lower == "authorization" and (app_authorization is not None or is_bearer(value))):
            continue
        if lower == "cookie":
            value = app_cookies(value)
            if value is None:
                continue
        forwarded.append((name, value))
    if app_authorization is not None:
        forwarded.append(("Authorization", app_authorization))
    return forwarded


def browser_headers(raw: list[tuple[bytes, bytes]], prefix: str | None) -> list[tuple[bytes, bytes]]:
    """The app's response headers as the browser gets them: no hop-by-hop headers, and each
    Set-Cookie a header of its own, host-only and (``prefix`` given) scoped to the app's path
    (``policy.scope_set_cookie``)."""
    out = []
    for name, value in raw:
        lower = name.lower()
        if lower.decode("latin-1") in HOP_BY_HOP:
            continue
        if lower == b"set-cookie":
            scoped = scope_set_cookie(value.decode("latin-1"), prefix)
            if scoped is None:
                continue
            value = scoped.encode("latin-1")
        out.append((lower, value))
    return out


class _Relay(StreamingResponse):
    """The app's response, streamed as it comes; ``done`` runs once however it ends
    (finished, the browser gone, byoi stopping), after the app's response is closed."""

    def __init__(self, upstream: httpx.Response, raw_headers: list[tuple[bytes, bytes]], done):
        super().__init__(upstream.aiter_raw(), status_code=upstream.status_code)
        self.raw_headers = raw_headers
        self._upstream = upstream
        self._done = done

    async def __call__(self, scope, receive, send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            try:
                with anyio.CancelScope(shield=True):
                    await self._upstream.aclose()
            finally:
                self._done()


class Proxy:
    """Forwards authorized requests to apps. ``app`` is a row of ``AppService.serving``; ``user``
    is who the limits count the request against; ``cookie_path`` the path the app's cookies are
    scoped to on a shared origin (None on a space's own)."""

    def __init__(
        self,
        secret: bytes,
        clock: Clock,
        apps: AppService,
        *,
        app_connections: int = APP_CONNECTIONS,
        user_requests: int = USER_REQUESTS,
        user_websockets: int = USER_WEBSOCKETS,
        metrics: Metrics | None = None,
    ):
        self._metrics = metrics
        self._secret = secret
        self._clock = clock
        self._apps = apps
        self._pools = AppPools(app_connections)
        self._requests = Slots(user_requests)
        self._websockets = Slots(user_websockets)
        self._last_activity: dict[int, int] = {}

    async def _active(self, app) -> None:
        """Record user activity, at most every ACTIVITY_EVERY_MS per app. The check runs on
        the event loop; only a due database write goes to a worker thread."""
        now = self._clock.now_ms()
        if now - self._last_activity.get(app.id, 0) >= ACTIVITY_EVERY_MS:
            self._last_activity[app.id] = now
            await anyio.to_thread.run_sync(self._apps.record_activity, app.id, now)

    def _app_authorization(self, app) -> str | None:
        """What byoi presents to the app: a KernelGateway app's own token (byoi's gateway in it
        refuses every request without one); other apps get the client's own (non-Bearer) one."""
        return app_authorization(self._secret, app.app_type, app.id)

    async def http(self, request: Request, app, path: str, user: tuple, cookie_path: str | None) -> Response:
        await self._pools.sweep()
        if not self._requests.take(user):
            return refuse(
                429, f"You have {self._requests.limit} requests to apps in flight, the most one user may; "
                "wait for some to finish (or close stalled downloads) and try again.", **{"Retry-After": "1"}
            )
        client = self._pools.take(app.id)
        released = False
        closed = self._metrics.gateway_opened("http") if self._metrics is not None else None

        def release() -> None:
            nonlocal released
            if not released:
                released = True
                self._pools.give(app.id)
                self._requests.give(user)
                if closed is not None:
                    closed()

        try:
            await self._active(app)
            url = httpx.URL(f"http://{app.endpoint_host}:{app.endpoint_port}{path}")
            if request.scope.get("query_string"):
                url = url.copy_with(query=request.scope["query_string"])
            headers = app_headers(request.headers, self._app_authorization(app))
            upstream = client.build_request(request.method, url, headers=headers, content=request.stream())
            try:
                response = await asyncio.wait_for(client.send(upstream, stream=True), APP_ANSWER_SECONDS)
            except TimeoutError:
                release()
                return refuse(504, f"The app did not start answering within {APP_ANSWER_SECONDS} s.")
            except httpx.PoolTimeout:
                release()
                return refuse(503, "The app has as many requests in flight as byoi sends it at once; try again shortly.", **{"Retry-After": "1"})
            except httpx.HTTPError as exc:
                release()
                return refuse(502, f"The app did not answer: {exc}")
        except BaseException:
            release()
            raise
        return _Relay(response, browser_headers(response.headers.raw, cookie_path), release)

    async def websocket(self, websocket: WebSocket, app, path: str, user: tuple) -> None:
        if not self._websockets.take(user):
            await websocket.close(code=1013)  # try again later
            return
        closed = self._metrics.gateway_opened("websocket") if self._metrics is not None else None
        try:
            await self._relay_websocket(websocket, app, path)
        finally:
            self._websockets.give(user)
            if closed is not None:
                closed()

    async def _relay_websocket(self, websocket: WebSocket, app, path: str) -> None:
        await self._active(app)
        query = f"?{websocket.url.query}" if websocket.url.query else ""
        target = f"ws://{app.endpoint_host}:{app.endpoint_port}{path}{query}"
        protocols = [p.strip() for p in websocket.headers.get("sec-websocket-protocol", "").split(",") if p.strip()]
        headers = [(k, v) for k, v in app_headers(websocket.headers, self._app_authorization(app)) if k.lower() in ("cookie", "authorization")]
        try:
            upstream = await ws_connect(
                target, subprotocols=protocols or None, additional_headers=headers, max_size=None, open_timeout=30, proxy=None
            )
        except Exception as exc:  # noqa: BLE001 - any failure to reach the app: refuse the client cleanly
            log.info("websocket to %s failed: %s", target, exc)
            await websocket.close(code=1011)
            return
        await websocket.accept(subprotocol=upstream.subprotocol)

        async def client_to_app():
            try:
                while True:
                    message = await websocket.receive()
                    if message["type"] == "websocket.disconnect":
                        break
                    if message.get("text") is not None:
                        await upstream.send(message["text"])
                    elif message.get("bytes") is not None:
                        await upstream.send(message["bytes"])
                    await self._active(app)
            except (WebSocketDisconnect, ConnectionClosed):
                pass

        async def app_to_client():
            try:
                async for message in upstream:
                    if isinstance(message, str):
                        await websocket.send_text(message)
                    else:
                        await websocket.send_bytes(message)
            except (WebSocketDisconnect, ConnectionClosed, RuntimeError):
                pass

        tasks = [asyncio.create_task(client_to_app()), asyncio.create_task(app_to_client())]
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in tasks:
                task.cancel()
            await upstream.close()
        try:
            await websocket.close()
        except (RuntimeError, WebSocketDisconnect):
            pass  # the client has already gone

    async def close(self) -> None:
        await self._pools.aclose()
