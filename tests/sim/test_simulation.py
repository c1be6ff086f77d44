"""A small network of production node cores on the virtual clock: tables fill, upkeep keeps its rate, runs replay.

30 nodes for 10 simulated minutes take about a second of CPU. Every threshold has a control
that must miss it: a network that loses 95 % of its datagrams leaves the tables empty.
"""

from __future__ import annotations

import pytest

from mule.contract import PROFILE_V2
from mule.sim import Figures, Latency, SimConfig, Simulation

NODES = 30
MINUTES = 10
UPKEEP_PER_MINUTE = 60 / PROFILE_V2.upkeep.mean


def simulate(**changes: object) -> tuple[Simulation, Figures]:
    config = SimConfig(**({"nodes": NODES, "hours": MINUTES / 60, "seed": 3} | changes))  # type: ignore[arg-type]
    simulation = Simulation(config)
    return simulation, simulation.run()


@pytest.fixture(scope="module")
def small() -> tuple[Simulation, Figures]:
    return simulate()


def test_every_table_fills_with_verified_contacts(small: tuple[Simulation, Figures]):
    _, figures = small
    assert figures.nodes_live == NODES
    # Everyone learns everyone else within 10 minutes (a 30-node network fits in one zone of iMule's tree).
    assert figures.contacts["min"] >= NODES - 3, figures.contacts
    assert figures.verified["median"] >= NODES - 5, figures.verified
    assert figures.core["faults"] == 0 and figures.shaper["expired"] == 0


def test_upkeep_keeps_the_profile_rate_and_mix(small: tuple[Simulation, Figures]):
    simulation, figures = small
    minutes = sum(simulation.clock.now() - node.joined for node in simulation.members) / 60
    upkeep = figures.core["upkeep"] / minutes
    assert 0.85 * UPKEEP_PER_MINUTE < upkeep < 1.15 * UPKEEP_PER_MINUTE, upkeep
    rates = figures.by_opcode_per_node_minute
    # The deck deals 5 HELLO, 2 KADEMLIA2_REQ and 1 BOOTSTRAP_REQ of every 8, and each is answered.
    assert rates["HELLO_REQ"] > 2 * rates["KADEMLIA_REQ"] > 2 * rates["BOOTSTRAP_REQ"] > 0
    assert rates["KADEMLIA_RES"] == pytest.approx(rates["KADEMLIA_REQ"], rel=0.05)
    assert "obfuscated" not in rates  # the tally read every datagram with the receiver's keys


def test_a_seed_replays_the_same_run(small: tuple[Simulation, Figures]):
    _, first = small
    _, again = simulate()
    assert again.as_dict() | {"cpu_seconds": 0} == first.as_dict() | {"cpu_seconds": 0}
    _, other = simulate(seed=4)
    assert other.network != first.network


def test_negative_control_a_network_that_loses_almost_everything_leaves_tables_empty():
    _, figures = simulate(latency=Latency(loss=0.95))
    assert figures.contacts["median"] < 5, figures.contacts
    # The upkeep rate does not depend on what the table holds (participation symmetry).
    assert figures.core["upkeep"] > 0.85 * UPKEEP_PER_MINUTE * NODES * (MINUTES - 5)


def test_churn_replaces_nodes_and_the_departed_hear_nothing():
    simulation, figures = simulate(churn=0.3)
    movers = round(0.3 * NODES)
    assert figures.joined == NODES + movers and figures.left == movers and figures.nodes_live == NODES
    departed = [node for node in simulation.members if not node.alive]
    assert len(departed) == movers and all(node.shaper.queued_messages == 0 for node in departed)
    assert figures.network["lost"] > 0  # what the others still send them vanishes
    # Newcomers bootstrap from the seed list alone, as the first nodes did.
    settled = [node for node in simulation.members[NODES:] if node.alive and node.joined < simulation.clock.now() - 240]
    assert settled and all(len(node.core.table) >= 10 for node in settled)
