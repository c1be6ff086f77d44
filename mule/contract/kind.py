"""The kinds of outbound traffic: plain data shared by the sans-IO node core and the shaper."""

from __future__ import annotations

from enum import Enum


class Kind(Enum):
    """What an outbound message is, for accounting and caps only: it never changes when the message leaves."""

    REQUEST = "request"
    """Requests we originate: lookups, searches, publishes, HELLO_REQ, PING, BOOTSTRAP_REQ."""
    RESPONSE = "response"
    """Answers to a peer's request (RES, SEARCH_RES, PUBLISH_RES, HELLO_RES, PONG, ...): capped per peer."""
    MAINTENANCE = "maintenance"
    """Routing-table upkeep: probes and refreshes."""
    COVER = "cover"
    """Lookups started for no user, identical on the wire to user lookups (participation symmetry)."""
