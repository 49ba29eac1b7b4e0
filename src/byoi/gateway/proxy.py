"""Presigned URLs, sessions, and the authenticated proxy to apps' port 8888.

* ``CreatePresignedDomainUrl`` (SageMaker API) returns
  ``<public url>/auth?token=...``: a signed token for one user profile that
  expires after ``ExpiresInSeconds`` (default 300, as on AWS) and opens one session
  (a second use is refused; ``byoi.gateway.ledger``). ``LandingUri`` must be a path
  on byoi (one leading ``/``): anything else is a ValidationException.
* ``GET /auth?token=...`` turns it into a session: a signed ``byoi_session``
  cookie (HttpOnly, SameSite=Lax, Secure when the public URL is https, host-only)
  lasting ``SessionExpirationDurationInSeconds`` (default 12 hours), then
  redirects to the LandingUri (or the domain's page). The same session token is
  accepted as ``Authorization: Bearer <token>`` by API clients. A session carries
  its user profile's HomeEfsFileSystemUid and holds only while that profile exists
  with that uid: deleting the profile (or re-creating it) ends its sessions.
* ``/apps/{domainId}/{owner}/{appType}/{appName}/<path>``, where owner is the user
  profile's name or ``space:<space name>``, proxies HTTP (streamed both ways, nothing
  buffered whole) and websockets to the app's port 8888 (``<path>`` is passed on as
  is). Only a session of that domain may pass; for a user profile's app only that
  user's session; for a space's app any user of the domain, unless the space is
  Private to another user. Every proxied request counts as user activity
  (LastUserActivityTimestamp).
* What crosses: byoi's own credentials never reach an app (its cookie, a Bearer
  session); a KernelGateway app gets ``Authorization: token <app token>`` instead of
  whatever the client sent. The app's Set-Cookie headers reach the browser one by one,
  scoped to the app's path; byoi's HTTP client keeps no cookies. Websockets are
  opened only from byoi's own origins (or, without an Origin, with a Bearer session).
  State-changing HTTP requests (not GET, HEAD, OPTIONS) with an Origin must have
  byoi's own.
* Limits (``byoi.gateway.limits``): a bounded connection pool per app, and a cap on
  each user's requests and websockets in flight.
"""

from __future__ import annotations

import asyncio
import logging
import secrets as random_tokens

import anyio
import httpx
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response, StreamingResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect
from websockets.asyncio.client import connect as ws_connect
from websockets.exceptions import ConnectionClosed

from byoi.aws.errors import ValidationException
from byoi.aws.protocol import Handler, RequestContext
from byoi.gateway.ledger import PresignLedger
from byoi.gateway.limits import APP_CONNECTIONS, USER_REQUESTS, USER_WEBSOCKETS, AppPools, Slots
from byoi.gateway.policy import (
    SESSION_COOKIE,
    app_cookies,
    app_prefix,
    landing_ok,
    landing_path,
    origin_allowed,
    own_origins,
    parse_owner,
    scope_set_cookie,
    space_admits,
)
from byoi.gateway.tokens import TokenSigner, app_authorization
from byoi.services.apps import AppService
from byoi.services.clock import Clock
from byoi.services.domains import DomainService
from byoi.store.database import Database

log = logging.getLogger(__name__)

#: Not passed on. Host is kept, as reverse proxies keep it: Jupyter servers compare it
#: with the browser's Origin to refuse cross-site requests.
HOP_BY_HOP = {
    "connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailers",
    "transfer-encoding", "upgrade", "content-length",
}
ACTIVITY_EVERY_MS = 5_000
#: How long an app may take to send a response's headers (its body may then take as long as it takes).
APP_ANSWER_SECONDS = 300
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


def upstream_path(app, full_path: str, rest: str) -> str:
    """The path on the app's server: a JupyterServer app serves under the gateway's own prefix
    (its base_url), other apps at their root."""
    return full_path if app.app_type == "JupyterServer" else f"/{rest}"


def is_bearer(value: str) -> bool:
    return value.strip().lower().startswith("bearer")


def app_headers(headers, app_authorization: str | None = None) -> list[tuple[str, str]]:
    """The request's headers as the app should see them: no hop-by-hop headers, and
    none of byoi's own credentials (the session cookie, a Bearer session token). With
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


def browser_headers(raw: list[tuple[bytes, bytes]], prefix: str) -> list[tuple[bytes, bytes]]:
    """The app's response headers as the browser gets them: no hop-by-hop headers, and each
    Set-Cookie a header of its own, scoped to the app's prefix (``policy.scope_set_cookie``)."""
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


