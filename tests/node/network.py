"""Whole nodes on the in-memory network and the virtual clock, and a wire tap that reads what they send.

Nodes obfuscate as iMule does, so the tap de-obfuscates each datagram with the receiver's
Kad ID and secret before decoding it: tests see the messages an observer holding every key would.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path

from mule.clock import VirtualClock
from mule.contract import PROFILE_V2, Profile
from mule.kad.codec import decode
from mule.kad.contact import Contact
from mule.kad.destination import hash_code
from mule.kad.files.nodes_dat import NodeEntry, write_nodes_dat
from mule.kad.message import Message
from mule.kad.obfuscation import deobfuscate, verify_key
from mule.kad.opcodes import KAD_VERSION
from mule.node.service import NodeService
from mule.transport.memory import MemoryHub, random_destination

STEP = 0.05


@dataclass(slots=True)
class Wire:
    """Every datagram the hub carried: (source, destination, raw payload)."""

    datagrams: list[tuple[bytes, bytes, bytes]] = field(default_factory=list)
    nodes: dict[bytes, NodeService] = field(default_factory=dict)

    def record(self, source: bytes, destination: bytes, payload: bytes) -> None:
        self.datagrams.append((source, destination, payload))

    def message(self, source: bytes, destination: bytes, payload: bytes) -> Message:
        """The message in a datagram, de-obfuscated with the receiving node's keys where it is one of ours."""
        node = self.nodes.get(destination)
        if node is not None:
            own_key = verify_key(hash_code(source), node._udp_secret)
            payload = deobfuscate(payload, own_id=node.kad_id, own_verify_key_for_sender=own_key).datagram
        return decode(payload)

    def messages(self, *, start: int = 0) -> list[tuple[bytes, bytes, Message]]:
        """Every datagram we can read: those between our nodes, and plain ones to anybody."""
        return [
            (s, d, self.message(s, d, p))
            for s, d, p in self.datagrams[start:]
            if d in self.nodes or p[:1] in (b"\x05", b"\x06")
        ]


async def settle(clock: VirtualClock, seconds: float) -> None:
    """Advance virtual time, letting every node's receive loop drain its inbox after each step."""
    end = clock.now() + seconds
    while clock.now() < end:
        clock.advance(STEP)
        await asyncio.sleep(0)


def network(
    tmp_path: Path, count: int, profile: Profile = PROFILE_V2
) -> tuple[VirtualClock, MemoryHub, Wire, list[NodeService]]:
    """``count`` nodes on one hub; V2 by default (no lookups, no drain), as the tests written for it expect."""
    clock = VirtualClock()
    wire = Wire()
    hub = MemoryHub(tap=wire.record)
    nodes = []
    for n in range(count):
        data_dir = tmp_path / f"node{n}"
        data_dir.mkdir()
        node = NodeService(hub.endpoint(random_destination()), clock, data_dir, profile, seed=bytes([n]) * 32)
        wire.nodes[node.local_destination] = node
        nodes.append(node)
    return clock, hub, wire, nodes


def seed_with(node: NodeService, first: NodeService) -> None:
    """Give ``node`` a nodes.dat that lists only ``first`` (as a fresh iMule install would list a seed)."""
    entry = NodeEntry(Contact(KAD_VERSION, first.kad_id, first.local_destination))
    write_nodes_dat(node._data_dir / "nodes.dat", (entry,))
