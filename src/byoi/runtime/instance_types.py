"""Studio's instance types: how many vCPUs, how much memory and how many GPUs an app gets.

An app's ``ResourceSpec.InstanceType`` names the machine Studio would run it on.
byoi runs every app on the same host, so the type becomes the container's
limits instead: its vCPUs (a CPU quota), its memory (a hard limit) and its
NVIDIA GPUs (a device request for that many).

``TABLE`` holds AWS's published EC2 figures for the instance types Studio
offers (the ``AppInstanceType`` values of the pinned botocore model), one row
per type. An operator adjusts or adds types with a JSON or TOML file
(``BYOI_INSTANCE_TYPES_FILE``) read by :meth:`InstanceTypes.load`::

    {"ml.t3.medium": {"vcpus": 1, "memory_gib": 2},
     "ml.g7e.2xlarge": {"vcpus": 8, "memory_gib": 64, "gpus": 1}}

An entry for a built-in type overrides only the fields it names; an entry for
another type needs ``vcpus`` and ``memory_gib`` (``gpus`` defaults to 0).

Choices:

- ``system`` (the default JupyterServer app's instance in Studio, which runs
  only the JupyterLab front end; kernels run in KernelGateway apps) is given
  2 vCPUs and 4 GiB, as ``ml.t3.medium``.
- Trainium (``ml.trn1*``) accelerators are not GPUs: those types get 0 GPUs.
- Types whose figures AWS had not published in a form we could check when the
  table was written (``ml.geospatial.interactive``, ``ml.g7.*``,
  ``ml.g7e.*``) are left out: :meth:`InstanceTypes.get` answers ``None`` for
  them until an operator's file describes them.
"""

from __future__ import annotations

import json
import math
import tomllib
from dataclasses import dataclass
from pathlib import Path

GIB = 1 << 30

