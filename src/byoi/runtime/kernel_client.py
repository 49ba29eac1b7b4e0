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

    def kernels(self) -> list[dict]:
        """The running kernels."""
        response = httpx.get(f"{self.base_url}/api/kernels", headers=self.headers, timeout=self.timeout)
        response.raise_for_status()
        return response.json()

    def state(self, kernel_id: str) -> str:
        """The kernel's execution_state as the server reports it ("dead" once it gave up restarting)."""
        response = httpx.get(f"{self.base_url}/api/kernels/{kernel_id}", headers=self.headers, timeout=self.timeout)
        response.raise_for_status()
        return response.json().get("execution_state", "unknown")

    def kernel_info(self, kernel_id: str, timeout: float | None = None) -> dict:
        """The kernel's kernel_info_reply content (language_info, implementation, ...): proof the
        kernel answers, whatever its language."""
        replies = [m for m in self._request(kernel_id, "kernel_info_request", {}, timeout) if m["msg_type"] == "kernel_info_reply"]
        return replies[0]["content"]

    def execute(self, kernel_id: str, code: str, timeout: float | None = None) -> Execution:
        """Run ``code`` and collect its output until the kernel goes idle."""
        content = {"code": code, "silent": False, "store_history": False, "user_expressions": {}, "allow_stdin": False}
        result = Execution(status="unknown")
        for message in self._request(kernel_id, "execute_request", content, timeout):
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
        return result

    def _request(self, kernel_id: str, msg_type: str, content: dict, timeout: float | None) -> list[dict]:
        """Send one shell request; every message it caused, until its reply and the idle status."""
        timeout = timeout or self.timeout
        ws_url = self.base_url.replace("http", "ws", 1) + f"/api/kernels/{kernel_id}/channels"
        msg_id = uuid.uuid4().hex
        request = {
            "header": {"msg_id": msg_id, "username": "byoi", "session": uuid.uuid4().hex, "msg_type": msg_type, "version": "5.3", "date": ""},
            "parent_header": {},
            "metadata": {},
            "content": content,
            "channel": "shell",
            "buffers": [],
        }
        reply_type = msg_type.replace("_request", "_reply")
        messages = []
        deadline = time.monotonic() + timeout
        with connect(ws_url, additional_headers=self.headers, open_timeout=timeout, max_size=None) as ws:
            ws.send(json.dumps(request))
            replied = idle = False
            while not (replied and idle):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise KernelError(f"kernel {kernel_id} did not answer {msg_type} within {timeout:.0f}s")
                message = json.loads(ws.recv(timeout=remaining))
                if message.get("parent_header", {}).get("msg_id") != msg_id:
                    continue
                messages.append(message)
                replied |= message["msg_type"] == reply_type
                idle |= message["msg_type"] == "status" and message["content"]["execution_state"] == "idle"
        return messages
