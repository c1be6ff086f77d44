"""The node service: the one place where the sans-IO parts meet a transport and a clock.

Inbound: datagram -> decode -> shaper.admit (flood caps, uniform failure) -> responder
-> replies. Outbound: every message, reply or upkeep, is encoded here and handed to
``shaper.submit``; the service holds no way to send by itself (the shaper claimed the
transport's sender when it was built). Upkeep runs on a fixed tick. On shutdown the
routing table is written to ``nodes.dat`` (atomically) so the next start resumes.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from mule._core.keystream import substream_seed
from mule._core.shuffle import Shuffler
from mule.clock import Clock, Timer
from mule.contract import PROFILE_V1, Profile
from mule.kad.codec import decode
from mule.kad.contact import Contact
from mule.kad.destination import hash_code
from mule.kad.errors import MalformedPacket, UnknownOpcode
from mule.kad.files.nodes_dat import NodeEntry, load_or_seed, write_nodes_dat
from mule.kad.obfuscation import deobfuscate, verify_key
from mule.kad.tags import TagSerials
from mule.node.identity import load_or_create_kad_id
from mule.node.inbound import flood_opcode
from mule.node.maintenance import Maintenance
from mule.node.outbound import Outbound, OwnContact, as_kad2
from mule.node.responder import Responder
from mule.node.tracking import ANSWERS, RequestTracker
from mule.routing.table import RoutingTable
from mule.shaper import Shaper
from mule.transport.interface import Transport

log = logging.getLogger(__name__)

NODES_DAT = "nodes.dat"
STATUS_EVERY = 60.0
NODES_DAT_MAX = 200  # iMule writes up to 200 contacts
_TRACKED_REQUESTS = frozenset(ANSWERS.values())


@dataclass(frozen=True, slots=True)
class NodeStatus:
    kad_id: int
    contacts: int
    verified: int
    seeds: int
    queued: int
    sent: int
    admitted: int
    dropped_inputs: int


class NodeService:
    def __init__(
        self,
        transport: Transport,
        clock: Clock,
        data_dir: Path,
        profile: Profile = PROFILE_V1,
        *,
        seed: bytes | None = None,
        randbytes: Callable[[int], bytes] = os.urandom,
    ) -> None:
        """``seed`` replays every random stream (tests and the simulator only); production leaves it ``None``."""
        self._transport = transport
        self._clock = clock
        self._data_dir = data_dir
        self._profile = profile
        self._seed = seed
        self._randbytes = randbytes
        self.shaper = Shaper(transport, clock, profile, seed=seed)
        self.kad_id = load_or_create_kad_id(data_dir, randbytes)
        self.table = RoutingTable(self.kad_id)
        self._tracker = RequestTracker()
        self._serials = TagSerials()
        # iMule's CryptoKadUDPKey: the secret behind the verify keys peers may encrypt to us with. mule never hands
        # a verify key out (it replies in plaintext), so a per-process secret is enough.
        self._udp_key = int.from_bytes(randbytes(4), "little")
        self._timers: list[Timer] = []
        self._responder: Responder | None = None
        self._maintenance: Maintenance | None = None
        self._receiving: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self._transport.open()
        me = OwnContact(self.kad_id, self._transport.local_destination)
        shuffler = Shuffler(substream_seed(self._seed, b"node"))
        self._responder = Responder(me, self.table, self._tracker, shuffler)
        self._maintenance = Maintenance(me, self.table, self._load_seeds(), shuffler, self._randbytes)
        self._receiving = asyncio.create_task(self._receive_loop(), name="mule-receive")
        now = self._clock.now()
        tick = self._profile.upkeep_tick  # fixed by the profile: the same upkeep rate on every node, in every state
        self._every(now + tick, tick, self._upkeep)
        self._every(now + STATUS_EVERY, STATUS_EVERY, self._log_status)
        log.info("node %032x up at %s", self.kad_id, self._transport.local_destination[:8].hex())

    async def stop(self) -> None:
        """Graceful shutdown: stop timers and receiving, save the table, close the session."""
        for timer in self._timers:
            timer.cancel()
        self._timers.clear()
        if self._receiving is not None:
            self._receiving.cancel()
            await asyncio.gather(self._receiving, return_exceptions=True)
        self._save_nodes()
        self.shaper.close()
        await self._transport.close()
        log.info("node stopped: %s", self.status())

    @property
    def local_destination(self) -> bytes:
        return self._transport.local_destination

    def status(self) -> NodeStatus:
        counters = self.shaper.counters
        contacts = self.table.contacts()
        return NodeStatus(
            kad_id=self.kad_id,
            contacts=len(contacts),
            verified=sum(c.verified for c in contacts),
            seeds=0 if self._maintenance is None else self._maintenance.seeds,
            queued=self.shaper.queued_messages,
            sent=counters.sent,
            admitted=counters.admitted,
            dropped_inputs=counters.unknown + counters.over_cap + counters.generic_failures,
        )

    # --- inbound ----------------------------------------------------------------------------------------

    async def _receive_loop(self) -> None:
        while True:
            datagram = await self._transport.receive()
            self.on_datagram(datagram.source, datagram.payload)

    def on_datagram(self, source: bytes, payload: bytes) -> None:
        assert self._responder is not None, "start() first"
        # iMule obfuscates to peers of version >= 6 whose Kad ID it knows, as we are; replies go out plain,
        # which iMule accepts.
        sender_key = verify_key(hash_code(source), self._udp_key)
        plain = deobfuscate(payload, own_id=self.kad_id, own_verify_key_for_sender=sender_key).datagram
        try:
            message = decode(plain)
        except UnknownOpcode:
            self.shaper.admit(source, None)
            return
        except MalformedPacket:
            self.shaper.admit(source, None, malformed=True)
            return
        if self.shaper.admit(source, flood_opcode(message)):
            self._queue(self._responder.handle(source, message, self._clock.now()))

    # --- outbound ---------------------------------------------------------------------------------------

    def _queue(self, outbound: list[Outbound]) -> None:
        now = self._clock.now()
        for item in outbound:
            if item.message.OPCODE in _TRACKED_REQUESTS:
                self._tracker.expect(item.destination, item.message.OPCODE, now)
            self.shaper.submit(item.destination, item.message.encode(self._serials), item.kind)

    def _upkeep(self) -> None:
        assert self._maintenance is not None
        self._queue(self._maintenance.tick(self._clock.now()))

    def _every(self, first: float, period: float, action: Callable[[], None]) -> None:
        """Run ``action`` at ``first`` and then every ``period`` seconds on the node's clock (no drift)."""
        slot = len(self._timers)

        def fire(at: float) -> None:
            action()
            self._timers[slot] = self._clock.call_at(at + period, lambda: fire(at + period))

        self._timers.append(self._clock.call_at(first, lambda: fire(first)))

    def _log_status(self) -> None:
        log.info("status: %s", self.status())

    # --- persistence ------------------------------------------------------------------------------------

    def _load_seeds(self) -> list[Contact]:
        """Seed contacts for bootstrapping; our own saved nodes.dat also refills the table, as in iMule."""
        path = self._data_dir / NODES_DAT
        entries, source = load_or_seed(path)
        log.info("%d seed contacts from %s", len(entries), source)
        if source == os.fspath(path):
            now = self._clock.now()
            for entry in entries:
                contact = entry.contact
                self.table.add(contact.kad_id, contact.udp_dest, contact.version, now, verified=entry.verified)
        return [entry.contact for entry in entries]

    def _save_nodes(self) -> None:
        contacts = sorted(self.table.contacts(), key=lambda c: (not c.verified, -c.last_seen))[:NODES_DAT_MAX]
        if not contacts:
            return  # keep whatever file there is rather than replace it with an empty one
        entries = tuple(NodeEntry(as_kad2(c), verified=c.verified) for c in contacts)
        write_nodes_dat(self._data_dir / NODES_DAT, entries)
        log.info("saved %d contacts to %s", len(entries), self._data_dir / NODES_DAT)
