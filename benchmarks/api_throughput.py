"""API throughput and latency: byoi against moto's server and a Starlette ceiling.

Reproduce (after `bash scripts/test.sh` once, or `pip install -e '.[test,bench]'`):

    .venv/bin/python benchmarks/api_throughput.py --calls 300 --clients 4

Starts three servers on loopback: `byoi serve` (SQLite in a temporary
directory, authentication on, Docker off), moto's server (`python -m
moto.server`) and `benchmarks/ceiling_server.py`. For each operation, in the
same order on every target, ``--clients`` processes each make ``--calls``
boto3 calls one after another (after 20 untimed warm-up calls); the rounds of
the three targets alternate so that all three see the same machine state.
Reports operations per second (all calls over the wall time of the round)
and each call's p50/p99 latency as seen by boto3, and the ratios, as a
Markdown table. ``--json FILE`` also writes the raw figures.

Operations: the five SageMaker operations moto implements that byoi has
(DescribeDomain, ListDomains, AddTags, ListTags, CreateDomain), then byoi's
AppImageConfig Describe/List/Create against the ceiling only.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import boto3
import httpx
from botocore.config import Config

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.conftest import ByoiServer, free_port  # noqa: E402

KEY = ("AKIABENCHMARK0000001", "bench-secret-0000000000000000000000000000")
ROLE = "arn:aws:iam::123456789012:role/bench"
WARM_UP = 20


def call_for(op: str, domain_id: str, domain_arn: str) -> Callable:
    """The boto3 call one timed operation makes; ``i`` makes names and values unique per call."""
    calls = {
        "DescribeDomain": lambda sm, i: sm.describe_domain(DomainId=domain_id),
        "ListDomains": lambda sm, i: sm.list_domains(MaxResults=10),
        "AddTags": lambda sm, i: sm.add_tags(ResourceArn=domain_arn, Tags=[{"Key": "k", "Value": str(i)}]),
        "ListTags": lambda sm, i: sm.list_tags(ResourceArn=domain_arn),
        "CreateDomain": lambda sm, i: sm.create_domain(
            DomainName=f"d{i}", AuthMode="IAM", DefaultUserSettings={"ExecutionRole": ROLE},
            SubnetIds=["subnet-1"], VpcId="vpc-1",
        ),
        "DescribeAppImageConfig": lambda sm, i: sm.describe_app_image_config(AppImageConfigName="bench"),
        "ListAppImageConfigs": lambda sm, i: sm.list_app_image_configs(MaxResults=10),
        "CreateAppImageConfig": lambda sm, i: sm.create_app_image_config(AppImageConfigName=f"c{i}", CodeEditorAppImageConfig={}),
    }
    return calls[op]


MOTO_OPS = ["DescribeDomain", "ListDomains", "AddTags", "ListTags", "CreateDomain"]
BYOI_ONLY_OPS = ["DescribeAppImageConfig", "ListAppImageConfigs", "CreateAppImageConfig"]


def client(url: str):
    cfg = Config(retries={"max_attempts": 1, "mode": "standard"}, max_pool_connections=1)
    return boto3.client("sagemaker", endpoint_url=url, region_name="us-east-1",
                        aws_access_key_id=KEY[0], aws_secret_access_key=KEY[1], config=cfg)


def worker(args) -> tuple[float, float, list[float], float]:
    """One client process: (start, end, latencies in seconds, CPU seconds) of its timed calls."""
    url, op, domain_id, domain_arn, worker_index, calls = args
    sm = client(url)
    call = call_for(op, domain_id, domain_arn)
    base = (worker_index + 1) * 1_000_000
    for i in range(WARM_UP):
        call(sm, base + 500_000 + i)
    latencies = []
    start, cpu = time.perf_counter(), time.process_time()
    for i in range(calls):
        t0 = time.perf_counter()
        call(sm, base + i)
        latencies.append(time.perf_counter() - t0)
    return start, time.perf_counter(), latencies, time.process_time() - cpu


@dataclass
class Figure:
    ops_per_s: float
    p50_ms: float
    p99_ms: float


def measure(pool, url: str, op: str, domain: tuple[str, str], clients: int, calls: int) -> Figure:
    results = pool.map(worker, [(url, op, *domain, w, calls) for w in range(clients)])
    start = min(r[0] for r in results)
    end = max(r[1] for r in results)
    latencies = sorted(x for r in results for x in r[2])
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    return Figure(len(latencies) / (end - start), statistics.median(latencies) * 1000, p99 * 1000)


def wait_for(url: str, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server at {url} exited")
        try:
            httpx.post(url, timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise RuntimeError(f"server at {url} did not start")


def start_process(argv: list[str], port: int) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    wait_for(url, proc)
    return proc, url


def setup_domain(url: str, name: str) -> tuple[str, str]:
    """A domain with one tag (moto keeps tags only on resources created with some)."""
    created = client(url).create_domain(
        DomainName=name, AuthMode="IAM", DefaultUserSettings={"ExecutionRole": ROLE},
        SubnetIds=["subnet-1"], VpcId="vpc-1", Tags=[{"Key": "team", "Value": "bench"}],
    )
    return created["DomainArn"].rsplit("/", 1)[1], created["DomainArn"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=300, help="timed calls per client per operation")
    parser.add_argument("--clients", type=int, default=4, help="concurrent client processes")
    parser.add_argument("--json", help="also write the raw figures to this file")
    parser.add_argument("--auth", choices=["on", "off"], default="on", help="byoi's SigV4 authentication")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="byoi-bench-"))
    creds = tmp / "credentials"
    creds.write_text(f"[bench]\naws_access_key_id = {KEY[0]}\naws_secret_access_key = {KEY[1]}\n")
    byoi = ByoiServer(tmp / "byoi", BYOI_AUTH=args.auth, BYOI_CREDENTIALS_FILE=str(creds), BYOI_LOG_LEVEL="warning").start()
    moto_port, ceiling_port = free_port(), free_port()
    moto, moto_url = start_process([sys.executable, "-m", "moto.server", "-p", str(moto_port)], moto_port)
    ceiling, ceiling_url = start_process([sys.executable, str(ROOT / "benchmarks" / "ceiling_server.py"), str(ceiling_port)], ceiling_port)
    targets = {"byoi": byoi.url, "moto": moto_url, "ceiling": ceiling_url}
    results: dict[str, dict[str, Figure]] = {}
    try:
        # AddTags gets a domain of its own: moto appends tags without replacing keys,
        # so the domain ListTags and DescribeDomain read must not grow.
        domains = {name: setup_domain(url, "bench") for name, url in targets.items()}
        tagged = {name: setup_domain(url, "bench-tags") for name, url in targets.items()}
        client(byoi.url).create_app_image_config(AppImageConfigName="bench", CodeEditorAppImageConfig={})
        with multiprocessing.get_context("fork").Pool(args.clients) as pool:
            for op in MOTO_OPS + BYOI_ONLY_OPS:
                names = ["byoi", "moto", "ceiling"] if op in MOTO_OPS else ["byoi", "ceiling"]
                for name in names:
                    results.setdefault(op, {})[name] = measure(
                        pool, targets[name], op, (tagged if op == "AddTags" else domains)[name], args.clients, args.calls
                    )
                    print(f"{op:24} {name:8} {results[op][name]}", file=sys.stderr)
    finally:
        byoi.stop()
        for proc in (moto, ceiling):
            proc.terminate()
            proc.wait()
    print(table(results, args))
    if args.json:
        Path(args.json).write_text(json.dumps({op: {n: f.__dict__ for n, f in r.items()} for op, r in results.items()}, indent=2))


def table(results: dict[str, dict[str, Figure]], args) -> str:
    lines = [
        f"{args.clients} client processes x {args.calls} calls per operation; byoi auth {args.auth}; "
        f"{os.cpu_count()} CPUs",
        "",
        "| Operation | byoi ops/s | moto ops/s | ceiling ops/s | byoi/moto | byoi/ceiling | byoi p50 / p99 ms | moto p50 / p99 ms | ceiling p50 / p99 ms |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for op, r in results.items():
        b, c, m = r["byoi"], r["ceiling"], r.get("moto")
        lines.append(
            f"| {op} | {b.ops_per_s:.0f} | {f'{m.ops_per_s:.0f}' if m else '-'} | {c.ops_per_s:.0f} | "
            f"{f'{b.ops_per_s / m.ops_per_s:.2f}x' if m else '-'} | {b.ops_per_s / c.ops_per_s:.2f}x | "
            f"{b.p50_ms:.2f} / {b.p99_ms:.2f} | {f'{m.p50_ms:.2f} / {m.p99_ms:.2f}' if m else '-'} | {c.p50_ms:.2f} / {c.p99_ms:.2f} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
