"""The gateway's rules, one by one (no server): landing pages, cookies, origins, spaces, limits."""

from __future__ import annotations

import asyncio
import re

import botocore.session
import httpx
import pytest

from byoi.gateway.limits import AppPools, Slots, app_client
from byoi.gateway.policy import (
    app_cookies,
    app_prefix,
    landing_ok,
    landing_path,
    origin_allowed,
    own_origins,
    owner_segment,
    parse_owner,
    scope_set_cookie,
    session_cookies,
    space_admits,
    space_app_at,
)
from byoi.gateway.proxy import app_headers, browser_headers
from byoi.studio_urls import Site, StudioOrigins, default_studio_url


@pytest.mark.parametrize("uri, ok", [
    ("/studio/d-abc", True),
    ("/apps/d-abc/alice/JupyterServer/default/lab?reset#x", True),
    ("/", True),
    ("//evil.example/x", False),
    ("/\\evil.example/x", False),
    ("/x\\y", False),
    ("\\\\evil.example", False),
    ("https://evil.example/", False),
    ("javascript:alert(1)", False),
    ("evil.example", False),
    ("/\t/evil.example", False),
    ("/\n/evil.example", False),
    ("/ /x", False),
    ("", False),
])
def test_landing_pages_are_paths_on_byoi(uri, ok):
    assert landing_ok(uri) is ok


def test_owner_segments_cannot_be_mistaken_for_each_other():
    assert parse_owner(owner_segment("user", "team")) == ("user", "team")
    assert parse_owner(owner_segment("space", "team")) == ("space", "team")
    assert owner_segment("space", "team") == "space:team"
    # No profile (or space) name can contain ':', so no user's segment starts with "space:".
    model = botocore.session.get_session().get_service_model("sagemaker")
    for shape in ("UserProfileName", "SpaceName"):
        pattern = model.shape_for(shape).metadata["pattern"]
        assert re.fullmatch(pattern, "team") and not re.fullmatch(pattern, "space:team")


def test_app_prefixes_cannot_carry_cookie_attributes():
    assert app_prefix("d-abc", "space:team", "KernelGateway", "default") == "/apps/d-abc/space:team/KernelGateway/default/"
    assert ";" not in app_prefix("d-abc", "x; Domain=evil", "KernelGateway", "a,b")


@pytest.mark.parametrize("header, expected", [
    ("a=1", "a=1; Path=/p/"),
    ("a=1; Path=/", "a=1; Path=/p/"),
    ("a=1; path=/other; Domain=.example.com; HttpOnly; SameSite=Strict", "a=1; HttpOnly; SameSite=Strict; Path=/p/"),
    ("a=1;Domain=127.0.0.1;Path=/api;Secure", "a=1; Secure; Path=/p/"),
    ("byoi_session=planted; Path=/", None),
    ("__Host-x=1; Path=/; Secure", None),
    ("=nameless", None),
])
def test_app_cookies_are_scoped_to_their_app(header, expected):
    assert scope_set_cookie(header, "/p/") == expected


def test_byois_session_cookie_never_reaches_apps():
    assert app_cookies("byoi_session=s; _xsrf=abc; b=2") == "_xsrf=abc; b=2"
    assert app_cookies("byoi_session=s") is None
    assert app_cookies(" byoi_session = s ;x=1") == "x=1"


def test_what_an_app_is_sent_and_what_the_browser_gets():
    sent = app_headers({"Cookie": "byoi_session=s; a=1", "Authorization": "token mine", "Accept": "*/*"}, "token app")
    assert sent == [("Cookie", "a=1"), ("Accept", "*/*"), ("Authorization", "token app")]
    assert app_headers({"Authorization": "bearer s", "Connection": "close"}) == []
    got = browser_headers(
        [(b"Set-Cookie", b"a=1; Path=/"), (b"Set-Cookie", b"b=2"), (b"Content-Length", b"3"), (b"X-Kept", b"yes")], "/p/"
    )
    assert got == [(b"set-cookie", b"a=1; Path=/p/"), (b"set-cookie", b"b=2; Path=/p/"), (b"x-kept", b"yes")]


