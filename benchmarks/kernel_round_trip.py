"""Kernel round trip through byoi's gateway, against direct access to the app.

Reproduce (root, Docker engine running, after `bash scripts/test.sh` once or
`pip install -e '.[test]'`):

    .venv/bin/python benchmarks/kernel_round_trip.py --executions 300

It starts `byoi serve` on loopback, builds the spec's sample image offline
(tests/images), runs it as a KernelGateway app, starts one kernel, and then
sends `1+1` execute requests, one path at a time, over one websocket opened
directly on the app's address on its network (with the app's token) and over one opened through
/apps/<domain>/<user>/KernelGateway/default (authenticated with a presigned-URL
session). Each round trip is timed from sending execute_request to receiving
both execute_reply and the idle status. First, as the floor, the same round
trips straight over the kernel's ZMQ sockets from inside the container
(jupyter_client). Last, through byoi and the user's JupyterServer app (the
server JupyterLab in a browser talks to, which reaches the kernel through its
GatewayClient). Beside them, as the reference byoi is measured against, stock
Jupyter Kernel Gateway (the same package byoi injects, run as it ships, without
byoi's changes) and stock Jupyter Server (the jupyterlab test image's), each in a
container of its own on Docker's default bridge with a kernel of its own.
Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import docker
import httpx
from websockets.sync.client import connect

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.studio import BENCH_SECRET, create_app, direct_access, gateway_headers, kernel_gateway_studio  # noqa: E402
from tests.conftest import ByoiServer  # noqa: E402
from tests.images.build import build_test_images  # noqa: E402


def execute_request(code: str) -> tuple[str, str]:
    msg_id = uuid.uuid4().hex
    message = {
        "header": {"msg_id": msg_id, "username": "bench", "session": "bench", "msg_type": "execute_request", "version": "5.3", "date": ""},
        "parent_header": {},
        "metadata": {},
        "content": {"code": code, "silent": False, "store_history": False, "user_expressions": {}, "allow_stdin": False},
        "channel": "shell",
        "buffers": [],
    }
    return msg_id, json.dumps(message)


def open_ws(host_port: str, path: str, headers: dict | None = None):
    """A websocket whose socket has TCP_NODELAY, as browsers' and byoi's own sockets do
    (without it, Nagle + delayed ACKs add ~40 ms to small messages and swamp the comparison)."""
    host, port = host_port.split(":")
    sock = socket.create_connection((host, int(port)))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return connect(f"ws://{host_port}{path}", sock=sock, additional_headers=headers)


def round_trip(ws, code: str = "1+1") -> float:
    msg_id, payload = execute_request(code)
    start = time.perf_counter()
    ws.send(payload)
    replied = idle = False
    while not (replied and idle):
        message = json.loads(ws.recv(timeout=30))
        if message.get("parent_header", {}).get("msg_id") != msg_id:
            continue
        replied |= message["msg_type"] == "execute_reply"
        idle |= message["msg_type"] == "status" and message["content"]["execution_state"] == "idle"
    return time.perf_counter() - start


#: Run inside the app's container as its user: the same `1+1` round trips straight over the
#: kernel's ZMQ sockets (jupyter_client, the image's), the floor any websocket path adds to.
ZMQ_ROUND_TRIPS = r"""
import glob, json, os, sys, time
from jupyter_client import BlockingKernelClient
from jupyter_core.paths import jupyter_runtime_dir
kernel, count = sys.argv[1], int(sys.argv[2])
client = BlockingKernelClient()
client.load_connection_file(glob.glob(os.path.join(jupyter_runtime_dir(), f"kernel-{kernel}*.json"))[0])
client.start_channels()
client.wait_for_ready(timeout=60)
samples = []
for _ in range(count + 20):
    start = time.perf_counter()
    msg_id = client.execute("1+1")
    replied = idle = False
    while not (replied and idle):
        if not replied:
            replied = client.get_shell_msg(timeout=30)["parent_header"].get("msg_id") == msg_id
        if not idle:
            message = client.get_iopub_msg(timeout=30)
            idle = (message["parent_header"].get("msg_id") == msg_id and message["msg_type"] == "status"
                    and message["content"]["execution_state"] == "idle")
    samples.append(time.perf_counter() - start)
