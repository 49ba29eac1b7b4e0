"""The gateway's rules as pure functions: where a landing may go, whose path an app lives
at, which cookies cross the gateway and how they are scoped, which origins may open
websockets, and who may use a space's apps."""

from __future__ import annotations

import ipaddress
from urllib.parse import quote, urlsplit

SESSION_COOKIE = "byoi_session"
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


#: Studio's LandingUri forms for apps (``app:<AppType>:<path>``) and the gateway app they open.
LANDING_APPS = {"JupyterServer": "JupyterServer", "JupyterLab": "JupyterLab", "CodeEditor": "CodeEditor"}


def landing_path(uri: str | None, domain_id: str, user: str, space: str | None) -> str | None:
    """Where a presigned URL lands on byoi, from CreatePresignedDomainUrl's LandingUri; None if
    it is neither a path on byoi nor one of Studio's forms. ``studio::<path>`` (and no LandingUri)
    opens the domain's Studio page; ``app:<AppType>:<path>`` the ``default`` app of that type
    (a JupyterLab or Code Editor app of ``space`` when one is named, else of the user)."""
    if not uri or uri.startswith("studio::"):
        return f"/studio/{domain_id}"
    if uri.startswith("app:"):
        app_type, _, path = uri[4:].partition(":")
        if app_type not in LANDING_APPS:
            return None
        owner = owner_segment("space", space) if space and app_type != "JupyterServer" else owner_segment("user", user)
        target = app_prefix(domain_id, owner, app_type, "default") + path.lstrip("/")
        return target if landing_ok(target) else None
    return uri if landing_ok(uri) else None


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
    kept = [c.strip() for c in header.split(";") if c.strip() and c.strip().partition("=")[0].strip() != SESSION_COOKIE]
    return "; ".join(kept) or None


def scope_set_cookie(header: str, prefix: str) -> str | None:
    """An app's Set-Cookie header as the browser gets it: ``Path`` forced to the app's own
    gateway prefix and ``Domain`` removed (a host-only cookie), so the browser sends it
    back to that app only. None for cookies no app may set: byoi's session cookie, and
    ``__Host-`` cookies (which need ``Path=/``)."""
    parts = header.split(";")
    name = parts[0].partition("=")[0].strip()
    if not name or name == SESSION_COOKIE or name.lower().startswith("__host-"):
        return None
    kept = [
        a.strip() for a in parts[1:]
        if a.strip() and a.partition("=")[0].strip().lower() not in ("path", "domain")
    ]
    return "; ".join([parts[0].strip(), *kept, f"Path={prefix}"])


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