def refuse(status: int, message: str, **headers: str) -> JSONResponse:
    return JSONResponse({"message": message}, status, headers=headers or None)


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


class Gateway:
    def __init__(
        self,
        signer: TokenSigner,
        clock: Clock,
        domains: DomainService,
        apps: AppService,
        public_url: str,
        *,
        secret: bytes,
        db: Database,
        app_connections: int = APP_CONNECTIONS,
        user_requests: int = USER_REQUESTS,
        user_websockets: int = USER_WEBSOCKETS,
    ):
        self._signer = signer
        self._secret = secret
        self._clock = clock
        self._domains = domains
        self._apps = apps
        self._ledger = PresignLedger(db)
        self._public_url = public_url.rstrip("/")
        self._secure_cookie = self._public_url.lower().startswith("https://")
        self._pools = AppPools(app_connections)
        self._requests = Slots(user_requests)
        self._websockets = Slots(user_websockets)
        self._last_activity: dict[int, int] = {}

    # --- presigned URLs and sessions ------------------------------------------

    def presigned_url(self, ctx: RequestContext, p: dict) -> dict:
        member = self._domains.describe_member(ctx.scope, p["DomainId"], "user", p["UserProfileName"])
        if p.get("SpaceName"):
            self._domains.describe_member(ctx.scope, p["DomainId"], "space", p["SpaceName"])
        landing = landing_path(p.get("LandingUri"), member.domain.domain_id, member.name, p.get("SpaceName"))
        if landing is None:
            raise ValidationException(
                f"LandingUri {p.get('LandingUri')!r} must be studio::<path>, app:<JupyterServer|JupyterLab|CodeEditor>:<path>, "
                "or a path on this byoi starting with a single '/' (such as /apps/<domain id>/<user profile>/JupyterServer/default/lab), "
                "not a URL of another site"
            )
        now = self._clock.now_ms()
        token = self._signer.sign(
            {
                "kind": "presign",
                "id": random_tokens.token_urlsafe(18),
                "domain": member.domain.domain_id,
                "user": member.name,
                "uid": member.home_uid,
                "exp": now + 1000 * p.get("ExpiresInSeconds", 300),
                "session": p.get("SessionExpirationDurationInSeconds", 43200),
                "landing": landing,
            }
        )
        return {"AuthorizedUrl": f"{self._public_url}/auth?token={token}"}

    def handlers(self) -> dict[str, Handler]:
        return {"CreatePresignedDomainUrl": self.presigned_url}

    async def auth(self, request: Request) -> Response:
        now = self._clock.now_ms()
        grant = self._signer.verify(request.query_params.get("token", ""), "presign", now)
        if grant is None or not grant.get("id") or "uid" not in grant:
            return refuse(403, "This link is invalid or has expired; ask for a new presigned URL.")
        if not await anyio.to_thread.run_sync(self._ledger.spend, grant["id"], int(grant["exp"]), now):
            return refuse(403, "This link has been used already; each presigned URL opens one session. Ask for a new one.")
        uid = await anyio.to_thread.run_sync(self._domains.home_uid, grant["domain"], "user", grant["user"])
        if uid is None or uid != grant["uid"]:
            return refuse(403, "The user profile this link was made for no longer exists; ask for a new presigned URL.")
        exp = now + 1000 * int(grant["session"])
        session = self._signer.sign({"kind": "session", "domain": grant["domain"], "user": grant["user"], "uid": uid, "exp": exp})
        landing = grant["landing"] if landing_ok(grant["landing"]) else f"/studio/{grant['domain']}"
        response = RedirectResponse(landing, status_code=302, headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"})
        response.set_cookie(
            SESSION_COOKIE, session, max_age=int(grant["session"]), path="/", httponly=True, samesite="lax", secure=self._secure_cookie
        )
        return response

    def _session(self, headers, cookies) -> dict | None:
        token = cookies.get(SESSION_COOKIE)
        authorization = headers.get("authorization", "")
        if is_bearer(authorization):
            token = authorization.strip()[6:].strip()
        return self._signer.verify(token or "", "session", self._clock.now_ms())

    def _authorize(self, session: dict | None, params: dict) -> tuple[object | None, Response | None]:
        """The serving app the session may reach, or the refusal to send. Runs in a worker thread."""
        if session is None:
            return None, refuse(401, "Sign in with a presigned domain URL first.")
        uid = self._domains.home_uid(session["domain"], "user", session["user"])
        if uid is None or uid != session.get("uid"):
            return None, refuse(401, "This session has ended: its user profile was deleted or re-created. Open a new presigned domain URL.")
        kind, owner = parse_owner(params["owner"])
        if params["domain_id"] != session["domain"]:
            return None, refuse(403, "This app belongs to another domain.")
        if kind == "user" and owner.lower() != session["user"].lower():
            return None, refuse(403, "This app belongs to another user.")
        app = self._apps.serving(params["domain_id"], kind, owner, params["app_type"], params["app_name"])
        if app is None:
            return None, refuse(404, "No such app is InService.")
        if kind == "space" and not space_admits(app.owner_settings, session["user"]):
            return None, refuse(403, "This space is private to another user.")
        return app, None

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

    # --- proxying -------------------------------------------------------------

    async def http(self, request: Request) -> Response:
        session = self._session(request.headers, request.cookies)
        app, refusal = await anyio.to_thread.run_sync(self._authorize, session, request.path_params)
        if refusal is not None:
            return refusal
        if request.method not in SAFE_METHODS and not self._cookie_request_ok(request):
            return refuse(403, "This request comes from a page of another site; byoi refuses it.")
        user = (session["domain"], session["user"].lower())
        await self._pools.sweep()
        if not self._requests.take(user):
            return refuse(
                429, f"You have {self._requests.limit} requests to apps in flight, the most one user may; "
                "wait for some to finish (or close stalled downloads) and try again.", **{"Retry-After": "1"}
            )
        client = self._pools.take(app.id)
        released = False

        def release() -> None:
            nonlocal released
            if not released:
                released = True
                self._pools.give(app.id)
                self._requests.give(user)

        try:
            await self._active(app)
            params = request.path_params
            path = upstream_path(app, request.url.path, params["path"])
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
        prefix = app_prefix(params["domain_id"], params["owner"], params["app_type"], params["app_name"])
        return _Relay(response, browser_headers(response.headers.raw, prefix), release)

    def _own_origin(self, connection) -> bool | None:
        """Whether the request's Origin is byoi's own; None when it has none."""
        origin = connection.headers.get("origin")
        if origin is None:
            return None
        return origin_allowed(origin, own_origins(self._public_url, connection.url.scheme, connection.scope.get("server")))

    def _cookie_request_ok(self, request: Request) -> bool:
        """A state-changing request carried by the session cookie must not come from another
        site's page: browsers send Origin with every such request, and it must be byoi's own.
        (SameSite=Lax keeps the cookie from other sites, but not from sibling hosts of one site.)"""
        if is_bearer(request.headers.get("authorization", "")):
            return True
        return self._own_origin(request) is not False

    def _origin_ok(self, websocket: WebSocket, bearer: bool) -> bool:
        """A browser always sends Origin with a websocket; it must be byoi's own. Without one
        (not a browser) the client must present a Bearer session: a cookie alone is not enough."""
        own = self._own_origin(websocket)
        return bearer if own is None else own

    async def websocket(self, websocket: WebSocket) -> None:
        bearer = is_bearer(websocket.headers.get("authorization", ""))
        if not self._origin_ok(websocket, bearer):
            log.info("websocket refused: Origin %r is not byoi's own", websocket.headers.get("origin"))
            await websocket.close(code=4403)
            return
        session = self._session(websocket.headers, websocket.cookies)
        app, refusal = await anyio.to_thread.run_sync(self._authorize, session, websocket.path_params)
        if refusal is not None:
            await websocket.close(code=4401 if refusal.status_code == 401 else 4403)
            return
        user = (session["domain"], session["user"].lower())
        if not self._websockets.take(user):
            await websocket.close(code=1013)  # try again later
            return
        try:
            await self._relay_websocket(websocket, app)
        finally:
            self._websockets.give(user)

    async def _relay_websocket(self, websocket: WebSocket, app) -> None:
        await self._active(app)
        query = f"?{websocket.url.query}" if websocket.url.query else ""
        path = upstream_path(app, websocket.url.path, websocket.path_params["path"])
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

    def routes(self) -> list:
        prefix = "/apps/{domain_id}/{owner}/{app_type}/{app_name}"
        methods = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]
        return [
            Route("/auth", self.auth, methods=["GET"]),
            WebSocketRoute(prefix + "/{path:path}", self.websocket),
            Route(prefix + "/{path:path}", self.http, methods=methods),
        ]

    async def close(self) -> None:
        await self._pools.aclose()
