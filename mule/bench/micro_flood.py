"""The flood cases of ``python -m mule bench micro``: what one node core ingests, and where its release timing bends.

- ``flood_ingest``: CPU per inbound datagram through ``NodeCore.receive`` and ``Shaper.admit`` (virtual clock), for
  a mix of valid, over-cap, unknown, malformed and unaddressable traffic, most of it refused by the gate.
- ``flood_knee``: a node on the memory transport under uvloop, flooded at rising rates while a probe peer's
  KADEMLIA2_REQs are timed; per rate: datagrams ingested per second, release lateness p99, probe reply p50/p99, and
  the most datagrams sent in any window of the global cap (which must stay within it). Flood and probe requests
  are handed to the core as the receive loop hands them (the peers here send nothing themselves: only a shaper
  may reach a transport's sender); the node's answers leave through its shaper and the memory transport.
"""

from __future__ import annotations

import asyncio
import os
import random
import time
from collections.abc import Callable

from mule.bench.micro import Case, case
from mule.bench.micro_cases import _on_twin, _twins
from mule.contract import DelayLaw
from mule.contract.profile import PROFILE_V2, profile_for_tests
from mule.kad import messages
from mule.kad.contact import Contact
from mule.kad.opcodes import RequestType

FLOODERS = 16
TABLE_CONTACTS = 300
# The V2 caps and gate, with V2's delay law scaled down 30x so that thousands of releases fit in seconds.
KNEE_PROFILE = profile_for_tests(delay=DelayLaw(base=0.25 / 30, jitter=1.5 / 30), lateness_samples=1 << 16)
LATENESS_TARGET_S = 0.005
QUICK_RATES = (0, 2_000, 10_000, 20_000, 30_000)
FULL_RATES = (0, 1_000, 2_000, 5_000, 10_000, 15_000, 20_000, 30_000)
QUICK_SECONDS, FULL_SECONDS = 1.5, 4.0


def _destination(rng: random.Random) -> bytes:
    return rng.randbytes(384) + bytes(3)


def _mix(rng: random.Random, own_id: int, n: int) -> list[tuple[bytes, bytes]]:
    """``n`` datagrams: 40 % KADEMLIA2_REQ and 15 % HELLO_REQ from 16 flooding peers (over their iMule caps after
    the first few), 15 % junk payloads, 10 % unknown opcodes, 10 % from unaddressable sources, 10 % valid requests
    from fresh peers."""
    flooders = [_destination(rng) for _ in range(FLOODERS)]
    kreq = messages.KademliaReq(RequestType.FIND_NODE, rng.getrandbits(128), own_id, rng.getrandbits(128) | 1)
    hello = messages.HelloReq(Contact(8, rng.getrandbits(128) | 1, _destination(rng))).encode()
    traffic = []
    for i in range(n):
        roll = i % 20
        if roll < 8:
            traffic.append((flooders[i % FLOODERS], kreq.encode()))
        elif roll < 11:
            traffic.append((flooders[i % FLOODERS], hello))
        elif roll < 14:
            traffic.append((flooders[i % FLOODERS], rng.randbytes(rng.randrange(1, 600))))
        elif roll < 16:
            traffic.append((flooders[i % FLOODERS], bytes((0x05, 0x7F)) + rng.randbytes(40)))
        elif roll < 18:
            traffic.append((rng.randbytes(387), kreq.encode()))
        else:
            traffic.append((_destination(rng), kreq.encode()))
    return traffic


def _core(
    clock: object, transport: object, profile: object, seed: bytes, observer: Callable | None = None
) -> tuple[object, object]:
    from mule._core.keystream import substream_seed
    from mule._core.shuffle import Shuffler
    from mule.node.core import NodeCore
    from mule.node.outbound import OwnContact
    from mule.routing import RoutingTable
    from mule.shaper import Shaper

    rng = random.Random(seed)
    shaper = Shaper(transport, clock, profile, seed=seed, observer=observer)
    own_id = rng.getrandbits(128) | 1
    table = RoutingTable(own_id, clock.now(), Shuffler(substream_seed(seed, b"routing")))
    for _ in range(TABLE_CONTACTS):
        table.add(rng.getrandbits(128) | 1, _destination(rng), 8, clock.now(), verified=True)
    me = OwnContact(own_id, transport.local_destination, _destination(rng))
    node = NodeCore(
        me, rng.getrandbits(32), table, [], profile, clock.now(), admit=shaper.admit, randbytes=os.urandom, seed=seed
    )
    return node, shaper


