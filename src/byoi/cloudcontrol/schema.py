"""CloudFormation resource schemas: validation and property classes.

``ResourceSchema.load(type_name)`` reads one of the schemas in ``schemas/``.
It knows the type's primary identifier (one property or several: a compound
identifier is their values joined with ``|`` in the schema's order, as Cloud
Control writes it) and its create-only, read-only and write-only properties
(as top-level property names; create-only ones may also be nested, as JSON
pointers under ``create_only_nested``). ``errors(model)`` validates a resource
model against the schema (JSON Schema draft 7, with patterns in the registry's
Java dialect applied the way JSON Schema applies them: a search, anchored only
where the pattern anchors itself); ``project(model)`` keeps only what the
schema describes (a resource made through the SageMaker API may carry members
the CloudFormation type does not have).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from byoi.aws.validate import compiled_pattern

SCHEMA_DIR = Path(__file__).parent / "schemas"
SCHEMA_FILES = {
    "AWS::SageMaker::Image": "aws-sagemaker-image.json",
    "AWS::SageMaker::ImageVersion": "aws-sagemaker-imageversion.json",
    "AWS::SageMaker::AppImageConfig": "aws-sagemaker-appimageconfig.json",
    "AWS::SageMaker::StudioLifecycleConfig": "aws-sagemaker-studiolifecycleconfig.json",
    "AWS::SageMaker::Domain": "aws-sagemaker-domain.json",
    "AWS::SageMaker::UserProfile": "aws-sagemaker-userprofile.json",
    "AWS::SageMaker::Space": "aws-sagemaker-space.json",
    "AWS::SageMaker::App": "aws-sagemaker-app.json",
}


@cache
def registry_validator():
    r"""Draft 7 with ``\p{L}``-style Java patterns understood. Imported on first use:
    importing jsonschema costs about a second (its format checkers build grammars)."""
    from jsonschema import Draft7Validator, ValidationError, validators

    def pattern(validator, pattern, instance, schema):  # noqa: ANN001 - jsonschema's keyword signature
        if validator.is_type(instance, "string") and not compiled_pattern(pattern).search(instance):
            yield ValidationError(f"{instance!r} does not match {pattern!r}")

    return validators.extend(Draft7Validator, {"pattern": pattern})


def _paths(pointers: list[str] | None) -> list[tuple[str, ...]]:
    """``["/properties/DomainSettings/DockerSettings"]`` -> ``[("DomainSettings", "DockerSettings")]``."""
    return [tuple(p.split("/")[2:]) for p in pointers or []]


def _names(pointers: list[str] | None) -> frozenset[str]:
    """The top-level properties among ``pointers``: ``["/properties/ImageName"]`` -> ``{"ImageName"}``."""
    return frozenset(path[0] for path in _paths(pointers) if len(path) == 1)


@dataclass(frozen=True)
class ResourceSchema:
    type_name: str
    document: dict
    #: The primary identifier's properties, in the schema's order.
    identifier_properties: tuple[str, ...]
    create_only: frozenset[str]
    #: Create-only properties inside other properties, as paths.
    create_only_nested: tuple[tuple[str, ...], ...]
    read_only: frozenset[str]
    write_only: frozenset[str]

    @staticmethod
    @cache
    def load(type_name: str) -> ResourceSchema | None:
        """The schema of ``type_name``, or None when byoi does not serve that type."""
        file = SCHEMA_FILES.get(type_name)
        if file is None:
            return None
        document = json.loads((SCHEMA_DIR / file).read_text())
        return ResourceSchema(
            type_name=type_name,
            document=document,
            identifier_properties=tuple(path[0] for path in _paths(document["primaryIdentifier"])),
            create_only=_names(document.get("createOnlyProperties")),
            create_only_nested=tuple(p for p in _paths(document.get("createOnlyProperties")) if len(p) > 1),
            read_only=_names(document.get("readOnlyProperties")),
            write_only=_names(document.get("writeOnlyProperties")),
        )

    @property
    def primary_identifier(self) -> str:
        """The primary identifier's name: its properties joined with ``|``."""
        return "|".join(self.identifier_properties)

    def identifier_of(self, model: dict) -> str:
        """The primary identifier of ``model``: its identifier properties' values, joined with ``|``."""
        return "|".join(str(model[p]) for p in self.identifier_properties)

    def identifier_values(self, identifier: str) -> dict[str, str] | None:
        """The identifier properties an identifier names (None: it has too few or too many parts)."""
        parts = identifier.split("|")
        if len(parts) != len(self.identifier_properties) or not all(parts):
            return None
        return dict(zip(self.identifier_properties, parts, strict=True))

    def project(self, model: dict) -> dict:
        """``model`` with only the members the schema describes (recursively)."""
        return _project(self.document, self.document, model)

    def errors(self, model: dict) -> list[str]:
        """Schema violations of ``model`` as ``#/Path: reason`` lines (empty when valid)."""
        validator = registry_validator()(self.document)
        found = sorted(validator.iter_errors(model), key=lambda e: list(e.absolute_path))
        return [f"#/{'/'.join(str(p) for p in e.absolute_path)}: {e.message}" for e in found]

    def readable(self, model: dict) -> dict:
        """``model`` without its write-only properties, as reads return it."""
        return {k: v for k, v in model.items() if k not in self.write_only}


def _resolve(document: dict, node: dict) -> dict:
    while "$ref" in node:
        node = document["definitions"][node["$ref"].rsplit("/", 1)[1]]
    return node


def _project(document: dict, node: dict, value):
    node = _resolve(document, node)
    if isinstance(value, dict) and "properties" in node:
        described = node["properties"]
        return {k: _project(document, described[k], v) for k, v in value.items() if k in described}
    if isinstance(value, list) and isinstance(node.get("items"), dict):
        return [_project(document, node["items"], v) for v in value]
    return value
