"""Presigned URLs, sessions, and the authenticated proxy to apps' port 8888.

* ``CreatePresignedDomainUrl`` (SageMaker API) returns
  ``<public url>/auth?token=...``: a signed token for one user profile that
  expires after ``ExpiresInSeconds`` (default 5, as on AWS).
* ``GET /auth?token=...`` turns it into a session: a signed ``byoi_session``
  cookie lasting ``SessionExpirationDurationInSeconds`` (default 12 hours), then
  redirects to the LandingUri (or the domain's page). The same session token is
  accepted as ``Authorization: Bearer <token>`` by API clients.
* ``/apps/{domainId}/{userProfile or space}/{appType}/{appName}/<path>``
  proxies HTTP (streamed both ways, nothing buffered whole) and websockets to
  the app's port 8888 (``<path>`` is passed on as is). Only a session of that
  domain may pass, and for a user profile's app only that user's session: a
  kernel of one user is never reachable with another user's session.
  Every proxied request counts as user activity (LastUserActivityTimestamp).
"""

from __future__ import annotations

import asyncio
import logging

import anyio
import httpx
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response, StreamingResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect
from websockets.asyncio.client import connect as ws_connect
from websockets.exceptions import ConnectionClosed

from byoi.aws.protocol import Handler, RequestContext
from byoi.gateway.tokens import TokenSigner
from byoi.services.apps import AppService
from byoi.services.clock import Clock
from byoi.services.domains import DomainService

log = logging.getLogger(__name__)

SESSION_COOKIE = "byoi_session"
#: Not passed on. Host is kept, as reverse proxies keep it: Jupyter servers compare it
#: with the browser's Origin to refuse cross-site requests.
HOP_BY_HOP = {
    "connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailers",
    "transfer-encoding", "upgrade", "content-length",
}
ACTIVITY_EVERY_MS = 5_000


def upstream_path(app, full_path: str, rest: str) -> str:
    """The path on the app's server: a JupyterServer app serves under the gateway's own prefix
    (its base_url), other apps at their root."""
    return full_path if app.app_type == "JupyterServer" else f"/{rest}"


def app_headers(headers) -> list[tuple[str, str]]:
    """The request's headers as the app should see them: no hop-by-hop headers, and
    none of byoi's own credentials (the session cookie, a Bearer session token)."""
    forwarded = []
    for name, value in headers.items():
        lower = name.lower()
        if lower in HOP_BY_HOP or (lower == "authorization" and value.lower().startswith("bearer ")):
            continue
        if lower == "cookie":
            kept = [c for c in value.split(";") if c.strip() and not c.strip().startswith(f"{SESSION_COOKIE}=")]
            if not kept:
                continue
            value = ";".join(kept).strip()
        forwarded.append((name, value))
    return forwarded


