"""The simulator's reference run: a fixed seed gives these exact figures and this exact wire, on both twins.

Speed-ups of the simulator, the node core or the shaper must leave every simulated event alone (invariant 7
of docs/contract.md: no change to timing, ordering, rates, who is answered or what is sent). The digest
covers every datagram put on the simulated wire (its instant, both ends and its bytes), so a change that
moves one release by a microsecond, reorders two sends or alters one byte fails here. If a change to the
node's behaviour is intended, it needs its own reasoning (docs/contract.md) and new reference figures.
"""

from __future__ import annotations

import hashlib
from dataclasses import replace

import pytest

from mule.sim import SimConfig, Simulation
from mule.sim.network import SimNetwork

REFERENCE = SimConfig(nodes=30, hours=5 / 60, seed=1, users=0.5, warmup=60.0, user_every=60.0)
WIRE_DIGEST = "9420860e6c17726892a852eb4cc4d94b04039958b7629a345d9b1ec5f3f1c3cb"
FIGURES = {
    "network": {"datagrams": 19424, "delivered": 19335, "lost": 0},
    "shaper": {
        "submitted": 19509,
        "sent": 19424,
        "capped": 0,
        "congested": 0,
        "expired": 0,
        "overflowed": 0,
        "admitted": 19332,
        "unknown": 0,
        "over_cap": 3,
        "generic_failures": 0,
    },
    "core": {
        "received": 19335,
        "handled": 19318,
        "upkeep": 1625,
        "unsolicited": 14,
        "lookup_requests": 8392,
        "faults": 0,
    },
    "verified": {"count": 30, "mean": 29.0, "min": 29.0, "p5": 29.0, "median": 29.0, "p95": 29.0, "max": 29.0},
    "by_opcode_per_node_minute": {
        "KADEMLIA_REQ": 38.777,
        "KADEMLIA_RES": 38.338,
        "SEARCH_RES": 16.164,
        "HELLO_REQ": 7.386,
        "HELLO_RES": 7.299,
        "SEARCH_SOURCE_REQ": 6.596,
        "SEARCH_KEY_REQ": 6.457,
        "PUBLISH_SOURCE_REQ": 4.605,
        "HELLO_RES_ACK": 3.331,
        "SEARCH_NOTES_REQ": 3.28,
        "PUBLISH_KEY_REQ": 2.533,
        "PUBLISH_RES": 2.518,
        "PUBLISH_NOTES_REQ": 1.94,
        "BOOTSTRAP_REQ": 1.486,
        "BOOTSTRAP_RES": 1.486,
    },
    "lookups": {
        "node": {
            "started": 40,
            "finished": 23,
            "succeeded": 23,
            "success_rate": 1.0,
            "hops_mean": 1.391,
            "hops_p95": 2.0,
        },
        "keyword": {
            "started": 20,
            "finished": 0,
            "succeeded": 0,
            "success_rate": None,
            "hops_mean": None,
            "hops_p95": None,
        },
    },
    "publishes": {"started": 11, "acknowledged": 4},
}


def _wire_digest(monkeypatch: pytest.MonkeyPatch, config: SimConfig) -> tuple[str, dict[str, object]]:
    digest = hashlib.sha256()
    carry = SimNetwork.carry

    def recorded(network: SimNetwork, source: bytes, destination: bytes, payload: bytes) -> None:
        digest.update(b"%r|%d|" % (network.clock.now(), len(payload)) + source[:8] + destination[:8] + payload)
        carry(network, source, destination, payload)

    monkeypatch.setattr(SimNetwork, "carry", recorded)
    figures = Simulation(config).run().as_dict()
    return digest.hexdigest(), {key: figures[key] for key in FIGURES}


def test_the_reference_run_replays_its_wire_and_figures(monkeypatch: pytest.MonkeyPatch) -> None:
    wire, figures = _wire_digest(monkeypatch, REFERENCE)
    assert figures == FIGURES
    assert wire == WIRE_DIGEST


def test_negative_control_another_seed_changes_the_wire(monkeypatch: pytest.MonkeyPatch) -> None:
    wire, _ = _wire_digest(monkeypatch, replace(REFERENCE, seed=2))
    assert wire != WIRE_DIGEST
