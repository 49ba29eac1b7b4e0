"""A real container registry on loopback for tests: Debian's ``docker-registry`` (the reference
distribution server), with no authentication, with htpasswd (Basic) authentication, with token
(Bearer) authentication through a token service of the test's own, or over TLS.

Images are pushed with the registry HTTP API itself (blob uploads and a manifest PUT), so no
Docker engine is needed. Several registries may serve one storage directory: the tests push
through an open one and resolve through the one whose authentication they exercise.
"""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
import ssl
import subprocess
import threading
import time
import uuid
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from tests.conftest import free_port

REGISTRY_BINARY = "/usr/bin/docker-registry"
SERVICE = "byoi-test-registry"
ISSUER = "byoi-test-token-issuer"

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"


def registry_available() -> bool:
    return all(shutil.which(tool) for tool in (REGISTRY_BINARY, "htpasswd", "openssl"))


def make_certificate(directory: Path, name: str, san: str = "IP:127.0.0.1") -> tuple[Path, Path]:
    """A self-signed certificate and its key (PEM), made by openssl."""
    cert, key = directory / f"{name}.crt", directory / f"{name}.key"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-sha256",
            "-days",
            "2",
            "-subj",
            f"/CN={name}",
            "-addext",
            f"subjectAltName={san}",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


def write_htpasswd(path: Path, user: str, password: str) -> None:
    """A bcrypt htpasswd file (the only hash the distribution server accepts), by apache2-utils' htpasswd."""
    made = subprocess.run(["htpasswd", "-Bbn", "-C", "5", user, password], check=True, capture_output=True, text=True)
    path.write_text(made.stdout)


class RegistryServer:
    """One ``docker-registry serve`` process on 127.0.0.1 (a free port) over ``storage``."""

    def __init__(self, workdir: Path, storage: Path, auth: dict | None = None, tls: tuple[Path, Path] | None = None):
        self.port = free_port()
        self.scheme = "https" if tls else "http"
        workdir.mkdir(parents=True, exist_ok=True)
        config = {
            "version": 0.1,
            "log": {"level": "error", "accesslog": {"disabled": True}},
            "storage": {"filesystem": {"rootdirectory": str(storage)}, "delete": {"enabled": True}},
            "http": {"addr": f"127.0.0.1:{self.port}", "secret": uuid.uuid4().hex},
        }
        if tls:
            config["http"]["tls"] = {"certificate": str(tls[0]), "key": str(tls[1])}
        if auth:
            config["auth"] = auth
        self.config_path = workdir / "config.yml"
        self.config_path.write_text(json.dumps(config))  # JSON is YAML
        self.log_path = workdir / "registry.log"
        self.proc: subprocess.Popen | None = None
        self._verify = ssl.create_default_context(cafile=str(tls[0])) if tls else True

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.host}"

    def start(self) -> RegistryServer:
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen([REGISTRY_BINARY, "serve", str(self.config_path)], stdout=log, stderr=log)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"docker-registry exited early:\n{self.log_path.read_text()}")
            try:
                httpx.get(f"{self.url}/v2/", verify=self._verify, timeout=1)
                return self
            except httpx.HTTPError:
                time.sleep(0.05)
        raise RuntimeError(f"docker-registry did not start:\n{self.log_path.read_text()}")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=30)


@dataclass(frozen=True)
class Pushed:
    digest: str  # the manifest's
    size: int  # config + layers, when an image manifest


def push_blob(client: httpx.Client, base: str, repository: str, data: bytes) -> dict:
    """Upload one blob (monolithic: POST then PUT ?digest=); returns its descriptor fields."""
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    started = client.post(f"{base}/v2/{repository}/blobs/uploads/")
    assert started.status_code == 202, started.text
    location = started.headers["Location"]
    if location.startswith("/"):
        location = base + location
    location += ("&" if "?" in location else "?") + f"digest={digest}"  # keeps the upload's _state
    finished = client.put(location, content=data, headers={"Content-Type": "application/octet-stream"})
    assert finished.status_code == 201, finished.text
    return {"digest": digest, "size": len(data)}


def push_manifest(client: httpx.Client, base: str, repository: str, reference: str, body: bytes, media_type: str) -> str:
    response = client.put(f"{base}/v2/{repository}/manifests/{reference}", content=body, headers={"Content-Type": media_type})
    assert response.status_code == 201, response.text
    return response.headers["Docker-Content-Digest"]


