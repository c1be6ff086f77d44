"""Whole nodes on the in-memory network and the virtual clock: they bootstrap, learn each other, answer, persist."""

from __future__ import annotations

import asyncio
import os
from collections import Counter
from pathlib import Path

from mule.clock import VirtualClock
from mule.kad import messages
from mule.kad.codec import decode
from mule.kad.contact import Contact
from mule.kad.files.nodes_dat import NodeEntry, read_nodes_dat, write_nodes_dat
from mule.kad.obfuscation import obfuscate
from mule.kad.opcodes import KAD_VERSION, RequestType
from mule.node.service import NodeService
from mule.shaper import PROFILE_V1
from mule.transport.memory import MemoryHub


def i2p_like_destination() -> bytes:
    """A random destination of the form iMule accepts: 387 bytes ending in a null certificate."""
    return os.urandom(384) + bytes(3)


NODES = 8
STEP = 0.05


async def settle(clock: VirtualClock, seconds: float) -> None:
    """Advance virtual time, letting every node's receive loop drain its inbox after each step."""
    end = clock.now() + seconds
    while clock.now() < end:
        clock.advance(STEP)
        await asyncio.sleep(0)


def network(tmp_path: Path, wire: list[tuple[bytes, bytes, bytes]]) -> tuple[VirtualClock, MemoryHub, list]:
    clock = VirtualClock()
    hub = MemoryHub(tap=lambda src, dst, payload: wire.append((src, dst, payload)))
    nodes = []
    for n in range(NODES):
        data_dir = tmp_path / f"node{n}"
        data_dir.mkdir()
        nodes.append(NodeService(hub.endpoint(i2p_like_destination()), clock, data_dir, seed=bytes([n]) * 32))
    return clock, hub, nodes


def seed_with(node: NodeService, first: NodeService, destination: bytes) -> None:
    """Give ``node`` a nodes.dat that lists only ``first`` (as a fresh iMule install would list a seed)."""
    write_nodes_dat(node._data_dir / "nodes.dat", (NodeEntry(Contact(KAD_VERSION, first.kad_id, destination)),))


def test_nodes_bootstrap_from_one_seed_and_learn_each_other(tmp_path: Path):
    async def scenario() -> None:
        wire: list[tuple[bytes, bytes, bytes]] = []
        clock, _, nodes = network(tmp_path, wire)
        first = nodes[0]
        await first.start()
        for node in nodes[1:]:
            seed_with(node, first, first._transport.local_destination)
            await node.start()
        await settle(clock, 10 * 60)

        for node in nodes:
            status = node.status()
            assert status.contacts == NODES - 1, status  # everyone knows everyone else
            assert status.verified >= 1, status
        # Everything on the wire is a well-formed Kad datagram, and all of it went through the shapers.
        kinds = Counter(type(decode(payload)).__name__ for _, _, payload in wire)
        assert {"BootstrapReq", "BootstrapRes", "HelloReq", "HelloRes", "KademliaReq", "KademliaRes"} <= set(kinds)
        assert len(wire) == sum(node.shaper.counters.sent for node in nodes)

        # A lookup request from one node to another is answered from the other's table.
        asker, answerer = nodes[1], nodes[2]
        before = len(wire)
        answerer.on_datagram(
            asker._transport.local_destination,
            messages.KademliaReq(RequestType.FIND_NODE, asker.kad_id, answerer.kad_id).encode(),
        )
        await settle(clock, 3)
        answers = [decode(p) for s, d, p in wire[before:] if s == answerer._transport.local_destination]
        assert any(isinstance(a, messages.KademliaRes) and len(a.contacts) >= 1 for a in answers)

        for node in nodes:
            await node.stop()
        saved = read_nodes_dat(nodes[3]._data_dir / "nodes.dat")
        assert len(saved.entries) == NODES - 1

    asyncio.run(scenario())


def test_upkeep_rate_is_one_request_per_tick_whatever_the_table_holds(tmp_path: Path):
    """Invariant 3: an idle node with contacts and one still bootstrapping send upkeep at the same rate."""

    async def scenario() -> None:
        wire: list[tuple[bytes, bytes, bytes]] = []
        clock, _, nodes = network(tmp_path, wire)
        for node in nodes:
            await node.start()  # every node only has the bundled seed (real I2P peers, unreachable here)
        ticks = 30
        await settle(clock, ticks * PROFILE_V1.upkeep_tick + 2.0)  # + the longest delay, so the last tick has left
        for node in nodes:
            assert node.shaper.counters.submitted == ticks, node.status()
            await node.stop()

    asyncio.run(scenario())


def test_a_restarted_node_keeps_its_kad_id_and_contacts(tmp_path: Path):
    async def scenario() -> None:
        wire: list[tuple[bytes, bytes, bytes]] = []
        clock, hub, nodes = network(tmp_path, wire)
        first = nodes[0]
        await first.start()
        for node in nodes[1:]:
            seed_with(node, first, first._transport.local_destination)
            await node.start()
        await settle(clock, 5 * 60)
        restarted = nodes[4]
        kad_id, known = restarted.kad_id, {c.kad_id for c in restarted.table.contacts()}
        await restarted.stop()
        again = NodeService(hub.endpoint(i2p_like_destination()), clock, restarted._data_dir)
        assert again.kad_id == kad_id
        await again.start()
        assert {c.kad_id for c in again.table.contacts()} == known
        for node in [*nodes[:4], again, *nodes[5:]]:
            await node.stop()

    asyncio.run(scenario())


def test_an_obfuscated_request_is_understood_and_answered(tmp_path: Path):
    """iMule obfuscates to version >= 6 peers whose Kad ID it knows, which is how it sees a mule node."""

    async def scenario() -> None:
        wire: list[tuple[bytes, bytes, bytes]] = []
        clock, hub, nodes = network(tmp_path, wire)
        node = nodes[0]
        await node.start()
        asker = hub.endpoint(i2p_like_destination())
        await asker.open()
        ping = obfuscate(
            messages.Ping().encode(), os.urandom, receiver_id=node.kad_id, receiver_verify_key=0, sender_verify_key=1234
        )
        assert ping[0] not in (0x05, 0x06)
        node.on_datagram(asker.local_destination, ping)
        await settle(clock, 2.0)
        assert node.shaper.counters.admitted == 1
        assert [decode(p) for _, d, p in wire if d == asker.local_destination] == [messages.Pong()]
        await node.stop()

    asyncio.run(scenario())


def test_unknown_malformed_and_unsolicited_inputs_put_nothing_on_the_wire(tmp_path: Path):
    """Invariant 4 at the node: each input is counted and silently dropped after the delay law."""

    async def scenario() -> None:
        wire: list[tuple[bytes, bytes, bytes]] = []
        clock, _, nodes = network(tmp_path, wire)
        node = nodes[0]
        await node.start()
        peer = i2p_like_destination()
        node.on_datagram(peer, bytes([0x05, 0x1C]))  # PUBLISH_RES_ACK: iMule has no handler
        node.on_datagram(peer, bytes([0x05, 0x7F]))  # no such opcode
        node.on_datagram(peer, bytes([0x05, 0x11, 0x0B]))  # a truncated KADEMLIA2_REQ
        node.on_datagram(peer, b"")
        node.on_datagram(peer, messages.Pong().encode())  # a response nobody asked for
        await settle(clock, 3.0)
        counters = node.shaper.counters
        assert (counters.unknown, counters.generic_failures, counters.admitted) == (2, 2, 1)
        assert not [1 for _, d, _ in wire if d == peer]
        await node.stop()

    asyncio.run(scenario())
