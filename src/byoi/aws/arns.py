"""Amazon Resource Names for the resources byoi serves.

SageMaker writes the resource name into its ARNs in lower case
(``arn:aws:sagemaker:us-east-1:123456789012:image/my-image``), so two names
that differ only in case share an ARN; byoi therefore treats names as unique
regardless of case (see docs/aws-behaviour.md).
"""

from __future__ import annotations

from dataclasses import dataclass

from byoi.aws.protocol import Scope

#: SageMaker resource types byoi knows, as they appear in ARNs.
IMAGE = "image"
IMAGE_VERSION = "image-version"
APP_IMAGE_CONFIG = "app-image-config"
DOMAIN = "domain"
USER_PROFILE = "user-profile"
SPACE = "space"
APP = "app"
STUDIO_LIFECYCLE_CONFIG = "studio-lifecycle-config"


def sagemaker_arn(scope: Scope, resource_type: str, *path: str | int) -> str:
    """``arn:aws:sagemaker:<region>:<account>:<type>/<path...>`` with the name lower-cased."""
    tail = "/".join(str(p).lower() for p in path)
    return f"arn:aws:sagemaker:{scope.region}:{scope.account_id}:{resource_type}/{tail}"


def app_arn(app) -> str:
    """An app's ARN: ``app/<domain id>/<owner>/<app type>/<name>``, lower-cased. ``app`` is a row
    of ``byoi.store.apps`` (which carries its domain's ``domain_id``, ``account_id`` and ``region``)."""
    scope = Scope(app.account_id, app.region)
    return sagemaker_arn(scope, APP, app.domain_id, app.owner_name, app.app_type.lower(), app.name)


@dataclass(frozen=True)
class ParsedArn:
    """The parts of a SageMaker ARN byoi needs to find the resource it names."""

    scope: Scope
    resource_type: str
    path: tuple[str, ...]


def parse_sagemaker_arn(arn: str) -> ParsedArn | None:
    """Split a SageMaker ARN; None when it is not one."""
    parts = arn.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn" or parts[2] != "sagemaker":
        return None
    resource_type, _, rest = parts[5].partition("/")
    if not resource_type or not rest:
        return None
    return ParsedArn(Scope(parts[4], parts[3]), resource_type, tuple(rest.split("/")))
