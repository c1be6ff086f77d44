"""The lookup manager's heap of next steps acts exactly as the plain scan it replaced.

``ScanningManager`` is the straightforward version: ``next_deadline`` takes the minimum over every running
lookup and both slot processes, ``tick`` walks every running lookup in start order. Both managers get the
same random scenario (user lookups and publishes, answers from a scripted network, some peers silent, ticks
at, before and well after the deadlines, a drain); every action, deadline and count must be the same. Run
once per core twin (``MULE_NO_EXTENSIONS=1`` for the pure-Python one).
"""

from __future__ import annotations

import heapq
import itertools
import random
from dataclasses import dataclass, field

import pytest

from mule.contract import PROFILE_V3, DelayLaw, SlotPlan
from mule.contract.profile import profile_for_tests
from mule.kad import messages
from mule.kad.contact import Contact
from mule.kad.message import Entry
from mule.kad.opcodes import KAD_VERSION
from mule.lookup import LookupKind, SharedFile, State
from mule.lookup.manager import LookupManager
from mule.lookup.requests import Spec, keyword_expression
from mule.node.inbound import Inbound
from mule.node.outbound import Outbound
from tests.lookup.world import keyword_entry
from tests.node.parts import ME, fill, randbytes, table
from tests.node.peers import dest, kad_id

NETWORK = range(1, 400)
KNOWN = range(1, 120)
STEPS = 2000
WORDS = ("blue", "moon", "river", "stone")
# Every search kind in the lookup deck, a slot every 5 s on average (V3: 20 s): many lookups run at once.
FAST = profile_for_tests(
    base=PROFILE_V3,
    lookup_slots=SlotPlan(
        DelayLaw(2.5, 5.0),
        tuple((int(kind), 2) for kind in LookupKind if not kind.is_publish),
    ),
)


class ScanningManager(LookupManager):
    """The reference: no heap, a scan of every running lookup at each question."""

    def _schedule(self, run: object) -> None:
        pass

    @property
    def next_deadline(self) -> float:
        times = [run.lookup.next_step for run in self._running.values()]
        if not self.draining:
            times += [s.next_at for s in (self._lookup_slots, self._publish_slots) if s is not None]
        return min(times, default=float("inf"))

    def tick(self, now: float) -> list[Outbound]:
        sent = self._fire_slots(now)
        for target, run in list(self._running.items()):
            if run.lookup.next_step <= now:
                sent += run.lookup.step(now, self._steps.draw())
            if run.lookup.ended:
                del self._running[target]
                self._ended(run, now)
        return sent


def manager(cls: type[LookupManager], profile=FAST) -> LookupManager:
    routing = table()
    fill(routing, KNOWN)
    return cls(ME, routing, profile, 0.0, randbytes=randbytes(), seed=bytes(range(32)))


@dataclass
class Network:
    """Scripted answers to whatever a manager sends, drawn from its own seeded generator."""

    rng: random.Random
    silent: set[bytes]
    events: list[tuple[float, int, Inbound]] = field(default_factory=list)
    order: itertools.count = field(default_factory=itertools.count)

    def carry(self, sent: list[Outbound], now: float) -> None:
        for out in sent:
            if out.destination in self.silent:
                continue
            answer = self.answer(out)
            if answer is not None:
                at = now + self.rng.uniform(0.2, 4.0)
                heapq.heappush(self.events, (at, next(self.order), Inbound(out.destination, answer, at)))

    def answer(self, out: Outbound) -> messages.Message | None:
        message = out.message
        sender = kad_id(0) if out.destination == ME.udp_dest else _number_id(out.destination)
        match message:
            case messages.KademliaReq(type=count, target=target):
                nearest = sorted(NETWORK, key=lambda n: kad_id(n) ^ target)[: count + self.rng.choice((0, 0, 0, 2))]
                listed = [Contact(KAD_VERSION, kad_id(n), dest(n)) for n in nearest if dest(n) != out.destination]
                return messages.KademliaRes(target, tuple(self.rng.sample(listed, len(listed))))
            case messages.SearchKeyReq(target=target) | messages.SearchSourceReq(target=target):
                found = [keyword_entry(self.rng.getrandbits(64), "Blue Moon.ogg", 1000) for _ in range(3)]
                return messages.SearchRes(sender, target, tuple(found))
            case messages.SearchNotesReq(target=target):
                return messages.SearchRes(sender, target, (Entry(self.rng.getrandbits(64), ()),))
            case messages.PublishKeyReq(target=target) | messages.PublishNotesReq(target=target):
                return messages.PublishRes(target, self.rng.randrange(40))
            case messages.PublishSourceReq(target=target):
                return messages.PublishRes(target, self.rng.randrange(40), (1, 1))
        return None


