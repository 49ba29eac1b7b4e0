"""A Kubernetes API server on loopback, for tests: a real HTTP server (in a thread) that keeps
the semantics byoi's Kubernetes backend relies on, with a fake kubelet and garbage collector.

Served, for ``pods``, ``services``, ``secrets``, ``persistentvolumeclaims`` (``/api/v1``) and
``networkpolicies`` (``/apis/networking.k8s.io/v1``), namespaced:

* create (POST; 409 AlreadyExists), get (404 NotFound), list with ``labelSelector``
  (``k=v`` terms) and ``fieldSelector`` (``metadata.name=``), replace (PUT; 409 Conflict when
  the body's ``metadata.resourceVersion`` is not the stored one), patch (merge patch, any
  patch content type), delete (``gracePeriodSeconds``);
* watch (``?watch=true``: one JSON event a line from ``resourceVersion``, until
  ``timeoutSeconds``), over a log of every change;
* pod logs (``pods/<name>/log``: ``timestamps``, ``sinceSeconds``, ``follow`` until the
  container ends; 400 while it waits to start, as the real server answers);
* ``ownerReferences``: deleting an object deletes the objects it was the last owner of.

The kubelet: a pod whose Secret and PersistentVolumeClaim volumes exist runs at once
(``podIP`` 10.244.x.y, the init container done), unless the test said otherwise:
``unschedulable`` (PodScheduled False, Unschedulable), ``unpullable`` images
(ImagePullBackOff). ``spec.activeDeadlineSeconds`` stops a running pod (exit 143, Failed,
DeadlineExceeded), as a real kubelet does. Tests drive the rest: ``write(pod, line)``
(the container prints), ``exit(pod, code, reason)`` (it ends, e.g. ``OOMKilled``).

Reusable for simulations: ``FakeKubernetes()`` as a context manager, ``client(namespace)`` a
lightkube Client on it; everything is guarded by one lock, so any number of clients may use it.
For a cluster's pace (benchmarks/kubernetes_scale.py): ``latency`` (``Latency``: seconds each
request waits before it is served, by verb, outside the lock), ``start_seconds`` (a runnable
pod stays ContainerCreating that long before it runs) and ``pod_ip`` (every running pod's
address, e.g. a loopback address where a stand-in app server answers on port 8888).
"""

from __future__ import annotations

import copy
import itertools
import json
import socket
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

KINDS = {
    "pods": ("v1", "Pod"),
    "services": ("v1", "Service"),
    "secrets": ("v1", "Secret"),
    "persistentvolumeclaims": ("v1", "PersistentVolumeClaim"),
    "networkpolicies": ("networking.k8s.io/v1", "NetworkPolicy"),
}


def rfc3339(ns: int) -> str:
    return datetime.fromtimestamp(ns // 10**9, UTC).strftime("%Y-%m-%dT%H:%M:%S") + f".{ns % 10**9:09d}Z"


def _status(code: int, reason: str, message: str) -> dict:
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    }


class ApiFailure(Exception):
    def __init__(self, code: int, reason: str, message: str):
        super().__init__(message)
        self.body = _status(code, reason, message)