print(json.dumps(samples[20:]))
"""


def zmq_round_trips(app_arn: str, kernel: str, count: int) -> list[float]:
    (container,) = docker.from_env().containers.list(filters={"label": f"byoi.app-arn={app_arn}"})
    result = container.exec_run(["python3", "-c", ZMQ_ROUND_TRIPS, kernel, str(count)], user="1000:100")
    if result.exit_code != 0:
        raise RuntimeError(result.output.decode()[-2000:])
    return json.loads(result.output.decode().strip().splitlines()[-1])


#: A token for the stock servers (throwaway containers the benchmark removes).
STOCK_TOKEN = uuid.uuid4().hex


def stock_server(image: str, command: list[str], mounts: list | None = None) -> str:
    """Run a stock server in a container of ``image`` on Docker's default bridge, start a
    python3 kernel there; ``host:port`` and the kernel's id (the container is labelled for removal)."""
    client = docker.from_env()
    container = client.containers.run(image, command, entrypoint=[], user="1000:100", detach=True, mounts=mounts or [],
                                      labels={"byoi-benchmark": "kernel_round_trip"}, working_dir="/tmp")
    deadline = time.monotonic() + 120
    while True:
        container.reload()
        address = container.attrs["NetworkSettings"]["IPAddress"]
        try:
            started = httpx.post(f"http://{address}:8888/api/kernels", json={"name": "python3"}, timeout=60,
                                 headers={"Authorization": f"token {STOCK_TOKEN}"})
            if started.status_code == 201:
                return f"{address}:8888", started.json()["id"]
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline or container.status == "exited":
            raise RuntimeError(f"{command[0]} did not start a kernel: {container.logs().decode()[-2000:]}")
        time.sleep(0.5)


def stock_kernel_gateway(image: str, bundle: str) -> tuple[str, str]:
    """Jupyter Kernel Gateway as it ships (byoi's bundle carries it), without byoi_kgw."""
    from byoi.runtime.contract import GATEWAY_MOUNT
    from byoi.runtime.kgw.bundle import loader_command

    return stock_server(image, [*loader_command(GATEWAY_MOUNT), "-m", "kernel_gateway", "--KernelGatewayApp.ip=0.0.0.0",
                                "--KernelGatewayApp.port=8888", f"--KernelGatewayApp.auth_token={STOCK_TOKEN}"],
                        [docker.types.Mount(GATEWAY_MOUNT, bundle, type="bind", read_only=True)])


def stock_jupyter_server(image: str) -> tuple[str, str]:
    """Jupyter Server as the image has it (the jupyterlab test image)."""
    return stock_server(image, ["jupyter", "server", "--ip=0.0.0.0", "--port=8888", f"--IdentityProvider.token={STOCK_TOKEN}"])


