"""What byoi's injected kernel gateway costs each KernelGateway app: memory and CPU, idle and with one kernel.

Reproduce (root, Docker engine running, after `pip install -e '.[test]'`):

    .venv/bin/python benchmarks/gateway_overhead.py --window 10

Builds the spec's sample image offline (tests/images) and byoi's kernel gateway
bundle, starts the image as a KernelGateway app on the Docker backend (as byoi
does, without CPU or memory limits so nothing is throttled), and measures the
container's cgroup, side by side in one run:

* **idle gateway**: the app serving, no kernel; memory (cgroup usage minus page
  cache) and CPU (cgroup CPU time over ``--window`` seconds);
* **gateway + one idle kernel**: after starting a `python3` kernel and running
  `1+1` once; what the kernel adds is the difference, and its own resident
  memory (read from /proc in the kernel) is printed beside it.

Since these count against the app's instance-type limits, it prints each as a
share of ml.t3.medium (2 vCPU, 4 GiB), the smallest type Studio offers for kernels.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import uuid
from pathlib import Path

import docker

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.images.build import build_test_images  # noqa: E402

from byoi.auth.tokens import token_digest  # noqa: E402
from byoi.runtime.contract import AppIdentity, HostSide, container_spec  # noqa: E402
from byoi.runtime.docker_backend import DockerBackend  # noqa: E402
from byoi.runtime.instance_types import InstanceTypes  # noqa: E402
from byoi.runtime.kernel_client import KernelClient  # noqa: E402
from byoi.runtime.kgw.bundle import ensure_bundle  # noqa: E402

MIB = 2**20
KERNEL_RSS = "import os; print(sum(int(l.split()[1]) for l in open('/proc/self/status') if l.startswith('VmRSS')) * 1024)"


def working_set(stats: dict) -> int:
    memory = stats["memory_stats"]
    return memory["usage"] - memory.get("stats", {}).get("inactive_file", 0)


def measure(container, window: float) -> tuple[int, float]:
    """Memory (bytes) at the end, and CPU (cores) used on average over ``window`` seconds."""
    first = container.stats(stream=False)
    time.sleep(window)  # a measurement window, not a wait for a condition
    second = container.stats(stream=False)
    cpu = (second["cpu_stats"]["cpu_usage"]["total_usage"] - first["cpu_stats"]["cpu_usage"]["total_usage"]) / 1e9 / window
    return working_set(second), cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--window", type=float, default=10.0, help="seconds each CPU measurement spans")
    args = parser.parse_args()
    client = docker.from_env()
    medium = InstanceTypes.load(None).get("ml.t3.medium")
    with tempfile.TemporaryDirectory(prefix="byoi-bench-") as tmp:
        image = build_test_images(Path(tmp) / "cache", ["sample"])["sample"]
        bundle = str(ensure_bundle(Path(tmp) / "runtime"))
        tag, token = uuid.uuid4().hex[:8], uuid.uuid4().hex
        app = AppIdentity("KernelGateway", "bench", "arn:bench", "d-bench", user_profile_name="bench", app_id=int(tag, 16))
        host = HostSide(bundle, f"byoi-bench-home-{tag}", f"byoi-bench-net-{tag}", instance_id="bench", gateway_tokens=(token_digest(token),))
        spec = container_spec(app, image, {}, host)
        backend = DockerBackend(client, bundle, Path(tmp) / "files")
        try:
            endpoint = backend.start(spec)
            kernels = KernelClient(endpoint.url, headers={"Authorization": f"token {token}"}, timeout=60)
            kernels.wait_ready(120)
            container = client.containers.get(spec.name)
            idle_memory, idle_cpu = measure(container, args.window)
            kernel = kernels.start_kernel("python3")
            kernels.execute(kernel, "1+1")
            kernel_rss = int(kernels.execute(kernel, KERNEL_RSS).stdout)
            busy_memory, busy_cpu = measure(container, args.window)
        finally:
            backend.remove(spec.name)
            for remove in (lambda: client.volumes.get(spec.home.source).remove(force=True), lambda: client.networks.get(spec.network).remove()):
                try:
                    remove()
                except docker.errors.DockerException:
                    pass
    kernel_adds = busy_memory - idle_memory
    print("| | memory | share of 4 GiB | CPU (cores) | share of 2 vCPU |")
    print("|---|---:|---:|---:|---:|")
    print(f"| idle gateway | {idle_memory / MIB:.0f} MiB | {idle_memory / medium.memory_bytes:.1%} | {idle_cpu:.4f} | {idle_cpu / medium.vcpus:.2%} |")
    print(f"| gateway + one idle kernel (whole app) | {busy_memory / MIB:.0f} MiB | {busy_memory / medium.memory_bytes:.1%} | {busy_cpu:.4f} | {busy_cpu / medium.vcpus:.2%} |")
    print(f"| what the kernel adds to the app | {kernel_adds / MIB:.0f} MiB | {kernel_adds / medium.memory_bytes:.1%} | | |")
    print(f"| the kernel's own RSS (counts shared pages too) | {kernel_rss / MIB:.0f} MiB | {kernel_rss / medium.memory_bytes:.1%} | | |")


if __name__ == "__main__":
    main()
