"""When an app is ready: the one rule the runtime (InService) and ``byoi check`` share.

An app is ready once its server answers, below 500, at its readiness path on
port 8888: a KernelGateway app at /api/kernelspecs, a JupyterLab app at
/jupyterlab/default/api/status, a Code Editor app at /codeeditor/default/
(a server that answers 404 there still serves: Code Editor may serve only
below its base path). Redirects are not followed.
"""

from __future__ import annotations

import httpx


def answers(url: str, headers: dict[str, str] | None = None) -> bool:
    """Whether a server answers at ``url`` (any status below 500)."""
    try:
        return httpx.get(url, headers=headers, timeout=2.0).status_code < 500
    except httpx.HTTPError:
        return False