def summary(samples: list[float]) -> dict:
    ordered = sorted(samples)
    return {
        "p50": statistics.median(ordered) * 1000,
        "p99": ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000,
        "mean": statistics.fmean(ordered) * 1000,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--executions", type=int, default=300)
    args = parser.parse_args()
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "bench")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "bench")
    with tempfile.TemporaryDirectory(prefix="byoi-bench-") as tmp:
        images = build_test_images(Path(tmp) / "cache", ["sample", "jupyterlab"])
        image = images["sample"]
        server = ByoiServer(Path(tmp) / "data", BYOI_DOCKER="on", BYOI_SESSION_SECRET=BENCH_SECRET,
                            BYOI_JUPYTER_SERVER_IMAGE=images["jupyterlab"]).start()
        try:
            sm = server.client()
            key = kernel_gateway_studio(sm, image)
            domain = key["DomainId"]
            arn = create_app(sm, key)
            while sm.describe_app(**key)["Status"] == "Pending":
                time.sleep(0.5)
            direct, token = direct_access(arn)
            prefix = f"/apps/{domain}/alice/KernelGateway/default"
            auth = gateway_headers(sm, key)
            # The user's JupyterServer app (JupyterLab's server), whose kernels are the KernelGateway
            # app's: the kernel is started through it, as JupyterLab does, so every path can reach it.
            server_key = {**key, "AppType": "JupyterServer"}
            sm.create_app(**server_key)
            while sm.describe_app(**server_key)["Status"] == "Pending":
                time.sleep(0.5)
            lab = f"/apps/{domain}/alice/JupyterServer/default"
            page = httpx.get(f"{server.url}{lab}/lab", headers=auth, timeout=120)
            xsrf = page.cookies["_xsrf"]
            started = httpx.post(f"{server.url}{lab}/api/kernels", json={"name": "python3"}, timeout=120,
                                 headers={**auth, "X-XSRFToken": xsrf, "Cookie": f"_xsrf={xsrf}"})
            if started.status_code != 201:
                raise RuntimeError(f"the JupyterServer app did not start a kernel: {started.status_code} {started.text[:300]}")
            kernel = started.json()["id"]
            samples: dict[str, list[float]] = {"kernel over ZMQ (in the container)": zmq_round_trips(arn, kernel, args.executions)}
            channels = f"/api/kernels/{kernel}/channels"
            (app,) = docker.from_env().containers.list(filters={"label": f"byoi.app-arn={arn}"})
            bundle = next(m["Source"] for m in app.attrs["Mounts"] if m["Destination"] == "/opt/.sagemakerinternal")
            stock_kg, stock_kg_kernel = stock_kernel_gateway(image, bundle)
            stock_js, stock_js_kernel = stock_jupyter_server(images["jupyterlab"])
            stock = {"Authorization": f"token {STOCK_TOKEN}"}
            # One path at a time: a kernel broadcasts its iopub messages to every open
            # websocket, so two open at once would disturb each other's timings.
            for name, (where, path, headers) in {
                "stock Jupyter Kernel Gateway, direct": (stock_kg, f"/api/kernels/{stock_kg_kernel}/channels", stock),
                "stock Jupyter Server, direct": (stock_js, f"/api/kernels/{stock_js_kernel}/channels", stock),
                "byoi's kernel gateway, direct": (direct, channels, token),
                "through byoi": (f"127.0.0.1:{server.port}", prefix + channels, auth),
                "through byoi and the JupyterServer app": (f"127.0.0.1:{server.port}", lab + channels, auth),
            }.items():
                with open_ws(where, path, headers) as ws:
                    for _ in range(20):  # warm up
                        round_trip(ws)
                    samples[name] = [round_trip(ws) for _ in range(args.executions)]
            stats = {name: summary(values) for name, values in samples.items()}
            for app in (server_key, key):
                sm.delete_app(**app)
                while sm.describe_app(**app)["Status"] != "Deleted":
                    time.sleep(0.5)
        finally:
            for container in docker.from_env().containers.list(all=True, filters={"label": "byoi-benchmark=kernel_round_trip"}):
                container.remove(force=True)
            server.stop()
    print(f"Kernel round trip (`1+1`, one websocket per path, {args.executions} executions per path, one path at a time):\n")
    print("| path | p50 ms | p99 ms | mean ms |")
    print("|---|---|---|---|")
    for name, s in stats.items():
        print(f"| {name} | {s['p50']:.2f} | {s['p99']:.2f} | {s['mean']:.2f} |")
    print()
    for name in ("stock Jupyter Kernel Gateway, direct", "stock Jupyter Server, direct"):
        print(f"{name} / the kernel over ZMQ, p50: {stats[name]['p50'] / stats['kernel over ZMQ (in the container)']['p50']:.2f}x")
    byoi, direct = stats["through byoi"], stats["byoi's kernel gateway, direct"]
    print(f"through byoi / direct, p50: {byoi['p50'] / direct['p50']:.2f}x (mean: {byoi['mean'] / direct['mean']:.2f}x)")
    zmq = stats["kernel over ZMQ (in the container)"]
    for name in ("through byoi", "through byoi and the JupyterServer app"):
        print(f"{name} / the kernel over ZMQ, p50: {stats[name]['p50'] / zmq['p50']:.2f}x (mean: {stats[name]['mean'] / zmq['mean']:.2f}x)")


if __name__ == "__main__":
    main()
