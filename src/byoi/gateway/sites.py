"""The gateway's three kinds of site, told apart by the request's Host (``byoi.studio_urls``),
and who may reach which app on each.

* **byoi's public URL** (any host that is not a Studio origin): the AWS APIs (``POST /``),
  ``/auth`` and the ``/apps/<domain>/<owner>/<type>/<name>/`` paths; ``/studio/<domain id>``
  redirects to the domain's Studio.
* **A domain's Studio** (``<domain id>.<studio host>``): the Studio home page
  (``byoi.gateway.studio``), ``/auth``, the same ``/apps/`` paths for that domain's sessions,
  and ``/spaces/<space>/[<AppType>/<path>]``, which hands the session on to the space's origin.
* **A space** (``s-<uid>.<domain id>.<studio host>``): ``/_byoi/auth`` (the hand-off) and the
  space's ``default`` apps at Studio's base paths (``/jupyterlab/default``,
  ``/codeeditor/default``), their paths and cookies as the apps make them; ``/`` opens the
  app that is running.

Who passes: under ``/apps/`` only a session of that domain, for a user profile's app only that
user's, for a space's app any user of the domain unless the space is Private to another user
(``policy.space_admits``). On a space's origin only a session granted for that origin, whose
user the space still admits. Websockets, and state-changing requests (not GET, HEAD, OPTIONS)
that carry an Origin, must come from the site's own origin: a space's scripts cannot drive
another space or the Studio, although the browser counts them as one site.
"""

from __future__ import annotations

import logging

import anyio
from starlette.requests import HTTPConnection, Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket

from byoi.gateway.policy import (
    SPACE_BASE_PATHS,
    app_prefix,
    origin_allowed,
    origin_key,
    own_origins,
    parse_owner,
    space_admits,
    space_app_at,
)
from byoi.gateway.proxy import Proxy
from byoi.gateway.sessions import Sessions, is_bearer, refuse
from byoi.services.apps import AppService
from byoi.services.domains import DomainService
from byoi.studio_urls import Site, StudioOrigins

log = logging.getLogger(__name__)

SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]
SITE_KEY = "byoi.site"


def site_of(connection: HTTPConnection) -> Site | None:
    return connection.scope.get(SITE_KEY)


def raw_path(connection: HTTPConnection) -> str:
    """The request's path as the browser sent it (percent-escapes kept), for the app."""
    raw = connection.scope.get("raw_path")
    return raw.decode("latin-1") if raw else connection.url.path


def upstream_path(app, full_path: str, rest: str) -> str:
    """The path on the app's server for an ``/apps/`` path: a JupyterServer app serves under the
    gateway's own prefix (its base_url), other apps at their root."""
    return full_path if app.app_type == "JupyterServer" else f"/{rest}"


def user_key(session: dict) -> tuple[str, str]:
    """Whom the gateway's limits count a request against."""
    return session["domain"], session["user"].lower()