@case("flood_ingest")
def _flood_ingest(quick: bool) -> Case:
    from mule.clock.virtual import VirtualClock
    from mule.transport.memory import MemoryHub

    contenders: dict[str, Callable[[], object]] = {}
    notes = {}
    for twin, modules in _twins().items():
        clock = VirtualClock(1000.0)
        hub = MemoryHub()
        transport = hub.endpoint()
        asyncio.run(transport.open())
        node, shaper = _core(clock, transport, PROFILE_V2, b"flood-ingest".ljust(32, b"."))
        traffic = _mix(random.Random(3), node.me.kad_id, 4000)
        cursor = iter(range(1 << 62))

        def one(node=node, shaper=shaper, traffic=traffic, cursor=cursor, clock=clock) -> None:
            i = next(cursor)
            source, payload = traffic[i % len(traffic)]
            for send in node.receive(source, payload, clock.now()):
                shaper.submit(send.destination, send.payload, send.kind)

        measured = _on_twin(modules, one)
        for _ in range(len(traffic)):  # one pass before timing: the flooders are over their caps, as in a flood
            measured()
        contenders[f"mixed datagram through NodeCore.receive + Shaper.admit, {twin}"] = measured
        notes[f"{twin}: gate"] = lambda s=shaper, n=node: (
            f"admitted {s.counters.admitted}, over cap {s.counters.over_cap}, unknown {s.counters.unknown}, "
            f"malformed {s.counters.generic_failures}, faults {n.counters.faults}"
        )
    return Case("flood ingestion, CPU per inbound datagram", contenders, next(iter(contenders)), notes)


async def _knee_step(rate: int, seconds: float, seed: bytes) -> dict[str, float]:
    from mule.clock import LoopClock
    from mule.shaper import Outcome
    from mule.transport.memory import MemoryHub

    sent_at: list[float] = []  # the shaper's own hand-off instants, as its caps count them

    def observe(release: object) -> None:
        if release.outcome is Outcome.SENT:
            sent_at.append(release.actual)

    hub = MemoryHub()
    clock = LoopClock()
    node_end = hub.endpoint()
    await node_end.open()
    node, shaper = _core(clock, node_end, KNEE_PROFILE, seed, observe)
    rng = random.Random(seed)
    traffic = _mix(rng, node.me.kad_id, 4000)
    flooder = hub.endpoint()
    await flooder.open()
    probes = [hub.endpoint() for _ in range(48)]  # each under its 30-a-minute KADEMLIA2_REQ allowance
    for probe in probes:
        await probe.open()
    asked: dict[bytes, float] = {}
    replies: list[float] = []
    received = 0
    loop = asyncio.get_running_loop()

    def deliver(source: bytes, payload: bytes) -> None:
        nonlocal received
        received += 1
        for send in node.receive(source, payload, clock.now()):
            shaper.submit(send.destination, send.payload, send.kind)

    async def probe_replies(probe: object) -> None:
        while True:
            await probe.receive()
            start = asked.pop(probe.local_destination, None)
            if start is not None:
                replies.append(time.monotonic() - start)

    tasks = [loop.create_task(probe_replies(p)) for p in probes]
    request = messages.KademliaReq(RequestType.FIND_NODE, rng.getrandbits(128), node.me.kad_id, 1).encode()
    tick = 0.002
    per_tick = round(rate * tick)
    start = time.monotonic()
    cpu_start = time.process_time()
    step = 0
    while (now := time.monotonic()) - start < seconds:
        for i in range(per_tick):
            source, payload = traffic[(step * per_tick + i) % len(traffic)]
            deliver(source, payload)
        if step % 25 == 0:  # a probe request every 50 ms, from the next probe peer
            probe = probes[(step // 25) % len(probes)]
            asked[probe.local_destination] = now
            deliver(probe.local_destination, request)
        step += 1
        await asyncio.sleep(max(0.0, start + step * tick - time.monotonic()))
    elapsed = time.monotonic() - start
    await asyncio.sleep(KNEE_PROFILE.max_delay + 0.1)
    for task in tasks:
        task.cancel()
    shaper.close()
    p50, p99 = shaper.lateness.quantiles((0.5, 0.99))
    cap = KNEE_PROFILE.global_send
    worst = max((sum(1 for t in sent_at[i:] if t - at < cap.window) for i, at in enumerate(sent_at[:2000])), default=0)
    replies.sort()
    return {
        "offered_per_s": rate,
        "ingested_per_s": round(received / elapsed),
        "node_cpu_share": round((time.process_time() - cpu_start) / elapsed, 2),
        "lateness_p50_ms": round(p50 * 1e3, 3),
        "lateness_p99_ms": round(p99 * 1e3, 3),
        "probe_reply_p50_ms": round(replies[len(replies) // 2] * 1e3, 1) if replies else None,
        "probe_reply_p99_ms": round(replies[int(len(replies) * 0.99)] * 1e3, 1) if replies else None,
        "probe_replies": f"{len(replies)}",
        "most_sent_in_a_cap_window": f"{worst} (cap {cap.limit} per {cap.window:g} s)",
    }


@case("flood_knee")
def _flood_knee(quick: bool) -> Case:
    import uvloop

    rates = QUICK_RATES if quick else FULL_RATES
    seconds = QUICK_SECONDS if quick else FULL_SECONDS
    notes: dict[str, object] = {}
    knee = None
    for rate in rates:
        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            step = runner.run(_knee_step(rate, seconds, b"flood-knee".ljust(32, b".")))
        notes[f"{rate}/s offered"] = step
        if rate and step["lateness_p99_ms"] <= LATENESS_TARGET_S * 1e3 and step["ingested_per_s"] >= 0.95 * rate:
            knee = rate
    notes["knee: highest offered rate ingested in full with lateness p99 <= 5 ms"] = knee
    notes["0/s offered is the reference: the probe alone, the host's own lateness"] = ""
    notes["profile"] = "V2 caps and gate, delay law / 30"
    return Case("flood knee on the memory transport with uvloop (probe peer timed)", {}, "", notes)
