"""The release thread: where a transport that owns a UDP socket puts each datagram on it at the shaper's instant.

On the real clock the event loop cannot hand off at an instant of its own choosing: its wake-up goes through the
kernel's scheduler, and how late that is depends on the host (a halted vCPU waits for the hypervisor, a busy core
for the scheduler's tick), so an observer could tell an idle host from a loaded one by the hand-offs alone
(docs/contract.md, "Release thread"). The shaper therefore hands a datagram over ``LEAD`` seconds before its
instant, and this thread (the core's ``ReleaseQueue``: compiled, it runs without the GIL) wakes ``SPIN`` seconds
before the instant and spins to it. Where the OS allows it the thread runs under SCHED_FIFO, so no ordinary process
can delay it (the queue's ``run`` takes it with ``mule.node.priority.take_release_priority``, which never asks for a
privilege). ``ReleaseThread.status`` says how it fares: the node's status and API show it.

The thread changes when a datagram leaves, never whether or in which order: the shaper has already applied the caps,
the deadline and the shuffle, and it is still the only sender (the queue is reached only through a transport's
``_send_datagram``).
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

from mule._core import ReleaseQueue
from mule.node.priority import RELEASE_PRIORITY
from mule.quantile import quantiles

LEAD = 0.003
"""Seconds before its instant the shaper hands a datagram to the release thread: several times the event loop's
usual wake-up lateness (p99 about 1 ms here under load), so the loop's own lateness never reaches the wire."""
SPIN = 0.0003
"""Seconds the thread spins before an instant instead of sleeping: longer than a halted vCPU's usual wake-up
(about 0.1 ms), short enough that spinning costs under 3 % of a core at the global send cap (100 a second)."""
GAP = 0.00005
"""The least time between two sends. Instants closer than a send takes would otherwise leave back to back, as far
apart as this host's cost of a send (2 µs compiled, 8 µs pure here), which is its speed; 50 µs is well above any
host's, and instants that close are rare (at 100 datagrams a second, 0.5 % of gaps)."""

_log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ReleaseStatus:
    """How the release thread fares: what an operator checks when an observer could read the host's timing."""

    realtime: bool
    """Whether it runs under SCHED_FIFO (else an ordinary process on a busy core can delay its sends)."""
    refused: int
    """Datagrams the kernel refused (a full socket buffer, a closed socket): lost, as I2P may lose any."""
    samples: int
    """Recent sends the lateness figures are taken over (up to 1,024)."""
    lateness_p50: float
    lateness_p99: float
    lateness_max: float
    """How late those sends began after their instants, in seconds (a push to keep ``GAP`` counts too)."""


class ReleaseThread:
    """A ``ReleaseQueue`` and the thread that serves it; ``record`` keeps each datagram's hand-off instant."""

    __slots__ = ("_started", "_thread", "queue")

    def __init__(self, *, record: bool = False) -> None:
        self.queue = ReleaseQueue(SPIN, 1024, record, GAP, True)
        self._started = threading.Event()
        self._thread = threading.Thread(target=self._run, name="mule-release", daemon=True)

    @classmethod
    def started(cls, *, record: bool = False) -> ReleaseThread:
        """A new release thread, running. This blocks (the pure twin starts a helper process, up to seconds on a
        loaded host): an event loop runs it in a worker thread."""
        thread = cls(record=record)
        thread.start()
        return thread

    def start(self) -> None:
        self._thread.start()
        self._started.wait()
        if self.realtime:
            _log.info("release thread runs under SCHED_FIFO priority %d", RELEASE_PRIORITY)
        else:
            _log.info("release thread runs at the process's priority (SCHED_FIFO not allowed here)")

    @property
    def realtime(self) -> bool:
        """Whether the sending runs under SCHED_FIFO (known once ``start`` returns)."""
        return bool(self.queue.realtime)

    def status(self) -> ReleaseStatus:
        late = self.queue.lateness_samples()
        p50, p99, most = quantiles(late, (0.5, 0.99, 1.0))
        return ReleaseStatus(
            realtime=self.realtime,
            refused=self.queue.failed,
            samples=len(late),
            lateness_p50=p50,
            lateness_p99=p99,
            lateness_max=most,
        )

    def close(self, timeout: float = 1.0) -> None:
        """Send what is queued at its instants (at most ``LEAD`` away), then end the thread."""
        self.queue.close()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def _run(self) -> None:
        try:
            self.queue.run(self._started.set)  # takes SCHED_FIFO where allowed, else keeps the priority mule run took
        finally:
            self._started.set()  # a queue that failed to run never leaves ``start`` waiting
