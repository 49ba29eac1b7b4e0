"""Studio's origins, as pure functions of one setting (BYOI_STUDIO_URL).

The one place for Studio's URLs: the services answer DescribeDomain's and
DescribeSpace's Url from them, the gateway tells a request's site by its Host
with them. Pure, and importing nothing of byoi, so neither the services nor the
gateway import the other for it.

As on Studio, each domain's Studio and each space's apps have an origin of their own, so a
browser keeps their cookies, storage and scripts apart:

* ``<scheme>://<domain id>.<studio host>[:port]``: the domain's Studio (its home page, the
  presigned URLs' ``/auth``, its users' JupyterServer and KernelGateway apps under ``/apps/``);
* ``<scheme>://s-<space uid>.<domain id>.<studio host>[:port]``: one space's apps at Studio's
  base paths (``/jupyterlab/default``, ``/codeeditor/default``). The label is the space's
  HomeEfsFileSystemUid, never reused in a domain, so a space deleted and created again under
  the same name is a new origin with nothing of the old one's browser state.

Every other host (byoi's public URL) serves the AWS APIs and the ``/apps/`` paths. With the
default studio host ``studio.localhost`` no DNS is needed: browsers resolve ``*.localhost`` to
loopback. A team deployment points a wildcard DNS name at byoi (docs/gateway.md).
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

SPACE_LABEL = "s-"
_DOMAIN_ID = re.compile(r"^d-[a-z0-9]{1,40}$")
_SPACE = re.compile(r"^s-([0-9]{1,12})$")
_DEFAULT_PORTS = {"http": 80, "https": 443}


@dataclass(frozen=True)
class Site:
    """What a request's Host names: a domain's Studio (``space_uid`` None) or one of its spaces."""

    domain_id: str
    space_uid: int | None = None

    @property
    def is_space(self) -> bool:
        return self.space_uid is not None


def default_studio_url(public_url: str) -> str:
    """``studio.localhost`` on the public URL's scheme and port when byoi is on loopback (or an
    address, which has no subdomains), else ``studio.<public host>``."""
    parts = urlsplit(public_url)
    host = (parts.hostname or "localhost").lower()
    try:
        ipaddress.ip_address(host)
        is_address = True
    except ValueError:
        is_address = False
    parent = "studio.localhost" if is_address or host == "localhost" else f"studio.{host}"
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme or 'http'}://{parent}{port}"


class StudioOrigins:
    def __init__(self, studio_url: str):
        parts = urlsplit(studio_url.strip().rstrip("/"))
        if parts.scheme not in _DEFAULT_PORTS or not parts.hostname or parts.path or parts.query:
            raise ValueError(f"BYOI_STUDIO_URL must be http(s)://<host>[:port] with no path, such as http://studio.localhost:8080; got {studio_url!r}")
        self.scheme = parts.scheme
        self.host = parts.hostname.lower()
        self.port = parts.port or _DEFAULT_PORTS[parts.scheme]
        self._port_suffix = "" if self.port == _DEFAULT_PORTS[parts.scheme] else f":{self.port}"

    @property
    def secure(self) -> bool:
        return self.scheme == "https"

    def _origin(self, host: str) -> str:
        return f"{self.scheme}://{host}{self._port_suffix}"

    def domain(self, domain_id: str) -> str:
        """The origin of a domain's Studio (DescribeDomain's Url)."""
        return self._origin(f"{domain_id.lower()}.{self.host}")

    def space(self, domain_id: str, space_uid: int) -> str:
        """The origin of a space's apps (DescribeSpace's Url)."""
        return self._origin(f"{SPACE_LABEL}{space_uid}.{domain_id.lower()}.{self.host}")

    def origin_of(self, site: Site) -> str:
        return self.space(site.domain_id, site.space_uid) if site.is_space else self.domain(site.domain_id)

    def site(self, host_header: str | None) -> Site | None:
        """The Studio site a request's Host header names, or None for any other host. The port is
        not compared: behind a reverse proxy byoi listens on another one than browsers use."""
        host = (host_header or "").strip().lower()
        if host.startswith("["):
            return None
        host = host.rpartition(":")[0] if ":" in host else host
        suffix = "." + self.host
        if not host.endswith(suffix):
            return None
        labels = host[: -len(suffix)].split(".")
        if len(labels) == 1 and _DOMAIN_ID.match(labels[0]):
            return Site(labels[0])
        if len(labels) == 2 and _DOMAIN_ID.match(labels[1]):
            space = _SPACE.match(labels[0])
            if space:
                return Site(labels[1], int(space.group(1)))
        return None
