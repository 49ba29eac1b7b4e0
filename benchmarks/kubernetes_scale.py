"""Scale by simulation: N apps started, health-checked and culled by 3 replicas on a fake cluster.

Reproduce (PostgreSQL needed: three replicas share one database; each run gets a fresh one):

    BYOI_TEST_POSTGRES_URL=postgresql+psycopg://postgres:PASSWORD@127.0.0.1:5432/postgres \\
        .venv/bin/python benchmarks/kubernetes_scale.py --apps 100 300 1000

For each N: a fake Kubernetes API (tests/runtime/kubernetes/fake_api.py, a real HTTP server on
loopback) that makes every read wait ``--read-ms`` and every write ``--write-ms`` before it is
served, and keeps a pod ContainerCreating for ``--pod-start`` seconds; three real ``byoi serve``
replicas (BYOI_RUNTIME=kubernetes, the real Kubernetes backend and settlers) on one fresh
PostgreSQL database. N user profiles each get a JupyterServer app (CreateApp, spread over the
replicas); every pod's address is one loopback address where a stand-in server answers the
readiness probe on port 8888, so apps go InService through the real probe. With
BYOI_APP_IDLE_TIMEOUT_SECONDS=``--idle`` they are then culled (Deleting, Deleted) by the
settlers' idle check. Only the cluster and the apps' server are fake.

Measured per N: seconds from the first CreateApp to all InService, and from then to all culled
(Deleted); the replicas' CPU (user + system of the three processes, from /proc/PID/stat) and the
Kubernetes API calls (counted by the fake API, by verb) per app, in three phases: start (first
CreateApp to all InService, per app started), steady (all InService, until the first cull:
per app per minute) and cull (per app culled). The status of the apps is read from the
database directly, not through byoi, so that watching costs the replicas nothing. Linux only.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from http.server import ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.api.replicas import AnswersEverything  # noqa: E402
from tests.conftest import POSTGRES_URL, ROLE_ARN, ByoiServer, fresh_database_url  # noqa: E402
from tests.runtime.kubernetes.fake_api import FakeKubernetes, Latency, verb  # noqa: E402
from tests.waiting import wait_for  # noqa: E402

REPLICAS = 3
VERBS = ["get", "list", "watch", "log", "create", "update", "patch", "delete"]


def process_cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def app_server() -> tuple[ThreadingHTTPServer, str]:
    """A stand-in for every pod's port 8888, on a loopback address of its own (127.x.y.1)."""
    for _ in range(20):
        host = f"127.{random.randrange(1, 255)}.{random.randrange(1, 255)}.1"
        try:
            server = ThreadingHTTPServer((host, 8888), AnswersEverything)
        except OSError:
            continue
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
        return server, host
    raise RuntimeError("no loopback address with port 8888 free")


def statuses(database_url: str) -> Counter:
    import psycopg
    from sqlalchemy.engine import make_url

    conninfo = make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(conninfo) as conn:
        return Counter(dict(conn.execute("SELECT status, count(*) FROM apps GROUP BY status").fetchall()))


class Meter:
    """The replicas' CPU seconds and the API's calls by verb, at one moment."""

    def __init__(self, servers: list[ByoiServer], api: FakeKubernetes):
        self.at = time.monotonic()
        self.cpu = sum(process_cpu_seconds(s.proc.pid) for s in servers)
        self.calls = Counter(verb(method, path) for method, path in list(api.requests))

    def since(self, earlier: Meter) -> tuple[float, float, Counter]:
        return self.at - earlier.at, self.cpu - earlier.cpu, self.calls - earlier.calls


