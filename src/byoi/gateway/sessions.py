"""Presigned URLs, sessions and the hand-off of a session to a space's origin.

* ``CreatePresignedDomainUrl`` returns ``<domain's Studio origin>/auth?token=...``: a signed
  token for one user profile that expires after ``ExpiresInSeconds`` (default 300, as on AWS)
  and opens one session (a second use is refused; ``byoi.gateway.ledger``). Its LandingUri
  becomes a path on the domain's origin (``policy.landing_path``); anything else is a
  ValidationException. Without a LandingUri or SpaceName the user's DefaultLandingUri applies
  (theirs over the domain's DefaultUserSettings'), else Studio's home page, or their
  JupyterServer app (Studio Classic) when their StudioWebPortal is DISABLED.
* ``GET /auth?token=...`` turns it into a session: a signed cookie (``byoi_session``;
  ``__Host-byoi_session`` over https) that is HttpOnly, SameSite=Lax, host-only, and lasts
  ``SessionExpirationDurationInSeconds`` (default 12 hours); then it redirects to the landing.
  The same session token is accepted as ``Authorization: Bearer <token>`` by API clients. A
  session carries its user profile's HomeEfsFileSystemUid and holds only while that profile
  exists with that uid: deleting the profile (or re-creating it) ends its sessions.
* A space's origin never sees the domain's cookie (it is host-only). ``/spaces/<space>/...`` on
  the domain's origin checks that the session's user may use the space, then redirects to
  ``<space origin>/_byoi/auth?token=...``: a one-use grant valid for 60 s, bound to that space's
  origin, which sets a session cookie there for that user and that space only (lasting no
  longer than the domain session it came from).
* A request carrying two session cookies (one planted for a parent domain by a sibling
  origin's script) is trusted with neither.
"""

from __future__ import annotations

import secrets as random_tokens

import anyio
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from byoi.app_settings import settings_chain, web_portal
from byoi.auth.tokens import TokenSigner
from byoi.aws.errors import ValidationException
from byoi.aws.protocol import RequestContext
from byoi.clock import Clock
from byoi.gateway.ledger import PresignLedger
from byoi.gateway.policy import SECURE_SESSION_COOKIE, SESSION_COOKIE, landing_ok, landing_path, session_cookies
from byoi.services.domains import DomainService
from byoi.studio_urls import Site, StudioOrigins

#: How long the link that carries a session on to a space's origin may take to be followed.
SPACE_GRANT_MS = 60_000


def refuse(status: int, message: str, **headers: str) -> JSONResponse:
    return JSONResponse({"message": message}, status, headers=headers or None)


def is_bearer(value: str) -> bool:
    return value.strip().lower().startswith("bearer")


