"""The lookup manager, sans-IO: slots, queues, cover lookups and the running lookups, inside the node core.

Lookups start only at the instants of the profile's lookup slots (publishes at its publish slots): a
renewal process, each gap a fresh draw from the moment of firing. Each slot's kind is dealt from a
shuffled deck of fixed make-up. The slot carries the oldest pending user lookup of that kind (a node
slot first carries the self lookup when it is due, which every node does on the same schedule), else
a cover lookup of that kind, built to look the same on the wire. So the number, the instants and the
kinds of lookups a node starts do not depend on what its user asks, and a user lookup never jumps the
queue. The shaper's per-window caps (``start_lookup``, ``start_publish``) still apply: a refused slot
is lost, for cover and user alike.

Time is cheap to ask: ``next_deadline`` and ``tick`` read a heap of the running lookups' next steps (stale
entries are dropped when they reach its top), so the core, which asks for its next deadline after every
datagram, pays O(log n) per step of a lookup, not a scan of every running lookup.
"""

from __future__ import annotations

import heapq
import itertools
from collections import deque
from collections.abc import Callable

from mule._core import JitterSampler
from mule._core.keystream import substream_seed
from mule._core.shuffle import Shuffler
from mule.contract import Kind, Profile, SlotPlan
from mule.kad import kad1, messages
from mule.kad.contact import Contact
from mule.lookup.cover import CoverSpecs
from mule.lookup.handle import LookupHandle, State
from mule.lookup.kinds import (
    LOAD_BACKOFF_ABOVE,
    LOAD_BACKOFF_WEEK,
    REPUBLISH,
    SELF_LOOKUP_EVERY,
    SELF_LOOKUP_FIRST,
    LookupKind,
)
from mule.lookup.requests import Spec
from mule.lookup.results import Result
from mule.lookup.search import Lookup
from mule.node.inbound import Inbound
from mule.node.outbound import Outbound, OwnContact
from mule.routing import RoutingTable

FINISHED_KEPT = 256  # finished user handles listed by ``handles()`` (the oldest are forgotten)
PUBLISH_ACK_REQUESTED = 0x01  # PUBLISH_RES options bit: "send me PUBLISH_RES_ACK"

Allow = Callable[[], bool]


class _Slots:
    """One renewal process of slots and its deck of kinds."""

    __slots__ = ("_deck", "_interval", "_mix", "_shuffler", "next_at")

    def __init__(self, plan: SlotPlan, now: float, seed: bytes | None, label: bytes) -> None:
        self._interval = JitterSampler(plan.interval.base, plan.interval.jitter, substream_seed(seed, label))
        self._shuffler = Shuffler(substream_seed(seed, label + b"-deck"))
        self._mix = plan.deck
        self._deck: list[LookupKind] = []
        self.next_at = now + self._interval.draw()

    def fire(self, now: float) -> LookupKind | None:
        """The kind of the slot that has fallen due by ``now``, if any; the next slot is a fresh draw from now on."""
        if now < self.next_at:
            return None
        self.next_at = now + self._interval.draw()
        if not self._deck:
            self._deck = self._shuffler.shuffled(LookupKind(kind) for kind, cards in self._mix for _ in range(cards))
        return self._deck.pop()


class _Run:
    __slots__ = ("handle", "lookup", "order")

    def __init__(self, lookup: Lookup, handle: LookupHandle | None, order: int) -> None:
        self.lookup = lookup
        self.handle = handle
        self.order = order
        """When it started, among all runs: lookups due together step in this order (that of ``_running``)."""