def merge_patch(target, patch):
    """RFC 7386 JSON merge patch."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def _container_status(container: dict, state: dict, ready: bool = False) -> dict:
    return {
        "name": container["name"],
        "image": container["image"],
        "imageID": "",
        "ready": ready,
        "restartCount": 0,
        "state": state,
    }


def _matches(obj: dict, labels: dict[str, str], fields: dict[str, str]) -> bool:
    have = obj["metadata"].get("labels") or {}
    if any(have.get(k) != v for k, v in labels.items()):
        return False
    return all(obj["metadata"].get(path.removeprefix("metadata.")) == v for path, v in fields.items())


def _selector(text: str | None) -> dict[str, str]:
    terms = {}
    for term in (text or "").split(","):
        if term:
            key, _, value = term.partition("=")
            terms[key.strip()] = value.strip().lstrip("=")
    return terms


@dataclass(frozen=True)
class Latency:
    """Seconds a request waits before it is served: reads (get, list; the start of a watch or a
    log stream) and writes (create, replace, patch, delete)."""

    read: float = 0.0
    write: float = 0.0

    def of(self, method: str) -> float:
        return self.read if method == "GET" else self.write


def verb(method: str, path: str) -> str:
    """The Kubernetes verb of a request (as the API server's audit log names it)."""
    url = urlsplit(path)
    query = parse_qs(url.query)
    if method == "GET":
        if url.path.endswith("/log"):
            return "log"
        if query.get("watch") == ["true"]:
            return "watch"
        return "list" if url.path.rstrip("/").split("/")[-1] in KINDS else "get"
    return {"POST": "create", "PUT": "update", "PATCH": "patch", "DELETE": "delete"}.get(method, method.lower())


class FakeKubernetes:
    def __init__(self, latency: Latency | None = None, start_seconds: float = 0.0, pod_ip: str | None = None):
        self.latency = latency or Latency()
        self.start_seconds = start_seconds
        self.pod_ip = pod_ip
        self._runs_at: dict[str, float] = {}  # pod uid -> when the kubelet runs it (with start_seconds)
        self.objects: dict[tuple[str, str, str], dict] = {}
        self.events: list[tuple[int, str, str, str, dict]] = []  # (rv, type, plural, namespace, object)
        self.logs: dict[tuple[str, str], list[tuple[int, str]]] = {}
        self.requests: list[tuple[str, str]] = []  # (method, path) of every request, for tests that count
        self.unschedulable = False
        self.unpullable: set[str] = set()
        self._rv = itertools.count(1)
        self._ips = itertools.count(2)
        self._lock = threading.RLock()
        self._changed = threading.Condition(self._lock)  # any change (watches wait on it)
        # One per followed pod log, on the same lock: a change wakes only that pod's followers
        # (with a thousand apps, waking every follower on every change starved the kubelet).
        self._log_changed: dict[tuple[str, str], threading.Condition] = {}
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="fake-kubernetes", daemon=True)

    # --- running -------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def kubeconfig(self, path, namespace: str = "byoi-apps") -> str:
        """Write a kubeconfig for this API at ``path``; its path, for BYOI_KUBERNETES_KUBECONFIG."""
        cluster = {"name": "fake", "cluster": {"server": self.url}}
        context = {"name": "fake", "context": {"cluster": "fake", "user": "fake", "namespace": namespace}}
        path.write_text(
            json.dumps(
                {
                    "apiVersion": "v1",
                    "kind": "Config",
                    "current-context": "fake",
                    "clusters": [cluster],
                    "users": [{"name": "fake", "user": {"token": "fake"}}],
                    "contexts": [context],
                }
            )
        )
        return str(path)

    def __enter__(self) -> FakeKubernetes:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        with self._changed:
            self._closed = True
            self._changed.notify_all()
            for waiting in self._log_changed.values():
                waiting.notify_all()
        self._server.shutdown()
        self._server.server_close()

    _closed = False

    def client(self, namespace: str = "byoi-apps"):
        from lightkube import Client
        from lightkube.config.kubeconfig import KubeConfig

        config = KubeConfig.from_dict(
            {
                "clusters": [{"name": "fake", "cluster": {"server": self.url}}],
                "users": [{"name": "fake", "user": {"token": "fake"}}],
                "contexts": [{"name": "fake", "context": {"cluster": "fake", "user": "fake", "namespace": namespace}}],
                "current-context": "fake",
            }
        )
        return Client(config, field_manager="byoi", trust_env=False)

    # --- what tests read and drive ---------------------------------------------

    def get(self, plural: str, name: str, namespace: str = "byoi-apps") -> dict | None:
        with self._changed:
            obj = self.objects.get((plural, namespace, name))
            return copy.deepcopy(obj) if obj else None

    def names(self, plural: str, namespace: str = "byoi-apps") -> set[str]:
        with self._changed:
            return {name for (p, ns, name) in self.objects if p == plural and ns == namespace}

    def write(self, pod: str, line: str, namespace: str = "byoi-apps") -> None:
        """The pod's app container prints ``line``."""
        with self._changed:
            self.logs.setdefault((namespace, pod), []).append((time.time_ns(), line))
            self._changed.notify_all()
            self._wake_log(namespace, pod)

    def exit(self, pod: str, code: int = 0, reason: str | None = None, namespace: str = "byoi-apps") -> None:
        """The pod's app container ends with ``code`` (``reason``: e.g. OOMKilled; else Completed or Error)."""
        with self._changed:
            obj = self.objects[("pods", namespace, pod)]
            self._terminate(obj, code, reason or ("Completed" if code == 0 else "Error"))

    def reschedule(self, namespace: str = "byoi-apps") -> None:
        """Let the kubelet look at every pod again (after changing ``unschedulable`` or ``unpullable``)."""
        with self._changed:
            for (plural, ns, _), obj in list(self.objects.items()):
                if plural == "pods" and ns == namespace:
                    self._kubelet(obj)

    # --- the store (called with the lock held) ----------------------------------

    def _record(self, kind: str, plural: str, obj: dict) -> None:
        rv = next(self._rv)
        obj["metadata"]["resourceVersion"] = str(rv)
        self.events.append((rv, kind, plural, obj["metadata"]["namespace"], copy.deepcopy(obj)))
        self._changed.notify_all()
        if plural == "pods":
            self._wake_log(obj["metadata"]["namespace"], obj["metadata"]["name"])

    def _wake_log(self, namespace: str, name: str) -> None:
        if (waiting := self._log_changed.get((namespace, name))) is not None:
            waiting.notify_all()

    def _create(self, plural: str, namespace: str, body: dict) -> dict:
        name = (body.get("metadata") or {}).get("name")
        if not name:
            raise ApiFailure(422, "Invalid", "metadata.name: Required value")
        if (plural, namespace, name) in self.objects:
            raise ApiFailure(409, "AlreadyExists", f'{plural} "{name}" already exists')
        api_version, kind = KINDS[plural]
        obj = {**copy.deepcopy(body), "apiVersion": api_version, "kind": kind}
        obj["metadata"] = {
            **obj["metadata"],
            "namespace": namespace,
            "uid": str(uuid.uuid4()),
            "creationTimestamp": rfc3339(time.time_ns()).split(".")[0] + "Z",
        }
        if plural == "pods":
            obj["status"] = {"phase": "Pending"}
        self.objects[(plural, namespace, name)] = obj
        self._record("ADDED", plural, obj)
        if plural == "pods":
            self._kubelet(obj)
        else:  # a pod may have waited for this volume
            for (p, ns, _), pod in list(self.objects.items()):
                if p == "pods" and ns == namespace:
                    self._kubelet(pod)
        return obj

    def _find(self, plural: str, namespace: str, name: str) -> dict:
        obj = self.objects.get((plural, namespace, name))
        if obj is None:
            raise ApiFailure(404, "NotFound", f'{plural} "{name}" not found')
        return obj

    def _replace(self, plural: str, namespace: str, name: str, body: dict) -> dict:
        current = self._find(plural, namespace, name)
        wanted = (body.get("metadata") or {}).get("resourceVersion")
        if wanted and wanted != current["metadata"]["resourceVersion"]:
            raise ApiFailure(
                409,
                "Conflict",
                f'Operation cannot be fulfilled on {plural} "{name}": the object has been '
                "modified; please apply your changes to the latest version and try again",
            )
        obj = {**copy.deepcopy(body), "apiVersion": current["apiVersion"], "kind": current["kind"]}
        obj["metadata"] = {**obj["metadata"], **{k: current["metadata"][k] for k in ("namespace", "uid", "creationTimestamp")}}
        if plural == "pods":
            obj["status"] = current["status"]
        self.objects[(plural, namespace, name)] = obj
        self._record("MODIFIED", plural, obj)
        return obj

    def _patch(self, plural: str, namespace: str, name: str, patch: dict) -> dict:
        current = self._find(plural, namespace, name)
        if plural == "pods":
            deadline = (patch.get("spec") or {}).get("activeDeadlineSeconds")
            if deadline is not None and (not isinstance(deadline, int) or deadline < 1):
                raise ApiFailure(422, "Invalid", "spec.activeDeadlineSeconds: Invalid value: must be a positive integer")
        obj = merge_patch(current, patch)
        obj["metadata"] = {**obj["metadata"], **{k: current["metadata"][k] for k in ("name", "namespace", "uid")}}
        self.objects[(plural, namespace, name)] = obj
        self._record("MODIFIED", plural, obj)
        if plural == "pods":
            self._kubelet(obj)
        return obj

    def _delete(self, plural: str, namespace: str, name: str, grace: int | None) -> dict:
        obj = self._find(plural, namespace, name)
        if plural == "pods" and self._app_state(obj).get("running") is not None and grace != 0:
            self._terminate(obj, 143, "Error")  # SIGTERM
        del self.objects[(plural, namespace, name)]
        self._record("DELETED", plural, obj)
        self._collect(namespace)
        return obj

    def _collect(self, namespace: str) -> None:
        """The garbage collector: objects whose owners are all gone go too."""
        uids = {obj["metadata"]["uid"] for obj in self.objects.values()}
        for (plural, ns, name), obj in list(self.objects.items()):
            owners = obj["metadata"].get("ownerReferences") or []
            if ns == namespace and owners and not any(ref["uid"] in uids for ref in owners):
                self._delete(plural, ns, name, 0)
                return  # _delete collected again

    # --- the kubelet (with the lock held) ----------------------------------------

    @staticmethod
    def _app_state(pod: dict) -> dict:
        for status in pod["status"].get("containerStatuses") or []:
            return status["state"]
        return {}

    def _set_status(self, pod: dict, **status) -> None:
        pod["status"] = {**pod["status"], **status}
        self._record("MODIFIED", "pods", pod)

    def _kubelet(self, pod: dict) -> None:
        status, spec, ns = pod["status"], pod["spec"], pod["metadata"]["namespace"]
        if status["phase"] != "Pending":
            if status["phase"] == "Running" and spec.get("activeDeadlineSeconds"):
                self._terminate(pod, 143, "Error", pod_reason="DeadlineExceeded")
            return
        container = spec["containers"][0]
        if self.unschedulable:
            condition = {
                "type": "PodScheduled",
                "status": "False",
                "reason": "Unschedulable",
                "message": "0/3 nodes are available: 3 Insufficient cpu.",
            }
            if status.get("conditions") != [condition]:
                self._set_status(pod, conditions=[condition])
            return
        for volume in spec.get("volumes") or []:
            if "secret" in volume and ("secrets", ns, volume["secret"]["secretName"]) not in self.objects:
                return self._waiting(pod, "ContainerCreating", "")
            claim = volume.get("persistentVolumeClaim")
            if claim and ("persistentvolumeclaims", ns, claim["claimName"]) not in self.objects:
                return self._waiting(pod, "ContainerCreating", "")
        if container["image"] in self.unpullable:
            return self._waiting(pod, "ImagePullBackOff", f'Back-off pulling image "{container["image"]}"')
        if spec.get("activeDeadlineSeconds"):
            return self._terminate(pod, 0, "DeadlineExceeded", pod_reason="DeadlineExceeded", ran=False)
        if self.start_seconds and self._later(pod):
            return self._waiting(pod, "ContainerCreating", "")
        now = rfc3339(time.time_ns())
        n = next(self._ips)
        self._set_status(
            pod,
            phase="Running",
            podIP=self.pod_ip or f"10.244.{n // 250}.{n % 250 + 2}",
            startTime=now,
            conditions=[{"type": "PodScheduled", "status": "True"}, {"type": "Ready", "status": "True"}],
            initContainerStatuses=[
                _container_status(c, {"terminated": {"exitCode": 0, "reason": "Completed"}})
                for c in spec.get("initContainers") or []
            ],
            containerStatuses=[_container_status(container, {"running": {"startedAt": now}}, ready=True)],
        )

    def _later(self, pod: dict) -> bool:
        """Whether the pod is still being created (``start_seconds``); the kubelet looks again then."""
        uid = pod["metadata"]["uid"]
        if uid not in self._runs_at:
            self._runs_at[uid] = time.monotonic() + self.start_seconds
            key = ("pods", pod["metadata"]["namespace"], pod["metadata"]["name"])
            timer = threading.Timer(self.start_seconds, self._start_later, (key, uid))
            timer.daemon = True
            timer.start()
        return time.monotonic() < self._runs_at[uid]

    def _start_later(self, key: tuple[str, str, str], uid: str) -> None:
        with self._changed:
            pod = self.objects.get(key)
            self._runs_at[uid] = 0.0  # its time has come (whatever the timer's rounding)
            if pod is not None and pod["metadata"]["uid"] == uid and not self._closed:
                self._kubelet(pod)

    def _waiting(self, pod: dict, reason: str, message: str) -> None:
        container = pod["spec"]["containers"][0]
        statuses = [_container_status(container, {"waiting": {"reason": reason, **({"message": message} if message else {})}})]
        if pod["status"].get("containerStatuses") != statuses:
            self._set_status(pod, conditions=[{"type": "PodScheduled", "status": "True"}], containerStatuses=statuses)

    def _terminate(self, pod: dict, code: int, reason: str, pod_reason: str | None = None, ran: bool = True) -> None:
        container = pod["spec"]["containers"][0]
        ended = {"exitCode": code, "reason": reason, "finishedAt": rfc3339(time.time_ns())}
        extra = (
            {"reason": pod_reason, "message": "Pod was active on the node longer than the specified deadline"}
            if pod_reason
            else {}
        )
        state = {"terminated": ended} if ran else {"waiting": {"reason": "ContainerCreating"}}
        self._set_status(
            pod,
            phase="Succeeded" if code == 0 and not pod_reason else "Failed",
            **extra,
            containerStatuses=[_container_status(container, state)],
        )

    # --- watch and logs -----------------------------------------------------------

    def watch(self, plural: str, namespace: str, since: int, labels, fields, timeout: float):
        """Events after resourceVersion ``since`` that match, as they happen, until ``timeout``."""
        deadline = time.monotonic() + timeout
        sent = 0
        while True:
            with self._changed:
                while True:
                    fresh = [e for e in self.events[sent:]]
                    sent = len(self.events)
                    matching = [
                        (kind, obj)
                        for rv, kind, p, ns, obj in fresh
                        if rv > since and p == plural and ns == namespace and _matches(obj, labels, fields)
                    ]
                    if matching or self._closed or time.monotonic() >= deadline:
                        break
                    self._changed.wait(deadline - time.monotonic())
            for kind, obj in matching:
                yield {"type": kind, "object": obj}
            if self._closed or time.monotonic() >= deadline:
                return

    def pod_log(self, namespace: str, name: str, timestamps: bool, since_seconds: int | None, follow: bool):
        """The app container's lines (with the first chunk, a 404/400 ApiFailure if there are none to read)."""
        with self._changed:
            pod = self._find("pods", namespace, name)
            state = self._app_state(pod)
            if not state or "waiting" in state:
                reason = (state.get("waiting") or {}).get("reason", "ContainerCreating")
                raise ApiFailure(400, "BadRequest", f'container "app" in pod "{name}" is waiting to start: {reason}')
        since_ns = time.time_ns() - since_seconds * 10**9 if since_seconds else 0
        sent = 0
        while True:
            with self._changed:
                while True:
                    lines = self.logs.get((namespace, name), [])
                    pod = self.objects.get(("pods", namespace, name))
                    done = pod is None or "running" not in self._app_state(pod) or self._closed
                    if len(lines) > sent or done or not follow:
                        break
                    self._log_changed.setdefault((namespace, name), threading.Condition(self._lock)).wait()
                fresh, sent = lines[sent:], len(lines)
            for at, line in fresh:
                if at >= since_ns:
                    yield (f"{rfc3339(at)} {line}\n" if timestamps else f"{line}\n").encode()
            if done or not follow:
                return