def run(n: int, args, tmp: Path) -> dict:
    server, host = app_server()
    latency = Latency(read=args.read_ms / 1000, write=args.write_ms / 1000)
    with FakeKubernetes(latency=latency, start_seconds=args.pod_start, pod_ip=host) as api:
        database = fresh_database_url(tmp / f"n{n}")
        env = {
            "BYOI_DATABASE_URL": database,
            "BYOI_RUNTIME": "kubernetes",
            "BYOI_KUBERNETES_KUBECONFIG": api.kubeconfig(tmp / f"kubeconfig-{n}"),
            "BYOI_KUBERNETES_GATEWAY_IMAGE": "registry.example/byoi-gateway:1",
            "BYOI_JUPYTER_SERVER_IMAGE": "registry.example/jupyterlab:1",
            "BYOI_APP_IDLE_TIMEOUT_SECONDS": str(args.idle),
            "BYOI_LOG_LEVEL": "warning",
        }
        servers = [ByoiServer(tmp / f"n{n}-replica-{i}", BYOI_REPLICA_ID=f"replica-{i}", **env) for i in range(REPLICAS)]
        for s in servers:
            s.env["BYOI_PUBLIC_URL"] = servers[0].url
            s.start()
        try:
            clients = [s.client(read_timeout=120, max_pool_connections=16) for s in servers]
            domain_id = clients[0].create_domain(
                DomainName="scale",
                AuthMode="IAM",
                DefaultUserSettings={"ExecutionRole": ROLE_ARN},
                SubnetIds=["subnet-1"],
                VpcId="vpc-1",
            )["DomainId"]
            wait_for(lambda: clients[0].describe_domain(DomainId=domain_id)["Status"] == "InService", "the domain", 60, every=0.25)
            with ThreadPoolExecutor(8) as pool:
                list(
                    pool.map(
                        lambda i: clients[i % REPLICAS].create_user_profile(DomainId=domain_id, UserProfileName=f"u{i}"), range(n)
                    )
                )
            begin = Meter(servers, api)
            with ThreadPoolExecutor(8) as pool:
                list(
                    pool.map(
                        lambda i: clients[i % REPLICAS].create_app(
                            DomainId=domain_id, UserProfileName=f"u{i}", AppType="JupyterServer", AppName="default"
                        ),
                        range(n),
                    )
                )
            timeout = args.idle + 600
            past_pending = ("InService", "Deleting", "Deleted", "Failed")
            wait_for(lambda: sum(statuses(database)[s] for s in past_pending) >= n, "every app past Pending", timeout, every=0.25)
            serving = Meter(servers, api)
            counts = statuses(database)
            all_in_service = counts["InService"] == n
            culled = ("Deleting", "Deleted")
            wait_for(lambda: sum(statuses(database)[s] for s in culled) > 0, "the first cull", timeout, every=0.25)
            culling = Meter(servers, api)
            wait_for(lambda: statuses(database)["Deleted"] + statuses(database)["Failed"] >= n, "every app culled", timeout, every=0.25)
            done = Meter(servers, api)
            final = statuses(database)
        finally:
            for s in servers:
                s.stop()
            server.shutdown()
            server.server_close()
    start_s, start_cpu, start_calls = serving.since(begin)
    steady_s, steady_cpu, steady_calls = culling.since(serving)
    cull_s, cull_cpu, cull_calls = done.since(culling)
    return {
        "n": n,
        "all_in_service": all_in_service,
        "failed": final["Failed"],
        "to_in_service": start_s,
        "to_culled": done.at - serving.at,
        "start_cpu": start_cpu / n,
        "start_calls": start_calls,
        "steady_s": steady_s,
        "steady_cpu": steady_cpu / n / (steady_s / 60) if steady_s else float("nan"),
        "steady_calls": Counter({k: v / n / (steady_s / 60) for k, v in steady_calls.items()}) if steady_s else Counter(),
        "cull_cpu": cull_cpu / n,
        "cull_calls": cull_calls,
        "cull_s": cull_s,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--apps", type=int, nargs="+", default=[100, 300, 1000])
    parser.add_argument("--idle", type=float, default=120, help="BYOI_APP_IDLE_TIMEOUT_SECONDS")
    parser.add_argument("--read-ms", type=float, default=5, help="each get/list (and watch or log start) waits this long")
    parser.add_argument("--write-ms", type=float, default=15, help="each create/update/patch/delete waits this long")
    parser.add_argument("--pod-start", type=float, default=2, help="seconds a pod stays ContainerCreating")
    args = parser.parse_args()
    if not POSTGRES_URL:
        sys.exit("kubernetes_scale.py needs PostgreSQL for its three replicas: set BYOI_TEST_POSTGRES_URL")
    tmp = Path(tempfile.mkdtemp(prefix="byoi-k8s-scale-"))
    results = []
    for n in args.apps:
        result = run(n, args, tmp)
        results.append(result)
        print(f"N={n}: {result}", file=sys.stderr, flush=True)
    lines = [
        f"{REPLICAS} replicas, one PostgreSQL database; fake API latency {args.read_ms:g} ms a read, "
        f"{args.write_ms:g} ms a write, pods start in {args.pod_start:g} s; idle timeout {args.idle:g} s; "
        "CPU = user + system of the three replica processes",
        "",
        "| Apps | all InService after | all culled, after all InService | start: CPU ms / app | start: API calls / app "
        "| steady: CPU ms / app / min | steady: API calls / app / min | cull: CPU ms / app | cull: API calls / app | failed |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]

    def calls(counter: Counter, per: float) -> str:
        shown = [f"{k} {counter[k] / per:.1f}" for k in VERBS if counter.get(k)]
        return f"{sum(counter.values()) / per:.1f} ({', '.join(shown)})"

    for r in results:
        lines.append(
            f"| {r['n']} | {r['to_in_service']:.0f} s | {r['to_culled']:.0f} s | {r['start_cpu'] * 1000:.0f} "
            f"| {calls(r['start_calls'], r['n'])} | {r['steady_cpu'] * 1000:.0f} | {calls(r['steady_calls'], 1)} "
            f"| {r['cull_cpu'] * 1000:.0f} | {calls(r['cull_calls'], r['n'])} | {r['failed']} |"
        )
    print("\n".join(lines))


if __name__ == "__main__":
    main()
