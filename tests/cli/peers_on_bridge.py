"""Whole mule nodes (``NodeService``) on the threaded fake bridge's loop: the peers a real ``python -m mule run``
process meets in the process tests. Imported by name, like cli_helpers."""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

from fake_bridge import BridgeThread

from mule.clock import LoopClock
from mule.contract import PROFILE_V2, PROFILE_V3, DelayLaw, Kind, Profile, SlotPlan, WindowCap
from mule.contract.profile import STORE_KEYWORD, profile_for_tests
from mule.i2p.session import DatagramPath
from mule.i2p.transport import SamTransport, SamTransportSettings
from mule.kad.codec import decode
from mule.kad.contact import Contact
from mule.kad.destination import hash_code
from mule.kad.files.nodes_dat import NodeEntry, write_nodes_dat
from mule.kad.message import Message
from mule.kad.messages import KademliaReq
from mule.kad.obfuscation import deobfuscate, verify_key
from mule.kad.opcodes import KAD_VERSION, RequestType
from mule.node.config import SamAddress
from mule.node.identity import read_udp_key
from mule.node.service import NODES_DAT, NodeService

PUBLISHER = profile_for_tests(
    base=PROFILE_V3,
    # Keyword publishes only, a slot every 2-4 s (V3: 30-90 s), so a test's publish starts within seconds, while
    # the node under test hears at most 20 lookups a minute from this peer (a KADEMLIA2_REQ and a PUBLISH_KEY_REQ
    # each), under V3's caps (30 of each kind a minute, iMule's flood limits; 60 answers a minute to one peer).
    # No lookups, no drain: the peer stops at once.
    lookup_slots=None,
    publish_slots=SlotPlan(DelayLaw(2.0, 2.0), ((STORE_KEYWORD, 1),)),
    publishes=WindowCap(limit=30, window=60.0),
    drain=0.0,
)
ANSWERER = profile_for_tests(base=PROFILE_V2, upkeep=DelayLaw(1.0, 1.0))
"""A peer that answers and keeps its table (V2 starts no lookup and has no drain), with an upkeep request every
1-2 s (V2: 5-15 s), so that it makes itself known in seconds."""


@dataclasses.dataclass(frozen=True, slots=True)
class Heard:
    at: float
    """``time.monotonic()`` when the peer received it."""
    source: bytes
    message: Message
    """The Kad message, decoded."""


class Peer:
    """A node on the bridge's loop that also records every Kad message it receives (decoded, with its time)."""

    def __init__(self, served: BridgeThread, data_dir: Path, profile: Profile) -> None:
        self.served = served
        self.data_dir = data_dir
        self.profile = profile
        self.heard: list[Heard] = []
        self.node: NodeService | None = None

    async def _start(self) -> NodeService:
        bridge = self.served.bridge
        transport = SamTransport(
            SamAddress("127.0.0.1", bridge.port),
            self.data_dir,
            SamTransportSettings(path=DatagramPath.UDP, udp_port=bridge.udp_port),
        )
        node = NodeService(transport, LoopClock(), self.data_dir, self.profile)
        await node.start()
        secret = read_udp_key(self.data_dir)
        assert secret is not None
        handle = node.on_datagram

        def recording(source: bytes, payload: bytes) -> None:
            received = deobfuscate(
                payload, own_id=node.kad_id, own_verify_key_for_sender=verify_key(hash_code(source), secret)
            )
            self.heard.append(Heard(time.monotonic(), source, decode(received.datagram)))
            handle(source, payload)

        node.on_datagram = recording  # type: ignore[method-assign]
        return node

    def start(self, seeds: tuple[Contact, ...] = ()) -> Peer:
        self.data_dir.mkdir(mode=0o700, exist_ok=True)
        if seeds:
            write_nodes_dat(self.data_dir / NODES_DAT, tuple(NodeEntry(c, verified=True) for c in seeds))
        self.node = self.served.call(self._start())
        return self

    def stop(self) -> None:
        if self.node is not None:
            self.served.call(self.node.stop())
            self.node = None

    def ask_for_contacts(self, to: Contact, target: int) -> None:
        """Send ``to`` a KADEMLIA2_REQ for ``target`` through this peer's shaper: a request of the test's own,
        whose answer names ``target`` (plain, as iMule may send it; the answer is recorded, not tracked)."""
        node = self.node
        assert node is not None
        request = KademliaReq(RequestType.FIND_NODE, target, to.kad_id, node.kad_id)

        async def submit() -> None:
            node.shaper.submit(to.udp_dest, request.encode(), Kind.REQUEST)

        self.served.call(submit())

    @property
    def contact(self) -> Contact:
        assert self.node is not None
        return Contact(KAD_VERSION, self.node.kad_id, self.node.local_destination)

    def verified(self, kad_id: int) -> bool:
        """Whether this peer's table holds ``kad_id`` as a verified contact."""
        assert self.node is not None
        return any(contact.kad_id == kad_id and contact.verified for contact in self.node.table.contacts())

    def contacts(self) -> int:
        assert self.node is not None
        return self.node.status().contacts
