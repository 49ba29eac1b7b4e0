"""The gateway's rules as pure functions: where a landing may go, whose path an app lives
at, which cookies cross the gateway and how they are scoped, which origins may open
websockets, and who may use a space's apps."""

from __future__ import annotations

import ipaddress
from urllib.parse import quote, urlsplit

from byoi.vocabulary import LANDING_APPS, SPACE_APPS

SESSION_COOKIE = "byoi_session"
#: Its name where Studio is served over https: a ``__Host-`` cookie cannot be set by another
#: host (a space's scripts cannot plant one for the domain's Studio) nor for another path.
SECURE_SESSION_COOKIE = "__Host-byoi_session"
SESSION_COOKIES = (SESSION_COOKIE, SECURE_SESSION_COOKIE)
#: A space's owner segment in the gateway path: ``space:<name>``. Profile and space names
#: match ``[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}``, so no user's segment looks like this.
SPACE_PREFIX = "space:"


# --- landing pages --------------------------------------------------------------


def landing_ok(uri: str) -> bool:
    """Whether ``uri`` is a path on byoi itself: one leading ``/``, never ``//`` or ``/\\``
    (which browsers read as another host), no backslash, whitespace or control character
    (browsers drop tabs and newlines from URLs, so ``/\\t/evil`` would become ``//evil``)."""
    if not uri.startswith("/") or uri.startswith("//"):
        return False
    return not any(c == "\\" or c.isspace() or ord(c) < 0x20 or ord(c) == 0x7F for c in uri)


#: The apps a space serves on its own origin, at Studio's base paths (AWS's docs also write
#: ``/CodeEditor/default``: base paths are matched without regard to case).
SPACE_BASE_PATHS = {app_type: kind.base_path for app_type, kind in SPACE_APPS.items()}


def landing_path(uri: str | None, domain_id: str, user: str, space: str | None) -> str | None:
    """Where a presigned URL lands, as a path on the domain's Studio origin, from
    CreatePresignedDomainUrl's LandingUri; None if it is neither a path nor one of Studio's
    forms. ``studio::<path>`` opens the Studio home page (at ``<path>``); ``app:<AppType>:<path>``
    the ``default`` app of that type: of ``space`` when one is named (through
    ``/spaces/<space>/<AppType>/<path>``, which hands the browser on to the space's origin), else
    the user's own under ``/apps/``. With no LandingUri: the space when one is named, else the
    home page."""
    if not uri:
        return space_path(space, None, "") if space else "/"
    if uri.startswith("studio::"):
        target = "/" + uri[len("studio::"):].lstrip("/")
    elif uri.startswith("app:"):
        app_type, _, path = uri[4:].partition(":")
        if app_type not in LANDING_APPS:
            return None
        if space and app_type in SPACE_BASE_PATHS:
            target = space_path(space, app_type, path)
        else:
            target = app_prefix(domain_id, user, app_type, "default") + path.lstrip("/")
    else:
        target = uri
    return target if landing_ok(target) else None


def space_path(space: str, app_type: str | None, path: str) -> str:
    """The domain origin's path that opens a space (its ``app_type`` app at ``path``)."""
    return f"/spaces/{quote(space, safe='')}/" + (f"{app_type}/{path.lstrip('/')}" if app_type else "")


def space_app_at(path: str) -> tuple[str, str] | None:
    """(app type, path on the app's server) for a path on a space's origin: under one of
    Studio's base paths, matched without regard to case, served at the lower-case one."""
    lowered = path.lower()
    for app_type, base in SPACE_BASE_PATHS.items():
        if lowered == base or lowered.startswith(base + "/"):
            return app_type, base + path[len(base):]
    return None


# --- gateway paths ------------------------------------------------------------------


def owner_segment(kind: str, name: str) -> str:
    """The path segment for an app's owner: the user profile's name, or ``space:<name>``."""
    return f"{SPACE_PREFIX}{name}" if kind == "space" else name


def parse_owner(segment: str) -> tuple[str, str]:
    """(kind, name) of an owner segment: ``space:<name>`` is a space, anything else a user."""
    if segment.startswith(SPACE_PREFIX):
        return "space", segment[len(SPACE_PREFIX):]
    return "user", segment