#: name: (vCPUs, memory GiB, NVIDIA GPUs), from AWS's EC2 instance type specifications.
# fmt: off
TABLE: dict[str, tuple[float, float, int]] = {
    "system": (2, 4, 0),
    # General purpose, burstable
    "ml.t3.micro": (2, 1, 0), "ml.t3.small": (2, 2, 0), "ml.t3.medium": (2, 4, 0),
    "ml.t3.large": (2, 8, 0), "ml.t3.xlarge": (4, 16, 0), "ml.t3.2xlarge": (8, 32, 0),
    # General purpose: 4 GiB per vCPU
    "ml.m5.large": (2, 8, 0), "ml.m5.xlarge": (4, 16, 0), "ml.m5.2xlarge": (8, 32, 0), "ml.m5.4xlarge": (16, 64, 0),
    "ml.m5.8xlarge": (32, 128, 0), "ml.m5.12xlarge": (48, 192, 0), "ml.m5.16xlarge": (64, 256, 0), "ml.m5.24xlarge": (96, 384, 0),
    "ml.m5d.large": (2, 8, 0), "ml.m5d.xlarge": (4, 16, 0), "ml.m5d.2xlarge": (8, 32, 0), "ml.m5d.4xlarge": (16, 64, 0),
    "ml.m5d.8xlarge": (32, 128, 0), "ml.m5d.12xlarge": (48, 192, 0), "ml.m5d.16xlarge": (64, 256, 0), "ml.m5d.24xlarge": (96, 384, 0),
    "ml.m6i.large": (2, 8, 0), "ml.m6i.xlarge": (4, 16, 0), "ml.m6i.2xlarge": (8, 32, 0), "ml.m6i.4xlarge": (16, 64, 0),
    "ml.m6i.8xlarge": (32, 128, 0), "ml.m6i.12xlarge": (48, 192, 0), "ml.m6i.16xlarge": (64, 256, 0), "ml.m6i.24xlarge": (96, 384, 0),
    "ml.m6i.32xlarge": (128, 512, 0),
    "ml.m6id.large": (2, 8, 0), "ml.m6id.xlarge": (4, 16, 0), "ml.m6id.2xlarge": (8, 32, 0), "ml.m6id.4xlarge": (16, 64, 0),
    "ml.m6id.8xlarge": (32, 128, 0), "ml.m6id.12xlarge": (48, 192, 0), "ml.m6id.16xlarge": (64, 256, 0), "ml.m6id.24xlarge": (96, 384, 0),
    "ml.m6id.32xlarge": (128, 512, 0),
    "ml.m7i.large": (2, 8, 0), "ml.m7i.xlarge": (4, 16, 0), "ml.m7i.2xlarge": (8, 32, 0), "ml.m7i.4xlarge": (16, 64, 0),
    "ml.m7i.8xlarge": (32, 128, 0), "ml.m7i.12xlarge": (48, 192, 0), "ml.m7i.16xlarge": (64, 256, 0), "ml.m7i.24xlarge": (96, 384, 0),
    "ml.m7i.48xlarge": (192, 768, 0),
    # Compute optimized: 2 GiB per vCPU
    "ml.c5.large": (2, 4, 0), "ml.c5.xlarge": (4, 8, 0), "ml.c5.2xlarge": (8, 16, 0), "ml.c5.4xlarge": (16, 32, 0),
    "ml.c5.9xlarge": (36, 72, 0), "ml.c5.12xlarge": (48, 96, 0), "ml.c5.18xlarge": (72, 144, 0), "ml.c5.24xlarge": (96, 192, 0),
    "ml.c6i.large": (2, 4, 0), "ml.c6i.xlarge": (4, 8, 0), "ml.c6i.2xlarge": (8, 16, 0), "ml.c6i.4xlarge": (16, 32, 0),
    "ml.c6i.8xlarge": (32, 64, 0), "ml.c6i.12xlarge": (48, 96, 0), "ml.c6i.16xlarge": (64, 128, 0), "ml.c6i.24xlarge": (96, 192, 0),
    "ml.c6i.32xlarge": (128, 256, 0),
    "ml.c6id.large": (2, 4, 0), "ml.c6id.xlarge": (4, 8, 0), "ml.c6id.2xlarge": (8, 16, 0), "ml.c6id.4xlarge": (16, 32, 0),
    "ml.c6id.8xlarge": (32, 64, 0), "ml.c6id.12xlarge": (48, 96, 0), "ml.c6id.16xlarge": (64, 128, 0), "ml.c6id.24xlarge": (96, 192, 0),
    "ml.c6id.32xlarge": (128, 256, 0),
    "ml.c7i.large": (2, 4, 0), "ml.c7i.xlarge": (4, 8, 0), "ml.c7i.2xlarge": (8, 16, 0), "ml.c7i.4xlarge": (16, 32, 0),
    "ml.c7i.8xlarge": (32, 64, 0), "ml.c7i.12xlarge": (48, 96, 0), "ml.c7i.16xlarge": (64, 128, 0), "ml.c7i.24xlarge": (96, 192, 0),
    "ml.c7i.48xlarge": (192, 384, 0),
    # Memory optimized: 8 GiB per vCPU
    "ml.r5.large": (2, 16, 0), "ml.r5.xlarge": (4, 32, 0), "ml.r5.2xlarge": (8, 64, 0), "ml.r5.4xlarge": (16, 128, 0),
    "ml.r5.8xlarge": (32, 256, 0), "ml.r5.12xlarge": (48, 384, 0), "ml.r5.16xlarge": (64, 512, 0), "ml.r5.24xlarge": (96, 768, 0),
    "ml.r6i.large": (2, 16, 0), "ml.r6i.xlarge": (4, 32, 0), "ml.r6i.2xlarge": (8, 64, 0), "ml.r6i.4xlarge": (16, 128, 0),
    "ml.r6i.8xlarge": (32, 256, 0), "ml.r6i.12xlarge": (48, 384, 0), "ml.r6i.16xlarge": (64, 512, 0), "ml.r6i.24xlarge": (96, 768, 0),
    "ml.r6i.32xlarge": (128, 1024, 0),
    "ml.r6id.large": (2, 16, 0), "ml.r6id.xlarge": (4, 32, 0), "ml.r6id.2xlarge": (8, 64, 0), "ml.r6id.4xlarge": (16, 128, 0),
    "ml.r6id.8xlarge": (32, 256, 0), "ml.r6id.12xlarge": (48, 384, 0), "ml.r6id.16xlarge": (64, 512, 0), "ml.r6id.24xlarge": (96, 768, 0),
    "ml.r6id.32xlarge": (128, 1024, 0),
    "ml.r7i.large": (2, 16, 0), "ml.r7i.xlarge": (4, 32, 0), "ml.r7i.2xlarge": (8, 64, 0), "ml.r7i.4xlarge": (16, 128, 0),
    "ml.r7i.8xlarge": (32, 256, 0), "ml.r7i.12xlarge": (48, 384, 0), "ml.r7i.16xlarge": (64, 512, 0), "ml.r7i.24xlarge": (96, 768, 0),
    "ml.r7i.48xlarge": (192, 1536, 0),
    # GPU: NVIDIA T4 (g4dn), A10G (g5), L4 (g6), L40S (g6e)
    "ml.g4dn.xlarge": (4, 16, 1), "ml.g4dn.2xlarge": (8, 32, 1), "ml.g4dn.4xlarge": (16, 64, 1), "ml.g4dn.8xlarge": (32, 128, 1),
    "ml.g4dn.12xlarge": (48, 192, 4), "ml.g4dn.16xlarge": (64, 256, 1),
    "ml.g5.xlarge": (4, 16, 1), "ml.g5.2xlarge": (8, 32, 1), "ml.g5.4xlarge": (16, 64, 1), "ml.g5.8xlarge": (32, 128, 1),
    "ml.g5.12xlarge": (48, 192, 4), "ml.g5.16xlarge": (64, 256, 1), "ml.g5.24xlarge": (96, 384, 4), "ml.g5.48xlarge": (192, 768, 8),
    "ml.g6.xlarge": (4, 16, 1), "ml.g6.2xlarge": (8, 32, 1), "ml.g6.4xlarge": (16, 64, 1), "ml.g6.8xlarge": (32, 128, 1),
    "ml.g6.12xlarge": (48, 192, 4), "ml.g6.16xlarge": (64, 256, 1), "ml.g6.24xlarge": (96, 384, 4), "ml.g6.48xlarge": (192, 768, 8),
    "ml.g6e.xlarge": (4, 32, 1), "ml.g6e.2xlarge": (8, 64, 1), "ml.g6e.4xlarge": (16, 128, 1), "ml.g6e.8xlarge": (32, 256, 1),
    "ml.g6e.12xlarge": (48, 384, 2), "ml.g6e.16xlarge": (64, 512, 1), "ml.g6e.24xlarge": (96, 768, 4), "ml.g6e.48xlarge": (192, 1536, 8),
    # GPU: NVIDIA V100 (p3), A100 (p4d, p4de), H100 (p5), H200 (p5en), B200 (p6-b200)
    "ml.p3.2xlarge": (8, 61, 1), "ml.p3.8xlarge": (32, 244, 4), "ml.p3.16xlarge": (64, 488, 8), "ml.p3dn.24xlarge": (96, 768, 8),
    "ml.p4d.24xlarge": (96, 1152, 8), "ml.p4de.24xlarge": (96, 1152, 8),
    "ml.p5.4xlarge": (16, 256, 1), "ml.p5.48xlarge": (192, 2048, 8), "ml.p5en.48xlarge": (192, 2048, 8),
    "ml.p6-b200.48xlarge": (192, 2048, 8),
    # AWS Trainium: Neuron devices, not GPUs
    "ml.trn1.2xlarge": (8, 32, 0), "ml.trn1.32xlarge": (128, 512, 0), "ml.trn1n.32xlarge": (128, 512, 0),
}
# fmt: on


