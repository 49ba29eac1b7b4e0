"""Resolving an ImageVersion's BaseImage to the container image it will run.

SageMaker resolves ``BaseImage`` (``repo:tag``) when a version is created and
records the digest as ``ContainerImage``. byoi does the same against its Docker
engine; with no engine configured it records ``BaseImage`` unchanged.

A resolver returns the ContainerImage or raises ``BaseImageError`` whose text
becomes the version's ``FailureReason`` (so it should tell the user what to do).
"""

from __future__ import annotations

import logging
from typing import Protocol

log = logging.getLogger(__name__)


class BaseImageError(Exception):
    """The base image cannot be used; the message is the FailureReason."""


class BaseImageResolver(Protocol):
    def resolve(self, base_image: str) -> str:
        """The ContainerImage for ``base_image``; raises BaseImageError."""


class PassThroughResolver:
    """No engine: the ContainerImage is the BaseImage as given."""

    def resolve(self, base_image: str) -> str:
        return base_image


class DockerResolver:
    """Resolve against a Docker engine's local images (byoi never pulls).

    ContainerImage is ``repo@sha256:...`` when the image has a registry digest,
    else its image id ``sha256:...`` (what ``docker run`` accepts for images
    that were built or imported locally and never pushed).
    """

    def __init__(self, client) -> None:  # a docker.DockerClient
        self._client = client

    def resolve(self, base_image: str) -> str:
        import docker.errors

        try:
            image = self._client.images.get(base_image)
        except docker.errors.ImageNotFound:
            raise BaseImageError(
                f"BaseImage {base_image} does not exist in the Docker engine byoi uses; "
                f"build, pull or load it there (docker image ls shows what exists), then create the version again."
            ) from None
        except docker.errors.APIError as exc:
            raise BaseImageError(f"BaseImage {base_image} could not be inspected: {exc.explanation or exc}") from None
        repo = repository_of(base_image)
        for digest in image.attrs.get("RepoDigests") or []:
            if digest.split("@", 1)[0] == repo:
                return digest
        return image.id


def repository_of(reference: str) -> str:
    """``host:5000/team/img:tag@sha256:..`` -> ``host:5000/team/img``."""
    reference = reference.split("@", 1)[0]
    colon, slash = reference.rfind(":"), reference.rfind("/")
    return reference[:colon] if colon > slash else reference
