"""BaseImage resolves against a real registry (Debian's docker-registry on loopback): the manifest
digest of the tag, fully qualified, with a FailureReason that says what to do when it cannot."""

from __future__ import annotations

import base64
import json
import ssl

import pytest

from byoi.services.base_images import BaseImageError
from byoi.services.registry import (
    DOCKER_HUB_REGISTRY,
    Credentials,
    Registry,
    RegistryResolver,
    parse_reference,
)
from tests.conftest import free_port
from tests.registry import (
    DOCKER_MANIFEST,
    OCI_MANIFEST,
    PASSWORD,
    SERVED_CMD,
    SERVED_ENTRYPOINT,
    USER,
    RegistryServer,
    running_registries,
)


@pytest.fixture(scope="module")
def registries(tmp_path_factory):
    yield from running_registries(tmp_path_factory)


def resolver_for(server: RegistryServer, **kwargs) -> RegistryResolver:
    return RegistryResolver(Registry.from_url(server.url), **kwargs)


def failure(resolver: RegistryResolver, base_image: str) -> str:
    with pytest.raises(BaseImageError) as caught:
        resolver.resolve(base_image)
    return str(caught.value)


# --- what resolves -----------------------------------------------------------------


def test_a_tag_on_a_named_registry_resolves_to_its_manifest_digest_there(registries):
    ca = ssl.create_default_context(cafile=str(registries.tls_cert))
    resolver = RegistryResolver(verify=ca)  # default registry Docker Hub: the host in the name decides, over https
    host = registries.tls.host
    assert resolver.resolve(f"{host}/team/app:1") == f"{host}/team/app@{registries.app.digest}"


def test_a_named_registry_is_spoken_to_over_https_unless_it_is_the_default_http_one(registries):
    host = registries.open.host
    reason = failure(RegistryResolver(), f"{host}/team/app:1")
    assert f"TLS with {host} failed (it does not speak TLS there); a registry served over plain HTTP must be " in reason
    assert f"BYOI_REGISTRY_URL, as http://{host}." in reason
    assert resolver_for(registries.open).resolve(f"{host}/team/app:1") == f"{host}/team/app@{registries.app.digest}"


def test_a_name_without_a_registry_host_resolves_in_the_default_registry(registries):
    resolver = resolver_for(registries.open)
    host = registries.open.host
    assert resolver.resolve("team/app:1") == f"{host}/team/app@{registries.app.digest}"
    assert resolver.resolve("a/b/c:v2.0_rc-1") == f"{host}/a/b/c@{registries.nested.digest}"


def test_a_name_without_a_tag_means_latest(registries):
    assert resolver_for(registries.open).resolve("solo") == f"{registries.open.host}/solo@{registries.solo.digest}"


def test_docker_v2_manifests_and_oci_indexes_resolve_to_their_own_digests(registries):
    resolver = resolver_for(registries.open)
    host = registries.open.host
    assert resolver.resolve("team/app:docker") == f"{host}/team/app@{registries.docker.digest}"
    assert resolver.resolve("team/app:multi") == f"{host}/team/app@{registries.multi.digest}"
    assert registries.multi.digest != registries.app.digest


def test_a_digest_reference_resolves_to_itself_when_the_registry_has_it(registries):
    resolver = resolver_for(registries.open)
    host = registries.open.host
    pinned = f"{host}/team/app@{registries.docker.digest}"
    assert resolver.resolve(f"team/app@{registries.docker.digest}") == pinned
    assert resolver.resolve(pinned) == pinned


def test_an_image_manifests_size_is_its_config_and_layers_and_an_index_has_none(registries):
    resolver = resolver_for(registries.open)
    default = Registry.from_url(registries.open.url)
    single = resolver.manifest(parse_reference("team/app:1", default), "team/app:1")
    assert (single.digest, single.media_type, single.size_bytes) == (registries.app.digest, OCI_MANIFEST, registries.app.size)
    docker = resolver.manifest(parse_reference("team/app:docker", default), "team/app:docker")
    assert (docker.media_type, docker.size_bytes) == (DOCKER_MANIFEST, registries.docker.size)
    assert resolver.manifest(parse_reference("team/app:multi", default), "team/app:multi").size_bytes is None


# --- what is missing ---------------------------------------------------------------


def test_a_missing_tag_fails_naming_the_tag_and_how_to_push_it(registries):
    reason = failure(resolver_for(registries.open), "team/app:nope")
    host = registries.open.host
    assert reason == (
        f"BaseImage team/app:nope could not be resolved: the repository team/app in the registry {host} has no tag nope; "
        f"push it (docker push {host}/team/app:nope) and create the version again."
    )


