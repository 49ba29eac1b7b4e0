"""Server CPU per request: byoi against the Starlette ceiling (and moto with --moto).

Reproduce:

    .venv/bin/python benchmarks/server_cpu.py --calls 600 --clients 4

Starts the servers as benchmarks/api_throughput.py does; for each operation,
``--clients`` processes each make 20 warm-up and ``--calls`` timed boto3 calls,
and the server process's CPU time (user + system, from ``/proc/PID/stat``) over
the whole round is divided by the number of calls. Also reports the clients'
own CPU per call, which shares the same CPUs. Linux only.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import api_throughput as bench  # noqa: E402

OPS = ["DescribeDomain", "ListDomains", "ListTags", "CreateDomain"]


def process_cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=600)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--moto", action="store_true", help="also measure moto's server")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="byoi-cpu-"))
    creds = tmp / "credentials"
    creds.write_text(f"[bench]\naws_access_key_id = {bench.KEY[0]}\naws_secret_access_key = {bench.KEY[1]}\n")
    byoi = bench.ByoiServer(tmp / "byoi", BYOI_AUTH="on", BYOI_CREDENTIALS_FILE=str(creds), BYOI_LOG_LEVEL="warning").start()
    targets = {"byoi": (byoi.url, byoi.proc.pid)}
    others = []
    argv = {"ceiling": [sys.executable, str(bench.ROOT / "benchmarks" / "ceiling_server.py")]}
    if args.moto:
        argv["moto"] = [sys.executable, "-m", "moto.server", "-p"]
    for name, command in argv.items():
        port = bench.free_port()
        proc, url = bench.start_process([*command, str(port)], port)
        others.append(proc)
        targets[name] = (url, proc.pid)
    lines = [
        f"{args.clients} client processes x {args.calls} calls; server CPU = user + system time of the server process",
        "",
        "| Operation | server | server CPU ms / request | client CPU ms / call |",
        "|---|---|---|---|",
    ]
    try:
        domains = {name: bench.setup_domain(url, "bench") for name, (url, _) in targets.items()}
        with multiprocessing.get_context("fork").Pool(args.clients) as pool:
            for op in OPS:
                for name, (url, pid) in targets.items():
                    before = process_cpu_seconds(pid)
                    rounds = pool.map(bench.worker, [(url, op, *domains[name], i, args.calls) for i in range(args.clients)])
                    spent = [r[3] for r in rounds]
                    server = (process_cpu_seconds(pid) - before) / (args.clients * (args.calls + bench.WARM_UP))
                    lines.append(f"| {op} | {name} | {server * 1000:.3f} | {sum(spent) / (args.clients * args.calls) * 1000:.3f} |")
                    print(lines[-1], file=sys.stderr)
    finally:
        byoi.stop()
        for proc in others:
            proc.terminate()
            proc.wait()
    print("\n".join(lines))


if __name__ == "__main__":
    main()
