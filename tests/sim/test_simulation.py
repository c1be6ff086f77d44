"""A small network of production node cores on the virtual clock: tables fill, upkeep keeps its rate, lookups
find the true nearest node and published keywords, runs replay.

Every threshold has a control that must miss it: a network that loses 95 % of its datagrams leaves the
tables empty and its lookups unanswered, and a search for a keyword nobody published finds nothing.
"""

from __future__ import annotations

import pytest

from mule.contract import PRODUCTION
from mule.lookup import KeywordResult, LookupHandle
from mule.sim import Figures, Latency, SimConfig, Simulation

NODES = 30
MINUTES = 10
UPKEEP_PER_MINUTE = 60 / PRODUCTION.upkeep.mean
BUSY = {"users": 0.5, "warmup": 120.0, "user_every": 60.0}


def simulate(*, before_run=None, **changes: object) -> tuple[Simulation, Figures]:
    settings = {"nodes": NODES, "hours": MINUTES / 60, "seed": 3} | BUSY | changes
    simulation = Simulation(SimConfig(**settings))  # type: ignore[arg-type]
    if before_run is not None:
        before_run(simulation)
    return simulation, simulation.run()


@pytest.fixture(scope="module")
def small() -> tuple[Simulation, Figures, LookupHandle]:
    unpublished: list[LookupHandle] = []

    def search_the_unpublished(simulation: Simulation) -> None:
        seed_node = simulation.members[0]
        at = 4 * 60.0  # once the network has settled, early enough to end before the run does

        def submit() -> None:
            unpublished.append(seed_node.core.search_keywords("nobodypublishedthis"))

        simulation.clock.call_at(at, submit)

    simulation, figures = simulate(before_run=search_the_unpublished)
    return simulation, figures, unpublished[0]


def test_every_table_fills_with_verified_contacts(small):
    _, figures, _ = small
    assert figures.nodes_live == NODES
    # Everyone learns everyone else within 10 minutes (a 30-node network fits in one zone of iMule's tree).
    assert figures.contacts["min"] >= NODES - 3, figures.contacts
    assert figures.verified["median"] >= NODES - 5, figures.verified
    assert figures.core["faults"] == 0 and figures.shaper["expired"] == 0


def test_upkeep_keeps_the_profile_rate_and_mix(small):
    simulation, figures, _ = small
    minutes = sum(simulation.clock.now() - node.joined for node in simulation.members) / 60
    upkeep = figures.core["upkeep"] / minutes
    assert 0.85 * UPKEEP_PER_MINUTE < upkeep < 1.15 * UPKEEP_PER_MINUTE, upkeep
    rates = figures.by_opcode_per_node_minute
    # The deck deals 5 HELLO, 2 KADEMLIA2_REQ and 1 BOOTSTRAP_REQ of every 8 (lookups add KADEMLIA2_REQs).
    assert rates["HELLO_REQ"] > 2 * rates["BOOTSTRAP_REQ"] > 0
    assert rates["KADEMLIA_RES"] == pytest.approx(rates["KADEMLIA_REQ"], rel=0.05)
    assert "obfuscated" not in rates  # the tally read every datagram with the receiver's keys
    assert figures.observed_nodes == NODES


def test_node_lookups_find_the_true_nearest_node_and_searches_the_published_keyword(small):
    _, figures, _ = small
    node, keyword = figures.lookups["node"], figures.lookups["keyword"]
    assert figures.publishes["acknowledged"] >= 5, figures.publishes
    assert node["finished"] >= 20 and keyword["finished"] >= 10, figures.lookups
    assert node["success_rate"] >= 0.95 and keyword["success_rate"] >= 0.9, figures.lookups
    # Not mean <= p95: with under 5 % of lookups at 2 hops the p95 is 1 and the mean just above it.
    assert 0 <= node["hops_mean"] <= 4 and 0 <= node["hops_p95"] <= 4


def test_negative_control_a_keyword_nobody_published_is_not_found(small):
    _, _, unpublished = small
    assert unpublished.finished
    assert not [r for r in unpublished.results if isinstance(r, KeywordResult)]


def test_each_finished_lookup_records_when_it_was_submitted(small):
    simulation, _, _ = small
    for kind, tallies in simulation.workload.figures.items():
        assert len(tallies.outcomes) == tallies.finished > 0, kind
        assert sum(success for _, success in tallies.outcomes) == tallies.succeeded, kind
        submitted = [at for at, _ in tallies.outcomes]
        # Users ask from the end of their warm-up on; a lookup finishes after it was submitted, before the run ends.
        assert BUSY["warmup"] <= min(submitted) <= max(submitted) < simulation.clock.now(), kind


def test_a_seed_replays_the_same_run():
    _, first = simulate(nodes=12, hours=4 / 60)
    _, again = simulate(nodes=12, hours=4 / 60)
    assert again.as_dict() | {"cpu_seconds": 0} == first.as_dict() | {"cpu_seconds": 0}
    _, other = simulate(nodes=12, hours=4 / 60, seed=4)
    assert other.network != first.network


def test_negative_control_a_network_that_loses_almost_everything_fails():
    _, figures = simulate(nodes=16, hours=6 / 60, latency=Latency(loss=0.95))
    assert figures.contacts["median"] < 5, figures.contacts
    assert figures.lookups["node"]["finished"] > 0
    assert figures.lookups["node"]["success_rate"] < 0.5, figures.lookups
    # The upkeep rate does not depend on what the table holds (participation symmetry).
    assert figures.core["upkeep"] > 0.85 * UPKEEP_PER_MINUTE * 16 * 1


def test_churn_replaces_nodes_and_the_departed_hear_nothing():
    nodes = 20
    simulation, figures = simulate(nodes=nodes, hours=8 / 60, churn=0.3)
    movers = round(0.3 * nodes)
    assert figures.joined == nodes + movers and figures.left == movers and figures.nodes_live == nodes
    departed = [node for node in simulation.members if not node.alive]
    assert len(departed) == movers and all(node.shaper.queued_messages == 0 for node in departed)
    assert figures.network["lost"] > 0  # what the others still send them vanishes
    # Newcomers bootstrap from the seed list alone, as the first nodes did.
    settled = [node for node in simulation.members[nodes:] if node.alive and node.joined < simulation.clock.now() - 180]
    assert settled and all(len(node.core.table) >= 8 for node in settled)


def test_opcode_rates_are_per_observed_node_minute():
    # A third of the nodes observed, all alike (no users): their rates by opcode add up to the network's rate.
    simulation, figures = simulate(hours=4 / 60, users=0.0, observed_nodes=NODES // 3, ramp=60.0)
    assert 0 < figures.observed_nodes < NODES
    ratio = sum(figures.by_opcode_per_node_minute.values()) / figures.datagrams_per_node_minute
    assert 0.7 < ratio < 1.3, ratio
    # control: the same counts over every node's minutes (the observed third's sends spread over all) are caught
    all_minutes = sum(simulation.clock.now() - node.joined for node in simulation.members) / 60
    spread = sum(simulation.network.opcodes.values()) / all_minutes / figures.datagrams_per_node_minute
    assert not 0.7 < spread < 1.3, spread
