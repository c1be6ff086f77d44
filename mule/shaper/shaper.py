"""The shaper: the only way bytes leave a mule node, and the gate every inbound datagram passes.

It owns the transport's send function (claimed at construction, so nobody else can
hold it), binds the sans-IO delay queue, caps and gate to a ``Clock``, and hands each
message off at its own release instant (several due at once leave in shuffled order).
Release instants are anchored at the receipt of the
datagram that caused the message (``submit(..., received=)``), so the node's own work time
never shows. A transport with a release thread (``Transport.release_lead``) gets each message
that long before its instant and puts it on the wire at the instant itself; for any other, a
wake-up the clock finds late (``Clock.retry_at``) is not used for a hand-off: the message goes
back in the queue for a dithered instant, so hand-offs carry no phase of the host's scheduler.
At release a message is sent, or silently dropped if it missed its deadline
(planned release + the profile's slack: never sent late), a cap is full or the transport
refuses it: all of these are congestion, never retried here and never answered
faster. The caller learns nothing from ``submit``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

from mule._core import JitterSampler
from mule._core.keystream import Keystream, substream_seed
from mule._core.shuffle import Shuffler
from mule.clock import Clock, Timer
from mule.contract import Kind
from mule.contract.profile import PROFILE_V2, Profile
from mule.shaper.caps import SlidingWindow
from mule.shaper.gate import InboundGate, Verdict
from mule.shaper.lateness import LatenessLog
from mule.shaper.queue import DelayQueue, Due, Message
from mule.shaper.sketch import RateSketch
from mule.transport.interface import Transport, TransportError

log = logging.getLogger(__name__)

RETRIES = 2
"""Late wake-ups refused per message at most; the next one is taken whatever its lateness (within the deadline).
A loop that is merely busy makes every wake-up late: refusing for ever would turn load into loss."""


class Outcome(Enum):
    SENT = "sent"
    CAPPED = "capped"
    """A cap was full at release time."""
    CONGESTED = "congested"
    """The transport refused it (down, unreachable, full)."""
    EXPIRED = "expired"
    """It could not be handed off by its deadline (the host was stalled): dropped as congestion, never sent late."""
    VOID = "void"
    """A queue overflow or a refused inbound input reaching the end of its delay."""


@dataclass(frozen=True, slots=True)
class Release:
    """One item leaving the queue, for observers (metrics, tests, benchmarks); never sent anywhere."""

    outcome: Outcome
    planned: float
    """When the shaper meant to hand it off (its release instant)."""
    actual: float
    """The clock when the shaper decided its outcome, just before handing it to the transport."""
    message: Message | None
    """``None`` for a void."""


ReleaseObserver = Callable[[Release], None]


class ReleaseObservers:
    """Every subscribed observer, called in subscription order for each release.

    An observer that raises is contained here: it is counted (and logged once), the others still see the release
    and the shaper goes on handing off, so no observer can stop, delay or reorder what leaves.
    """

    __slots__ = ("_callbacks", "faults")

    def __init__(self) -> None:
        self._callbacks: list[ReleaseObserver] = []
        self.faults = 0

    def __bool__(self) -> bool:
        return bool(self._callbacks)

    def add(self, callback: ReleaseObserver) -> Callable[[], None]:
        self._callbacks.append(callback)

        def unsubscribe() -> None:
            if callback in self._callbacks:
                self._callbacks.remove(callback)

        return unsubscribe

    def __call__(self, release: Release) -> None:
        for callback in tuple(self._callbacks):
            try:
                callback(release)
            except Exception:
                self.faults += 1
                if self.faults == 1:  # once: a broken observer fails on every release
                    log.exception("a release observer failed (contained; later faults only counted)")


@dataclass(slots=True)
class Counters:
    submitted: int = 0
    sent: int = 0
    capped: int = 0
    congested: int = 0
    """Dropped as congestion: refused by the transport, or expired (below)."""
    expired: int = 0
    """Past the deadline at hand-off (planned release + slack): dropped, never sent late."""
    overflowed: int = 0
    admitted: int = 0
    unknown: int = 0
    over_cap: int = 0
    generic_failures: int = 0
    """Malformed inputs: one generic failure count, never a reason on the wire."""


class Shaper:
    def __init__(
        self,
        transport: Transport,
        clock: Clock,
        profile: Profile = PROFILE_V2,
        *,
        seed: bytes | None = None,
        observer: ReleaseObserver | None = None,
    ) -> None:
        """``seed`` replays every random stream (tests only); ``observer`` sees each release (metrics, tests), as
        one added with ``add_release_observer`` would."""
        self._transport_send = transport.claim_sender()
        self._clock = clock
        self.profile = profile
        delay = JitterSampler(profile.delay.base, profile.delay.jitter, substream_seed(seed, b"delay"))
        self._queue = DelayQueue(profile, delay, Shuffler(substream_seed(seed, b"release-order")))
        self._retry = JitterSampler(profile.retry.base, profile.retry.jitter, substream_seed(seed, b"retry"))
        secrets = Keystream(substream_seed(seed, b"peer-sketches"))  # keys the sketches' hashes: no aimed collisions
        self._gate = InboundGate(profile, secrets.read(32))
        self._global = SlidingWindow(profile.global_send)
        self._responses = RateSketch(profile.sketch_width, profile.sketch_depth, secrets.read(32))
        self._lookups = SlidingWindow(profile.lookups)
        self._publishes = SlidingWindow(profile.publishes)
        self._observers = ReleaseObservers()
        self._observer: ReleaseObserver | None = None
        """What the release path calls: ``_observers`` while it has any, else ``None`` (nothing to build)."""
        if observer is not None:
            self.add_release_observer(observer)
        self._slack = profile.deadline_slack
        self.lateness = LatenessLog(profile.lateness_samples)
        self.counters = Counters()
        self._aims: dict[int, tuple[float, int]] = {}
        """Messages put back by the clock (``retry_at``: a late wake-up), by ``id`` -> (new aim, times refused)."""
        self._lead = transport.release_lead
        """Seconds before its instant each message goes to the transport. A transport with a release thread
        (``mule.transport.release``) puts it on the wire at the instant itself, so the loop's own wake-up lateness
        never shows; 0: the hand-off is the send, and late wake-ups are refused (``retry_at``)."""
        self._timer: Timer | None = None
        self._timer_at: float | None = None
        self._closed = False

    # --- outbound -------------------------------------------------------------------------------------------

    def submit(self, destination: bytes, payload: bytes, kind: Kind, *, received: float | None = None) -> None:
        """Queue one datagram. It leaves a draw of the delay law after its anchor, by its deadline, or not at all.

        The anchor is ``received``, when the datagram that caused this one was received (a reply's request), so
        however long the node took to get to it and work it out (a starved host, a full table) neither moves the
        release instant nor stretches the bound: it leaves by ``received`` + the profile's ``max_delay`` or never.
        Without a cause (upkeep, a user's lookup) the anchor is now.
        """
        self.counters.submitted += 1
        if self._closed:
            return
        if not self._queue.push(self._anchor(received), destination, payload, kind):
            self.counters.overflowed += 1
        self._arm()

    def _anchor(self, received: float | None) -> float:
        """Where a release is counted from: the cause's receipt, or now (never a receipt claimed in the future)."""
        now = self._clock.now()
        return now if received is None else min(received, now)

    def start_lookup(self) -> bool:
        """Whether a new lookup may start now (hard cap per window); ``False`` means do not start it."""
        return not self._closed and self._lookups.allow(self._clock.now())

    def start_publish(self) -> bool:
        return not self._closed and self._publishes.allow(self._clock.now())

    def retry_delay(self) -> float:
        """Seconds to wait before a retry (bootstrap, lookup jump-start): jittered, never immediate."""
        return self._retry.draw()

    def add_release_observer(self, callback: ReleaseObserver) -> Callable[[], None]:
        """Have ``callback`` see every later release at its hand-off (metrics, tests); returns its unsubscribe.

        Observers only watch: one that raises is counted in ``observer_faults``, never stops a release.
        """
        unsubscribe = self._observers.add(callback)
        self._observer = self._observers

        def remove() -> None:
            unsubscribe()
            self._observer = self._observers or None

        return remove

    @property
    def observer_faults(self) -> int:
        """Exceptions raised by release observers, each contained."""
        return self._observers.faults

    # --- inbound --------------------------------------------------------------------------------------------

    def admit(self, source: bytes, opcode: int | None, *, malformed: bool = False) -> bool:
        """Whether to process an inbound datagram. ``opcode``: its Kad2 opcode (Kad1: the Kad2 equivalent), or
        ``None`` if unknown; ``malformed`` if it did not parse. On ``False`` the input is already scheduled to
        wait the delay law and vanish: the caller must do nothing else with it (no reply, no log line per input).
        """
        if self._closed:
            return False
        now = self._clock.now()
        verdict = self._gate.check(now, source, opcode, malformed)
        if verdict is Verdict.ADMIT:
            self.counters.admitted += 1
            return True
        if verdict is Verdict.UNKNOWN:
            self.counters.unknown += 1
        elif verdict is Verdict.MALFORMED:
            self.counters.generic_failures += 1
        else:
            self.counters.over_cap += 1
        self._queue.push_void(now)
        self._arm()
        return False

    # --- state ----------------------------------------------------------------------------------------------

    @property
    def queued_messages(self) -> int:
        return self._queue.messages

    @property
    def queued_bytes(self) -> int:
        return self._queue.bytes

    @property
    def peer_state_bytes(self) -> int:
        """Memory held by the per-peer caps: fixed by the profile at construction, whatever the traffic."""
        return self._gate.memory_bytes + self._responses.memory_bytes

    def close(self) -> None:
        """Stop for good: whatever is still queued is dropped (as a congested network would), later input ignored."""
        self._closed = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = self._timer_at = None
        self._queue.clear()
        self._aims.clear()

    # --- release --------------------------------------------------------------------------------------------

    def _arm(self) -> None:
        due = self._queue.next_due()
        if due is None or (self._timer_at is not None and self._timer_at <= due):
            return
        if self._timer is not None:
            self._timer.cancel()
        self._timer_at = due
        self._timer = self._clock.call_at(due - self._lead, self._release_due)

    def _release_due(self) -> None:
        self._timer = self._timer_at = None
        try:
            self._release(self._queue.pop_due(self._clock.now() + self._lead))
        finally:
            # Even if a transport or observer raised something unexpected, later messages still leave on time.
            if not self._closed:
                self._arm()

    def _release(self, due: Due) -> None:
        clock = self._clock
        observer = self._observer
        aims = self._aims
        lead = self._lead
        for message in due.messages:
            now = clock.now()
            if lead:  # the release thread keeps the instant: no wake-up of the loop's shows on the wire
                now = max(now, message.planned)
            else:
                aim, refused = aims.pop(id(message), (message.planned, 0))
                if refused < RETRIES and now <= message.planned + self._slack:  # what is already lost is not retried
                    retry = clock.retry_at(aim)
                    if retry is not None:
                        aims[id(message)] = (retry, refused + 1)
                        self._queue.defer(message, retry)
                        continue
            outcome = self._hand_off(message, now)
            if outcome is not Outcome.CAPPED:
                self.lateness.record(message.planned, now)
            if observer is not None:
                observer(Release(outcome, message.planned, now, message))
        if observer is not None:
            now = clock.now()
            for planned, count in due.voids:
                for _ in range(count):
                    observer(Release(Outcome.VOID, planned, now, None))

    def _hand_off(self, message: Message, at: float) -> Outcome:
        """Send ``message`` at instant ``at``: now, or its planned instant when a release thread keeps it."""
        # The deadline first: a message the host could not release in time is gone, whatever the caps say.
        if at > message.planned + self._slack:
            self.counters.congested += 1
            self.counters.expired += 1
            return Outcome.EXPIRED
        # The global cap is checked before the per-peer one is charged, and charged after it passes, so a
        # message refused by one cap never uses up the other.
        if not self._global.has_room(at) or (
            message.kind is Kind.RESPONSE
            and not self._responses.allow(message.destination, at, self.profile.responses_per_peer)
        ):
            self.counters.capped += 1
            return Outcome.CAPPED
        self._global.allow(at)
        try:
            self._transport_send(message.destination, message.payload, at)
        except TransportError:
            self.counters.congested += 1
            return Outcome.CONGESTED
        self.counters.sent += 1
        return Outcome.SENT
