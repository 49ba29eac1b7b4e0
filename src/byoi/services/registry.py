"""Resolving BaseImage against a container registry (the registry HTTP API v2).

When apps run on a cluster (``BYOI_RUNTIME=kubernetes``) the nodes pull images from a
registry, so CreateImageVersion resolves ``BaseImage`` there, not in a local engine: the
version's ``ContainerImage`` is the fully qualified ``host/repository@sha256:...`` of the
manifest the tag named when the version was created, which is what the cluster then pulls.

Three parts:

* ``parse_reference`` (pure): ``registry/repo:tag``, ``repo@sha256:...``, ``repo`` (tag
  ``latest``) and names without a registry host, which belong to the default registry
  (``BYOI_REGISTRY_URL``, else Docker Hub);
* ``parse_challenge`` (pure): a ``WWW-Authenticate`` header (``Basic`` or ``Bearer``);
* ``RegistryResolver``: GETs the manifest with the OCI and Docker media types, answers the
  registry's authentication challenge (basic credentials, or a bearer token fetched from the
  challenge's realm), reads ``Docker-Content-Digest``, and turns every failure (tag or
  repository missing, credentials refused, registry unreachable, TLS) into a
  ``BaseImageError`` whose text is the version's FailureReason. ``image_command`` reads an
  image's ENTRYPOINT and CMD the same way (the manifest, for an index its linux/amd64
  image's, then the config blob), for the Kubernetes backend, which runs a lifecycle script
  in front of them as the Docker backend does with what its engine says.

Credentials come from settings: a username and password for the default registry, and/or a
Docker ``config.json`` (the format of a Kubernetes ``dockerconfigjson`` pull secret, so the
cluster's pull secret can serve byoi too). httpx does the HTTP; the protocol is small enough
that a registry client library would add more than it saves.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import logging
import re
import ssl
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from byoi.services.base_images import BaseImageError

log = logging.getLogger(__name__)

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
#: What byoi asks for, best first. Schema 1 manifests are not asked for: registries convert
#: them, and the reference distribution server no longer serves them by default.
MANIFEST_TYPES = (OCI_INDEX, OCI_MANIFEST, DOCKER_LIST, DOCKER_MANIFEST)
IMAGE_MANIFESTS = (OCI_MANIFEST, DOCKER_MANIFEST)
#: The image an index's ENTRYPOINT and CMD are read from: the one byoi's app pods run on (the
#: gateway bundle is built for x86-64 Linux).
PLATFORM = {"os": "linux", "architecture": "amd64"}

DOCKER_HUB = "docker.io"
DOCKER_HUB_API = "https://registry-1.docker.io"
DOCKER_HUB_AUTH_KEY = "https://index.docker.io/v1/"
TIMEOUT_SECONDS = 30.0
#: The most byoi reads of one answer: registries refuse manifests over 4 MiB (the OCI
#: distribution spec's figure), so a larger answer is not a manifest, and is not buffered. An
#: image's config blob (its settings and history, a few KiB) is held to the same bound.
MAX_RESPONSE_BYTES = 4 * 1024 * 1024

_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_PATH = re.compile(rf"^{_COMPONENT}(?:/{_COMPONENT})*$")
_DOMAIN = re.compile(
    r"^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*|\[[0-9a-fA-F:]+\])(?::[0-9]+)?$"
)
_TAG = re.compile(r"^[\w][\w.-]{0,127}$")
_DIGEST = re.compile(r"^(sha256:[0-9a-f]{64}|sha512:[0-9a-f]{128})$")


@dataclass(frozen=True)
class Registry:
    """Where a registry's API is: ``http(s)://host[:port]``, and the host as image names spell it."""

    host: str  # as in image references: registry.example.com:5000, docker.io
    api_url: str  # https://registry.example.com:5000, https://registry-1.docker.io

    @classmethod
    def from_url(cls, url: str) -> Registry:
        """``BYOI_REGISTRY_URL``'s value: ``https://host[:port]`` or ``http://host[:port]``."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.path.strip("/") or parts.query:
            raise ValueError(f"must be http(s)://host[:port] of a registry, e.g. https://registry.example.com; got {url!r}")
        host = parts.netloc.lower()
        if host in (DOCKER_HUB, "index.docker.io", "registry-1.docker.io"):
            return DOCKER_HUB_REGISTRY
        return cls(host, f"{parts.scheme}://{host}")


DOCKER_HUB_REGISTRY = Registry(DOCKER_HUB, DOCKER_HUB_API)


@dataclass(frozen=True)
class Reference:
    """A parsed BaseImage: the registry, the repository in it, and a tag or a digest."""

    registry: Registry
    repository: str
    tag: str | None
    digest: str | None

    @property
    def wanted(self) -> str:
        """What the manifest URL names: the digest if given, else the tag."""
        return self.digest or self.tag or "latest"

    def pinned(self, digest: str) -> str:
        """The reference the cluster pulls: ``host/repository@digest``."""
        return f"{self.registry.host}/{self.repository}@{digest}"


def parse_reference(base_image: str, default: Registry, noun: str = "BaseImage") -> Reference:
    """Split ``[host[:port]/]path[:tag][@digest]`` as Docker does; raises BaseImageError
    (whose text calls the reference ``noun``).

    The first component is a registry host when it has a ``.`` or a ``:`` or is ``localhost``
    (Docker's rule); otherwise the name lives in ``default``. On Docker Hub a one-component
    name is in ``library/``. With neither tag nor digest the tag is ``latest``.
    """

    def bad(why: str) -> BaseImageError:
        return BaseImageError(f"{noun} {base_image} is not a valid image reference: {why}.")

    name, _, digest = base_image.partition("@")
    if digest and not _DIGEST.match(digest):
        raise bad(f"the digest {digest!r} is not sha256:<64 hex digits> (or sha512:<128>)")
    tag = None
    colon, slash = name.rfind(":"), name.rfind("/")
    if colon > slash:
        name, tag = name[:colon], name[colon + 1 :]
        if not _TAG.match(tag):
            raise bad(f"the tag {tag!r} must be letters, digits, '_', '.' or '-' (at most 128, not starting with '.' or '-')")
    first, _, rest = name.partition("/")
    if rest and ("." in first or ":" in first or first == "localhost"):
        if not _DOMAIN.match(first):
            raise bad(f"{first!r} is not a registry host[:port]")
        registry = DOCKER_HUB_REGISTRY if first.lower() in (DOCKER_HUB, "index.docker.io") else None
        if registry is None:
            registry = default if first.lower() == default.host else Registry(first.lower(), f"https://{first.lower()}")
        path = rest
    else:
        registry, path = default, name
    if not _PATH.match(path):
        raise bad(f"the repository {path!r} must be lowercase letters and digits, separated by '.', '_', '__', '-' or '/'")
    if registry is DOCKER_HUB_REGISTRY and "/" not in path:
        path = f"library/{path}"
    return Reference(registry, path, tag if tag or digest else "latest", digest or None)


@dataclass(frozen=True)
class Challenge:
    """A ``WWW-Authenticate`` challenge: its scheme (lowercase) and parameters."""

    scheme: str
    params: dict[str, str]


_PARAM = re.compile(r'\s*([A-Za-z0-9_.-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))\s*,?')


def parse_challenge(header: str) -> Challenge | None:
    """``Bearer realm="https://auth/token",service="registry",scope="repository:a:pull"``
    -> Challenge("bearer", {...}); ``Basic realm="x"`` -> Challenge("basic", {...}); else None."""
    scheme, _, rest = header.strip().partition(" ")
    if not scheme:
        return None
    params: dict[str, str] = {}
    position = 0
    while position < len(rest):
        match = _PARAM.match(rest, position)
        if not match or match.end() == position:
            break
        value = match.group(2) if match.group(2) is not None else match.group(3)
        params[match.group(1).lower()] = re.sub(r"\\(.)", r"\1", value)
        position = match.end()
    return Challenge(scheme.lower(), params)


@dataclass(frozen=True)
class Credentials:
    username: str
    password: str


def read_auth_file(path: Path) -> dict[str, Credentials]:
    """A Docker ``config.json``'s ``auths``: registry key -> credentials. Raises ValueError.

    Each entry has ``auth`` (base64 of ``user:password``) or ``username`` and ``password``
    (what ``docker login`` and ``kubectl create secret docker-registry`` write). Credential
    helpers (``credsStore``, ``credHelpers``) run programs on a desktop; byoi does not.
    """
    try:
        document = json.loads(path.read_text())
    except OSError as exc:
        raise ValueError(f"cannot read {path}: {exc.strerror}") from None
    except ValueError as exc:
        raise ValueError(f"{path} is not JSON: {exc}") from None
    auths = document.get("auths") if isinstance(document, dict) else None
    if not isinstance(auths, dict):
        raise ValueError(f'{path} has no "auths" object (a Docker config.json: {{"auths": {{"host": {{"auth": "..."}}}}}})')
    found = {}
    for key, entry in auths.items():
        if not isinstance(entry, dict):
            raise ValueError(f'{path}: auths["{key}"] is not an object')
        if entry.get("auth"):
            try:
                user, sep, password = base64.b64decode(entry["auth"], validate=True).decode().partition(":")
            except (binascii.Error, UnicodeDecodeError, TypeError):
                sep = ""
            if not sep:
                raise ValueError(f'{path}: auths["{key}"].auth is not base64 of "user:password"')
            found[key] = Credentials(user, password)
        elif entry.get("username") is not None and entry.get("password") is not None:
            found[key] = Credentials(str(entry["username"]), str(entry["password"]))
    return found


def auth_key_host(key: str) -> str:
    """An ``auths`` key -> the host it is for: ``https://r.example.com/v2/`` -> ``r.example.com``."""
    if key == DOCKER_HUB_AUTH_KEY or key in ("index.docker.io", "registry-1.docker.io"):
        return DOCKER_HUB
    if "://" in key:
        key = urlsplit(key).netloc
    return key.split("/", 1)[0].lower()


class RegistryResolver:
    """Resolve BaseImage against registries' HTTP API v2 (see the module's docstring).

    ``default`` is where names without a host live; ``credentials`` maps hosts (as image names
    spell them) to their credentials; ``verify`` is httpx's: True, False or an SSLContext.
    """

    def __init__(
        self,
        default: Registry = DOCKER_HUB_REGISTRY,
        credentials: dict[str, Credentials] | None = None,
        verify: bool | ssl.SSLContext = True,
        timeout: float = TIMEOUT_SECONDS,
    ) -> None:
        self._default = default
        self._credentials = dict(credentials or {})
        self._verify = verify
        self._timeout = timeout

    @classmethod
    def from_settings(
        cls,
        url: str | None,
        username: str | None,
        password: str | None,
        auth_file: Path | None,
        ca_file: Path | None,
        insecure: bool,
    ) -> RegistryResolver:
        """Built from the BYOI_REGISTRY_* settings; raises ValueError naming the one that is wrong."""
        default = Registry.from_url(url) if url else DOCKER_HUB_REGISTRY
        credentials: dict[str, Credentials] = {}
        if auth_file is not None:
            try:
                entries = read_auth_file(auth_file)
            except ValueError as exc:
                raise ValueError(f"{exc} (BYOI_REGISTRY_AUTH_FILE)") from None
            for key, found in entries.items():
                credentials[auth_key_host(key)] = found
        if (username is None) != (password is None):
            raise ValueError("set both BYOI_REGISTRY_USERNAME and BYOI_REGISTRY_PASSWORD, or neither")
        if username is not None and password is not None:
            credentials[default.host] = Credentials(username, password)
        verify: bool | ssl.SSLContext = not insecure
        if ca_file is not None and not insecure:
            try:
                verify = ssl.create_default_context(cafile=str(ca_file))
            except (OSError, ssl.SSLError) as exc:
                raise ValueError(f"cannot load CA certificates from {ca_file}: {exc} (BYOI_REGISTRY_CA_FILE)") from None
        return cls(default, credentials, verify)

    # --- resolving ---------------------------------------------------------------

    def resolve(self, base_image: str) -> str:
        reference = parse_reference(base_image, self._default)
        manifest = self.manifest(reference, base_image)
        log.info(
            "BaseImage %s is %s (%s, %s)",
            base_image,
            reference.pinned(manifest.digest),
            manifest.media_type,
            f"{manifest.size_bytes} bytes" if manifest.size_bytes is not None else "size not in an index",
        )
        return reference.pinned(manifest.digest)

    def manifest(self, reference: Reference, base_image: str) -> Manifest:
        """The manifest ``reference`` names; raises BaseImageError with the FailureReason."""
        with self._client() as client:
            session = self._session(client, reference, f"BaseImage {base_image} could not be resolved")
            return session.read_manifest(session.named_manifest(), reference.digest)[0]

    # --- an image's ENTRYPOINT and CMD -------------------------------------------------

    def image_command(self, image: str) -> tuple[list[str] | None, list[str] | None]:
        """The ENTRYPOINT and CMD of ``image`` (a ContainerImage: ``host/repository@sha256:...``),
        as its config blob gives them (``config.Entrypoint``, ``config.Cmd``; None where unset).

        The manifest is read as ``resolve`` reads it (same authentication, TLS settings and
        answer bound); an index gives way to its linux/amd64 image's manifest; the config blob's
        digest is checked. Raises BaseImageError whose text names the image and what failed.
        """
        failing = f"The ENTRYPOINT and CMD of the image {image} could not be read from its registry"
        reference = parse_reference(image, self._default, noun="The image")
        with self._client() as client:
            session = self._session(client, reference, failing)
            found, document = session.read_manifest(session.named_manifest(), reference.digest)
            if found.media_type not in IMAGE_MANIFESTS:
                digest = session.platform_image(document)
                found, document = session.read_manifest(session.platform_manifest(digest), digest)
                if found.media_type not in IMAGE_MANIFESTS:
                    raise session.fail(
                        f"its index's {_platform()} entry {digest} is not an image manifest but {found.media_type}"
                    )
            return session.image_command(document)

    def _session(self, client: httpx.Client, reference: Reference, failing: str) -> _Session:
        return _Session(client, reference, failing, self._credentials.get(reference.registry.host))

    def _client(self) -> httpx.Client:
        return httpx.Client(verify=self._verify, timeout=self._timeout, follow_redirects=True, trust_env=False)


@dataclass(frozen=True)
class Manifest:
    digest: str
    media_type: str
    #: Config plus layers (compressed, as pulled) of an image manifest; None for an index,
    #: whose images differ per platform.
    size_bytes: int | None


class _Session:
    """One resolution's (or image config read's) requests to one registry, with the authentication
    it earned. ``failing`` begins every failure's text: ``BaseImage x could not be resolved``."""

    def __init__(self, client: httpx.Client, reference: Reference, failing: str, credentials: Credentials | None):
        self._client = client
        self._ref = reference
        self._failing = failing
        self._credentials = credentials
        self._authorization: str | None = None

    def get(self, path: str, headers: dict[str, str] | None = None) -> httpx.Response:
        response = self._send(path, headers)
        if response.status_code == 401 and self._authorization is None:
            self._authorization = self._answer(response)
            response = self._send(path, headers)
        if response.status_code == 401:
            raise self._refused(response)
        if response.status_code == 403:
            raise self.fail(
                f"the registry {self._ref.registry.host} denied byoi access to the repository {self._ref.repository} "
                f"(HTTP 403{_error_text(response)}); give byoi's credentials pull access to it"
            )
        return response

    def _send(self, path: str, headers: dict[str, str] | None) -> httpx.Response:
        headers = dict(headers or {})
        if self._authorization:
            headers["Authorization"] = self._authorization
        return self._request(f"{self._ref.registry.api_url}{path}", headers)

    def _request(self, url: str, headers: dict[str, str], **kwargs) -> httpx.Response:
        try:
            with self._client.stream("GET", url, headers=headers, **kwargs) as response:
                body = bytearray()
                for chunk in response.iter_bytes():
                    body += chunk
                    if len(body) > MAX_RESPONSE_BYTES:
                        raise self.fail(
                            f"{_origin(url)} answered more than {MAX_RESPONSE_BYTES // (1024 * 1024)} MiB "
                            "(byoi reads manifests and image configurations of at most 4 MiB)"
                        )
                return httpx.Response(
                    response.status_code, headers=response.headers, content=bytes(body), request=response.request
                )
        except httpx.ConnectError as exc:
            if _is_tls_failure(exc) and "WRONG_VERSION_NUMBER" in _tls_reason(exc):
                raise self.fail(
                    f"TLS with {urlsplit(url).netloc} failed (it does not speak TLS there); a registry served over "
                    f"plain HTTP must be BYOI_REGISTRY_URL, as http://{urlsplit(url).netloc}"
                ) from None
            if _is_tls_failure(exc):
                raise self.fail(
                    f"TLS with {urlsplit(url).netloc} failed ({_tls_reason(exc)}); if the registry's certificate is "
                    "signed by a private CA, set BYOI_REGISTRY_CA_FILE to that CA's certificate"
                ) from None
            raise self.fail(f"the registry at {_origin(url)} is unreachable ({_reason(exc)})") from None
        except httpx.TimeoutException:
            raise self.fail(f"the registry at {_origin(url)} did not answer within {self._client.timeout.read} seconds") from None
        except httpx.HTTPError as exc:
            raise self.fail(f"talking to the registry at {_origin(url)} failed ({_reason(exc)})") from None

    def _answer(self, response: httpx.Response) -> str:
        """The Authorization header that answers a 401's challenge."""
        challenge = parse_challenge(response.headers.get("WWW-Authenticate", ""))
        if challenge is None or challenge.scheme not in ("basic", "bearer"):
            raise self.fail(
                f"the registry {self._ref.registry.host} asks for authentication byoi does not speak "
                f"({response.headers.get('WWW-Authenticate') or 'no WWW-Authenticate header'}); byoi speaks Basic and Bearer"
            )
        if challenge.scheme == "basic":
            if self._credentials is None:
                raise self._no_credentials()
            return _basic(self._credentials)
        return f"Bearer {self._token(challenge)}"

    def _token(self, challenge: Challenge) -> str:
        """A bearer token from the challenge's realm for pulling this repository."""
        realm = challenge.params.get("realm", "")
        if urlsplit(realm).scheme not in ("http", "https"):
            raise self.fail(f"the registry {self._ref.registry.host}'s Bearer challenge names no token realm URL ({realm!r})")
        params = {"scope": f"repository:{self._ref.repository}:pull"}
        if challenge.params.get("service"):
            params["service"] = challenge.params["service"]
        headers = {"Authorization": _basic(self._credentials)} if self._credentials else {}
        response = self._request(realm, headers, params=params)
        if response.status_code in (401, 403):
            if self._credentials is None:
                raise self._no_credentials()
            raise self.fail(
                f"the registry {self._ref.registry.host}'s token service ({_origin(realm)}) refused byoi's credentials "
                f"for user {self._credentials.username!r} (HTTP {response.status_code}); {_fix_credentials(self._ref)}"
            )
        try:
            body = response.json()
            token = body.get("token") or body.get("access_token")
        except (ValueError, AttributeError):
            token = None
        if response.status_code != 200 or not isinstance(token, str) or not token:
            raise self.fail(
                f"the registry {self._ref.registry.host}'s token service ({_origin(realm)}) gave no token (HTTP {response.status_code})"
            )
        return token

    # --- what went wrong ---------------------------------------------------------

    def fail(self, why: str) -> BaseImageError:
        return BaseImageError(f"{self._failing}: {why}.")

    def _no_credentials(self) -> BaseImageError:
        return self.fail(
            f"the registry {self._ref.registry.host} requires authentication and byoi has no credentials for it; "
            f"{_fix_credentials(self._ref)}"
        )

    def _refused(self, response: httpx.Response) -> BaseImageError:
        if self._credentials is None:
            return self._no_credentials()
        return self.fail(
            f"the registry {self._ref.registry.host} refused byoi's credentials for user {self._credentials.username!r} "
            f"(HTTP 401{_error_text(response)}); {_fix_credentials(self._ref)}"
        )

    def missing(self, response: httpx.Response) -> BaseImageError:
        """A 404 for the manifest: no such repository, or no such tag (or digest) in it."""
        codes = _error_codes(response)
        if "NAME_UNKNOWN" not in codes:  # MANIFEST_UNKNOWN, or a registry that says nothing: ask the tag list
            tags = self.get(f"/v2/{self._ref.repository}/tags/list")
            if tags.status_code == 404 and ("NAME_UNKNOWN" in _error_codes(tags) or not _error_codes(tags)):
                codes = ["NAME_UNKNOWN"]
        host, repository = self._ref.registry.host, self._ref.repository
        if "NAME_UNKNOWN" in codes:
            return self.fail(
                f"the registry {host} has no repository {repository}; push the image there "
                f"(docker push {host}/{repository}:{self._ref.tag or '<tag>'}) and create the version again"
            )
        if self._ref.digest:
            return self.fail(f"the repository {repository} in the registry {host} has no manifest {self._ref.digest}")
        return self.fail(
            f"the repository {repository} in the registry {host} has no tag {self._ref.tag}; push it "
            f"(docker push {host}/{repository}:{self._ref.tag}) and create the version again"
        )

    def unexpected(self, response: httpx.Response) -> BaseImageError:
        return self.fail(
            f"the registry {self._ref.registry.host} answered HTTP {response.status_code}{_error_text(response)} "
            f"for {self._ref.repository}:{self._ref.wanted}"
        )

    def named_manifest(self) -> httpx.Response:
        """The registry's answer for the manifest the reference names (200), any type byoi reads."""
        response = self.get(f"/v2/{self._ref.repository}/manifests/{self._ref.wanted}", {"Accept": ", ".join(MANIFEST_TYPES)})
        if response.status_code == 404:
            raise self.missing(response)
        if response.status_code != 200:
            raise self.unexpected(response)
        return response

    def platform_image(self, index: dict) -> str:
        """The digest of an index's linux/amd64 image manifest."""
        entries = index.get("manifests")
        entries = [entry for entry in entries if isinstance(entry, dict)] if isinstance(entries, list) else []
        for entry in entries:
            platform = entry.get("platform") if isinstance(entry.get("platform"), dict) else {}
            if all(platform.get(key) == value for key, value in PLATFORM.items()) and _DIGEST.match(str(entry.get("digest"))):
                return entry["digest"]
        platforms = sorted(
            {
                f"{entry['platform'].get('os')}/{entry['platform'].get('architecture')}"
                for entry in entries
                if isinstance(entry.get("platform"), dict)
            }
        )
        raise self.fail(
            f"its index has no {_platform()} image (it has {', '.join(platforms) or 'no platforms'}); "
            f"byoi's apps run on {_platform()}"
        )

    def platform_manifest(self, digest: str) -> httpx.Response:
        """The registry's answer for an image manifest an index names (200)."""
        response = self.get(f"/v2/{self._ref.repository}/manifests/{digest}", {"Accept": ", ".join(IMAGE_MANIFESTS)})
        if response.status_code == 404:
            raise self.fail(
                f"its index names the {_platform()} manifest {digest}, which the repository {self._ref.repository} "
                f"in the registry {self._ref.registry.host} does not have"
            )
        if response.status_code != 200:
            raise self.fail(
                f"the registry {self._ref.registry.host} answered HTTP {response.status_code}{_error_text(response)} "
                f"for the manifest {digest}"
            )
        return response

    def image_command(self, manifest: dict) -> tuple[list[str] | None, list[str] | None]:
        """The ENTRYPOINT and CMD in the config blob an image manifest names (its digest checked)."""
        config = manifest.get("config")
        digest = config.get("digest") if isinstance(config, dict) else None
        if not isinstance(digest, str) or not _DIGEST.match(digest):
            raise self.fail("its manifest names no config blob by its digest")
        response = self.get(f"/v2/{self._ref.repository}/blobs/{digest}")
        if response.status_code == 404:
            raise self.fail(
                f"the repository {self._ref.repository} in the registry {self._ref.registry.host} has no config blob {digest}"
            )
        if response.status_code != 200:
            raise self.fail(
                f"the registry {self._ref.registry.host} answered HTTP {response.status_code}{_error_text(response)} "
                f"for the config blob {digest}"
            )
        if digest.startswith("sha256:") and "sha256:" + hashlib.sha256(response.content).hexdigest() != digest:
            raise self.fail(f"the registry answered a config blob whose digest is not {digest}")
        try:
            document = json.loads(response.content)
        except ValueError:
            document = None
        settings = document.get("config") if isinstance(document, dict) else None
        if not isinstance(document, dict) or (settings is not None and not isinstance(settings, dict)):
            raise self.fail(f"its config blob {digest} is not an image configuration (JSON with a config object)")
        settings = settings or {}  # an image without settings (config absent or null) has neither
        entrypoint, cmd = settings.get("Entrypoint"), settings.get("Cmd")
        for name, value in (("Entrypoint", entrypoint), ("Cmd", cmd)):
            if value is not None and not (isinstance(value, list) and all(isinstance(arg, str) for arg in value)):
                raise self.fail(f"its config blob {digest} has a config.{name} that is not a list of strings")
        return entrypoint, cmd

    def read_manifest(self, response: httpx.Response, expected: str | None) -> tuple[Manifest, dict]:
        """The manifest in a 200 answer, and its JSON; ``expected``: the digest it must have."""
        media_type = response.headers.get("Content-Type", "").split(";", 1)[0].strip()
        body = response.content
        try:
            document = json.loads(body)
        except ValueError:
            document = None
        if not isinstance(document, dict):
            raise self.fail(f"the registry {self._ref.registry.host} answered with something that is not a manifest")
        media_type = document.get("mediaType") or media_type
        if media_type not in MANIFEST_TYPES:
            raise self.fail(f"its manifest is of type {media_type or 'unknown'}, not an OCI or Docker v2 image manifest or index")
        computed = "sha256:" + hashlib.sha256(body).hexdigest()
        digest = response.headers.get("Docker-Content-Digest") or computed
        if expected:
            if expected.startswith("sha256:") and computed != expected:
                raise self.fail(f"the registry answered a manifest whose digest is {computed}, not {expected}")
            digest = expected
        elif not _DIGEST.match(digest):
            digest = computed
        return Manifest(digest, media_type, _image_size(document) if media_type in IMAGE_MANIFESTS else None), document


def _image_size(document: dict) -> int | None:
    try:
        blobs = [document["config"], *document["layers"]]
        return sum(int(blob["size"]) for blob in blobs)
    except (KeyError, TypeError, ValueError):
        return None


def _platform() -> str:
    return f"{PLATFORM['os']}/{PLATFORM['architecture']}"


def _basic(credentials: Credentials) -> str:
    pair = f"{credentials.username}:{credentials.password}".encode()
    return "Basic " + base64.b64encode(pair).decode()


def _fix_credentials(reference: Reference) -> str:
    return (
        f"set BYOI_REGISTRY_USERNAME and BYOI_REGISTRY_PASSWORD (for the default registry), or an entry for "
        f"{reference.registry.host} in BYOI_REGISTRY_AUTH_FILE, to credentials that may pull {reference.repository}"
    )


def _error_codes(response: httpx.Response) -> list[str]:
    try:
        errors = response.json().get("errors") or []
        return [str(error.get("code")) for error in errors if isinstance(error, dict)]
    except (ValueError, AttributeError):
        return []


def _error_text(response: httpx.Response) -> str:
    try:
        errors = response.json().get("errors") or []
        text = "; ".join(f"{e.get('code')}: {e.get('message')}" for e in errors if isinstance(e, dict))
    except (ValueError, AttributeError):
        text = ""
    return f", {text}" if text else ""


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _reason(exc: BaseException) -> str:
    return str(exc) or type(exc).__name__


def _is_tls_failure(exc: BaseException) -> bool:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ssl.SSLError):
            return True
        seen = seen.__cause__ or seen.__context__
    return "SSL" in str(exc) or "certificate" in str(exc).lower()


def _tls_reason(exc: BaseException) -> str:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ssl.SSLCertVerificationError) and seen.verify_message:
            return f"certificate verify failed: {seen.verify_message}"
        if isinstance(seen, ssl.SSLError):
            return seen.reason or str(seen)
        seen = seen.__cause__ or seen.__context__
    return _reason(exc)
