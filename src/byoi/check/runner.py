"""Runs every check of ``byoi check`` and collects one report."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from byoi.aws.errors import AwsError
from byoi.aws.model import operation_model
from byoi.aws.validate import parse_input
from byoi.check.findings import ERROR, Finding, Report
from byoi.check.live import run_live
from byoi.check.scan import scan_image
from byoi.check.static import check_image, check_kernels
from byoi.vocabulary import CUSTOM_IMAGE_APPS, DEFAULT_FILE_SYSTEM

APP_TYPES = tuple(CUSTOM_IMAGE_APPS)


def config_findings(params: dict | None) -> tuple[list[Finding], dict]:
    """Validate an AppImageConfig as CreateAppImageConfig would; the validated params."""
    if params is None:
        return [], {}
    params = {"AppImageConfigName": "byoi-check", **params}
    try:
        validated = parse_input(operation_model("sagemaker", "CreateAppImageConfig").input_shape, params)
    except AwsError as exc:
        return [Finding("config-invalid", ERROR, "The AppImageConfig would be refused by CreateAppImageConfig.", exc.message,
                        "Fix the members named in the message.")], {}
    modes = [kind.config for kind in CUSTOM_IMAGE_APPS.values() if validated.get(kind.config) is not None]
    if len(modes) != 1:
        return [Finding("config-invalid", ERROR, f"An AppImageConfig needs exactly one app mode; this one has {len(modes)}.",
                        ", ".join(modes) or "none", "Keep exactly one of KernelGatewayImageConfig, JupyterLabAppImageConfig, CodeEditorAppImageConfig.")], validated
    return [], validated


def run_check(
    client,
    image: str,
    config: dict | None,
    app_type: str | None,
    bundle: Callable[[], str],
    workdir: Path,
    live: bool = True,
    timeout: float = 60.0,
    progress: Callable[[str], None] = lambda _: None,
) -> Report:
    import docker.errors

    findings, validated = config_findings(config)
    if app_type is None:
        app_type = next((t for t, kind in CUSTOM_IMAGE_APPS.items() if validated.get(kind.config) is not None), "KernelGateway")
    report = Report(image=image, app_type=app_type, findings=findings, checked=["config"])
    mode = validated.get(CUSTOM_IMAGE_APPS[app_type].config)
    if validated and mode is None and not findings:
        report.findings.append(Finding("config-missing-mode", ERROR, f"The AppImageConfig has no {CUSTOM_IMAGE_APPS[app_type].config}, which a {app_type} app needs.",
                                       fix=f"Add {CUSTOM_IMAGE_APPS[app_type].config} (or check with --app-type of the mode it has)."))
    mode = mode or {}
    fs = {**DEFAULT_FILE_SYSTEM, **(mode.get("FileSystemConfig") or {})}
    progress(f"reading the layers of {image}")
    try:
        facts = scan_image(client, image, workdir)
    except docker.errors.ImageNotFound:
        report.findings.append(Finding("image-not-found", ERROR, f"{image} is not in the Docker engine.", fix="Build, pull or load it first."))
        return report
    report.checked.append("image")
    report.findings += check_image(facts, fs["DefaultUid"], fs["DefaultGid"], fs["MountPath"])
    provided = None
    if live and not any(f.code == "architecture-unsupported" for f in report.findings):
        result = run_live(client, image, app_type, mode, bundle(), workdir, timeout, progress)
        if result.ran:
            report.checked.append("live")
        report.findings += result.findings
        provided = result.kernels
    if app_type == "KernelGateway":
        wanted = [k["Name"] for k in mode.get("KernelSpecs") or [{"Name": "python3"}]]
        report.findings += check_kernels(facts, wanted, provided)
        report.checked.append("kernels")
    return report
