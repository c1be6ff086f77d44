"""A routing contact and iMule's type/expiry life cycle (``kademlia/routing/Contact.cpp``)."""

from __future__ import annotations

from dataclasses import dataclass

from mule.routing.constants import HOUR, PROBE_GRACE, SEEN_ALIVE_AGING, TYPE_DEAD, TYPE_NEW


@dataclass(slots=True)
class Contact:
    """One peer in the table. Callers read it; every change goes through ``RoutingTable``."""

    kad_id: int
    destination: bytes
    version: int
    created: float  # when first added (iMule m_created)
    last_seen: float
    expires: float = 0.0  # iMule m_expires (0 = not yet set)
    type: int = TYPE_NEW  # 0 long-lived .. 4 failed probes (evictable)
    verified: bool = False  # iMule IsIpVerified
    udp_key: int = 0  # sender verify key this peer last gave us (iMule KadUDPKey), 0 = none
    last_probed: float = float("-inf")


def mark_seen_alive(contact: Contact, now: float) -> None:
    """iMule UpdateType: the older the contact, the lower its type and the later its expiry."""
    hours = int((now - contact.created) // HOUR)
    contact.type, lifetime = SEEN_ALIVE_AGING[min(max(hours, 0), len(SEEN_ALIVE_AGING) - 1)]
    contact.expires = now + lifetime
    contact.last_seen = now


def mark_probed(contact: Contact, now: float) -> None:
    """iMule CheckingType: one more unanswered probe; an expired contact gets two minutes to answer."""
    contact.last_probed = now
    contact.type = min(contact.type + 1, TYPE_DEAD)
    if contact.expires <= now:  # expired from its expiry instant on (see probe_due_at)
        contact.expires = now + PROBE_GRACE
