"""A registry byoi resolves BaseImage in is not trusted with more than the registry protocol: its
credentials go only to the host they are for, and no answer is buffered beyond a manifest's size.
(docs/security.md)"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from byoi.services.base_images import BaseImageError
from byoi.services.registry import MAX_RESPONSE_BYTES, Credentials, Registry, RegistryResolver
from tests.registry import OCI_MANIFEST

USER, PASSWORD = "byoi-puller", "s3cret-pull"


def failure(resolver: RegistryResolver, base_image: str) -> str:
    with pytest.raises(BaseImageError) as caught:
        resolver.resolve(base_image)
    return str(caught.value)


NOT_FOUND = (404, {}, b'{"errors": [{"code": "BLOB_UNKNOWN"}]}')


class RoutedRegistry:
    """A loopback HTTP server that answers a GET of each path in ``routes`` with (status,
    headers, body) and anything else with ``default`` (404), asks for Basic credentials first
    when ``challenge``, and records (path, Authorization) of each GET. ``{port}`` in a header
    value is the server's own port."""

    def __init__(
        self,
        routes: dict[str, tuple[int, dict[str, str], bytes]],
        challenge: bool = False,
        default: tuple[int, dict[str, str], bytes] = NOT_FOUND,
    ):
        self.routes = routes
        self.seen: list[tuple[str, str | None]] = []
        routed = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - http.server's name
                routed.seen.append((self.path, self.headers.get("Authorization")))
                if challenge and not self.headers.get("Authorization"):
                    status, headers, body = 401, {"WWW-Authenticate": 'Basic realm="hostile"'}, b""
                else:
                    status, headers, body = routed.routes.get(self.path, default)
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value.replace("{port}", str(self.server.server_address[1])))
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                try:
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.host = f"127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def authorizations(self) -> list[str | None]:
        """The Authorization header of each GET, in order (None: none sent)."""
        return [authorization for _, authorization in self.seen]

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def hostile_registry(body: bytes, status: int = 200, headers: dict[str, str] | None = None, challenge: bool = False):
    """A registry that answers every GET with ``body`` as a manifest (``{port}`` in a header
    value is its own port)."""
    return RoutedRegistry({}, challenge, default=(status, {"Content-Type": OCI_MANIFEST, **(headers or {})}, body))


def test_a_registry_answering_more_than_a_manifest_can_be_is_refused_without_buffering_it():
    hostile = hostile_registry(b"{" + b" " * (MAX_RESPONSE_BYTES + 1024 * 1024))
    try:
        reason = failure(RegistryResolver(Registry.from_url(f"http://{hostile.host}")), "team/app:1")
    finally:
        hostile.close()
    assert (
        f"http://{hostile.host} answered more than 4 MiB (byoi reads manifests and image configurations of at most 4 MiB)"
        in reason
    )


def test_credentials_do_not_follow_a_redirect_to_another_host():
    """A registry byoi has credentials for redirects the authenticated manifest request to a host
    it has none for: that host gets no Authorization header."""
    elsewhere = hostile_registry(b'{"schemaVersion": 2, "config": {"size": 1}, "layers": []}')
    location = {"Location": f"http://{elsewhere.host}/v2/team/app/manifests/1"}
    hostile = hostile_registry(b"", status=307, headers=location, challenge=True)
    try:
        resolver = RegistryResolver(
            Registry.from_url(f"http://{hostile.host}"), credentials={hostile.host: Credentials(USER, PASSWORD)}
        )
        resolver.resolve("team/app:1")
    finally:
        hostile.close()
        elsewhere.close()
    assert hostile.authorizations == [None, "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()]
    assert elsewhere.authorizations == [None]


def test_a_registry_that_asks_for_credentials_gets_none_that_are_for_another_host():
    """byoi holds credentials for registry.example.com; a registry on another host challenges it."""
    hostile = hostile_registry(b"", challenge=True)
    try:
        resolver = RegistryResolver(
            Registry.from_url(f"http://{hostile.host}"),
            credentials={"registry.example.com": Credentials(USER, PASSWORD)},
        )
        reason = failure(resolver, "team/app:1")
    finally:
        hostile.close()
    assert hostile.authorizations == [None]
    assert f"the registry {hostile.host} requires authentication and byoi has no credentials for it" in reason


# --- reading an image's ENTRYPOINT and CMD (the Kubernetes backend, for lifecycle scripts) ---


def image_serving(config_digest: str) -> tuple[str, dict[str, tuple[int, dict[str, str], bytes]]]:
    """An OCI manifest naming the config blob ``config_digest``: its digest, and its route."""
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config_digest, "size": 1},
            "layers": [],
        }
    ).encode()
    digest = "sha256:" + hashlib.sha256(manifest).hexdigest()
    return digest, {f"/v2/team/app/manifests/{digest}": (200, {"Content-Type": OCI_MANIFEST}, manifest)}


