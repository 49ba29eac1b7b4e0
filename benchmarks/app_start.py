"""App start: CreateApp until a kernel has executed `1+1`, against raw `docker run`.

Reproduce (root, Docker engine running, after `pip install -e '.[test]'`):

    .venv/bin/python benchmarks/app_start.py --runs 5

Builds the spec's sample image offline (tests/images) and byoi's kernel
gateway bundle, then alternates, ``--runs`` times each:

* **byoi**: ``CreateApp`` (KernelGateway, the sample image), DescribeApp every
  0.1 s until InService, then through byoi's gateway (presigned-URL session)
  start a `python3` kernel and execute `1+1`; timed from the CreateApp call to
  the execute reply. The app is deleted (and waited for) between runs; its
  home volume is kept, as Studio keeps a user's home.
* **raw docker**: ``docker run -d`` of the same image with the same bundle
  mounted at /opt/.sagemakerinternal and the same kernel gateway command,
  user 1000:100, on Docker's default bridge, with a gateway-tokens file; poll /api/kernelspecs every
  0.1 s, start a kernel and execute `1+1` directly; timed from the `docker
  run` call. The container is removed between runs.

Prints p50 and each run's seconds as a Markdown table, and the ratio.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.studio import BENCH_SECRET, create_app, gateway_headers, kernel_gateway_studio  # noqa: E402
from tests.conftest import ByoiServer, remove_studio_resources  # noqa: E402
from tests.images.build import build_test_images  # noqa: E402

from byoi.auth.tokens import token_digest  # noqa: E402
from byoi.runtime.kernel_client import KernelClient  # noqa: E402
from byoi.runtime.kgw.bundle import ensure_bundle  # noqa: E402

#: What the raw container's gateway accepts (its digest goes in /opt/ml/metadata/gateway-tokens).
RAW_TOKEN = "raw-docker-bench-token"


def execute_one_plus_one(client: KernelClient) -> None:
    kernel = client.start_kernel("python3")
    result = client.execute(kernel, "1+1")
    if result.result != "2":
        raise RuntimeError(f"1+1 gave {result!r}")


def byoi_run(sm, key: dict, server: ByoiServer) -> float:
    start = time.perf_counter()
    create_app(sm, key)
    while (status := sm.describe_app(**key)["Status"]) == "Pending":
        time.sleep(0.1)
    if status != "InService":
        raise RuntimeError(f"app ended {status}: {sm.describe_app(**key).get('FailureReason')}")
    prefix = f"{server.url}/apps/{key['DomainId']}/{key['UserProfileName']}/KernelGateway/{key['AppName']}"
    execute_one_plus_one(KernelClient(prefix, headers=gateway_headers(sm, key)))
    elapsed = time.perf_counter() - start
    sm.delete_app(**key)
    while sm.describe_app(**key)["Status"] != "Deleted":
        time.sleep(0.2)
    return elapsed


def raw_run(image: str, bundle: str, metadata: str) -> float:
    from byoi.runtime.contract import gateway_command

    entrypoint, *arguments = gateway_command()  # what a KernelGateway app runs
    start = time.perf_counter()
    container_id = subprocess.run(
        ["docker", "run", "-d", "-u", "1000:100", "-v", f"{metadata}:/opt/ml/metadata:ro",
         "-v", f"{bundle}:/opt/.sagemakerinternal:ro", "--entrypoint", entrypoint, image, *arguments],
        check=True, capture_output=True, text=True,
    ).stdout.strip()
    try:
        address = subprocess.run(["docker", "inspect", "-f", "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}", container_id],
                                 check=True, capture_output=True, text=True).stdout.strip()
        client = KernelClient(f"http://{address}:8888", headers={"Authorization": f"token {RAW_TOKEN}"}, timeout=60)
        deadline = time.monotonic() + 120
        while True:
            try:
                client.kernelspecs()
                break
            except (httpx.HTTPError, ValueError):
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        execute_one_plus_one(client)
        return time.perf_counter() - start
    finally:
        subprocess.run(["docker", "rm", "-f", container_id], capture_output=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
    times: dict[str, list[float]] = {"byoi": [], "raw docker": []}
    with tempfile.TemporaryDirectory(prefix="byoi-bench-") as tmp:
        image = build_test_images(Path(tmp) / "cache", ["sample"])["sample"]
        bundle = str(ensure_bundle(Path(tmp) / "runtime"))
        metadata = Path(tmp) / "metadata"
        metadata.mkdir()
        (metadata / "gateway-tokens").write_text(token_digest(RAW_TOKEN) + "\n")
        metadata.chmod(0o755)
        server = ByoiServer(Path(tmp) / "data", BYOI_DOCKER="on", BYOI_LOG_LEVEL="warning", BYOI_SESSION_SECRET=BENCH_SECRET).start()
        key = None
        try:
            sm = server.client()
            key = kernel_gateway_studio(sm, image)
            byoi_run(sm, key, server)  # warm-up: creates the home volume, loads the image's layers into the page cache
            raw_run(image, bundle, metadata)
            for _ in range(args.runs):
                times["byoi"].append(byoi_run(sm, key, server))
                times["raw docker"].append(raw_run(image, bundle, metadata))
        finally:
            server.stop()
            if key:
                remove_studio_resources([key["DomainId"]])
    print(f"CreateApp until a kernel has executed `1+1` ({args.runs} runs each, alternating, after one warm-up each):\n")
    print("| path | p50 s | runs (s) |")
    print("|---|---|---|")
    for name, values in times.items():
        print(f"| {name} | {statistics.median(values):.2f} | {', '.join(f'{v:.2f}' for v in values)} |")
    print(f"\nbyoi / raw docker, p50: {statistics.median(times['byoi']) / statistics.median(times['raw docker']):.2f}x")


if __name__ == "__main__":
    main()
