"""Launching the image exactly as byoi's runtime would, and probing it.

The app's ContainerSpec comes from the same contract (``byoi.runtime.contract``)
and runs on the same Docker backend, with a throwaway home volume. Then:
KernelGateway: every kernel the AppImageConfig names starts, answers
kernel_info and runs an empty cell, whatever its language (a kernel that dies
at start is reported as soon as the gateway sees it die); JupyterLab and Code
Editor: the server answers at its readiness path exactly as the runtime
decides an app is InService (``byoi.runtime.readiness``).
"""

from __future__ import annotations

import secrets
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from byoi.auth.tokens import token_digest
from byoi.check.findings import ERROR, Finding
from byoi.runtime.backend import BackendError
from byoi.runtime.contract import AppIdentity, ContractError, HostSide, container_spec
from byoi.runtime.docker_backend import DockerBackend
from byoi.runtime.kernel_client import KernelClient, KernelError
from byoi.runtime.readiness import answers
from byoi.vocabulary import CUSTOM_IMAGE_APPS


@dataclass
class LiveResult:
    findings: list[Finding] = field(default_factory=list)
    kernels: list[str] | None = None  # what the running gateway lists (KernelGateway only)
    ran: bool = False


def run_live(
    client, image: str, app_type: str, mode: dict, bundle: str, workdir: Path, timeout: float, progress: Callable[[str], None]
) -> LiveResult:
    result = LiveResult()
    tag = uuid.uuid4().hex[:8]
    app = AppIdentity(app_type, f"check-{tag}", f"arn:aws:sagemaker:us-east-1:123456789012:app/d-byoicheck/check/{app_type.lower()}/check-{tag}",
                      "d-byoicheck", user_profile_name="check", app_id=int(tag, 16))
    token = secrets.token_hex(32)  # opens this throwaway app's kernel gateway, and nothing else
    host = HostSide(bundle, f"byoi-check-home-{tag}", f"byoi-check-net-{tag}", instance_id="byoi-check", gateway_tokens=(token_digest(token),))
    try:
        spec = container_spec(app, image, mode, host)
    except ContractError as exc:
        if "cannot run: Studio supports only" not in str(exc):  # already reported by the static checks
            result.findings.append(Finding("app-cannot-start", ERROR, str(exc), fix="Change FileSystemConfig.MountPath."))
        return result
    backend = DockerBackend(client, bundle, workdir / "files")
    result.ran = True
    try:
        progress(f"starting the image as a {app_type} app")
        try:
            endpoint = backend.start(spec)
        except BackendError as exc:
            result.findings.append(Finding("app-not-serving", ERROR, "The app's container did not start.", str(exc)[-1500:], "Run the image locally with its AppImageConfig's entrypoint to see why."))
            return result
        if app_type == "KernelGateway":
            probe_kernels(backend, spec.name, endpoint.url, {"Authorization": f"token {token}"}, mode, timeout, progress, result)
        else:
            probe_server(backend, spec.name, endpoint.url + CUSTOM_IMAGE_APPS[app_type].readiness_path, app_type, timeout, progress, result)
    finally:
        backend.remove(spec.name)  # and its network, the app's only one
        try:
            client.volumes.get(spec.home.source).remove(force=True)
        except Exception:  # noqa: BLE001 - best effort cleanup of a throwaway volume
            pass
    return result


def probe_kernels(backend, name: str, url: str, headers: dict[str, str], mode: dict, timeout: float, progress, result: LiveResult) -> None:
    kernels = KernelClient(url, headers=headers, timeout=timeout)
    try:
        kernels.wait_ready(timeout)
    except KernelError as exc:
        result.findings.append(not_serving(backend, name, str(exc)))
        return
    result.kernels = sorted(kernels.kernelspecs()["kernelspecs"])
    for spec in mode.get("KernelSpecs") or [{"Name": "python3"}]:
        kernel = spec["Name"]
        if kernel not in result.kernels:
            continue  # reported as kernel-missing
        progress(f"starting kernel {kernel}")
        # Whatever the kernel's language: it must answer kernel_info and run an empty cell.
        try:
            kernel_id = kernels.start_kernel(kernel)
            language = (kernels.kernel_info(kernel_id, timeout=timeout).get("language_info") or {}).get("name", "?")
            out = kernels.execute(kernel_id, "", timeout=timeout)
        except (KernelError, httpx.HTTPError, TimeoutError, OSError) as exc:
            tail = backend.logs(name).strip()[-1200:]
            result.findings.append(Finding("kernel-failed", ERROR, f"Kernel {kernel!r} did not start and answer within {timeout:.0f}s.",
                                           f"{exc}\n{tail}", "Start the kernel's argv by hand in the image to see its error."))
            continue
        if out.status != "ok":
            result.findings.append(Finding("kernel-failed", ERROR, f"Kernel {kernel!r} ({language}) started but could not run an empty cell.",
                                           f"status={out.status} error={out.error}", "Check the kernel's installation in the image."))


def probe_server(backend, name: str, url: str, app_type: str, timeout: float, progress, result: LiveResult) -> None:
    progress(f"waiting for {url}")
    deadline = time.monotonic() + timeout
    last = ""
    while time.monotonic() < deadline:
        state = backend.state(name)
        if state is None or not state.running:
            result.findings.append(not_serving(backend, name, "the container exited"))
            return
        if answers(url):  # exactly as the runtime decides InService
            return
        last = "no answer below 500"
        time.sleep(0.5)
    result.findings.append(not_serving(backend, name, f"{url} did not answer within {timeout:.0f}s ({last})"))


def not_serving(backend, name: str, why: str) -> Finding:
    tail = backend.logs(name).strip()[-1200:]
    return Finding("app-not-serving", ERROR, f"The app did not serve on port 8888: {why}.", tail,
                   "The server must listen on 0.0.0.0:8888 under the app's base path, with no token.")