def test_a_missing_repository_fails_naming_the_repository(registries):
    reason = failure(resolver_for(registries.open), "team/absent:1")
    assert f"the registry {registries.open.host} has no repository team/absent;" in reason


def test_a_digest_the_repository_lacks_fails_naming_the_digest(registries):
    digest = "sha256:" + "0" * 64
    reason = failure(resolver_for(registries.open), f"team/app@{digest}")
    assert f"the repository team/app in the registry {registries.open.host} has no manifest {digest}." in reason


# --- authentication ----------------------------------------------------------------


def test_basic_auth_resolves_with_the_right_credentials(registries):
    host = registries.basic.host
    resolver = resolver_for(registries.basic, credentials={host: Credentials(USER, PASSWORD)})
    assert resolver.resolve("team/app:1") == f"{host}/team/app@{registries.app.digest}"


def test_basic_auth_with_a_wrong_password_fails_as_refused_credentials(registries):
    host = registries.basic.host
    resolver = resolver_for(registries.basic, credentials={host: Credentials(USER, "wrong")})
    reason = failure(resolver, "team/app:1")
    assert f"the registry {host} refused byoi's credentials for user 'byoi-puller' (HTTP 401" in reason
    assert "BYOI_REGISTRY_USERNAME" in reason and "BYOI_REGISTRY_AUTH_FILE" in reason


def test_a_registry_that_wants_credentials_byoi_lacks_fails_saying_so(registries):
    for server in (registries.basic, registries.bearer):
        reason = failure(resolver_for(server), "team/app:1")
        assert f"the registry {server.host} requires authentication and byoi has no credentials for it" in reason


def test_credentials_for_another_host_are_not_sent(registries):
    resolver = resolver_for(registries.basic, credentials={"elsewhere.example.com": Credentials(USER, PASSWORD)})
    assert "byoi has no credentials for it" in failure(resolver, "team/app:1")


def test_bearer_auth_fetches_a_pull_token_from_the_challenges_realm(registries):
    host = registries.bearer.host
    registries.tokens.requests.clear()
    resolver = resolver_for(registries.bearer, credentials={host: Credentials(USER, PASSWORD)})
    assert resolver.resolve("team/app:1") == f"{host}/team/app@{registries.app.digest}"
    asked = registries.tokens.requests[-1]
    assert asked["query"] == {"scope": ["repository:team/app:pull"], "service": ["byoi-test-registry"]}
    assert asked["authorization"] == "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()


def test_bearer_auth_with_a_wrong_password_fails_as_refused_by_the_token_service(registries):
    host = registries.bearer.host
    reason = failure(resolver_for(registries.bearer, credentials={host: Credentials(USER, "wrong")}), "team/app:1")
    assert (
        f"the registry {host}'s token service ({registries.tokens.realm.rsplit('/', 1)[0]}) refused byoi's credentials" in reason
    )


def test_bearer_auth_tells_a_missing_tag_from_a_missing_repository(registries):
    host = registries.bearer.host
    resolver = resolver_for(registries.bearer, credentials={host: Credentials(USER, PASSWORD)})
    assert "has no tag nope" in failure(resolver, "team/app:nope")
    assert "has no repository team/absent" in failure(resolver, "team/absent:1")


def test_credentials_come_from_a_docker_config_json(registries, tmp_path):
    auth_file = tmp_path / "config.json"
    pair = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    auth_file.write_text(
        json.dumps(
            {
                "auths": {
                    f"http://{registries.basic.host}/v2/": {"auth": pair},
                    registries.bearer.host: {"username": USER, "password": PASSWORD},
                }
            }
        )
    )
    resolver = RegistryResolver.from_settings(registries.bearer.url, None, None, auth_file, None, False)
    assert resolver.resolve(f"{registries.bearer.host}/team/app:1").endswith(registries.app.digest)
    basic = RegistryResolver.from_settings(registries.basic.url, None, None, auth_file, None, False)
    assert basic.resolve("team/app:1") == f"{registries.basic.host}/team/app@{registries.app.digest}"


def test_settings_credentials_belong_to_the_default_registry(registries):
    resolver = RegistryResolver.from_settings(registries.basic.url, USER, PASSWORD, None, None, False)
    assert resolver.resolve("team/app:1") == f"{registries.basic.host}/team/app@{registries.app.digest}"


# --- reaching the registry ---------------------------------------------------------