def push_image(
    base: str,
    repository: str,
    tag: str,
    media_type: str = OCI_MANIFEST,
    layers: int = 2,
    entrypoint: list[str] | None = None,
    cmd: list[str] | None = None,
    architecture: str = "amd64",
) -> Pushed:
    """Push a small image (a config and ``layers`` layers of distinct bytes) as ``repository:tag``;
    its config has the ENTRYPOINT and CMD given (``config.Entrypoint``, ``config.Cmd``), if any."""
    settings: dict = {"User": "1000"}
    if entrypoint is not None:
        settings["Entrypoint"] = entrypoint
    if cmd is not None:
        settings["Cmd"] = cmd
    with httpx.Client(timeout=30) as client:
        config = json.dumps(
            {
                "architecture": architecture,
                "os": "linux",
                "rootfs": {"type": "layers", "diff_ids": []},
                "config": settings,
                "tag": tag,
            }
        ).encode()
        config_type = (
            "application/vnd.oci.image.config.v1+json"
            if media_type == OCI_MANIFEST
            else "application/vnd.docker.container.image.v1+json"
        )
        layer_type = (
            "application/vnd.oci.image.layer.v1.tar+gzip"
            if media_type == OCI_MANIFEST
            else "application/vnd.docker.image.rootfs.diff.tar.gzip"
        )
        blobs = [push_blob(client, base, repository, f"{repository}:{tag} layer {n} ".encode() * (50 + n)) for n in range(layers)]
        descriptor = push_blob(client, base, repository, config)
        manifest = {
            "schemaVersion": 2,
            "mediaType": media_type,
            "config": {"mediaType": config_type, **descriptor},
            "layers": [{"mediaType": layer_type, **blob} for blob in blobs],
        }
        body = json.dumps(manifest).encode()
        digest = push_manifest(client, base, repository, tag, body, media_type)
        return Pushed(digest, descriptor["size"] + sum(blob["size"] for blob in blobs))


AMD64 = {"architecture": "amd64", "os": "linux"}


def push_index(
    base: str, repository: str, tag: str, image: Pushed, image_size: int, entries: list[tuple[Pushed, dict]] | None = None
) -> Pushed:
    """Push an OCI index of images already in ``repository``: ``entries`` (image, platform) in
    that order, else ``image`` alone as linux/amd64."""
    with httpx.Client(timeout=30) as client:
        manifests = []
        for pushed, platform in entries or [(image, AMD64)]:
            manifest = client.get(f"{base}/v2/{repository}/manifests/{pushed.digest}", headers={"Accept": OCI_MANIFEST})
            manifests.append(
                {"mediaType": OCI_MANIFEST, "digest": pushed.digest, "size": len(manifest.content), "platform": platform}
            )
        index = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": manifests}
        digest = push_manifest(client, base, repository, tag, json.dumps(index).encode(), OCI_INDEX)
        return Pushed(digest, image_size)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class TokenService:
    """A Docker token service (the Bearer half of the registry's auth): checks Basic credentials
    against one user and answers a JWT, signed by ``key`` with ``cert`` in its x5c header, that
    grants the scope's actions. What it was asked is kept in ``requests``."""

    def __init__(self, cert: Path, key: Path, user: str, password: str):
        from cryptography.hazmat.primitives import serialization
        from cryptography.x509 import load_pem_x509_certificate

        self._key = serialization.load_pem_private_key(key.read_bytes(), password=None)
        self._chain = [
            base64.b64encode(load_pem_x509_certificate(cert.read_bytes()).public_bytes(serialization.Encoding.DER)).decode()
        ]
        self._expected = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
        self.requests: list[dict] = []
        service = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - http.server's name
                query = parse_qs(urlsplit(self.path).query)
                service.requests.append({"query": query, "authorization": self.headers.get("Authorization")})
                if self.headers.get("Authorization") != service._expected:
                    self._answer(401, {"details": "incorrect username or password"})
                    return
                scope = query.get("scope", [""])[0]
                self._answer(200, {"token": service.token(query.get("service", [""])[0], scope)})

            def _answer(self, status: int, body: dict) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.realm = f"http://127.0.0.1:{self._server.server_address[1]}/token"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def token(self, audience: str, scope: str) -> str:
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import padding

        access = []
        if scope:
            kind, name, actions = scope.split(":", 2)
            access.append({"type": kind, "name": name, "actions": actions.split(",")})
        now = int(time.time())
        header = {"typ": "JWT", "alg": "RS256", "x5c": self._chain}
        claims = {
            "iss": ISSUER,
            "sub": "byoi",
            "aud": audience,
            "exp": now + 300,
            "nbf": now - 10,
            "iat": now,
            "jti": uuid.uuid4().hex,
            "access": access,
        }
        signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"
        signature = self._key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
        return f"{signing_input}.{_b64(signature)}"

    def registry_auth(self, cert: Path) -> dict:
        """The registry's ``auth`` configuration that trusts this service."""
        return {"token": {"realm": self.realm, "service": SERVICE, "issuer": ISSUER, "rootcertbundle": str(cert)}}

    def start(self) -> TokenService:
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread.is_alive():
            self._server.shutdown()
        self._server.server_close()