def _number_id(destination: bytes) -> int:
    number = int.from_bytes(destination[:4], "little")
    return kad_id(number)


def deliver(lookups: LookupManager, inbound: Inbound) -> list[Outbound]:
    match inbound.message:
        case messages.KademliaRes():
            lookups.on_contacts(inbound)
        case messages.SearchRes():
            lookups.on_search_res(inbound)
        case messages.PublishRes():
            return lookups.on_publish_res(inbound) or []
    return []


def run_scenario(cls: type[LookupManager], seed: int) -> list[object]:
    """Everything observable, in order, for one scenario (the same seed draws the same scenario)."""
    rng = random.Random(seed)
    lookups = manager(cls)
    lookups.publish_ready = rng.random() < 0.7
    network = Network(random.Random(seed + 1), {dest(n) for n in rng.sample(list(NETWORK), 60)})
    log: list[object] = []
    handles = []
    now = 0.0
    for step in range(STEPS):
        deadline = lookups.next_deadline
        log.append(("deadline", deadline))
        event_at = network.events[0][0] if network.events else float("inf")
        roll = rng.random()
        if roll < 0.08:  # the user asks for something
            handles.append(lookups.submit(random_spec(rng)))
            log.append(("submitted", handles[-1].id))
            continue
        if roll < 0.1 and handles:
            rng.choice(handles).cancel()
            continue
        if roll < 0.11 and step > STEPS * 3 // 4 and not lookups.draining:
            lookups.drain()
            continue
        if network.events and event_at <= deadline:
            now, _, inbound = heapq.heappop(network.events)
            sent = deliver(lookups, inbound)
        else:
            # On the deadline, a little before it, or late enough that several steps fall due at once.
            late = rng.choice((0.0, 0.0, -0.5, 3.0, 12.0))
            now = max(now, deadline + late) if deadline < float("inf") else now + 30.0
            sent = lookups.tick(now)
        log.append((now, sent))
        network.carry(sent, now)
    log.append(("started", dict(lookups.started), dict(lookups.covers), lookups.running))
    log.append([(h.id, h.state, tuple(h.results)) for h in handles])
    return log


def random_spec(rng: random.Random) -> Spec:
    kind = rng.choice(list(LookupKind))
    target = kad_id(rng.randrange(1, 10**6))
    words = tuple(rng.sample(WORDS, rng.randint(1, 3)))
    file = SharedFile(target, "blue moon river.ogg", 1000)
    return {
        LookupKind.NODE: Spec(kind, target),
        LookupKind.KEYWORD: Spec(kind, target, words=words, expression=keyword_expression(words)),
        LookupKind.SOURCES: Spec(kind, target, file_size=1000),
        LookupKind.NOTES: Spec(kind, target, file_size=1000),
        LookupKind.STORE_KEYWORD: Spec(kind, target, files=(file,)),
        LookupKind.STORE_SOURCE: Spec(kind, target, files=(file,), user_hash=7),
        LookupKind.STORE_NOTES: Spec(kind, target, files=(file,), rating=3),
    }[kind]


@pytest.mark.parametrize("seed", range(8))
def test_the_heap_acts_as_the_scan_on_random_scenarios(seed: int) -> None:
    reference = run_scenario(ScanningManager, seed)
    assert run_scenario(LookupManager, seed) == reference
    # The scenario is not idle: lookups stepped together in late ticks, and user lookups ended with results.
    sends = [entry[1] for entry in reference if isinstance(entry, tuple) and isinstance(entry[1], list)]
    assert sum(len(sent) > 1 for sent in sends) > 20
    assert sum(state is State.DONE and bool(results) for _, state, results in reference[-1]) >= 3  # type: ignore[misc]


def test_a_manager_that_skips_a_due_step_is_caught() -> None:
    """Negative control: a heap that forgets one re-scheduling differs from the scan."""

    class Forgetful(LookupManager):
        forgot = False

        def _schedule(self, run) -> None:
            if not self.forgot and run.lookup.next_step > 60.0:
                self.forgot = True
                return
            super()._schedule(run)

    assert run_scenario(Forgetful, 3) != run_scenario(ScanningManager, 3)