def test_an_unreachable_registry_fails_saying_it_is_unreachable():
    port = free_port()  # nothing listens there
    reason = failure(RegistryResolver(Registry.from_url(f"http://127.0.0.1:{port}")), "team/app:1")
    assert reason.startswith(
        f"BaseImage team/app:1 could not be resolved: the registry at http://127.0.0.1:{port} is unreachable ("
    )


def test_a_registry_whose_certificate_byoi_cannot_verify_fails_as_a_tls_failure(registries):
    reason = failure(resolver_for(registries.tls), "team/app:1")
    assert f"TLS with {registries.tls.host} failed (certificate verify failed: self-signed certificate)" in reason
    assert "set BYOI_REGISTRY_CA_FILE" in reason


def test_plain_http_to_a_tls_registry_fails_clearly(registries):
    reason = failure(RegistryResolver(Registry.from_url(f"http://{registries.tls.host}")), "team/app:1")
    assert reason.startswith("BaseImage team/app:1 could not be resolved: the registry ")
    assert "HTTP 400" in reason or "unreachable" in reason


def test_a_tls_registry_resolves_with_its_ca_file_or_when_insecure(registries):
    host = registries.tls.host
    expected = f"{host}/team/app@{registries.app.digest}"
    with_ca = RegistryResolver.from_settings(registries.tls.url, None, None, None, registries.tls_cert, False)
    assert with_ca.resolve("team/app:1") == expected
    assert RegistryResolver.from_settings(registries.tls.url, None, None, None, None, True).resolve("team/app:1") == expected
    assert (
        RegistryResolver(
            Registry.from_url(registries.tls.url), verify=ssl.create_default_context(cafile=str(registries.tls_cert))
        ).resolve(f"{host}/team/app:1")
        == expected
    )


# --- an image's ENTRYPOINT and CMD (for lifecycle scripts on Kubernetes) -----------------


def command_failure(resolver: RegistryResolver, image: str) -> str:
    with pytest.raises(BaseImageError) as caught:
        resolver.image_command(image)
    return str(caught.value)


def test_an_images_entrypoint_and_cmd_come_from_its_config_blob(registries):
    resolver = resolver_for(registries.open)
    host = registries.open.host
    assert resolver.image_command(f"{host}/team/served@{registries.served.digest}") == (SERVED_ENTRYPOINT, SERVED_CMD)
    docker = resolver.image_command(f"{host}/team/served@{registries.served_docker.digest}")
    assert docker == (["/usr/bin/tini", "--"], ["serve"])
    assert resolver.image_command("team/served:1") == (SERVED_ENTRYPOINT, SERVED_CMD)  # a tag reads as resolve reads it


def test_an_index_gives_its_linux_amd64_images_entrypoint_and_cmd_wherever_it_is_listed(registries):
    resolver = resolver_for(registries.open)
    pinned = f"{registries.open.host}/team/served@{registries.served_multi.digest}"
    assert resolver.image_command(pinned) == (SERVED_ENTRYPOINT, SERVED_CMD)  # not the arm64 image listed first


def test_an_index_without_a_linux_amd64_image_fails_naming_the_platforms_it_has(registries):
    pinned = f"{registries.open.host}/team/served@{registries.arm_only.digest}"
    assert command_failure(resolver_for(registries.open), pinned) == (
        f"The ENTRYPOINT and CMD of the image {pinned} could not be read from its registry: its index has no linux/amd64 "
        "image (it has linux/arm64); byoi's apps run on linux/amd64."
    )


def test_an_image_without_entrypoint_or_cmd_gives_neither(registries):
    assert resolver_for(registries.open).image_command(f"{registries.open.host}/team/bare@{registries.bare.digest}") == (
        None,
        None,
    )


def test_an_image_the_registry_lacks_fails_naming_the_image_and_the_digest(registries):
    host, digest = registries.open.host, "sha256:" + "0" * 64
    pinned = f"{host}/team/served@{digest}"
    assert command_failure(resolver_for(registries.open), pinned) == (
        f"The ENTRYPOINT and CMD of the image {pinned} could not be read from its registry: the repository team/served "
        f"in the registry {host} has no manifest {digest}."
    )
    gone = f"{host}/team/absent@{digest}"
    assert f"could not be read from its registry: the registry {host} has no repository team/absent;" in command_failure(
        resolver_for(registries.open), gone
    )


