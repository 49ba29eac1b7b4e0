"""What ``byoi check`` reports: findings with a severity, the evidence and the fix."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

ERROR, WARNING = "error", "warning"


@dataclass(frozen=True)
class Finding:
    code: str  # stable identifier, e.g. "kernel-missing"
    severity: str  # "error" (Studio will fail) or "warning" (works, but surprises)
    message: str
    evidence: str = ""
    fix: str = ""


@dataclass
class Report:
    image: str
    app_type: str
    findings: list[Finding] = field(default_factory=list)
    checked: list[str] = field(default_factory=list)  # the checks that ran

    @property
    def ok(self) -> bool:
        return not any(f.severity == ERROR for f in self.findings)

    def as_dict(self) -> dict:
        return {
            "image": self.image,
            "app_type": self.app_type,
            "ok": self.ok,
            "checked": self.checked,
            "findings": [asdict(f) for f in self.findings],
        }
