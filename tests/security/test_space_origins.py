"""Spaces on their own origins: who reaches a space, and what one origin's pages may do to another.

As in test_gateway_boundary, apps are stand-ins registered as InService in byoi's store and
a real ``byoi serve`` proxies to them; clients reach Studio's origins by the names a browser
uses (``*.studio.localhost``, resolved to loopback by tests/conftest.py as browsers do).
Every attack comes with its control.
"""

from __future__ import annotations

import json
from urllib.parse import urljoin, urlsplit

import httpx
import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect as ws_connect

from tests.security.test_gateway_boundary import WAIT, Studio, byoi, stand_in  # noqa: F401 - fixtures

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture
def studio(byoi, stand_in):  # noqa: F811
    studio = Studio(byoi, stand_in)
    yield studio
    studio.db.dispose()


def space_origin(studio: Studio, space: str) -> str:
    return studio.sm.describe_space(DomainId=studio.domain_id, SpaceName=space)["Url"]


def domain_origin(studio: Studio) -> str:
    return studio.sm.describe_domain(DomainId=studio.domain_id)["Url"]


class Browser:
    """Follows redirects and keeps cookies per host, as a browser does with host-only cookies
    (Python's cookie jar would send them to subdomains too). byoi sets no Domain attribute."""

    def __init__(self):
        self.cookies: dict[str, dict[str, str]] = {}

    def cookie(self, origin: str, name: str = "byoi_session") -> str:
        return self.cookies[urlsplit(origin).hostname][name]

    def request(self, method: str, url: str, follow: bool = True, headers: dict | None = None, **kwargs) -> httpx.Response:
        history = []
        while True:
            host = urlsplit(url).hostname
            jar = self.cookies.setdefault(host, {})
            sent = {**({"Cookie": "; ".join(f"{k}={v}" for k, v in jar.items())} if jar else {}), **(headers or {})}
            response = httpx.request(method, url, headers=sent, timeout=WAIT, **kwargs)
            for header in response.headers.get_list("set-cookie"):
                name, _, value = header.split(";")[0].partition("=")
                jar[name.strip()] = value.strip()
            if not follow or response.status_code not in (301, 302, 303, 307, 308):
                response.history = history
                return response
            history.append(response)
            url, method, kwargs = urljoin(url, response.headers["location"]), "GET", {}

    def get(self, url: str, **kwargs) -> httpx.Response:
        return self.request("GET", url, **kwargs)

    def post(self, url: str, **kwargs) -> httpx.Response:
        return self.request("POST", url, **kwargs)


def sign_in(studio: Studio, user: str, **extra) -> tuple[Browser, httpx.Response]:
    client = Browser()
    url = studio.sm.create_presigned_domain_url(DomainId=studio.domain_id, UserProfileName=user, **extra)["AuthorizedUrl"]
    return client, client.get(url)


def space_cookie(client: Browser, origin: str) -> str:
    return client.cookie(origin)


def test_a_presigned_url_for_a_space_lands_on_the_spaces_own_origin_at_studios_base_path(studio):
    alice = studio.user("alice")
    studio.space("lab", owner=alice, sharing="Private")
    studio.serve("lab", "JupyterLab", kind="space")
    uid = studio.sm.describe_space(DomainId=studio.domain_id, SpaceName="lab")["HomeEfsFileSystemUid"]
    origin = space_origin(studio, "lab")
    assert origin == f"http://s-{uid}.{studio.domain_id}.studio.localhost:{studio.srv.port}"  # DescribeSpace.Url

    client, landed = sign_in(studio, alice, SpaceName="lab", LandingUri="app:JupyterLab:lab/tree/a%20b.ipynb")
    assert str(landed.url) == f"{origin}/jupyterlab/default/lab/tree/a%20b.ipynb"
    hops = [(urlsplit(str(r.url)).hostname, urlsplit(str(r.url)).path) for r in landed.history]
    domain_host, space_host = urlsplit(domain_origin(studio)).hostname, urlsplit(origin).hostname
    assert hops == [(domain_host, "/auth"), (domain_host, "/spaces/lab/JupyterLab/lab/tree/a%20b.ipynb"), (space_host, "/_byoi/auth")]
    seen = landed.json()  # what the app received: its own path, the browser's Host, no byoi credential
    assert seen["path"] == "/jupyterlab/default/lab/tree/a b.ipynb"
    headers = dict(seen["headers"])
    assert headers["host"] == f"{space_host}:{studio.srv.port}"
    assert "byoi_session" not in json.dumps(seen)
    # Each origin has a session cookie of its own, host-only.
    assert client.cookie(domain_origin(studio)) != client.cookie(origin)
    # Studio's other spelling of a base path reaches the same app.
    assert client.get(f"{origin}/JupyterLab/default/api/status").json()["path"] == "/jupyterlab/default/api/status"
    # / opens the app that runs.
    assert str(client.get(f"{origin}/").url) == f"{origin}/jupyterlab/default/"


