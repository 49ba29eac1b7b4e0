"""CloudFormation resource schemas: validation and property classes.

``ResourceSchema.load(type_name)`` reads one of the schemas in ``schemas/``.
It knows the type's primary identifier and its create-only, read-only and
write-only properties (as top-level property names), and ``errors(model)``
validates a resource model against the schema (JSON Schema draft 7, with
patterns in the registry's Java dialect applied the way JSON Schema applies
them: a search, anchored only where the pattern anchors itself).
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


def _names(pointers: list[str] | None) -> frozenset[str]:
    """``["/properties/ImageName"]`` -> ``{"ImageName"}``."""
    return frozenset(p.split("/")[2] for p in pointers or [])


@dataclass(frozen=True)
class ResourceSchema:
    type_name: str
    document: dict
    primary_identifier: str
    create_only: frozenset[str]
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
        (identifier,) = _names(document["primaryIdentifier"])
        return ResourceSchema(
            type_name=type_name,
            document=document,
            primary_identifier=identifier,
            create_only=_names(document.get("createOnlyProperties")),
            read_only=_names(document.get("readOnlyProperties")),
            write_only=_names(document.get("writeOnlyProperties")),
        )

    def errors(self, model: dict) -> list[str]:
        """Schema violations of ``model`` as ``#/Path: reason`` lines (empty when valid)."""
        validator = registry_validator()(self.document)
        found = sorted(validator.iter_errors(model), key=lambda e: list(e.absolute_path))
        return [f"#/{'/'.join(str(p) for p in e.absolute_path)}: {e.message}" for e in found]

    def readable(self, model: dict) -> dict:
        """``model`` without its write-only properties, as reads return it."""
        return {k: v for k, v in model.items() if k not in self.write_only}
