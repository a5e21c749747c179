"""Prometheus metrics (SPEC X-6).

Request counters and latency are kept in-process. Figures that live in the database (job
queue depth, messages by status) are read at scrape time from sources that other apps
register here, so `core` needs to know nothing of them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

REGISTRY = CollectorRegistry(auto_describe=True)

REQUESTS = Counter(
    "kabinet_http_requests",
    "HTTP requests by method, route and status",
    ["method", "route", "status"],
    registry=REGISTRY,
)
LATENCY = Histogram(
    "kabinet_http_request_duration_seconds",
    "HTTP request latency by route",
    ["route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
    registry=REGISTRY,
)

# name → (help, function returning {label value: number}, label name)
GaugeSource = tuple[str, Callable[[], dict[str, float]], str]
_gauge_sources: dict[str, GaugeSource] = {}


def register_gauge(name: str, help_text: str, label: str, read: Callable[[], dict[str, float]]):
    """Register a gauge read at scrape time, e.g. messages by status."""
    _gauge_sources[name] = (help_text, read, label)


class _DatabaseGauges(Collector):
    def collect(self) -> Iterable[GaugeMetricFamily]:
        for name, (help_text, read, label) in sorted(_gauge_sources.items()):
            family = GaugeMetricFamily(name, help_text, labels=[label])
            for value_label, value in sorted(read().items()):
                family.add_metric([value_label], value)
            yield family


REGISTRY.register(_DatabaseGauges())


def render() -> bytes:
    return generate_latest(REGISTRY)