def test_a_private_space_is_its_owners_alone_and_a_shared_one_is_everyones(studio):
    alice, bob = studio.user("alice"), studio.user("bob")
    studio.space("lab", owner=alice, sharing="Private")
    studio.space("team", owner=alice, sharing="Shared")
    studio.serve("lab", "JupyterLab", kind="space")
    studio.serve("team", "JupyterLab", kind="space")
    lab, team = space_origin(studio, "lab"), space_origin(studio, "team")

    bobs, refused = sign_in(studio, bob, SpaceName="lab", LandingUri="app:JupyterLab:lab")
    assert refused.status_code == 403 and "private" in refused.json()["message"]
    assert urlsplit(str(refused.url)).hostname == urlsplit(domain_origin(studio)).hostname  # never sent on to the space
    assert bobs.get(f"{lab}/jupyterlab/default/api/status").status_code == 401  # no session there at all
    # Control: the shared space is bob's too.
    assert bobs.get(domain_origin(studio) + "/spaces/team/JupyterLab/lab").json()["path"] == "/jupyterlab/default/lab"

    # Bob's session of the shared space, or of the Studio, presented at alice's private space.
    for planted in (space_cookie(bobs, team), space_cookie(bobs, domain_origin(studio))):
        response = httpx.get(f"{lab}/jupyterlab/default/api/status", headers={"Cookie": f"byoi_session={planted}"})
        assert response.status_code == 401, response.text
    # The same with the Host a browser would never send together with that cookie (curl can).
    response = httpx.get(f"{team}/jupyterlab/default/x", headers={"Host": urlsplit(lab).netloc, "Cookie": f"byoi_session={space_cookie(bobs, team)}"})
    assert response.status_code == 401


def test_a_hand_off_link_opens_one_session_on_its_own_spaces_origin_only(studio):
    alice = studio.user("alice")
    studio.space("a", owner=alice, sharing="Private")
    studio.space("b", owner=alice, sharing="Private")
    studio.serve("a", "JupyterLab", kind="space")
    studio.serve("b", "JupyterLab", kind="space")
    client, _ = sign_in(studio, alice)
    hop = client.get(domain_origin(studio) + "/spaces/a/JupyterLab/lab", follow=False)
    grant = hop.headers["location"]
    assert grant.startswith(space_origin(studio, "a") + "/_byoi/auth?token=")
    elsewhere = grant.replace(space_origin(studio, "a"), space_origin(studio, "b"))
    assert httpx.get(elsewhere, follow_redirects=False).status_code == 403  # bound to space a's origin
    assert httpx.get(grant, follow_redirects=False).status_code == 302  # control
    assert httpx.get(grant, follow_redirects=False).status_code == 403  # used once already


def test_one_spaces_pages_cannot_drive_another_space_or_the_studio(studio, stand_in):  # noqa: F811
    """Spaces of one domain are one site to a browser (SameSite cookies flow between them), so
    a space's scripts could post to a sibling: the Origin must be the target's own."""
    alice = studio.user("alice")
    for name in ("a", "b"):
        studio.space(name, owner=alice, sharing="Private")
        studio.serve(name, "JupyterLab", kind="space")
    client, _ = sign_in(studio, alice)
    a, b, home = space_origin(studio, "a"), space_origin(studio, "b"), domain_origin(studio)
    client.get(home + "/spaces/b/JupyterLab/lab")
    session_b = {"Cookie": f"byoi_session={space_cookie(client, b)}"}

    post = f"{b}/jupyterlab/default/api/kernels"
    assert httpx.post(post, headers=session_b | {"Origin": a}).status_code == 403
    assert httpx.post(post, headers=session_b | {"Origin": home}).status_code == 403
    assert httpx.post(post, headers=session_b | {"Origin": b}).status_code == 200  # control
    assert client.post(home + "/studio/spaces", data={"name": "x"}, headers={"Origin": a}).status_code == 403

    def opens(headers: dict) -> bool:
        try:
            with ws_connect(f"{b.replace('http', 'ws', 1)}/jupyterlab/default/api/kernels/k/channels", additional_headers=headers, open_timeout=WAIT) as ws:
                json.loads(ws.recv(timeout=WAIT))
                return True
        except InvalidStatus as exc:
            assert exc.response.status_code == 403
            return False

    before = stand_in.websockets
    for headers in (session_b | {"Origin": a}, session_b | {"Origin": home}, session_b):
        assert not opens(headers), headers
    assert stand_in.websockets == before
    assert opens(session_b | {"Origin": b})  # control

    # A cookie planted for the parent domain beside the browser's own: neither is trusted.
    planted = {"Cookie": f"byoi_session={space_cookie(client, b)}; byoi_session=planted-by-a"}
    assert httpx.get(f"{b}/jupyterlab/default/api/status", headers=planted).status_code == 401
