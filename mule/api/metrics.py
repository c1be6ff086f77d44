"""``/metrics``: the status and shaper figures in Prometheus text format, read from the same snapshot.

A collector of our own (not prometheus-client's global registry) turns the snapshot into metric families
at scrape time, so a scrape costs what an API request costs and nothing is counted twice.
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

from mule.api.adapters import IndexStats
from mule.api.snapshot import Snapshots

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

_STATUS_GAUGES = (
    ("contacts", "Contacts in the routing table"),
    ("verified", "Contacts whose destination was proven by a handshake"),
    ("seeds", "Seed contacts kept for bootstrapping"),
    ("queued", "Messages waiting in the shaper's delay queue"),
)
_STATUS_COUNTERS = (
    ("sent", "Datagrams handed to the transport"),
    ("admitted", "Inbound datagrams admitted for processing"),
    ("dropped_inputs", "Inbound datagrams dropped (unknown, over cap or malformed)"),
    ("faults", "Internal errors caught and survived"),
)
_SHAPER_COUNTERS = (
    ("submitted", "Messages submitted to the shaper"),
    ("capped", "Messages dropped at release because a cap was full"),
    ("congested", "Messages dropped as congestion (transport refusal or missed deadline)"),
    ("expired", "Messages dropped for missing their hand-off deadline"),
    ("overflowed", "Messages refused by a full delay queue"),
    ("unknown", "Inbound datagrams with an unknown opcode"),
    ("over_cap", "Inbound requests over their per-peer flood limit"),
    ("generic_failures", "Malformed inbound datagrams"),
    ("observer_faults", "Release observers that raised (contained: releases went on)"),
)


class SnapshotCollector(Collector):
    def __init__(self, snapshots: Snapshots, index: IndexStats | None) -> None:
        self._snapshots = snapshots
        self._index = index

    def collect(self) -> Iterator[Metric]:
        snapshot = self._snapshots.current()
        status = snapshot.status
        for name, text in _STATUS_GAUGES:
            yield GaugeMetricFamily(f"mule_{name}", text, value=getattr(status, name))
        for name, text in _STATUS_COUNTERS:
            yield CounterMetricFamily(f"mule_{name}", text, value=getattr(status, name))
        shaper = snapshot.shaper
        for name, text in _SHAPER_COUNTERS:
            yield CounterMetricFamily(f"mule_shaper_{name}", text, value=getattr(shaper, name))
        yield GaugeMetricFamily(
            "mule_shaper_queued_bytes", "Bytes waiting in the delay queue", value=shaper.queued_bytes
        )
        lateness = GaugeMetricFamily(
            "mule_shaper_lateness_seconds", "Hand-off lateness quantiles over retained samples", labels=["quantile"]
        )
        for quantile, value in shaper.lateness_quantiles.items():
            lateness.add_metric([quantile], value)
        yield lateness
        yield GaugeMetricFamily("mule_shaper_lateness_max_seconds", "Largest lateness seen", value=shaper.lateness_max)
        yield _histogram(
            "mule_shaper_delay_seconds",
            "Submit-to-hand-off delay of sent messages",
            shaper.delay.edges,
            shaper.delay.counts,
        )
        release = shaper.release
        if release is not None:
            yield GaugeMetricFamily(
                "mule_release_realtime", "1 if the release thread runs under SCHED_FIFO", value=int(release.realtime)
            )
            yield CounterMetricFamily(
                "mule_release_refused", "Datagrams the kernel refused at their instant", value=release.refused
            )
            late = GaugeMetricFamily(
                "mule_release_lateness_seconds",
                "How late the release thread's recent sends began after their instants",
                labels=["quantile"],
            )
            late.add_metric(["0.5"], release.lateness_p50)
            late.add_metric(["0.99"], release.lateness_p99)
            late.add_metric(["1"], release.lateness_max)
            yield late
        zones = GaugeMetricFamily("mule_zone_contacts", "Contacts per routing zone (leaf)", labels=["zone"])
        for zone in snapshot.zones:
            zones.add_metric([f"{zone.level}:{zone.prefix}"], zone.contacts)
        yield zones
        if self._index is not None:
            figures = self._index.figures()
            index = GaugeMetricFamily("mule_index_entries", "Local index entries by kind", labels=["kind"])
            for kind in ("keyword", "source", "note"):
                index.add_metric([kind], getattr(figures, f"{kind}_entries"))
            yield index
            yield GaugeMetricFamily("mule_index_bytes", "Memory held by the local index", value=figures.bytes)


def _histogram(name: str, text: str, edges: tuple[float, ...], counts: tuple[int, ...]) -> HistogramMetricFamily:
    buckets = []
    total = 0
    for upper, count in zip(edges[1:], counts, strict=True):
        total += count
        buckets.append((repr(upper), total))
    buckets.append(("+Inf", total))
    # The sum is estimated from bin midpoints: the watch keeps bins, not every delay.
    estimate = sum((lo + hi) / 2 * c for lo, hi, c in zip(edges, edges[1:], counts, strict=False))
    return HistogramMetricFamily(name, text, buckets=buckets, sum_value=estimate)


def metrics_registry(snapshots: Snapshots, index: IndexStats | None) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(SnapshotCollector(snapshots, index))
    return registry
