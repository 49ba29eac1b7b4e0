"""Every byoi benchmark in one command; prints their Markdown tables.

    .venv/bin/python benchmarks/run_all.py            # the figures in docs/benchmarks.md (about 4 minutes here, plus about 20 for kubernetes_scale.py)
    .venv/bin/python benchmarks/run_all.py --quick    # a smoke run with small counts (CI runs this)

Runs, one after another (never side by side, so they do not share the CPUs):
api_throughput.py (byoi vs moto vs a Starlette ceiling), server_cpu.py (the
servers' CPU per request), list_latency.py
(100 / 10,000 / 100,000 AppImageConfigs), app_start.py (CreateApp to `1+1`
vs raw docker run), kernel_round_trip.py (through byoi's gateway vs
direct), gateway_overhead.py (the injected gateway's memory and CPU per app) and
kubernetes_scale.py (N apps started, health-checked and culled by 3 replicas on a fake
cluster). app_start.py, kernel_round_trip.py and gateway_overhead.py need a Docker engine and
root (for the offline image build); ``--no-docker`` skips them. kubernetes_scale.py needs
PostgreSQL (BYOI_TEST_POSTGRES_URL). Exits non-zero if any benchmark fails.
"""

from __future__ import annotations

import argparse
import platform
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent

FULL = {
    "api_throughput.py": ["--calls", "300", "--clients", "4"],
    "server_cpu.py": ["--calls", "600", "--clients", "4", "--moto"],
    "list_latency.py": ["--sizes", "100", "10000", "100000", "--calls", "200"],
    "app_start.py": ["--runs", "5"],
    "kernel_round_trip.py": ["--executions", "300"],
    "gateway_overhead.py": ["--window", "10"],
    "kubernetes_scale.py": ["--apps", "100", "300", "1000", "--idle", "300"],
}
QUICK = {
    "api_throughput.py": ["--calls", "20", "--clients", "2"],
    "server_cpu.py": ["--calls", "20", "--clients", "2"],
    "list_latency.py": ["--sizes", "100", "1000", "--calls", "10"],
    "app_start.py": ["--runs", "1"],
    "kernel_round_trip.py": ["--executions", "20"],
    "gateway_overhead.py": ["--window", "1"],
    "kubernetes_scale.py": ["--apps", "20", "40", "--idle", "15"],
}
NEEDS_DOCKER = {"app_start.py", "kernel_round_trip.py", "gateway_overhead.py"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small counts: checks that every benchmark runs")
    parser.add_argument("--no-docker", action="store_true", help="skip the benchmarks that run containers")
    args = parser.parse_args()
    plan = QUICK if args.quick else FULL
    cpus = subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip()
    print(f"# byoi benchmarks, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {platform.machine()}, {cpus} CPUs, "
          f"Python {platform.python_version()}{' (quick run)' if args.quick else ''}\n")
    failed = []
    for script, script_args in plan.items():
        if args.no_docker and script in NEEDS_DOCKER:
            continue
        command = [sys.executable, str(HERE / script), *script_args]
        print(f"## {script}\n\n`{' '.join(['python', f'benchmarks/{script}', *script_args])}`\n", flush=True)
        started = time.monotonic()
        proc = subprocess.run(command, capture_output=True, text=True)
        if proc.returncode != 0:
            failed.append(script)
            print(f"FAILED (exit {proc.returncode}):\n\n```\n{proc.stderr[-3000:]}\n```\n", flush=True)
            continue
        print(proc.stdout.strip() + f"\n\n({time.monotonic() - started:.0f} s)\n", flush=True)
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