def test_an_images_config_is_read_with_basic_or_bearer_credentials_and_refused_without(registries):
    for server in (registries.basic, registries.bearer):
        pinned = f"{server.host}/team/served@{registries.served_multi.digest}"
        registries.tokens.requests.clear()
        with_credentials = resolver_for(server, credentials={server.host: Credentials(USER, PASSWORD)})
        assert with_credentials.image_command(pinned) == (SERVED_ENTRYPOINT, SERVED_CMD)
        if server is registries.bearer:  # a pull token for the image's repository, and nothing more
            assert {tuple(asked["query"]["scope"]) for asked in registries.tokens.requests} == {("repository:team/served:pull",)}
        reason = command_failure(resolver_for(server), pinned)
        assert reason.startswith(f"The ENTRYPOINT and CMD of the image {pinned} could not be read from its registry: ")
        assert f"the registry {server.host} requires authentication and byoi has no credentials for it" in reason


def test_an_images_config_is_read_over_tls_with_the_registrys_ca(registries):
    pinned = f"{registries.tls.host}/team/served@{registries.served.digest}"
    with_ca = RegistryResolver.from_settings(registries.tls.url, None, None, None, registries.tls_cert, False)
    assert with_ca.image_command(pinned) == (SERVED_ENTRYPOINT, SERVED_CMD)
    assert "set BYOI_REGISTRY_CA_FILE" in command_failure(resolver_for(registries.tls), pinned)


def test_an_unreachable_registry_fails_the_read_naming_the_image():
    port = free_port()  # nothing listens there
    pinned = f"127.0.0.1:{port}/team/served@sha256:{'1' * 64}"
    reason = command_failure(RegistryResolver(Registry.from_url(f"http://127.0.0.1:{port}")), pinned)
    assert reason.startswith(
        f"The ENTRYPOINT and CMD of the image {pinned} could not be read from its registry: "
        f"the registry at http://127.0.0.1:{port} is unreachable ("
    )


def test_a_malformed_image_reference_fails_the_read_saying_what_is_wrong():
    reason = command_failure(RegistryResolver(), "Team/App:1")
    assert reason.startswith("The image Team/App:1 is not a valid image reference: the repository 'Team/App' must be")


# --- references, pure --------------------------------------------------------------


def test_references_split_as_docker_splits_them():
    default = Registry.from_url("https://registry.example.com")
    cases = {
        "img": ("registry.example.com", "img", "latest", None),
        "team/img:1.0": ("registry.example.com", "team/img", "1.0", None),
        "registry.example.com/team/img:2": ("registry.example.com", "team/img", "2", None),
        "other.example.com:5000/img:3": ("other.example.com:5000", "img", "3", None),
        "localhost/img": ("localhost", "img", "latest", None),
        "docker.io/ubuntu:22.04": ("docker.io", "library/ubuntu", "22.04", None),
        "team/img@sha256:" + "a" * 64: ("registry.example.com", "team/img", None, "sha256:" + "a" * 64),
        "team/img:1@sha256:" + "b" * 64: ("registry.example.com", "team/img", "1", "sha256:" + "b" * 64),
    }
    for base_image, expected in cases.items():
        ref = parse_reference(base_image, default)
        assert (ref.registry.host, ref.repository, ref.tag, ref.digest) == expected, base_image


def test_the_default_registry_is_docker_hub_where_one_component_names_are_library_images():
    ref = parse_reference("python:3.12", DOCKER_HUB_REGISTRY)
    assert (ref.registry.api_url, ref.pinned("sha256:" + "c" * 64)) == (
        "https://registry-1.docker.io",
        "docker.io/library/python@sha256:" + "c" * 64,
    )
    assert Registry.from_url("https://docker.io") is DOCKER_HUB_REGISTRY


def test_a_named_host_that_is_the_default_registry_keeps_its_scheme():
    default = Registry.from_url("http://127.0.0.1:5000")
    assert parse_reference("127.0.0.1:5000/img:1", default).registry.api_url == "http://127.0.0.1:5000"
    assert parse_reference("127.0.0.1:5001/img:1", default).registry.api_url == "https://127.0.0.1:5001"


@pytest.mark.parametrize(
    ("base_image", "why"),
    [
        ("Team/img:1", "the repository 'Team/img' must be lowercase"),
        ("img:-bad", "the tag '-bad' must be"),
        ("img@sha256:abc", "the digest 'sha256:abc' is not sha256:<64 hex digits>"),
        ("bad_host:5000:1/img", "'bad_host:5000:1' is not a registry host[:port]"),
        ("team//img", "the repository 'team//img' must be"),
    ],
)
def test_a_malformed_base_image_fails_saying_what_is_wrong(base_image, why):
    with pytest.raises(BaseImageError) as caught:
        parse_reference(base_image, DOCKER_HUB_REGISTRY)
    assert str(caught.value).startswith(f"BaseImage {base_image} is not a valid image reference: {why}")
