"""The services' Prometheus metrics reach the OpenTelemetry collector too (issue 14, item 5): compose's
collector (Jaeger v2) has no prometheus receiver to scrape /metrics, so each service pushes the same samples
over OTLP. Measured before: the collector held span-derived metrics only, no consumer lag, no 5xx count."""

from __future__ import annotations

from typing import Any

from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from certifia_shared.metrics_push import PrometheusBridge


def points(reader: InMemoryMetricReader) -> dict[str, list[tuple[dict[str, Any], float]]]:
    data = reader.get_metrics_data()
    assert data is not None
    out: dict[str, list[tuple[dict[str, Any], float]]] = {}
    for resource in data.resource_metrics:
        for scope in resource.scope_metrics:
            for metric in scope.metrics:
                out[metric.name] = [(dict(p.attributes or {}), p.value) for p in metric.data.data_points]  # type: ignore[union-attr]
    return out


def test_counters_gauges_and_histograms_are_pushed_with_their_labels() -> None:
    registry = CollectorRegistry()
    requests = Counter(
        "certifia_http_requests_total", "HTTP requests", ["service", "status"], registry=registry
    )
    lag = Gauge("certifia_consumer_lag", "lag", ["service"], registry=registry)
    latency = Histogram("certifia_http_request_seconds", "latency", ["service"], registry=registry)
    reader = InMemoryMetricReader()
    bridge = PrometheusBridge(MeterProvider(metric_readers=[reader]).get_meter("t"), registry)

    # registered before any sample exists (a labelled metric has none before its first use)
    assert bridge.sync() == 5
    requests.labels("enrolment", "500").inc(3)
    lag.labels("assessment").set(12)
    latency.labels("thesis").observe(0.2)

    got = points(reader)
    assert got["certifia_http_requests_total"] == [({"service": "enrolment", "status": "500"}, 3.0)]
    assert got["certifia_consumer_lag"] == [({"service": "assessment"}, 12.0)]
    assert ({"service": "thesis"}, 1.0) in got["certifia_http_request_seconds_count"]
    assert any(a.get("le") == "0.25" and v == 1.0 for a, v in got["certifia_http_request_seconds_bucket"])
    assert not any(name.endswith("_created") for name in got)


def test_a_metric_registered_later_joins_at_the_next_sync() -> None:
    registry = CollectorRegistry()
    reader = InMemoryMetricReader()
    bridge = PrometheusBridge(MeterProvider(metric_readers=[reader]).get_meter("t"), registry)
    assert bridge.sync() == 0
    Counter("certifia_webhook_deliveries_total", "webhooks", ["outcome"], registry=registry).labels(
        "sent"
    ).inc()
    assert bridge.sync() == 1 and bridge.sync() == 1  # once each
    assert points(reader)["certifia_webhook_deliveries_total"] == [({"outcome": "sent"}, 1.0)]