def app_prefix(domain_id: str, owner: str, app_type: str, app_name: str) -> str:
    """``/apps/<domain>/<owner>/<type>/<name>/``, each segment percent-encoded as a browser
    sends it (a ``;`` or ``,`` could never end up inside a cookie attribute)."""
    return "/apps/" + "/".join(quote(part, safe=":-_.~") for part in (domain_id, owner, app_type, app_name)) + "/"


# --- cookies ------------------------------------------------------------------------------


def app_cookies(header: str) -> str | None:
    """A request's Cookie header as an app may see it: without byoi's session cookie."""
    kept = [c.strip() for c in header.split(";") if c.strip() and c.strip().partition("=")[0].strip() not in SESSION_COOKIES]
    return "; ".join(kept) or None


def session_cookies(header: str | None) -> list[str]:
    """The values of every byoi session cookie in a Cookie header. More than one means a
    cookie was planted beside the browser's own (a script of a sibling origin can set one for
    a parent domain): the gateway then trusts none."""
    values = []
    for part in (header or "").split(";"):
        name, _, value = part.strip().partition("=")
        if name.strip() in SESSION_COOKIES:
            values.append(value.strip())
    return values


def scope_set_cookie(header: str, prefix: str | None) -> str | None:
    """An app's Set-Cookie header as the browser gets it: ``Domain`` removed (a host-only
    cookie) and, on a shared origin (``prefix`` given), ``Path`` forced to the app's own
    gateway prefix, so the browser sends it back to that app only; on a space's own origin
    the app's Path stands. None for cookies no app may set: byoi's session cookies, and
    ``__Host-`` cookies on a shared origin (which need ``Path=/``)."""
    parts = header.split(";")
    name = parts[0].partition("=")[0].strip()
    if not name or name in SESSION_COOKIES or (prefix is not None and name.lower().startswith("__host-")):
        return None
    dropped = ("path", "domain") if prefix is not None else ("domain",)
    kept = [a.strip() for a in parts[1:] if a.strip() and a.partition("=")[0].strip().lower() not in dropped]
    return "; ".join([parts[0].strip(), *kept, *([f"Path={prefix}"] if prefix is not None else [])])


# --- origins ------------------------------------------------------------------------------

_DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}


def origin_key(url: str) -> tuple[str, str, int] | None:
    """(scheme, host, port) of an origin or URL, with default ports filled in; None if unparsable."""
    try:
        parts = urlsplit(url.strip())
        scheme, host, port = parts.scheme.lower(), (parts.hostname or "").lower(), parts.port
    except ValueError:
        return None
    scheme = {"ws": "http", "wss": "https"}.get(scheme, scheme)
    if scheme not in ("http", "https") or not host:
        return None
    return scheme, host, port if port is not None else _DEFAULT_PORTS[scheme]


def own_origins(public_url: str, scheme: str, server: tuple[str, int] | None) -> set[tuple[str, str, int]]:
    """The origins byoi's own pages have: the public URL's, and the address the connection
    came in on (``scope["server"]``, the listening socket, never the client's Host header,
    so DNS rebinding does not pass), with ``localhost`` for a loopback address."""
    origins = set()
    public = origin_key(public_url)
    if public:
        origins.add(public)
    if server and server[0]:
        host, port = server[0].lower(), int(server[1])
        web = {"ws": "http", "wss": "https"}.get(scheme, scheme)
        hosts = {host}
        try:
            if ipaddress.ip_address(host).is_loopback:
                hosts.add("localhost")
        except ValueError:
            pass
        origins.update((web, h, port) for h in hosts)
    return origins


def origin_allowed(origin: str | None, allowed: set[tuple[str, str, int]]) -> bool:
    key = origin_key(origin) if origin and origin != "null" else None
    return key is not None and key in allowed


# --- spaces -------------------------------------------------------------------------------


def space_admits(space_settings: dict | None, user: str) -> bool:
    """Whether a user profile of the space's domain may use its apps: anyone in the domain,
    unless the space's SpaceSharingSettings.SharingType is Private, when only its
    OwnershipSettings.OwnerUserProfileName may."""
    settings = space_settings or {}
    if ((settings.get("SpaceSharingSettings") or {}).get("SharingType") or "").lower() != "private":
        return True
    owner = (settings.get("OwnershipSettings") or {}).get("OwnerUserProfileName")
    return bool(owner) and owner.lower() == user.lower()
