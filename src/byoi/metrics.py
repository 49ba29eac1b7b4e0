"""byoi's Prometheus metrics, served at ``GET /metrics`` on the API port (docs/replicas.md).

One ``Metrics`` per server (its own registry, so servers in one process do not mix):

* ``byoi_apps{app_type, status}``: apps in the store by type and state, read at
  scrape time with one grouped count (``count_apps``); every known type and state
  is reported, 0 when there are none. The store is shared, so every replica
  reports the same figures.
* ``byoi_app_start_seconds{app_type}``: histogram of the time from CreateApp to
  InService, observed by the replica that saw the app serve.
* ``byoi_api_request_seconds{service, operation}`` and
  ``byoi_api_errors_total{service, operation, code}``: every API call's latency and
  its AWS error code when it failed. Label values are bounded: an operation the
  service's model does not name is counted as ``unknown``, a service byoi does not
  serve as ``unknown``, so a caller cannot mint series.
* ``byoi_gateway_open{kind}`` (``http``: proxied requests in flight, ``websocket``:
  relayed websockets open) and ``byoi_gateway_total{kind}``: the gateway's traffic
  to apps in this process.
* The process collector's ``process_*`` series (CPU, memory, open files).

No metric carries a name, ARN or id a user chose: counts only.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, ProcessCollector, generate_latest
from prometheus_client.core import GaugeMetricFamily

from byoi.vocabulary import AppStatus, AppType

#: Start latency buckets (seconds): a fake backend answers at once, a real container in seconds,
#: one with a lifecycle script or a slow image in minutes.
START_BUCKETS = (0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300, 600)
#: API latency buckets (seconds): a Describe on SQLite is well under a millisecond.
API_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)

#: (app type, status, count) for each combination present in the store.
AppCounts = Callable[[], Iterable[tuple[str, str, int]]]


class _AppsCollector:
    def __init__(self, count_apps: AppCounts):
        self._count_apps = count_apps

    def describe(self):
        return [GaugeMetricFamily("byoi_apps", "Apps in the store by type and state", labels=["app_type", "status"])]

    def collect(self):
        counts = {(t.value, s.value): 0 for t in AppType for s in AppStatus}
        for app_type, status, count in self._count_apps():
            counts[(app_type, status)] = count
        family = GaugeMetricFamily("byoi_apps", "Apps in the store by type and state", labels=["app_type", "status"])
        for (app_type, status), count in sorted(counts.items()):
            family.add_metric([app_type, status], count)
        yield family


class Metrics:
    def __init__(self, count_apps: AppCounts | None = None):
        self.registry = CollectorRegistry()
        ProcessCollector(registry=self.registry)
        if count_apps is not None:
            self.registry.register(_AppsCollector(count_apps))
        self._start = Histogram(
            "byoi_app_start_seconds",
            "Time from CreateApp to InService",
            ["app_type"],
            buckets=START_BUCKETS,
            registry=self.registry,
        )
        self._api = Histogram(
            "byoi_api_request_seconds",
            "API call latency by operation",
            ["service", "operation"],
            buckets=API_BUCKETS,
            registry=self.registry,
        )
        self._errors = Counter(
            "byoi_api_errors",
            "API calls that failed, by operation and AWS error code",
            ["service", "operation", "code"],
            registry=self.registry,
        )
        self._open = Gauge(
            "byoi_gateway_open",
            "Gateway connections to apps open now (http: requests in flight)",
            ["kind"],
            registry=self.registry,
        )
        self._gateway = Counter("byoi_gateway", "Gateway connections to apps made", ["kind"], registry=self.registry)
        for kind in ("http", "websocket"):
            self._open.labels(kind)
            self._gateway.labels(kind)

    def app_started(self, app_type: str, seconds: float) -> None:
        self._start.labels(app_type).observe(max(seconds, 0.0))

    def api_call(self, service: str, operation: str, seconds: float, error_code: str | None) -> None:
        self._api.labels(service, operation).observe(seconds)
        if error_code is not None:
            self._errors.labels(service, operation, error_code).inc()

    def gateway_opened(self, kind: str) -> Callable[[], None]:
        """Count a connection of ``kind`` open; call what it returns (once) when it closes."""
        self._gateway.labels(kind).inc()
        gauge = self._open.labels(kind)
        gauge.inc()
        closed = False

        def close() -> None:
            nonlocal closed
            if not closed:
                closed = True
                gauge.dec()

        return close

    def exposition(self) -> tuple[bytes, str]:
        """The registry in Prometheus' text format, and its content type."""
        return generate_latest(self.registry), CONTENT_TYPE_LATEST