def _handler(api: FakeKubernetes):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):  # quiet
            pass

        def setup(self):
            super().setup()  # headers and body go in separate writes: no Nagle delay between them
            self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def _route(self):
            url = urlsplit(self.path)
            query = {k: v[-1] for k, v in parse_qs(url.query).items()}
            parts = [p for p in url.path.split("/") if p]
            if parts[:2] == ["api", "v1"]:
                rest = parts[2:]
            elif parts[:3] == ["apis", "networking.k8s.io", "v1"]:
                rest = parts[3:]
            else:
                raise ApiFailure(404, "NotFound", f"the server could not find the requested resource ({url.path})")
            if len(rest) < 3 or rest[0] != "namespaces" or rest[2] not in KINDS:
                raise ApiFailure(404, "NotFound", f"the server could not find the requested resource ({url.path})")
            return rest[1], rest[2], (rest[3] if len(rest) > 3 else None), (rest[4] if len(rest) > 4 else None), query

        def _body(self) -> dict:
            length = int(self.headers.get("Content-Length") or 0)
            return json.loads(self.rfile.read(length) or b"{}")

        def _send(self, code: int, body) -> None:
            data = json.dumps(body).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _stream(self, chunks, content_type: str) -> None:
            chunks = iter(chunks)
            first = next(chunks, None)  # raises ApiFailure before the headers go out
            self.send_response(200)
            self.send_header("Content-Type", content_type)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            try:
                for chunk in itertools.chain([first] if first is not None else [], chunks):
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                    self.wfile.flush()
                self.wfile.write(b"0\r\n\r\n")
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True

        def _handle(self, method: str) -> None:
            api.requests.append((method, self.path))
            if wait := api.latency.of(method):
                time.sleep(wait)  # the API server's (and etcd's) time, before the request is served
            try:
                ns, plural, name, sub, query = self._route()
                if method == "GET" and sub == "log" and plural == "pods":
                    lines = api.pod_log(
                        ns,
                        name,
                        query.get("timestamps") == "true",
                        int(query["sinceSeconds"]) if "sinceSeconds" in query else None,
                        query.get("follow") == "true",
                    )
                    return self._stream(lines, "text/plain")
                if method == "GET" and name is None and query.get("watch") == "true":
                    events = api.watch(
                        plural,
                        ns,
                        int(query.get("resourceVersion") or 0),
                        _selector(query.get("labelSelector")),
                        _selector(query.get("fieldSelector")),
                        float(query.get("timeoutSeconds") or 1800),
                    )
                    return self._stream((json.dumps(e).encode() + b"\n" for e in events), "application/json")
                with api._changed:
                    if method == "GET" and name is None:
                        labels, fields = _selector(query.get("labelSelector")), _selector(query.get("fieldSelector"))
                        items = [
                            copy.deepcopy(o)
                            for (p, n, _), o in sorted(api.objects.items())
                            if p == plural and n == ns and _matches(o, labels, fields)
                        ]
                        api_version, kind = KINDS[plural]
                        body = {
                            "kind": f"{kind}List",
                            "apiVersion": api_version,
                            "metadata": {"resourceVersion": str(api.events[-1][0] if api.events else 0)},
                            "items": items,
                        }
                        return self._send(200, body)
                    if method == "GET":
                        return self._send(200, copy.deepcopy(api._find(plural, ns, name)))
                    if method == "POST" and name is None:
                        return self._send(201, copy.deepcopy(api._create(plural, ns, self._body())))
                    if method == "PUT" and name:
                        return self._send(200, copy.deepcopy(api._replace(plural, ns, name, self._body())))
                    if method == "PATCH" and name:
                        return self._send(200, copy.deepcopy(api._patch(plural, ns, name, self._body())))
                    if method == "DELETE" and name:
                        grace = int(query["gracePeriodSeconds"]) if "gracePeriodSeconds" in query else None
                        return self._send(200, copy.deepcopy(api._delete(plural, ns, name, grace)))
                raise ApiFailure(405, "MethodNotAllowed", f"{method} is not supported here")
            except ApiFailure as failure:
                self._send(failure.body["code"], failure.body)

        def do_GET(self):
            self._handle("GET")

        def do_POST(self):
            self._handle("POST")

        def do_PUT(self):
            self._handle("PUT")

        def do_PATCH(self):
            self._handle("PATCH")

        def do_DELETE(self):
            self._handle("DELETE")

    return Handler