def test_origins_are_byois_own():
    mine = own_origins("https://studio.example", "ws", ("127.0.0.1", 8080))
    assert origin_allowed("https://studio.example", mine)
    assert origin_allowed("https://studio.example:443", mine)
    assert origin_allowed("http://127.0.0.1:8080", mine) and origin_allowed("http://localhost:8080", mine)
    for foreign in (
        "http://studio.example", "https://studio.example:8443", "https://evil.example", "http://evil.example:8080",
        "https://studio.example.evil.example", "null", "", None, "file://", "http://127.0.0.1:8081", "not a url",
    ):
        assert not origin_allowed(foreign, mine), foreign
    behind = own_origins("http://10.0.0.5:8080", "ws", ("10.0.0.5", 8080))
    assert not origin_allowed("http://localhost:8080", behind)  # only a loopback listener is also "localhost"
    assert origin_allowed("http://[::1]:9000", own_origins("http://x", "ws", ("::1", 9000)))


def test_private_spaces_admit_their_owner_only():
    private = {"OwnershipSettings": {"OwnerUserProfileName": "Alice"}, "SpaceSharingSettings": {"SharingType": "Private"}}
    assert space_admits(private, "alice") and not space_admits(private, "bob")
    assert not space_admits({"SpaceSharingSettings": {"SharingType": "Private"}}, "alice")
    shared = {"OwnershipSettings": {"OwnerUserProfileName": "alice"}, "SpaceSharingSettings": {"SharingType": "Shared"}}
    assert space_admits(shared, "bob") and space_admits({}, "bob") and space_admits(None, "bob")


def test_per_user_slots():
    slots = Slots(2)
    assert slots.take("a") and slots.take("a") and not slots.take("a")
    assert slots.take("b")
    slots.give("a")
    assert slots.used("a") == 1 and slots.take("a")


def test_the_app_client_keeps_no_cookies():
    async def check():
        client = app_client()
        request = httpx.Request("GET", "http://127.0.0.1:1/x")
        client.cookies.extract_cookies(httpx.Response(200, headers=[("set-cookie", "a=1; Path=/")], request=request))
        assert list(client.cookies.jar) == []
        client.cookies.set("b", "2", domain="127.0.0.1")  # even one put there by hand is never sent
        assert "cookie" not in client.build_request("GET", "http://127.0.0.1:1/y").headers
        await client.aclose()

    asyncio.run(check())


def test_idle_pools_are_closed_and_busy_ones_kept():
    now = [0.0]

    async def check():
        pools = AppPools(max_connections=4, idle_seconds=60, monotonic=lambda: now[0])
        first = pools.take(1)
        pools.take(2)
        pools.give(2)
        assert pools.take(1) is first and len(pools) == 2  # one pool per app
        pools.give(1)
        pools.give(1)
        now[0] = 20.0
        assert await pools.sweep() == 0  # too soon to look
        now[0] = 61.0
        pools.take(1)  # app 1 is busy again
        assert await pools.sweep() == 1 and len(pools) == 1  # app 2's idle pool closed
        pools.give(1)
        now[0] = 200.0
        assert await pools.sweep(force=True) == 1 and len(pools) == 0
        assert first.is_closed
        await pools.aclose()

    asyncio.run(check())