class Sites:
    def __init__(self, sessions: Sessions, proxy: Proxy, domains: DomainService, apps: AppService, public_url: str, origins: StudioOrigins):
        self.sessions = sessions
        self.proxy = proxy
        self._domains = domains
        self._apps = apps
        self._public_url = public_url.rstrip("/")
        self.origins = origins

    # --- origins ----------------------------------------------------------------------

    def _own_origins(self, connection: HTTPConnection) -> set[tuple[str, str, int]]:
        site = site_of(connection)
        if site is not None:
            return {origin_key(self.origins.origin_of(site))}
        return own_origins(self._public_url, connection.url.scheme, connection.scope.get("server"))

    def own_origin(self, connection: HTTPConnection) -> bool | None:
        """Whether the request's Origin is the site's own; None when it has none."""
        origin = connection.headers.get("origin")
        if origin is None:
            return None
        return origin_allowed(origin, self._own_origins(connection))

    def request_ok(self, request: Request) -> bool:
        """A state-changing request carried by a session cookie must not come from another
        origin's page: browsers send Origin with every such request, and it must be the site's
        own. (SameSite=Lax keeps the cookie from other sites, but not from sibling hosts.)"""
        if request.method in SAFE_METHODS or is_bearer(request.headers.get("authorization", "")):
            return True
        return self.own_origin(request) is not False

    def websocket_ok(self, websocket: WebSocket) -> bool:
        """A browser always sends Origin with a websocket; it must be the site's own. Without one
        (not a browser) the client must present a Bearer session: a cookie alone is not enough."""
        own = self.own_origin(websocket)
        return is_bearer(websocket.headers.get("authorization", "")) if own is None else own

    # --- /apps/ paths (byoi's public URL and the domains' Studios) ---------------------------

    def _authorize_path(self, session: dict | None, site: Site | None, params: dict) -> tuple[object | None, Response | None]:
        """The serving app an ``/apps/`` request may reach, or the refusal. Runs in a worker thread."""
        if session is None:
            return None, refuse(401, "Sign in with a presigned domain URL first.")
        if not self.sessions.alive(session):
            return None, refuse(401, "This session has ended: its user profile was deleted or re-created. Open a new presigned domain URL.")
        kind, owner = parse_owner(params["owner"])
        if params["domain_id"] != session["domain"] or (site is not None and site.domain_id != session["domain"]):
            return None, refuse(403, "This app belongs to another domain.")
        if kind == "user" and owner.lower() != session["user"].lower():
            return None, refuse(403, "This app belongs to another user.")
        app = self._apps.serving(params["domain_id"], kind, owner, params["app_type"], params["app_name"])
        if app is None:
            return None, refuse(404, "No such app is InService.")
        if kind == "space" and not space_admits(app.owner_settings, session["user"]):
            return None, refuse(403, "This space is private to another user.")
        return app, None

    async def path_http(self, request: Request) -> Response:
        session = self.sessions.session(request.headers)
        app, refusal = await anyio.to_thread.run_sync(self._authorize_path, session, site_of(request), request.path_params)
        if refusal is not None:
            return refusal
        if not self.request_ok(request):
            return refuse(403, "This request comes from a page of another origin; byoi refuses it.")
        p = request.path_params
        path = upstream_path(app, request.url.path, p["path"])
        return await self.proxy.http(request, app, path, user_key(session), app_prefix(p["domain_id"], p["owner"], p["app_type"], p["app_name"]))

    async def path_websocket(self, websocket: WebSocket) -> None:
        if not self.websocket_ok(websocket):
            log.info("websocket refused: Origin %r is not the site's own", websocket.headers.get("origin"))
            await websocket.close(code=4403)
            return
        session = self.sessions.session(websocket.headers)
        app, refusal = await anyio.to_thread.run_sync(self._authorize_path, session, site_of(websocket), websocket.path_params)
        if refusal is not None:
            await websocket.close(code=4401 if refusal.status_code == 401 else 4403)
            return
        path = upstream_path(app, websocket.url.path, websocket.path_params["path"])
        await self.proxy.websocket(websocket, app, path, user_key(session))

    # --- the hand-off from a domain's Studio to a space's origin ----------------------------

    def _space_for(self, session: dict | None, site: Site, space: str):
        """(space row, None) if the session's user may open the space, else (None, refusal)."""
        if session is None or session["domain"] != site.domain_id:
            return None, refuse(401, "Sign in with a presigned domain URL first.")
        if not self.sessions.alive(session):
            return None, refuse(401, "This session has ended: its user profile was deleted or re-created. Open a new presigned domain URL.")
        member = self._domains.member_in(site.domain_id, "space", space)
        if member is None:
            return None, refuse(404, f"Space {space} does not exist in domain {site.domain_id}.")
        if not space_admits(member.settings, session["user"]):
            return None, refuse(403, "This space is private to another user.")
        return member, None

    async def open_space(self, request: Request) -> Response:
        """``/spaces/<space>/[<AppType>/<path>]`` on a domain's Studio: on to the space's origin."""
        site = site_of(request)
        session = self.sessions.session(request.headers)
        space = request.path_params["space"]
        member, refusal = await anyio.to_thread.run_sync(self._space_for, session, site, space)
        if refusal is not None:
            return refusal
        rest = raw_path(request).split("/", 3)[3]  # as sent, percent-escapes kept: /spaces/<space>/<rest>
        app_type, _, path = rest.partition("/")
        if app_type and app_type not in SPACE_BASE_PATHS:
            return refuse(404, f"A space serves {' and '.join(SPACE_BASE_PATHS)} apps, not {app_type}.")
        landing = f"{SPACE_BASE_PATHS[app_type]}/{path}" if app_type else "/"
        if request.url.query:
            landing += f"?{request.url.query}"
        url = self.sessions.space_grant_url(session, member.name, member.home_uid, landing)
        return RedirectResponse(url, 302, headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"})

    # --- a space's origin -------------------------------------------------------------------

    def _authorize_space(self, session: dict | None, site: Site, app_type: str):
        """The space's serving ``app_type`` app the session may reach, or the refusal. Runs in a
        worker thread."""
        if session is None:
            return None, self._sign_in_page(site)
        if not self.sessions.alive(session):
            return None, refuse(401, "This session has ended: its user profile was deleted or re-created. Open a new presigned domain URL.")
        app = self._apps.serving(site.domain_id, "space", session["space"], app_type, "default")
        if app is None or app.owner_uid != site.space_uid:
            return None, refuse(404, f"This space's {app_type} app is not InService; start it in Studio ({self.origins.domain(site.domain_id)}).")
        if not space_admits(app.owner_settings, session["user"]):
            return None, refuse(403, "This space is private to another user.")
        return app, None

    def _sign_in_page(self, site: Site) -> Response:
        studio = self.origins.domain(site.domain_id)
        return HTMLResponse(
            f'<!doctype html><title>Sign in</title><p>Open this space from <a href="{studio}/">Studio</a> '
            "(sign in there with a presigned domain URL).</p>",
            401,
        )

    def _space_target(self, connection: HTTPConnection):
        """(app type, path on the app) of a request to a space's origin, or None."""
        return space_app_at(raw_path(connection))

    async def space_http(self, request: Request) -> Response:
        site = site_of(request)
        session = self.sessions.space_session(request.headers, site)
        target = self._space_target(request)
        if target is None:
            return await self._space_root(request, site, session)
        app_type, path = target
        app, refusal = await anyio.to_thread.run_sync(self._authorize_space, session, site, app_type)
        if refusal is not None:
            return refusal
        if not self.request_ok(request):
            return refuse(403, "This request comes from a page of another origin; byoi refuses it.")
        return await self.proxy.http(request, app, path, user_key(session), None)

    async def _space_root(self, request: Request, site: Site, session: dict | None) -> Response:
        """Any other path: ``/`` opens the space's running app; the rest is not found."""
        if request.url.path != "/" or request.method not in SAFE_METHODS:
            return refuse(404, f"A space serves its apps under {' and '.join(SPACE_BASE_PATHS.values())}.")
        if session is None:
            return self._sign_in_page(site)
        for app_type, base in SPACE_BASE_PATHS.items():
            app, _ = await anyio.to_thread.run_sync(self._authorize_space, session, site, app_type)
            if app is not None:
                return RedirectResponse(f"{base}/", 302)
        return RedirectResponse(f"{self.origins.domain(site.domain_id)}/?space={session['space']}", 302)

    async def space_websocket(self, websocket: WebSocket) -> None:
        site = site_of(websocket)
        if self.own_origin(websocket) is not True:  # browsers only: a space's session is a cookie
            await websocket.close(code=4403)
            return
        target = self._space_target(websocket)
        session = self.sessions.space_session(websocket.headers, site)
        app, refusal = (None, None) if target is None else await anyio.to_thread.run_sync(self._authorize_space, session, site, target[0])
        if app is None:
            await websocket.close(code=4401 if refusal is not None and refusal.status_code == 401 else 4403)
            return
        await self.proxy.websocket(websocket, app, target[1], user_key(session))

    async def space_auth(self, request: Request) -> Response:
        return await self.sessions.space_auth(request, site_of(request))

    # --- byoi's public URL ------------------------------------------------------------------

    async def studio_redirect(self, request: Request) -> Response:
        """``/studio/<domain id>`` (an older byoi's domain Url): on to the domain's Studio."""
        return RedirectResponse(self.origins.domain(request.path_params["domain_id"]) + "/", 302)

    # --- routes -----------------------------------------------------------------------------

    def _app_paths(self) -> list:
        prefix = "/apps/{domain_id}/{owner}/{app_type}/{app_name}"
        return [WebSocketRoute(prefix + "/{path:path}", self.path_websocket), Route(prefix + "/{path:path}", self.path_http, methods=METHODS)]

    def public_routes(self) -> list:
        return [Route("/auth", self.sessions.auth, methods=["GET"]), *self._app_paths(), Route("/studio/{domain_id}", self.studio_redirect)]

    def domain_routes(self) -> list:
        return [
            Route("/auth", self.sessions.auth, methods=["GET"]),
            *self._app_paths(),
            Route("/spaces/{space}/{rest:path}", self.open_space, methods=["GET"]),
        ]

    def space_routes(self) -> list:
        return [
            Route("/_byoi/auth", self.space_auth, methods=["GET"]),
            WebSocketRoute("/{path:path}", self.space_websocket),
            Route("/{path:path}", self.space_http, methods=METHODS),
        ]

