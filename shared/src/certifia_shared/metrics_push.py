"""The service's Prometheus metrics, pushed to the OpenTelemetry collector over OTLP as well.

Every service serves its metrics on ``/metrics`` (``certifia_shared.metrics``, prometheus_client). Where the
service sends its traces to a collector (``OTEL_EXPORTER_OTLP_ENDPOINT``: compose's Jaeger v2, a distribution
with no prometheus receiver, so it cannot scrape them), the same samples go there too, every
``interval_s``: one OTLP instrument per sample name (``certifia_http_requests_total``, ...), its labels as
attributes; counters stay cumulative counters, everything else (gauges, histogram buckets, sums and counts)
is read as a gauge. The collector serves them with the span metrics (compose: ``127.0.0.1:8889``).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable
from typing import Any

from opentelemetry.metrics import CallbackOptions, Meter, Observation
from prometheus_client import REGISTRY, CollectorRegistry

log = logging.getLogger(__name__)


def _samples(registry: CollectorRegistry, name: str) -> list[Observation]:
    return [
        Observation(sample.value, dict(sample.labels))
        for family in registry.collect()
        for sample in family.samples
        if sample.name == name
    ]


_SUFFIXES = {
    "counter": ("_total",),
    "histogram": ("_bucket", "_sum", "_count"),
    "summary": ("_sum", "_count"),
}


def _sample_names(family: Any) -> set[str]:
    """The sample names a family has or will have (a labelled metric has no sample before its first use);
    never prometheus_client's ``_created`` timestamps."""
    names = {f"{family.name}{suffix}" for suffix in _SUFFIXES.get(family.type, ("",))}
    names |= {s.name for s in family.samples}
    return {n for n in names if not n.endswith("_created")}


class PrometheusBridge:
    """Observable OTel instruments over a prometheus_client registry; :meth:`sync` adds one per sample name
    not seen yet (metrics a module registers after start-up come in at the next sync)."""

    def __init__(self, meter: Meter, registry: CollectorRegistry = REGISTRY) -> None:
        self.meter = meter
        self.registry = registry
        self.names: set[str] = set()
        self._lock = threading.Lock()

    def sync(self) -> int:
        """Register the sample names not yet bridged; returns how many there are in all."""
        with self._lock:
            for family in self.registry.collect():
                for name in _sample_names(family):
                    if name not in self.names:
                        self.names.add(name)
                        self._register(family.type, family.documentation, name)
            return len(self.names)

    def _register(self, kind: str, description: str, name: str) -> None:
        def observe(_options: CallbackOptions, name: str = name) -> Iterable[Observation]:
            return _samples(self.registry, name)

        if kind == "counter" and name.endswith("_total"):
            self.meter.create_observable_counter(name, callbacks=[observe], description=description)
        else:
            self.meter.create_observable_gauge(name, callbacks=[observe], description=description)


def start_push(
    service: str, otlp_endpoint: str, *, interval_s: float = 10.0, resource: Any = None
) -> PrometheusBridge:
    """Push this process's Prometheus metrics to ``otlp_endpoint`` (OTLP/HTTP) every ``interval_s``."""
    from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
    from opentelemetry.sdk.resources import Resource

    reader = PeriodicExportingMetricReader(
        OTLPMetricExporter(endpoint=otlp_endpoint.rstrip("/") + "/v1/metrics"),
        export_interval_millis=int(interval_s * 1000),
    )
    provider = MeterProvider(
        resource=resource or Resource.create({"service.name": service}), metric_readers=[reader]
    )
    bridge = PrometheusBridge(provider.get_meter("certifia.prometheus"))
    bridge.sync()

    def keep_in_sync() -> None:  # late registrations (a worker's metrics) join within a minute
        while True:
            time.sleep(60.0)
            try:
                bridge.sync()
            except Exception:  # never let metrics take the service down
                log.exception("bridging the Prometheus metrics to OTLP failed")

    threading.Thread(target=keep_in_sync, name="metrics push sync", daemon=True).start()
    return bridge