class Sessions:
    def __init__(self, signer: TokenSigner, clock: Clock, domains: DomainService, origins: StudioOrigins, ledger: PresignLedger):
        self._signer = signer
        self._clock = clock
        self._domains = domains
        self._origins = origins
        self._ledger = ledger
        self.cookie_name = SECURE_SESSION_COOKIE if origins.secure else SESSION_COOKIE

    # --- presigned URLs -----------------------------------------------------------

    def presigned_url(self, ctx: RequestContext, p: dict) -> dict:
        member = self._domains.describe_member(ctx.scope, p["DomainId"], "user", p["UserProfileName"])
        if p.get("SpaceName"):
            self._domains.describe_member(ctx.scope, p["DomainId"], "space", p["SpaceName"])
        domain_id = member.domain_id
        uri = p.get("LandingUri")
        if not uri and not p.get("SpaceName"):
            uri = self._default_landing(ctx, member)
        landing = landing_path(uri, domain_id, member.name, p.get("SpaceName"))
        if landing is None:
            raise ValidationException(
                f"LandingUri {p.get('LandingUri')!r} must be studio::<path>, app:<JupyterServer|JupyterLab|CodeEditor>:<path>, "
                "or a path on the domain's Studio starting with a single '/' (such as /apps/<domain id>/<user profile>/JupyterServer/default/lab), "
                "not a URL of another site"
            )
        token = self._signer.sign(
            {
                "kind": "presign",
                "id": random_tokens.token_urlsafe(18),
                "domain": domain_id,
                "user": member.name,
                "uid": member.home_uid,
                "exp": self._clock.now_ms() + 1000 * p.get("ExpiresInSeconds", 300),
                "session": p.get("SessionExpirationDurationInSeconds", 43200),
                "landing": landing,
            }
        )
        return {"AuthorizedUrl": f"{self._origins.domain(domain_id)}/auth?token={token}"}

    def _default_landing(self, ctx: RequestContext, member) -> str | None:
        """Where a user lands when the presigned URL names no LandingUri nor space: their
        DefaultLandingUri (theirs over the domain's); without one, Studio, or Studio Classic
        (their JupyterServer app) when StudioWebPortal is DISABLED for them."""
        domain = self._domains.describe(ctx.scope, member.domain_id)
        portal = web_portal(settings_chain(domain.settings, member))
        if portal["DefaultLandingUri"]:
            return portal["DefaultLandingUri"]
        return None if portal["StudioWebPortal"] == "ENABLED" else "app:JupyterServer:"

    async def auth(self, request: Request) -> Response:
        """``/auth``: a presigned URL becomes a session on the origin it was opened at."""
        now = self._clock.now_ms()
        grant = self._signer.verify(request.query_params.get("token", ""), "presign", now)
        if grant is None or not grant.get("id") or "uid" not in grant:
            return refuse(403, "This link is invalid or has expired; ask for a new presigned URL.")
        if not await self._spend(grant, now):
            return refuse(403, "This link has been used already; each presigned URL opens one session. Ask for a new one.")
        uid = await anyio.to_thread.run_sync(self._domains.home_uid, grant["domain"], "user", grant["user"])
        if uid is None or uid != grant["uid"]:
            return refuse(403, "The user profile this link was made for no longer exists; ask for a new presigned URL.")
        session = {"kind": "session", "domain": grant["domain"], "user": grant["user"], "uid": uid, "exp": now + 1000 * int(grant["session"])}
        landing = grant["landing"] if landing_ok(grant["landing"]) else "/"
        return self._signed_in(session, landing)

    async def _spend(self, grant: dict, now: int) -> bool:
        return await anyio.to_thread.run_sync(self._ledger.spend, grant["id"], int(grant["exp"]), now)

    def _signed_in(self, session: dict, landing: str) -> Response:
        response = RedirectResponse(landing, status_code=302, headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"})
        max_age = max(0, (int(session["exp"]) - self._clock.now_ms()) // 1000)
        response.set_cookie(
            self.cookie_name, self._signer.sign(session), max_age=max_age, path="/", httponly=True, samesite="lax",
            secure=self._origins.secure,
        )
        return response

    # --- sessions -------------------------------------------------------------------

    def _token(self, headers) -> str | None:
        authorization = headers.get("authorization", "")
        if is_bearer(authorization):
            return authorization.strip()[6:].strip()
        values = session_cookies(headers.get("cookie"))
        return values[0] if len(values) == 1 else None

    def session(self, headers) -> dict | None:
        """The domain session a request carries (cookie or Bearer), verified; None otherwise."""
        return self._signer.verify(self._token(headers) or "", "session", self._clock.now_ms())

    def space_session(self, headers, site: Site) -> dict | None:
        """The session a request to a space's origin carries, if it was granted for that origin."""
        values = session_cookies(headers.get("cookie"))
        session = self._signer.verify(values[0] if len(values) == 1 else "", "space-session", self._clock.now_ms())
        if session is None or session["domain"] != site.domain_id or session["space_uid"] != site.space_uid:
            return None
        return session

    def alive(self, session: dict) -> bool:
        """Whether the session's user profile still exists as the person it was made for. Runs
        in a worker thread."""
        uid = self._domains.home_uid(session["domain"], "user", session["user"])
        return uid is not None and uid == session.get("uid")

    # --- the hand-off to a space's origin ------------------------------------------------

    def space_grant_url(self, session: dict, space: str, space_uid: int, landing: str) -> str:
        """The URL that signs the session's user in at a space's origin and lands on ``landing``."""
        token = self._signer.sign(
            {
                "kind": "space-grant",
                "id": random_tokens.token_urlsafe(18),
                "domain": session["domain"],
                "user": session["user"],
                "uid": session["uid"],
                "space": space,
                "space_uid": space_uid,
                "exp": self._clock.now_ms() + SPACE_GRANT_MS,
                "session_exp": session["exp"],
                "landing": landing,
            }
        )
        return f"{self._origins.space(session['domain'], space_uid)}/_byoi/auth?token={token}"

    async def space_auth(self, request: Request, site: Site) -> Response:
        """``/_byoi/auth`` on a space's origin: a grant for this origin becomes a session here."""
        now = self._clock.now_ms()
        grant = self._signer.verify(request.query_params.get("token", ""), "space-grant", now)
        if grant is None or grant["domain"] != site.domain_id or grant["space_uid"] != site.space_uid:
            return refuse(403, "This link is invalid, has expired or belongs to another space; open the space from Studio again.")
        if not await self._spend(grant, now):
            return refuse(403, "This link has been used already; open the space from Studio again.")
        keys = ("domain", "user", "uid", "space", "space_uid")
        session = {"kind": "space-session", **{k: grant[k] for k in keys}, "exp": grant["session_exp"]}
        landing = grant["landing"] if landing_ok(grant["landing"]) else "/"
        return self._signed_in(session, landing)
