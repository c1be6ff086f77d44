"""Whole nodes on the in-memory network and the virtual clock: they bootstrap, verify each other, answer, persist."""

from __future__ import annotations

import asyncio
import os
from collections import Counter
from pathlib import Path

from mule.contract import PROFILE_V2
from mule.kad import messages
from mule.kad.files.nodes_dat import read_nodes_dat
from mule.kad.obfuscation import obfuscate
from mule.kad.opcodes import RequestType
from mule.node.service import NodeService
from mule.transport.memory import random_destination
from tests.node.network import network, seed_with, settle

NODES = 8


def test_nodes_bootstrap_from_one_seed_and_verify_each_other(tmp_path: Path):
    async def scenario() -> None:
        clock, _, wire, nodes = network(tmp_path, NODES)
        first = nodes[0]
        await first.start()
        for node in nodes[1:]:
            seed_with(node, first)
            await node.start()
        await settle(clock, 20 * 60)

        for node in nodes:
            status = node.status()
            assert status.contacts == NODES - 1, status  # everyone knows everyone else
            assert status.verified == NODES - 1, status  # and has proven each destination by a handshake
            assert status.faults == 0, status
        # Everything on the wire is a well-formed Kad datagram, and all of it went through the shapers.
        kinds = Counter(type(m).__name__ for _, _, m in wire.messages())
        assert {"BootstrapReq", "BootstrapRes", "HelloReq", "HelloRes", "KademliaReq", "KademliaRes"} <= set(kinds)
        assert len(wire.datagrams) == sum(node.shaper.counters.sent for node in nodes)
        # iMule obfuscates to peers of version >= 6: nearly everything between mule nodes is obfuscated.
        plain = sum(payload[0] in (0x05, 0x06) for _, _, payload in wire.datagrams)
        assert plain < len(wire.datagrams) / 10, (plain, len(wire.datagrams))

        # A lookup request from one node to another is answered from the other's table.
        asker, answerer = nodes[1], nodes[2]
        before = len(wire.datagrams)
        request = messages.KademliaReq(RequestType.FIND_NODE, asker.kad_id, answerer.kad_id, asker.kad_id)
        answerer.on_datagram(asker.local_destination, request.encode())
        await settle(clock, 3)
        answers = [m for s, _, m in wire.messages(start=before) if s == answerer.local_destination]
        assert any(isinstance(a, messages.KademliaRes) and len(a.contacts) >= 1 for a in answers)

        for node in nodes:
            await node.stop()
        saved = read_nodes_dat(nodes[3]._data_dir / "nodes.dat")
        assert len(saved.entries) == NODES - 1
        assert all(entry.verified and entry.udp_key for entry in saved.entries)

    asyncio.run(scenario())


def test_upkeep_rate_is_the_same_whatever_the_table_holds(tmp_path: Path):
    """Invariant 3: a node that knows the whole network and one that knows nobody send upkeep at the same rate."""

    async def scenario() -> None:
        clock, _, _, nodes = network(tmp_path, NODES)
        first = nodes[0]
        await first.start()
        for node in nodes[1:4]:
            seed_with(node, first)  # these learn each other
            await node.start()
        for node in nodes[4:]:
            await node.start()  # these only have the bundled seed (real I2P peers, unreachable here)
        await settle(clock, 3600)
        # A renewal process with uniform 5..15 s gaps (mean 10 s, variance 100/12) makes 360 requests an hour with
        # a standard deviation of sqrt(3600 * (100 / 12) / 10**3) ~ 5.5; the bound is five of those.
        for node in nodes:
            assert node.core is not None
            assert abs(node.core.counters.upkeep - 360) < 5 * 5.5, node.status()
        for node in nodes:
            await node.stop()

    asyncio.run(scenario())


def test_a_restarted_node_keeps_its_kad_id_keys_and_contacts(tmp_path: Path):
    async def scenario() -> None:
        clock, hub, _, nodes = network(tmp_path, NODES)
        first = nodes[0]
        await first.start()
        for node in nodes[1:]:
            seed_with(node, first)
            await node.start()
        await settle(clock, 10 * 60)
        restarted = nodes[4]
        kad_id, secret = restarted.kad_id, restarted._udp_secret
        known = {c.kad_id for c in restarted.table.contacts()}
        await restarted.stop()
        again = NodeService(hub.endpoint(restarted.local_destination), clock, restarted._data_dir, PROFILE_V2)
        assert (again.kad_id, again._udp_secret) == (kad_id, secret)
        await again.start()
        assert {c.kad_id for c in again.table.contacts()} == known
        assert all(c.verified and c.udp_key for c in again.table.contacts())
        for node in [*nodes[:4], again, *nodes[5:]]:
            await node.stop()

    asyncio.run(scenario())


def test_an_obfuscated_request_is_understood_and_answered_obfuscated(tmp_path: Path):
    """iMule obfuscates to version >= 6 peers whose Kad ID it knows, and answers with the key the asker gave."""

    async def scenario() -> None:
        clock, hub, wire, nodes = network(tmp_path, 1)
        node = nodes[0]
        await node.start()
        asker = hub.endpoint(random_destination())
        await asker.open()
        ping = obfuscate(
            messages.Ping().encode(), os.urandom, receiver_id=node.kad_id, receiver_verify_key=0, sender_verify_key=1234
        )
        assert ping[0] not in (0x05, 0x06)
        node.on_datagram(asker.local_destination, ping)
        await settle(clock, 2.0)
        assert node.shaper.counters.admitted == 1
        [(_, _, pong)] = [d for d in wire.datagrams if d[1] == asker.local_destination]
        assert pong[0] not in (0x05, 0x06)  # keyed by the 1234 the asker gave us
        await node.stop()

    asyncio.run(scenario())


def test_unknown_malformed_and_unsolicited_inputs_put_nothing_on_the_wire(tmp_path: Path):
    """Invariant 4 at the node: each input is counted and silently dropped after the delay law."""

    async def scenario() -> None:
        clock, _, wire, nodes = network(tmp_path, 1)
        node = nodes[0]
        await node.start()
        peer = random_destination()
        node.on_datagram(peer, bytes([0x05, 0x1C]))  # PUBLISH_RES_ACK: iMule has no handler
        node.on_datagram(peer, bytes([0x05, 0x7F]))  # no such opcode
        node.on_datagram(peer, bytes([0x05, 0x11, 0x0B]))  # a truncated KADEMLIA2_REQ
        node.on_datagram(peer, b"")
        node.on_datagram(peer, messages.Pong().encode())  # a response nobody asked for
        await settle(clock, 3.0)
        counters = node.shaper.counters
        # The truncated request passes the flood gate (charged before decoding, as iMule does) and then fails.
        assert (counters.unknown, counters.generic_failures, counters.admitted) == (2, 2, 2)
        assert node.core is not None and node.core.counters.unsolicited == 1
        assert not [1 for _, d, _ in wire.datagrams if d == peer]
        await node.stop()

    asyncio.run(scenario())