@dataclass(frozen=True)
class InstanceType:
    """One instance type as container limits."""

    name: str
    vcpus: float  # a CPU quota of this many CPUs
    memory_bytes: int
    gpus: int  # NVIDIA GPUs to request; 0 for none


def _instance_type(name: str, row: tuple[float, float, int]) -> InstanceType:
    vcpus, memory_gib, gpus = row
    return InstanceType(name, vcpus, int(memory_gib * GIB), gpus)


BUILT_IN: dict[str, InstanceType] = {name: _instance_type(name, row) for name, row in TABLE.items()}

_FIELDS = ("vcpus", "memory_gib", "gpus")


class InstanceTypes:
    """The instance types byoi knows: the built-in table, with an operator's file merged over it."""

    def __init__(self, types: dict[str, InstanceType] | None = None):
        self._types = dict(BUILT_IN if types is None else types)

    def get(self, name: str) -> InstanceType | None:
        return self._types.get(name)

    def __contains__(self, name: object) -> bool:
        return name in self._types

    def __iter__(self):
        return iter(self._types.values())

    def __len__(self) -> int:
        return len(self._types)

    @classmethod
    def load(cls, path: str | Path | None) -> InstanceTypes:
        """The built-in table, with the JSON or TOML file at ``path`` (if any) merged over it.

        Raises ValueError naming the file (and the entry) when the file cannot be
        read or says something byoi cannot use.
        """
        if path is None or str(path) == "":
            return cls()
        entries = _read(Path(path))
        types = dict(BUILT_IN)
        accepted = _accepted_names()
        for name, entry in entries.items():
            where = f"{path}: entry {name!r}"
            if accepted is not None and name not in accepted:
                hint = ' (in TOML, quote the names: ["ml.t3.medium"])' if name == "ml" else ""
                raise ValueError(f"{where}: not an instance type SageMaker accepts for apps (AppInstanceType){hint}")
            if not isinstance(entry, dict):
                raise ValueError(f"{where}: must be a table of vcpus, memory_gib and gpus, not {type(entry).__name__}")
            unknown = sorted(set(entry) - set(_FIELDS))
            if unknown:
                raise ValueError(f"{where}: unknown field(s) {', '.join(unknown)}; the fields are vcpus, memory_gib and gpus")
            base = types.get(name)
            if base is None:
                missing = [f for f in ("vcpus", "memory_gib") if f not in entry]
                if missing:
                    raise ValueError(f"{where}: not a built-in type, so it needs {' and '.join(missing)}")
            vcpus = _number(entry, "vcpus", where, base.vcpus if base else None)
            memory_gib = _number(entry, "memory_gib", where, base.memory_bytes / GIB if base else None)
            gpus = entry.get("gpus", base.gpus if base else 0)
            if isinstance(gpus, bool) or not isinstance(gpus, int) or gpus < 0:
                raise ValueError(f"{where}: gpus must be a whole number, 0 or more, not {gpus!r}")
            types[name] = InstanceType(name, vcpus, int(memory_gib * GIB), gpus)
        return cls(types)


def _read(path: Path) -> dict:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise ValueError(f"{path}: cannot read the instance types file: {error}") from error
    if path.suffix.lower() == ".toml":
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as error:
            raise ValueError(f"{path}: not valid TOML: {error}") from error
    else:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as error:
            raise ValueError(f"{path}: not valid JSON: {error}") from error
    if not isinstance(data, dict):
        raise ValueError(f"{path}: must map instance type names to their vcpus, memory_gib and gpus")
    return data


def _number(entry: dict, field: str, where: str, default: float | None) -> float:
    value = entry.get(field, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
        raise ValueError(f"{where}: {field} must be a number above 0, not {value!r}")
    return value


def _accepted_names() -> frozenset[str] | None:
    """The AppInstanceType values of the pinned botocore model (None if it has none)."""
    from botocore.model import NoShapeFoundError

    from byoi.aws.model import service_model

    try:
        return frozenset(service_model("sagemaker").shape_for("AppInstanceType").enum) or None
    except NoShapeFoundError:
        return None
