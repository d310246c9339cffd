"""Prometheus metrics every service exposes on /metrics."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

HTTP_REQUESTS = Counter(
    "certifia_http_requests_total", "HTTP requests", ["service", "method", "route", "status"]
)
HTTP_LATENCY = Histogram(
    "certifia_http_request_seconds", "HTTP request latency", ["service", "method", "route"]
)
EVENTS_PUBLISHED = Counter(
    "certifia_events_published_total", "Events published by the relay", ["service", "type"]
)
EVENTS_CONSUMED = Counter("certifia_events_consumed_total", "Events consumed", ["service", "type", "outcome"])
DEAD_LETTERS = Counter(
    "certifia_dead_letters_total", "Records sent to a dead-letter topic", ["service", "topic"]
)
# the gauges' multiprocess_mode says how /metrics combines the WEB_WORKERS processes' values (ignored
# with one): the outbox is one table every worker counts (the highest), the lag is per partition and
# each worker holds its own partitions (their sum)
OUTBOX_PENDING = Gauge(
    "certifia_outbox_pending", "Outbox rows not yet published", ["service"], multiprocess_mode="livemax"
)
OUTBOX_PRUNED = Counter(
    "certifia_outbox_pruned_total", "Published outbox rows deleted once past their retention", ["service"]
)
EVENTS_UNHANDLED = Counter(
    "certifia_events_unhandled_total",
    "Records of a type the consumer does not handle: ignored on purpose, or dead-lettered as unsupported",
    ["service", "topic", "type", "outcome"],
)
CONSUMER_LAG = Gauge(
    "certifia_consumer_lag",
    "Records on the consumer's partitions not yet consumed",
    ["service", "group", "topic"],
    multiprocess_mode="livesum",
)
HTTP_UNHANDLED_ERRORS = Counter(
    "certifia_http_unhandled_errors_total",
    "Requests that ended in an unhandled exception (answered 500, logged with a correlation id)",
    ["service", "method", "route", "exception"],
)