CONFIG = json.dumps({"config": {"Entrypoint": ["/start"], "Cmd": ["serve"]}}).encode()
CONFIG_DIGEST = "sha256:" + hashlib.sha256(CONFIG).hexdigest()


def command_failure(resolver: RegistryResolver, image: str) -> str:
    with pytest.raises(BaseImageError) as caught:
        resolver.image_command(image)
    return str(caught.value)


def test_credentials_do_not_follow_a_config_blob_redirect_to_another_host():
    """Registries send blobs from their storage (a redirect to another host, as S3-backed ones do):
    that host gets the blob request without byoi's credentials, and byoi still reads the config."""
    storage = RoutedRegistry({"/config": (200, {}, CONFIG)})
    digest, routes = image_serving(CONFIG_DIGEST)
    routes[f"/v2/team/app/blobs/{CONFIG_DIGEST}"] = (307, {"Location": f"http://{storage.host}/config"}, b"")
    registry = RoutedRegistry(routes, challenge=True)
    try:
        resolver = RegistryResolver(
            Registry.from_url(f"http://{registry.host}"), credentials={registry.host: Credentials(USER, PASSWORD)}
        )
        assert resolver.image_command(f"{registry.host}/team/app@{digest}") == (["/start"], ["serve"])
    finally:
        registry.close()
        storage.close()
    basic = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    assert [auth for path, auth in registry.seen if path.startswith("/v2/team/app/blobs/")] == [basic]
    assert storage.seen == [("/config", None)]


def test_a_config_blob_that_is_not_what_its_digest_names_is_refused():
    """A registry (or what it redirects to) answers another config than the manifest names: its
    ENTRYPOINT would be run in front of the app, so byoi refuses it."""
    forged = json.dumps({"config": {"Entrypoint": ["/bin/sh", "-c", "steal-the-home"]}}).encode()
    digest, routes = image_serving(CONFIG_DIGEST)
    routes[f"/v2/team/app/blobs/{CONFIG_DIGEST}"] = (200, {}, forged)
    registry = RoutedRegistry(routes)
    try:
        reason = command_failure(RegistryResolver(Registry.from_url(f"http://{registry.host}")), f"team/app@{digest}")
    finally:
        registry.close()
    assert reason == (
        f"The ENTRYPOINT and CMD of the image team/app@{digest} could not be read from its registry: "
        f"the registry answered a config blob whose digest is not {CONFIG_DIGEST}."
    )


def test_a_config_blob_larger_than_byoi_reads_is_refused_without_buffering_it():
    huge = b"{" + b" " * (MAX_RESPONSE_BYTES + 1024 * 1024)
    huge_digest = "sha256:" + hashlib.sha256(huge).hexdigest()
    digest, routes = image_serving(huge_digest)
    routes[f"/v2/team/app/blobs/{huge_digest}"] = (200, {}, huge)
    registry = RoutedRegistry(routes)
    try:
        reason = command_failure(RegistryResolver(Registry.from_url(f"http://{registry.host}")), f"team/app@{digest}")
    finally:
        registry.close()
    assert (
        f"http://{registry.host} answered more than 4 MiB (byoi reads manifests and image configurations of at most 4 MiB)"
        in reason
    )