USER, PASSWORD = "byoi-puller", "s3cret-pull"
SERVED_ENTRYPOINT = ["/usr/local/bin/entrypoint.sh"]
SERVED_CMD = ["jupyter-lab", "--ServerApp.base_url=/jupyterlab/default"]


class Registries:
    """One storage directory served four ways, with the test images pushed through the open one."""

    def __init__(self, root):
        if not registry_available():
            pytest.fail("the registry tests need docker-registry, apache2-utils and openssl (scripts/test.sh installs them)")
        self._running: list = []
        try:
            self._start(root)
        except BaseException:
            self.stop()
            raise

    def _start(self, root: Path) -> None:
        storage = root / "storage"
        certs = root / "certs"
        certs.mkdir()
        self.open = self._run(RegistryServer(root / "open", storage))
        htpasswd = root / "htpasswd"
        write_htpasswd(htpasswd, USER, PASSWORD)
        self.basic = self._run(
            RegistryServer(root / "basic", storage, auth={"htpasswd": {"realm": "byoi-test", "path": str(htpasswd)}})
        )
        token_cert, token_key = make_certificate(certs, "token-signer")
        self.tokens = self._run(TokenService(token_cert, token_key, USER, PASSWORD))
        self.bearer = self._run(RegistryServer(root / "bearer", storage, auth=self.tokens.registry_auth(token_cert)))
        self.tls_cert, tls_key = make_certificate(certs, "registry")
        self.tls = self._run(RegistryServer(root / "tls", storage, tls=(self.tls_cert, tls_key)))
        base = self.open.url
        self.app = push_image(base, "team/app", "1")
        self.docker = push_image(base, "team/app", "docker", media_type=DOCKER_MANIFEST)
        self.multi = push_index(base, "team/app", "multi", self.app, self.app.size)
        self.nested = push_image(base, "a/b/c", "v2.0_rc-1", layers=1)
        self.solo = push_image(base, "solo", "latest", layers=3)
        # Images with an ENTRYPOINT and CMD (the Kubernetes backend reads them for lifecycle scripts):
        # one per media type, one for arm64 only, and an index whose linux/amd64 image is not its first.
        self.served = push_image(base, "team/served", "1", entrypoint=SERVED_ENTRYPOINT, cmd=SERVED_CMD)
        self.served_docker = push_image(
            base, "team/served", "docker", media_type=DOCKER_MANIFEST, entrypoint=["/usr/bin/tini", "--"], cmd=["serve"]
        )
        self.arm = push_image(base, "team/served", "arm64", entrypoint=["/arm/start"], architecture="arm64")
        attestation = {"architecture": "unknown", "os": "unknown"}
        self.served_multi = push_index(
            base,
            "team/served",
            "multi",
            self.served,
            self.served.size,
            entries=[(self.arm, {"architecture": "arm64", "os": "linux"}), (self.arm, attestation), (self.served, AMD64)],
        )
        self.arm_only = push_index(
            base,
            "team/served",
            "arm-only",
            self.arm,
            self.arm.size,
            entries=[(self.arm, {"architecture": "arm64", "os": "linux"})],
        )
        self.bare = push_image(base, "team/bare", "1")  # neither ENTRYPOINT nor CMD

    def _run(self, server):
        self._running.append(server)
        return server.start()

    def stop(self):
        for server in reversed(self._running):
            server.stop()


def running_registries(tmp_path_factory):
    """For a module's ``registries`` fixture: the registries, stopped after the module."""
    made = Registries(tmp_path_factory.mktemp("registries"))
    yield made
    made.stop()
