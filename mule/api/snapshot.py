"""A read-only picture of the node for the API: copied out of the node at most once per ``SNAPSHOT_EVERY``.

Every endpoint, the event stream and the metrics read this picture, never the node's live objects, so
however hard a client polls, the node's own work costs the same: one copy per interval of the node's
clock, whatever the request rate. The copy holds plain values only; nothing in it can reach back.
"""

from __future__ import annotations

from array import array
from dataclasses import asdict, dataclass, fields
from typing import Protocol

import numpy as np

from mule.cli.progress import short_b32
from mule.clock import Clock
from mule.contract import Profile
from mule.node.service import NodeStatus
from mule.routing import RoutingTable
from mule.shaper import Counters, Outcome, Release, Shaper
from mule.transport.release import ReleaseStatus

SNAPSHOT_EVERY = 0.5
"""Seconds of the node's clock a snapshot is served before the next copy."""
HISTOGRAM_BIN = 0.05
"""Seconds per bin of the delay histogram."""
LATENESS_BINS = 40
LATENESS_QUANTILES = (0.5, 0.9, 0.99)


class NodeView(Protocol):
    """What a snapshot reads from a ``NodeService``."""

    kad_id: int
    shaper: Shaper

    @property
    def local_destination(self) -> bytes: ...

    @property
    def table(self) -> RoutingTable: ...

    def status(self) -> NodeStatus: ...

    def release_status(self) -> ReleaseStatus | None: ...


@dataclass(frozen=True, slots=True)
class ZoneView:
    level: int
    index: int
    prefix: str
    contacts: int
    verified: int


@dataclass(frozen=True, slots=True)
class ContactView:
    kad_id: str
    destination: str
    """Shortened b32 address: enough to recognise a peer, not to copy it."""
    version: int
    type: int
    verified: bool
    last_seen_ago: float


@dataclass(frozen=True, slots=True)
class Histogram:
    edges: tuple[float, ...]
    counts: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class ShaperView:
    profile: str
    delay_base: float
    delay_jitter: float
    deadline_slack: float
    queued_messages: int
    queued_bytes: int
    submitted: int
    sent: int
    capped: int
    congested: int
    expired: int
    overflowed: int
    admitted: int
    unknown: int
    over_cap: int
    generic_failures: int
    observer_faults: int
    """Release observers (this API's delay watch among them) that raised; contained, releases went on."""
    lateness_count: int
    lateness_max: float
    lateness_quantiles: dict[str, float]
    """``{"0.5": seconds, ...}`` over the shaper's retained samples."""
    lateness: Histogram
    delay: Histogram
    """Submit-to-hand-off seconds of every message sent since the API started watching."""
    release: ReleaseStatus | None
    """The transport's release thread, which puts each datagram on the wire at its instant (None: it has none, and
    the hand-off lateness above is the wire's)."""


_COUNTERS = tuple(f.name for f in fields(ShaperView) if f.name in {c.name for c in fields(Counters)})
"""The shaper's counters the view carries, copied by name."""


@dataclass(frozen=True, slots=True)
class Snapshot:
    taken_at: float
    kad_id: str
    destination: str
    status: NodeStatus
    zones: tuple[ZoneView, ...]
    contacts: tuple[ContactView, ...]
    shaper: ShaperView

    def status_json(self) -> dict[str, object]:
        status = asdict(self.status)
        status["kad_id"] = self.kad_id
        return {"taken_at": self.taken_at, "destination": self.destination, **status}


class DelayWatch:
    """Counts each sent message's submit-to-hand-off delay into fixed bins, O(1) per release, fixed memory."""

    __slots__ = ("_bins", "_counts")

    def __init__(self, profile: Profile) -> None:
        self._bins = int(np.ceil(profile.max_delay / HISTOGRAM_BIN))
        self._counts = array("q", bytes(8 * self._bins))

    def __call__(self, release: Release) -> None:
        if release.outcome is Outcome.SENT and release.message is not None:
            delay = release.actual - release.message.enqueued_at
            self._counts[min(max(int(delay / HISTOGRAM_BIN), 0), self._bins - 1)] += 1

    def histogram(self) -> Histogram:
        return Histogram(tuple(round(i * HISTOGRAM_BIN, 6) for i in range(self._bins + 1)), tuple(self._counts))


class Snapshots:
    """The current snapshot of one node, copied again only when the last is ``SNAPSHOT_EVERY`` old."""

    __slots__ = ("_clock", "_delays", "_last", "_node", "_unwatch")

    def __init__(self, node: NodeView, clock: Clock) -> None:
        self._node = node
        self._clock = clock
        self._delays = DelayWatch(node.shaper.profile)
        self._unwatch = node.shaper.add_release_observer(self._delays)
        self._last: Snapshot | None = None

    def close(self) -> None:
        """Stop watching the shaper's releases (the API stops; the node may go on)."""
        self._unwatch()

    def current(self) -> Snapshot:
        now = self._clock.now()
        last = self._last
        if last is None or now - last.taken_at >= SNAPSHOT_EVERY or now < last.taken_at:
            last = self._last = self._take(now)
        return last

    def _take(self, now: float) -> Snapshot:
        node = self._node
        status = node.status()
        try:
            table = node.table
        except AssertionError:  # not started yet: an empty table
            zones: tuple[ZoneView, ...] = ()
            contacts: tuple[ContactView, ...] = ()
        else:
            zones = tuple(ZoneView(z.level, z.index, z.prefix, z.contacts, z.verified) for z in table.zones())
            contacts = tuple(
                ContactView(
                    f"{c.kad_id:032x}", short_b32(c.destination), c.version, c.type, c.verified, now - c.last_seen
                )
                for c in table.contacts()
            )
        return Snapshot(
            taken_at=now,
            kad_id=f"{node.kad_id:032x}",
            destination=short_b32(node.local_destination),
            status=status,
            zones=zones,
            contacts=contacts,
            shaper=self._shaper_view(node.shaper, node.release_status()),
        )

    def _shaper_view(self, shaper: Shaper, release: ReleaseStatus | None) -> ShaperView:
        profile = shaper.profile
        counters = shaper.counters
        samples = shaper.lateness.samples()
        quantiles = np.quantile(samples, LATENESS_QUANTILES) if samples.size else np.zeros(len(LATENESS_QUANTILES))
        top = max(profile.deadline_slack, float(samples.max()) if samples.size else 0.0)
        counts, edges = np.histogram(samples, bins=LATENESS_BINS, range=(0.0, top))
        return ShaperView(
            profile=profile.version,
            delay_base=profile.delay.base,
            delay_jitter=profile.delay.jitter,
            deadline_slack=profile.deadline_slack,
            queued_messages=shaper.queued_messages,
            queued_bytes=shaper.queued_bytes,
            **{name: getattr(counters, name) for name in _COUNTERS},
            observer_faults=shaper.observer_faults,
            lateness_count=shaper.lateness.count,
            lateness_max=shaper.lateness.max_seen,
            lateness_quantiles={str(q): float(v) for q, v in zip(LATENESS_QUANTILES, quantiles, strict=True)},
            lateness=Histogram(tuple(float(e) for e in edges), tuple(int(c) for c in counts)),
            delay=self._delays.histogram(),
            release=release,
        )
