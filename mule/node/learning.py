"""What the node learns from answers to its own requests (already matched to a tracked request by the core).

As in iMule: a BOOTSTRAP_RES adds its sender and lists contacts (taken as verified only while
our table is empty, iMule's bootstrap shortcut); a KADEMLIA2_RES or Kad1 RES lists unverified
contacts, unless it answers a legacy challenge, which verifies its sender and nothing else.
Listed contacts enter unverified and must answer a HELLO before they are handed to others.
"""

from __future__ import annotations

from mule.kad import kad1, messages
from mule.kad.contact import Contact, Kad1Contact
from mule.kad.destination import hash_code
from mule.node.handshake import Handshake
from mule.node.inbound import Inbound
from mule.node.outbound import Outbound, OwnContact
from mule.node.tracking import Pending
from mule.routing import RoutingTable


class Learning:
    __slots__ = ("_handshake", "_me", "_table")

    def __init__(self, me: OwnContact, table: RoutingTable, handshake: Handshake) -> None:
        self._me = me
        self._table = table
        self._handshake = handshake

    def bootstrap_res(self, inbound: Inbound, pending: Pending | None) -> list[Outbound]:
        message: messages.BootstrapRes = inbound.message  # type: ignore[assignment]
        assume_verified = len(self._table) == 0
        if message.kad_id != self._me.kad_id:
            self._table.add(
                message.kad_id,
                inbound.source,
                message.version,
                inbound.now,
                verified=inbound.valid_key,
                udp_key=inbound.sender_key,
            )
        self._learn(message.contacts, inbound.now, verified=assume_verified)
        return []

    def kad1_bootstrap_res(self, inbound: Inbound, pending: Pending | None) -> list[Outbound]:
        message: kad1.Kad1BootstrapRes = inbound.message  # type: ignore[assignment]
        self._learn(message.contacts, inbound.now, verified=False)
        return []

    def kademlia_res(self, inbound: Inbound, pending: Pending | None) -> list[Outbound]:
        message: messages.KademliaRes | kad1.Kad1Res = inbound.message  # type: ignore[assignment]
        if pending is not None and pending.legacy_challenge:
            self._handshake.challenge_answered(inbound, pending)
            return []  # iMule does not care for the rest of a challenge's answer
        self._learn(message.contacts, inbound.now, verified=False)
        return []

    def pong(self, inbound: Inbound, pending: Pending | None) -> list[Outbound]:
        return []  # iMule registers no challenge for its PINGs, so a PONG verifies nothing

    def _learn(self, contacts: tuple[Contact, ...] | tuple[Kad1Contact, ...], now: float, *, verified: bool) -> None:
        table, me = self._table, self._me
        for contact in contacts:
            # iMule's IsGoodDest: a destination whose hashCode is 0 is not an address; never list ourselves.
            if contact.kad_id == me.kad_id or contact.udp_dest == me.udp_dest or not hash_code(contact.udp_dest):
                continue
            version = contact.version if isinstance(contact, Contact) else 0
            # iMule adds listed contacts with update = false: hearsay never refreshes a known contact.
            table.add(contact.kad_id, contact.udp_dest, version, now, verified=verified, update=False)
