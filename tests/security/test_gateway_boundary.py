"""Attacks on byoi's gateway, from browsers and from other users: each must fail.

No Docker: apps are stand-ins, small HTTP/websocket servers on loopback run by the
test, registered as InService apps by writing their endpoint into byoi's store (as
the runtime does once a container answers). A real ``byoi serve`` proxies to them.
Every attack comes with a control (the same request made legitimately succeeds), so
a refusal is never just something broken.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
import uvicorn
from botocore.exceptions import ClientError
from sqlalchemy import insert, select, update
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect as ws_connect

from byoi.auth.tokens import TokenSigner, app_token
from byoi.gateway.limits import USER_REQUESTS
from byoi.store.database import Database
from byoi.store.models import App, Domain, DomainMember, UsedPresignedUrl
from tests.conftest import ROLE_ARN, ByoiServer, error_of
from tests.waiting import WAIT_SECONDS, wait_for

SECRET = "gateway-boundary-test-secret"
WAIT = WAIT_SECONDS  # seconds any condition may take on a loaded machine before the test fails


# --- a stand-in app --------------------------------------------------------------------


class StandIn:
    """An app's port 8888 on loopback. ``/echo`` answers with what it received; ``/cookies``
    sets cookies (one of them trying for byoi's own); ``/stall`` sends a first chunk and then
    never finishes; the websocket at any path tells what it received and echoes."""

    def __init__(self):
        self.lock = threading.Condition()
        self.stalled = 0  # downloads in progress right now
        self.websockets = 0  # websockets accepted so far
        routes = [
            Route("/cookies", self.cookies),
            Route("/stall", self.stall),
            Route("/{path:path}", self.echo, methods=["GET", "POST"]),
            WebSocketRoute("/{path:path}", self.websocket),
        ]
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(256)
        self.port = self.sock.getsockname()[1]
        self.server = uvicorn.Server(uvicorn.Config(Starlette(routes=routes), log_level="warning", lifespan="off"))
        # Connections wait in the listening socket's backlog until the server runs: no start-up wait.
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True)
        self.thread.start()

    @staticmethod
    def received(request) -> dict:
        return {"path": request.url.path, "query": request.url.query, "headers": [[k, v] for k, v in request.headers.items()]}

    async def echo(self, request: Request) -> Response:
        return JSONResponse(self.received(request))

    async def cookies(self, request: Request) -> Response:
        response = Response("cookies")
        response.raw_headers += [
            (b"set-cookie", b"first=1; Path=/"),
            (b"set-cookie", b"second=2; Domain=127.0.0.1; Path=/api; HttpOnly"),
            (b"set-cookie", b"byoi_session=planted; Path=/"),
            (b"set-cookie", b"__Host-pinned=1; Path=/; Secure"),
        ]
        return response

    async def stall(self, request: Request) -> Response:
        async def body():
            with self.lock:
                self.stalled += 1
                self.lock.notify_all()
            try:
                yield b"x" * 1024
                await asyncio.Event().wait()  # never finishes
            finally:
                with self.lock:
                    self.stalled -= 1
                    self.lock.notify_all()

        return StreamingResponse(body(), media_type="application/octet-stream")

    async def websocket(self, websocket: WebSocket) -> None:
        await websocket.accept()
        with self.lock:
            self.websockets += 1
        await websocket.send_text(json.dumps(self.received(websocket)))
        try:
            while True:
                await websocket.send_text(await websocket.receive_text())
        except WebSocketDisconnect:
            pass

    def close(self) -> None:
        self.server.should_exit = self.server.force_exit = True
        self.thread.join(timeout=30)
        self.sock.close()


# --- a byoi with users, spaces and stand-in apps ------------------------------------------


class Studio:
    def __init__(self, srv: ByoiServer, app: StandIn):
        self.srv, self.app = srv, app
        self.sm = srv.client()
        self.db = Database(srv.env["BYOI_DATABASE_URL"])
        self.domain_id = self.sm.create_domain(
            DomainName="gw", AuthMode="IAM", DefaultUserSettings={"ExecutionRole": ROLE_ARN}, SubnetIds=["subnet-1"], VpcId="vpc-1"
        )["DomainId"]

    def user(self, name: str) -> str:
        self.sm.create_user_profile(DomainId=self.domain_id, UserProfileName=name)
        return name

    def space(self, name: str, owner: str | None = None, sharing: str | None = None) -> str:
        extra = {}
        if owner:
            extra["OwnershipSettings"] = {"OwnerUserProfileName": owner}
        if sharing:
            extra["SpaceSharingSettings"] = {"SharingType": sharing}
        self.sm.create_space(DomainId=self.domain_id, SpaceName=name, **extra)
        return name

    def serve(self, owner: str, app_type: str = "KernelGateway", name: str = "default", kind: str = "user", port: int | None = None) -> int:
        """Register the stand-in as the owner's InService app, as the runtime would; its store id."""
        now = int(time.time() * 1000)
        with self.db.write() as session:
            domain = session.scalar(select(Domain).where(Domain.domain_id == self.domain_id))
            member = session.scalar(
                select(DomainMember).where(DomainMember.domain_pk == domain.id, DomainMember.kind == kind, DomainMember.name_key == owner.lower())
            )
            return session.execute(insert(App).values(
                domain_pk=domain.id, member_pk=member.id, owner_kind=kind, owner_name=member.name, app_type=app_type, name=name,
                live_key=f"{domain.id}/{kind}/{owner.lower()}/{app_type}/{name.lower()}", status="InService", resource_spec={},
                endpoint_host="127.0.0.1", endpoint_port=port or self.app.port, created_ms=now, modified_ms=now, last_activity_ms=now,
            ).returning(App.id)).scalar_one()

    def retire(self, app_id: int) -> None:
        """The app is Deleted (so its owner may be deleted)."""
        with self.db.write() as session:
            session.execute(update(App).where(App.id == app_id).values(status="Deleted", live_key=str(app_id)))

    def presign(self, user: str, **extra) -> str:
        url = self.sm.create_presigned_domain_url(DomainId=self.domain_id, UserProfileName=user, ExpiresInSeconds=300, **extra)["AuthorizedUrl"]
        return url.replace(url.split("/auth?")[0], self.srv.url)

    def session(self, user: str) -> str:
        response = httpx.get(self.presign(user), follow_redirects=False)
        assert response.status_code == 302, response.text
        return response.cookies["byoi_session"]

    def url(self, owner: str, path: str = "echo", app_type: str = "KernelGateway", name: str = "default", scheme: str = "http") -> str:
        return f"{self.srv.url.replace('http', scheme, 1)}/apps/{self.domain_id}/{owner}/{app_type}/{name}/{path}"


def received_headers(response: httpx.Response) -> dict[str, list[str]]:
    assert response.status_code == 200, response.text
    headers: dict[str, list[str]] = {}
    for name, value in response.json()["headers"]:
        headers.setdefault(name.lower(), []).append(value)
    return headers


@pytest.fixture(scope="module")
def stand_in():
    app = StandIn()
    yield app
    app.close()


@pytest.fixture(scope="module")
def byoi(tmp_path_factory):
    srv = ByoiServer(tmp_path_factory.mktemp("gateway-boundary"), BYOI_SESSION_SECRET=SECRET).start()
    yield srv
    srv.kill()


@pytest.fixture
def studio(byoi, stand_in):
    """A fresh domain on the module's byoi (tests use their own domain, so they never collide)."""
    studio = Studio(byoi, stand_in)
    yield studio
    studio.db.dispose()


def cookie(session: str) -> dict:
    return {"Cookie": f"byoi_session={session}"}


# --- a. what an app is sent ---------------------------------------------------------------


def test_kernel_gateway_apps_get_their_own_token_and_never_the_users_credentials(studio):
    alice = studio.user("alice")
    kernels = studio.serve(alice)
    lab = studio.serve(alice, "JupyterLab")
    session = studio.session(alice)
    token = f"token {app_token(SECRET.encode(), kernels)}"

    attempts = [
        cookie(session) | {"Authorization": "token forged-by-the-client"},
        {"Authorization": f"Bearer {session}", "Cookie": "byoi_session=x; _xsrf=abc"},
        cookie(session) | {"Authorization": f"token {app_token(SECRET.encode(), lab)}"},  # another app's token
    ]
    for headers in attempts:
        seen = received_headers(httpx.get(studio.url(alice), headers=headers))
        assert seen["authorization"] == [token], seen  # byoi's token for this app, and only it
        assert not any(session in v or "byoi_session" in v for values in seen.values() for v in values), seen
    # Other app types get no token, and never the Bearer session.
    seen = received_headers(httpx.get(studio.url(alice, app_type="JupyterLab"), headers={"Authorization": f"Bearer {session}"}))
    assert "authorization" not in seen
    # Websockets too.
    with ws_connect(studio.url(alice, "api/kernels/k/channels", scheme="ws"), additional_headers=cookie(session) | {
        "Origin": studio.srv.url, "Authorization": "token forged"}) as ws:
        seen = {k.lower(): v for k, v in json.loads(ws.recv(timeout=WAIT))["headers"]}
    assert seen["authorization"] == token and "byoi_session" not in seen.get("cookie", "")


# --- b. cookies -----------------------------------------------------------------------------


def test_an_apps_cookies_reach_only_that_app_and_byoi_keeps_none(studio):
    alice, bob = studio.user("alice"), studio.user("bob")
    studio.serve(alice)
    studio.serve(bob)  # the same stand-in server: only byoi's own client could carry cookies across
    studio.space("team")
    studio.serve("team", kind="space")

    for owner in (alice, "space:team"):
        # Alice opens an app (her own, then the shared space's) that sets cookies ...
        prefix = f"/apps/{studio.domain_id}/{owner}/KernelGateway/default/"
        response = httpx.get(studio.url(owner, "cookies"), headers=cookie(studio.session(alice)))
        assert response.status_code == 200
        assert response.headers.get_list("set-cookie") == [  # one header each, each scoped to the app's path
            f"first=1; Path={prefix}",
            f"second=2; HttpOnly; Path={prefix}",
        ]  # byoi's own cookie name and a __Host- cookie (which would need Path=/) are not passed
        # ... and byoi's client kept none of them: Bob's requests to his app and to the space's,
        # and Alice's own next one, carry no cookie the browser did not send.
        for app, who in ((bob, bob), ("space:team", bob), (alice, alice)):
            seen = received_headers(httpx.get(studio.url(app), headers=cookie(studio.session(who))))
            assert "cookie" not in seen, (app, who, seen)
    # What the browser sends for the app reaches it, without byoi's session.
    seen = received_headers(httpx.get(studio.url(alice), headers={"Cookie": f"byoi_session={studio.session(alice)}; _xsrf=abc"}))
    assert seen["cookie"] == ["_xsrf=abc"]


# --- c. limits --------------------------------------------------------------------------------


def test_one_users_stalled_downloads_do_not_starve_another_user(studio, stand_in):
    alice, bob = studio.user("alice"), studio.user("bob")
    studio.serve(alice)
    studio.serve(bob)
    alice_session, bob_session = studio.session(alice), studio.session(bob)

    async def attack() -> dict:
        limits = httpx.Limits(max_connections=200, max_keepalive_connections=0)
        async with httpx.AsyncClient(limits=limits, timeout=WAIT) as client:
            done = asyncio.Event()
            statuses: list[int] = []
            first_chunks = []

            async def download():
                async with client.stream("GET", studio.url(alice, "stall"), headers=cookie(alice_session)) as response:
                    if response.status_code == 200:
                        chunks = response.aiter_raw()
                        try:
                            first_chunks.append(await chunks.__anext__())  # the rest never comes
                            statuses.append(response.status_code)
                            await done.wait()
                        finally:
                            await chunks.aclose()
                    else:
                        statuses.append(response.status_code)

            downloads = [asyncio.create_task(download()) for _ in range(100)]
            while len(statuses) < 100:  # every download is stalled (its first chunk here) or refused
                await asyncio.wait(downloads, timeout=0.05)
                assert not any(t.done() and t.exception() for t in downloads), [t.exception() for t in downloads if t.done()]
            # Bob is served, on his app; Alice is told why she is not.
            bob_answers = await asyncio.gather(*(client.get(studio.url(bob), headers=cookie(bob_session)) for _ in range(10)))
            alice_more = await client.get(studio.url(alice), headers=cookie(alice_session))
            stalled_while_attacking = stand_in.stalled
            done.set()
            await asyncio.gather(*downloads)
            return {"statuses": statuses, "bob": [r.status_code for r in bob_answers], "alice_more": alice_more,
                    "stalled": stalled_while_attacking}

    result = asyncio.run(attack())
    assert result["bob"] == [200] * 10
    assert sorted(set(result["statuses"])) == [200, 429]
    assert result["statuses"].count(200) == USER_REQUESTS == result["stalled"]  # the app saw no more than the cap
    assert result["alice_more"].status_code == 429 and "in flight" in result["alice_more"].json()["message"]
    # Once her downloads are gone, so are their slots and the app's connections.
    with stand_in.lock:
        assert stand_in.lock.wait_for(lambda: stand_in.stalled == 0, timeout=WAIT)
    wait_for(lambda: httpx.get(studio.url(alice), headers=cookie(alice_session)).status_code == 200, "alice's slots to free")


# --- d. the session cookie and landing pages -----------------------------------------------


@pytest.mark.parametrize("landing", [
    "//evil.example/x", "/\\evil.example/x", "https://evil.example/", "javascript:alert(1)", "/\t/evil.example", "evil", "app:Evil://evil.example/",
    "app:JupyterServer:/\\evil.example",
])
def test_presigned_urls_land_only_on_byoi(studio, landing):
    alice = studio.user("alice")
    with pytest.raises(ClientError) as exc:
        studio.presign(alice, LandingUri=landing)
    code, message = error_of(exc)
    assert code == "ValidationException" and "LandingUri" in message


def test_the_session_cookie_and_a_forged_landing(studio):
    alice = studio.user("alice")
    landing = f"/apps/{studio.domain_id}/alice/JupyterServer/default/lab?reset"
    response = httpx.get(studio.presign(alice, LandingUri=landing), follow_redirects=False)
    assert response.headers["location"] == landing
    (set_cookie,) = response.headers.get_list("set-cookie")
    attributes = [a.strip().lower() for a in set_cookie.split(";")[1:]]
    assert {"httponly", "samesite=lax", "path=/"} <= set(attributes)
    assert not any(a.startswith("domain") or a == "secure" for a in attributes)  # host-only; http here
    # A presign token that names an off-site landing (signed with byoi's own key, so only the
    # landing is wrong) still lands on byoi.
    now = int(time.time() * 1000)
    uid = int(studio.sm.describe_user_profile(DomainId=studio.domain_id, UserProfileName=alice)["HomeEfsFileSystemUid"])
    for bad in ("//evil.example/x", "https://evil.example/", "/\\evil.example"):
        token = TokenSigner(SECRET.encode()).sign({
            "kind": "presign", "id": uuid.uuid4().hex, "domain": studio.domain_id, "user": alice, "uid": uid,
            "exp": now + 60_000, "session": 60, "landing": bad,
        })
        response = httpx.get(f"{studio.srv.url}/auth", params={"token": token}, follow_redirects=False)
        assert response.status_code == 302 and response.headers["location"] == "/"


def test_the_session_cookie_is_secure_when_byoi_is_https(fresh_server):
    srv = fresh_server(BYOI_PUBLIC_URL="https://studio.example", BYOI_SESSION_SECRET=SECRET)
    studio = Studio(srv, None)
    alice = studio.user("alice")
    url = studio.sm.create_presigned_domain_url(DomainId=studio.domain_id, UserProfileName=alice)["AuthorizedUrl"]
    assert url.startswith(f"https://{studio.domain_id}.studio.studio.example/auth?token=")
    response = httpx.get(url.replace(f"https://{studio.domain_id}.studio.studio.example", srv.url), follow_redirects=False)
    assert response.headers["set-cookie"].startswith("__Host-byoi_session=")
    attributes = [a.strip().lower() for a in response.headers["set-cookie"].split(";")[1:]]
    assert "secure" in attributes and "httponly" in attributes and not any(a.startswith("domain") for a in attributes)
    studio.db.dispose()


# --- e. websocket origins ---------------------------------------------------------------------


def test_websockets_open_only_from_byois_own_origin(studio, stand_in):
    alice = studio.user("alice")
    studio.serve(alice)
    session = studio.session(alice)
    url = studio.url(alice, "api/kernels/k/channels", scheme="ws")
    port = studio.srv.port

    def opens(headers: dict) -> bool:
        try:
            with ws_connect(url, additional_headers=headers, open_timeout=WAIT) as ws:
                ws.send("ping")
                json.loads(ws.recv(timeout=WAIT))
                return ws.recv(timeout=WAIT) == "ping"
        except InvalidStatus as exc:
            assert exc.response.status_code == 403
            return False

    before = stand_in.websockets
    attacks = [
        cookie(session) | {"Origin": "http://evil.example"},  # a page elsewhere, with the user's cookie
        cookie(session) | {"Origin": f"http://evil.example:{port}"},  # DNS rebinding: the same port, another name
        cookie(session) | {"Origin": f"http://127.0.0.1:{port + 1}"},
        cookie(session) | {"Origin": "null"},
        cookie(session),  # no Origin: only a Bearer session may do without
    ]
    for headers in attacks:
        assert not opens(headers), headers
    assert stand_in.websockets == before  # none reached the app
    # Controls: byoi's own origins, and a non-browser client with a Bearer session.
    for headers in (
        cookie(session) | {"Origin": studio.srv.url},
        cookie(session) | {"Origin": f"http://localhost:{port}"},
        {"Authorization": f"Bearer {session}"},
    ):
        assert opens(headers), headers


def test_state_changing_requests_from_other_sites_are_refused(studio, stand_in):
    """SameSite=Lax keeps the cookie from other sites' forms, not from sibling hosts of one
    site (a.example.com and byoi.example.com): their Origin gives them away."""
    alice = studio.user("alice")
    studio.serve(alice)
    session = studio.session(alice)
    for origin in ("http://evil.example", "http://sibling.127.0.0.1.nip.io", "null"):
        response = httpx.post(studio.url(alice, "api/kernels"), headers=cookie(session) | {"Origin": origin}, json={})
        assert response.status_code == 403, origin
    for headers in (cookie(session) | {"Origin": studio.srv.url}, cookie(session), {"Authorization": f"Bearer {session}", "Origin": "http://evil.example"}):
        assert httpx.post(studio.url(alice, "api/kernels"), headers=headers, json={}).status_code == 200, headers
    assert httpx.get(studio.url(alice), headers=cookie(session) | {"Origin": "http://evil.example"}).status_code == 200  # reads: CORS's job


# --- f. presigned URLs open one session ------------------------------------------------------


def test_a_presigned_url_opens_one_session_even_across_restarts_and_races(fresh_server, stand_in):
    srv = fresh_server(BYOI_SESSION_SECRET=SECRET)
    studio = Studio(srv, stand_in)
    alice = studio.user("alice")
    url = studio.presign(alice)
    assert httpx.get(url, follow_redirects=False).status_code == 302
    replay = httpx.get(url, follow_redirects=False)
    assert replay.status_code == 403 and "used already" in replay.json()["message"] and "set-cookie" not in replay.headers

    racing = studio.presign(alice)
    with ThreadPoolExecutor(8) as pool:
        codes = list(pool.map(lambda _: httpx.get(racing, follow_redirects=False).status_code, range(8)))
    assert sorted(codes) == [302] + [403] * 7

    # Rows of URLs that can no longer be used are pruned as new ones are spent.
    with studio.db.write() as session:
        session.execute(insert(UsedPresignedUrl).values(token_id="long-expired", expires_ms=1))
    kept = studio.presign(alice)
    assert httpx.get(kept, follow_redirects=False).status_code == 302
    with studio.db.read() as session:
        ids = set(session.scalars(select(UsedPresignedUrl.token_id)))
    assert "long-expired" not in ids and len(ids) == 3

    srv.stop()
    srv.start()
    assert httpx.get(kept, follow_redirects=False).status_code == 403  # still used after a restart
    assert httpx.get(studio.presign(alice), follow_redirects=False).status_code == 302
    studio.db.dispose()


# --- g. sessions belong to a profile; spaces ---------------------------------------------------


def test_a_session_ends_with_its_profile_and_never_reaches_a_namesake(studio):
    carol = studio.user("carol")
    first_app = studio.serve(carol)
    session = studio.session(carol)
    unused = studio.presign(carol)
    assert httpx.get(studio.url(carol), headers=cookie(session)).status_code == 200

    studio.retire(first_app)
    studio.sm.delete_user_profile(DomainId=studio.domain_id, UserProfileName=carol)
    gone = httpx.get(studio.url(carol), headers=cookie(session))
    assert gone.status_code == 401 and "ended" in gone.json()["message"]

    studio.user("carol")  # a new profile by the same name: a new home uid
    studio.serve(carol)
    for headers in (cookie(session), {"Authorization": f"Bearer {session}"}):
        assert httpx.get(studio.url(carol), headers=headers).status_code == 401
    assert httpx.get(unused, follow_redirects=False).status_code == 403  # made for the old profile
    assert httpx.get(studio.url(carol), headers=cookie(studio.session(carol))).status_code == 200


def test_space_paths_are_unambiguous_and_private_spaces_admit_their_owner_only(studio):
    alice, bob = studio.user("alice"), studio.user("bob")
    team_user = studio.user("team")
    studio.space("team")  # a space named like a user
    user_app = studio.serve(team_user)
    space_app = studio.serve("team", kind="space")
    studio.space("mine", owner=alice, sharing="Private")
    studio.serve("mine", kind="space")
    studio.space("ours", owner=alice, sharing="Shared")
    studio.serve("ours", kind="space")

    def token_seen(owner: str, session: str) -> str | None:
        response = httpx.get(studio.url(owner), headers=cookie(session))
        return received_headers(response)["authorization"][0] if response.status_code == 200 else response.status_code

    sessions = {name: studio.session(name) for name in (alice, bob, team_user)}
    # /team/ is the user's app, /space:team/ the space's, whoever asks.
    assert token_seen("team", sessions["team"]) == f"token {app_token(SECRET.encode(), user_app)}"
    assert token_seen("space:team", sessions["team"]) == f"token {app_token(SECRET.encode(), space_app)}"
    assert token_seen("space:team", sessions[alice]) == f"token {app_token(SECRET.encode(), space_app)}"
    assert token_seen("team", sessions[alice]) == 403  # the user's, not alice's
    # A private space admits its owner only; a shared one, the domain.
    assert token_seen("space:mine", sessions[bob]) == 403
    assert str(token_seen("space:mine", sessions[alice])).startswith("token ")
    assert str(token_seen("space:ours", sessions[bob])).startswith("token ")
    # Another domain's session reaches none of them.
    other = Studio(studio.srv, studio.app)
    other.user("alice")
    stranger = other.session("alice")
    for owner in ("space:ours", "space:team", alice):
        assert token_seen(owner, stranger) == 403
    other.db.dispose()