class Gateway:
    def __init__(self, signer: TokenSigner, clock: Clock, domains: DomainService, apps: AppService, public_url: str):
        self._signer = signer
        self._clock = clock
        self._domains = domains
        self._apps = apps
        self._public_url = public_url.rstrip("/")
        self._client = httpx.AsyncClient(timeout=httpx.Timeout(30.0, read=None), follow_redirects=False)
        self._last_activity: dict[int, int] = {}

    # --- presigned URLs and sessions ------------------------------------------

    def presigned_url(self, ctx: RequestContext, p: dict) -> dict:
        member = self._domains.describe_member(ctx.scope, p["DomainId"], "user", p["UserProfileName"])
        if p.get("SpaceName"):
            self._domains.describe_member(ctx.scope, p["DomainId"], "space", p["SpaceName"])
        now = self._clock.now_ms()
        token = self._signer.sign(
            {
                "kind": "presign",
                "domain": member.domain.domain_id,
                "user": member.name,
                "exp": now + 1000 * p.get("ExpiresInSeconds", 5),
                "session": p.get("SessionExpirationDurationInSeconds", 43200),
                "landing": p.get("LandingUri") or f"/studio/{member.domain.domain_id}",
            }
        )
        return {"AuthorizedUrl": f"{self._public_url}/auth?token={token}"}

    def mint_session(self, domain_id: str, user: str, seconds: int = 7 * 24 * 3600) -> str:
        """A session token for a user, as a JupyterServer app's GatewayClient presents it."""
        exp = self._clock.now_ms() + seconds * 1000
        return self._signer.sign({"kind": "session", "domain": domain_id, "user": user, "exp": exp})

    def handlers(self) -> dict[str, Handler]:
        return {"CreatePresignedDomainUrl": self.presigned_url}

    async def auth(self, request: Request) -> Response:
        now = self._clock.now_ms()
        grant = self._signer.verify(request.query_params.get("token", ""), "presign", now)
        if grant is None:
            return JSONResponse({"message": "This link is invalid or has expired; ask for a new presigned URL."}, 403)
        exp = now + 1000 * int(grant["session"])
        session = self._signer.sign({"kind": "session", "domain": grant["domain"], "user": grant["user"], "exp": exp})
        landing = grant["landing"] if grant["landing"].startswith("/") else "/"
        response = RedirectResponse(landing, status_code=302)
        response.set_cookie(SESSION_COOKIE, session, max_age=int(grant["session"]), httponly=True, samesite="lax")
        return response

    def _session(self, headers, cookies) -> dict | None:
        token = cookies.get(SESSION_COOKIE)
        authorization = headers.get("authorization", "")
        if authorization.lower().startswith("bearer "):
            token = authorization[7:].strip()
        return self._signer.verify(token or "", "session", self._clock.now_ms())

    def _authorize(self, session: dict | None, params: dict) -> tuple[object | None, Response | None]:
        """The serving app the session may reach, or the refusal to send."""
        if session is None:
            return None, JSONResponse({"message": "Sign in with a presigned domain URL first."}, 401)
        app = self._apps.serving(params["domain_id"], params["owner"], params["app_type"], params["app_name"])
        if app is None:
            return None, JSONResponse({"message": "No such app is InService."}, 404)
        same_domain = session["domain"] == app.domain.domain_id
        if not same_domain or (app.owner_kind == "user" and session["user"].lower() != app.owner_name.lower()):
            return None, JSONResponse({"message": "This app belongs to another user."}, 403)
        return app, None

    async def _active(self, app) -> None:
        """Record user activity, at most every ACTIVITY_EVERY_MS per app. The check runs on
        the event loop; only a due database write goes to a worker thread."""
        now = self._clock.now_ms()
        if now - self._last_activity.get(app.id, 0) >= ACTIVITY_EVERY_MS:
            self._last_activity[app.id] = now
            await anyio.to_thread.run_sync(self._apps.record_activity, app.id, now)

    # --- proxying -------------------------------------------------------------

    async def http(self, request: Request) -> Response:
        session = self._session(request.headers, request.cookies)
        app, refusal = await anyio.to_thread.run_sync(self._authorize, session, request.path_params)
        if refusal is not None:
            return refusal
        await self._active(app)
        target = f"http://{app.endpoint_host}:{app.endpoint_port}{upstream_path(app, request.url.path, request.path_params['path'])}"
        headers = app_headers(request.headers)
        upstream = self._client.build_request(
            request.method, target, params=request.query_params, headers=headers, content=request.stream()
        )
        try:
            response = await self._client.send(upstream, stream=True)
        except httpx.HTTPError as exc:
            return JSONResponse({"message": f"The app did not answer: {exc}"}, 502)
        out_headers = {k: v for k, v in response.headers.items() if k.lower() not in HOP_BY_HOP}

        async def body():
            try:
                async for chunk in response.aiter_raw():
                    yield chunk
            finally:
                await response.aclose()

        return StreamingResponse(body(), status_code=response.status_code, headers=out_headers)

    async def websocket(self, websocket: WebSocket) -> None:
        session = self._session(websocket.headers, websocket.cookies)
        app, refusal = await anyio.to_thread.run_sync(self._authorize, session, websocket.path_params)
        if refusal is not None:
            await websocket.close(code=4401 if refusal.status_code == 401 else 4403)
            return
        await self._active(app)
        query = f"?{websocket.url.query}" if websocket.url.query else ""
        path = upstream_path(app, websocket.url.path, websocket.path_params["path"])
        target = f"ws://{app.endpoint_host}:{app.endpoint_port}{path}{query}"
        protocols = [p.strip() for p in websocket.headers.get("sec-websocket-protocol", "").split(",") if p.strip()]
        try:
            upstream = await ws_connect(target, subprotocols=protocols or None, max_size=None, open_timeout=30)
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
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for task in tasks:
            task.cancel()
        await upstream.close()
        try:
            await websocket.close()
        except (RuntimeError, WebSocketDisconnect):
            pass  # the client has already gone

    def routes(self) -> list:
        prefix = "/apps/{domain_id}/{owner}/{app_type}/{app_name}"
        methods = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]
        return [
            Route("/auth", self.auth, methods=["GET"]),
            WebSocketRoute(prefix + "/{path:path}", self.websocket),
            Route(prefix + "/{path:path}", self.http, methods=methods),
        ]

    async def close(self) -> None:
        await self._client.aclose()