class LookupManager:
    def __init__(
        self,
        me: OwnContact,
        table: RoutingTable,
        profile: Profile,
        now: float,
        *,
        randbytes: Callable[[int], bytes],
        seed: bytes | None = None,
        start_lookup: Allow | None = None,
        start_publish: Allow | None = None,
    ) -> None:
        self._me = me
        self._table = table
        self._lookup_slots = None if profile.lookup_slots is None else _Slots(profile.lookup_slots, now, seed, b"slots")
        self._publish_slots = (
            None if profile.publish_slots is None else _Slots(profile.publish_slots, now, seed, b"publish-slots")
        )
        self._steps = JitterSampler(profile.retry.base, profile.retry.jitter, substream_seed(seed, b"lookup-steps"))
        self._cover = CoverSpecs(Shuffler(substream_seed(seed, b"cover")), randbytes)
        self._start_lookup = start_lookup or (lambda: True)
        self._start_publish = start_publish or (lambda: True)
        self._pending: dict[LookupKind, deque[LookupHandle]] = {kind: deque() for kind in LookupKind}
        self._running: dict[int, _Run] = {}
        self._steps_due: list[tuple[float, int, _Run]] = []
        """A heap of (next step, push number, run); an entry whose run ended or moved on is stale."""
        self._pushes = itertools.count()
        self._orders = itertools.count()
        self._finished: deque[LookupHandle] = deque(maxlen=FINISHED_KEPT)
        self._ids = itertools.count(1)
        self._self_due = now + SELF_LOOKUP_FIRST
        self._backoff: dict[int, float] = {}  # keyword -> no store there before (iMule's load_index)
        self.publish_ready = False
        """iMule publishes only after a self lookup got an answer (``SetPublish``); until then publish slots
        carry cover publishes."""
        self.draining = False
        self.started: dict[LookupKind, int] = dict.fromkeys(LookupKind, 0)
        self.covers: dict[LookupKind, int] = dict.fromkeys(LookupKind, 0)
        self.refused_slots = 0

    # --- the user's side ------------------------------------------------------------------------------------------

    def submit(self, spec: Spec) -> LookupHandle:
        handle = LookupHandle(next(self._ids), spec, self._cancel)
        self._pending[spec.kind].append(handle)
        return handle

    def handles(self) -> list[LookupHandle]:
        """Queued, running and recently finished user lookups, oldest first."""
        live = [h for queue in self._pending.values() for h in queue]
        live += [run.handle for run in self._running.values() if run.handle is not None]
        return sorted({h.id: h for h in (*self._finished, *live)}.values(), key=lambda h: h.id)

    def _cancel(self, handle: LookupHandle) -> None:
        queue = self._pending[handle.kind]
        if handle in queue:
            queue.remove(handle)
        handle.finish(State.CANCELLED)
        self._finished.append(handle)

    def drain(self) -> None:
        """Start nothing more (a graceful stop); running lookups go on and their answers are still taken."""
        self.draining = True

    # --- time -----------------------------------------------------------------------------------------------------

    @property
    def next_deadline(self) -> float:
        due = self._steps_due
        while due and not self._current(due[0]):
            heapq.heappop(due)
        deadline = due[0][0] if due else float("inf")
        if not self.draining:
            for slots in (self._lookup_slots, self._publish_slots):
                if slots is not None and slots.next_at < deadline:
                    deadline = slots.next_at
        return deadline

    def _fire_slots(self, now: float) -> list[Outbound]:
        """What the lookup and publish slots due at ``now`` start (nothing while draining)."""
        sent: list[Outbound] = []
        if not self.draining:
            if self._lookup_slots is not None:
                kind = self._lookup_slots.fire(now)
                if kind is not None:
                    sent += self._slot(kind, now, self._start_lookup)
            if self._publish_slots is not None:
                kind = self._publish_slots.fire(now)
                if kind is not None:
                    sent += self._slot(kind, now, self._start_publish)
        return sent

    def tick(self, now: float) -> list[Outbound]:
        sent = self._fire_slots(now)
        due = self._steps_due
        stepping: list[_Run] = []
        while due and due[0][0] <= now:
            entry = heapq.heappop(due)
            if self._current(entry):
                stepping.append(entry[2])
        stepping.sort(key=lambda run: run.order)  # the order of ``_running``: the step draws stay in sequence
        for run in stepping:
            lookup = run.lookup
            sent += lookup.step(now, self._steps.draw())
            if lookup.ended:
                del self._running[lookup.target]
                self._ended(run, now)
            else:
                self._schedule(run)
        return sent

    def _schedule(self, run: _Run) -> None:
        heapq.heappush(self._steps_due, (run.lookup.next_step, next(self._pushes), run))

    def _current(self, entry: tuple[float, int, _Run]) -> bool:
        """Whether a heap entry is still the run's next step (not ended, not stepped since)."""
        at, _, run = entry
        return run.lookup.next_step == at and self._running.get(run.lookup.target) is run

    def _slot(self, kind: LookupKind, now: float, allow: Allow) -> list[Outbound]:
        if not allow():
            self.refused_slots += 1
            return []
        handle = self._take(kind, now)
        if handle is not None:
            spec = handle.spec
        elif kind is LookupKind.NODE and now >= self._self_due and self._me.kad_id not in self._running:
            self._self_due = now + SELF_LOOKUP_EVERY
            spec = Spec(LookupKind.NODE, self._me.kad_id)
        else:
            spec = self._cover_spec(kind)
            self.covers[kind] += 1
        lookup = Lookup(spec, self._me)
        run = self._running[spec.target] = _Run(lookup, handle, next(self._orders))
        self.started[kind] += 1
        if handle is not None:
            handle.state = State.RUNNING
        sent = lookup.start(self._table, now, self._steps.draw())
        self._schedule(run)
        return sent

    def _take(self, kind: LookupKind, now: float) -> LookupHandle | None:
        """The oldest pending user lookup of this kind that may start now (none runs for its target yet)."""
        if kind.is_publish and not self.publish_ready:
            return None
        queue = self._pending[kind]
        for handle in queue:
            if handle.not_before <= now and handle.target not in self._running:
                queue.remove(handle)
                return handle
        return None

    def _cover_spec(self, kind: LookupKind) -> Spec:
        while True:  # a cover never shares a target with a running lookup (iMule runs one search per target)
            spec = self._cover.spec(kind)
            if spec.target not in self._running:
                return spec

    def _ended(self, run: _Run, now: float) -> None:
        lookup, handle = run.lookup, run.handle
        if lookup.target == self._me.kad_id and lookup.answers and not lookup.spec.cover:
            self.publish_ready = True
        if lookup.kind is LookupKind.STORE_KEYWORD and lookup.node_load > LOAD_BACKOFF_ABOVE:
            self._backoff[lookup.target] = now + LOAD_BACKOFF_WEEK * lookup.node_load / 100
        if handle is None or handle.state is State.CANCELLED:
            return
        if handle.kind.is_publish:  # republished on iMule's schedule until cancelled
            handle.state = State.QUEUED
            handle.not_before = max(now + REPUBLISH[handle.kind], self._backoff.get(handle.target, now))
            self._pending[handle.kind].append(handle)
            return
        handle.finish(State.DONE)
        self._finished.append(handle)

    # --- answers --------------------------------------------------------------------------------------------------

    def on_contacts(self, inbound: Inbound) -> None:
        """A tracked KADEMLIA2_RES (or Kad1 RES): the lookup for its target hears it if it asked that peer."""
        message: messages.KademliaRes | kad1.Kad1Res = inbound.message  # type: ignore[assignment]
        run = self._running.get(message.target)
        if run is None:
            return
        contacts = [
            c if isinstance(c, Contact) else Contact(0, c.kad_id, c.udp_dest)  # Kad1 contacts: version 0
            for c in message.contacts
        ]
        self._emit(run, run.lookup.on_contacts(inbound.source, contacts, inbound.now))

    def on_search_res(self, inbound: Inbound) -> bool:
        """A SEARCH_RES (one of several, perhaps): taken only by a running lookup for its target that asked its
        sender. Returns whether it was taken."""
        message: messages.SearchRes | kad1.Kad1SearchRes = inbound.message  # type: ignore[assignment]
        run = self._running.get(message.target)
        if run is None or not run.lookup.charged(inbound.source, inbound.now):
            return False
        self._emit(run, run.lookup.on_results(inbound.source, message.results, inbound.now))
        return True

    def on_publish_res(self, inbound: Inbound) -> list[Outbound] | None:
        """A PUBLISH_RES: taken only by a running store for its key that asked its sender in the last 180 s (the
        request tracking iMule does for publishes); ``None`` if not taken. A PUBLISH_RES_ACK goes back when asked
        for and the sender gave us a key, as iMule does."""
        message: messages.PublishRes = inbound.message  # type: ignore[assignment]
        run = self._running.get(message.target)
        if run is None or not run.lookup.charged(inbound.source, inbound.now):
            return None
        self._emit(run, run.lookup.on_published(inbound.source, message, inbound.now))
        if message.options is not None and message.options & PUBLISH_ACK_REQUESTED and inbound.sender_key:
            return [Outbound(inbound.source, messages.PublishResAck(), Kind.RESPONSE, receiver_key=inbound.sender_key)]
        return []

    @staticmethod
    def _emit(run: _Run, results: list[Result]) -> None:
        if results and run.handle is not None:
            run.handle.emit(results)

    # --- state ----------------------------------------------------------------------------------------------------

    @property
    def running(self) -> int:
        return len(self._running)

    def running_lookups(self) -> list[Lookup]:
        return [run.lookup for run in self._running.values()]