@pytest.mark.parametrize("uri, space, expected", [
    (None, "team", "/spaces/team/"),
    (None, None, "/"),
    ("studio::", "team", "/"),
    ("studio::notebooks/x", None, "/notebooks/x"),
    ("app:JupyterServer:lab/tree/a.ipynb", "team", "/apps/d-1/alice/JupyterServer/default/lab/tree/a.ipynb"),
    ("app:JupyterLab:lab", "team", "/spaces/team/JupyterLab/lab"),
    ("app:CodeEditor:", "team", "/spaces/team/CodeEditor/"),
    ("app:JupyterLab:lab", None, "/apps/d-1/alice/JupyterLab/default/lab"),
    ("/apps/d-1/alice/JupyterServer/default/lab", "team", "/apps/d-1/alice/JupyterServer/default/lab"),
    ("app:KernelGateway:x", "team", None),
    ("app:JupyterServer:/\\evil", "team", None),
    ("app:JupyterLab:/\\evil", "team", None),
    ("studio::/\\evil", None, None),
    ("//evil.example", "team", None),
])
def test_studios_landing_uri_forms_land_on_the_domains_studio_and_nowhere_else(uri, space, expected):
    """A landing is a path on the domain's Studio origin: a space's app through the hand-off
    to the space's origin, a user's own apps under /apps/, the home page otherwise."""
    assert landing_path(uri, "d-1", "alice", space) == expected


@pytest.mark.parametrize("path, expected", [
    ("/jupyterlab/default", ("JupyterLab", "/jupyterlab/default")),
    ("/jupyterlab/default/lab/tree/a%20b.ipynb", ("JupyterLab", "/jupyterlab/default/lab/tree/a%20b.ipynb")),
    ("/JupyterLab/default/api/status", ("JupyterLab", "/jupyterlab/default/api/status")),
    ("/CodeEditor/default/", ("CodeEditor", "/codeeditor/default/")),
    ("/codeeditor/default/static/x.js", ("CodeEditor", "/codeeditor/default/static/x.js")),
    ("/jupyterlab/defaultx", None),
    ("/", None),
    ("/_byoi/auth", None),
])
def test_a_space_serves_its_apps_at_studios_base_paths_in_any_case(path, expected):
    assert space_app_at(path) == expected


def test_studio_origins_name_each_domain_and_space_and_nothing_else():
    origins = StudioOrigins("http://studio.localhost:8080")
    assert origins.domain("d-abc123") == "http://d-abc123.studio.localhost:8080"
    assert origins.space("d-abc123", 200004) == "http://s-200004.d-abc123.studio.localhost:8080"
    assert origins.site("d-abc123.studio.localhost:8080") == Site("d-abc123")
    assert origins.site("S-200004.D-ABC123.studio.localhost:9999") == Site("d-abc123", 200004)  # port: see origins.site
    for host in ("studio.localhost:8080", "127.0.0.1:8080", "evil.com", "x.d-abc.studio.localhost", "s-1.s-2.d-a.studio.localhost",
                 "d-abc.studio.localhost.evil.com", "s-1x.d-abc.studio.localhost", "[::1]:8080", "", None):
        assert origins.site(host) is None, host
    assert StudioOrigins("https://studio.example.com").domain("d-1") == "https://d-1.studio.example.com"
    with pytest.raises(ValueError):
        StudioOrigins("studio.localhost")


@pytest.mark.parametrize("public, studio", [
    ("http://127.0.0.1:8080", "http://studio.localhost:8080"),
    ("http://localhost:9000", "http://studio.localhost:9000"),
    ("https://byoi.example.com", "https://studio.byoi.example.com"),
    ("http://10.1.2.3:8080", "http://studio.localhost:8080"),
])
def test_studio_lives_under_localhost_on_loopback_and_under_the_public_host_elsewhere(public, studio):
    assert default_studio_url(public) == studio


def test_two_session_cookies_in_one_request_are_both_distrusted():
    """A sibling origin's script can plant a cookie for a parent domain beside the browser's own."""
    assert session_cookies("a=1; byoi_session=x; b=2") == ["x"]
    assert session_cookies("byoi_session=x; byoi_session=y") == ["x", "y"]
    assert session_cookies("__Host-byoi_session=x; byoi_session=y") == ["x", "y"]
    assert session_cookies(None) == []
