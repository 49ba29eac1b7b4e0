"""A minimal client for a Jupyter (Kernel Gateway) server: start a kernel, run code.

Speaks the server's REST API (``/api/kernelspecs``, ``/api/kernels``) and the
Jupyter messaging protocol over the kernel's ``/channels`` websocket. Used by
the tests and by ``byoi check`` to prove an app's kernels really execute code.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass, field

import httpx
from websockets.sync.client import connect


class KernelError(Exception):
    """The kernel could not be started or did not answer; the message says how."""


@dataclass
class Execution:
    status: str  # "ok" or "error"
    stdout: str = ""
    stderr: str = ""
    result: str | None = None
    error: str | None = None
    outputs: list[dict] = field(default_factory=list)


class KernelClient:
    def __init__(self, base_url: str, headers: dict[str, str] | None = None, timeout: float = 60):
        self.base_url = base_url.rstrip("/")
        self.headers = headers or {}
        self.timeout = timeout

    def kernelspecs(self) -> dict:
        response = httpx.get(f"{self.base_url}/api/kernelspecs", headers=self.headers, timeout=self.timeout)
        response.raise_for_status()
        return response.json()

    def wait_ready(self, deadline_seconds: float) -> None:
        """Wait until the server answers /api/kernelspecs; KernelError when it never does."""
        deadline = time.monotonic() + deadline_seconds
        last = "no answer"
        while time.monotonic() < deadline:
            try:
                self.kernelspecs()
                return
            except (httpx.HTTPError, ValueError) as exc:
                last = str(exc)
            time.sleep(0.25)
        raise KernelError(f"{self.base_url} did not answer within {deadline_seconds:.0f}s ({last})")

    def start_kernel(self, name: str, env: dict[str, str] | None = None) -> str:
        """Start a kernel; ``env`` is sent as Jupyter Server's GatewayClient sends it (KERNEL_* and the like)."""
        body = {"name": name, **({"env": env} if env is not None else {})}
        response = httpx.post(f"{self.base_url}/api/kernels", json=body, headers=self.headers, timeout=self.timeout)
        if response.status_code >= 400:
            raise KernelError(f"starting kernel {name!r} failed: HTTP {response.status_code} {response.text[:500]}")
        return response.json()["id"]

    def shutdown_kernel(self, kernel_id: str) -> None:
        httpx.delete(f"{self.base_url}/api/kernels/{kernel_id}", headers=self.headers, timeout=self.timeout)

    def execute(self, kernel_id: str, code: str, timeout: float | None = None) -> Execution:
        """Run ``code`` and collect its output until the kernel goes idle."""
        timeout = timeout or self.timeout
        ws_url = self.base_url.replace("http", "ws", 1) + f"/api/kernels/{kernel_id}/channels"
        msg_id = uuid.uuid4().hex
        request = {
            "header": {
                "msg_id": msg_id,
                "username": "byoi",
                "session": uuid.uuid4().hex,
                "msg_type": "execute_request",
                "version": "5.3",
                "date": "",
            },
            "parent_header": {},
            "metadata": {},
            "content": {"code": code, "silent": False, "store_history": False, "user_expressions": {}, "allow_stdin": False},
            "channel": "shell",
            "buffers": [],
        }
        result = Execution(status="unknown")
        deadline = time.monotonic() + timeout
        with connect(ws_url, additional_headers=self.headers, open_timeout=timeout, max_size=None) as ws:
            ws.send(json.dumps(request))
            replied = idle = False
            while not (replied and idle):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise KernelError(f"kernel {kernel_id} did not finish executing within {timeout:.0f}s")
                message = json.loads(ws.recv(timeout=remaining))
                if message.get("parent_header", {}).get("msg_id") != msg_id:
                    continue
                kind, content = message["msg_type"], message["content"]
                result.outputs.append(message)
                if kind == "stream":
                    if content["name"] == "stdout":
                        result.stdout += content["text"]
                    else:
                        result.stderr += content["text"]
                elif kind in ("execute_result", "display_data"):
                    result.result = content["data"].get("text/plain")
                elif kind == "error":
                    result.error = f"{content['ename']}: {content['evalue']}"
                elif kind == "execute_reply":
                    result.status = content["status"]
                    replied = True
                elif kind == "status" and content["execution_state"] == "idle":
                    idle = True
        return result
