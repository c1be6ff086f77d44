"""Simulator throughput: CPU per simulated node-minute, the figure that sizes large runs (docs/simulation.md).

Recorded, not asserted (machines are shared and noisy). The run is the production node core and
shaper under the production profile, so this also tracks the per-datagram cost of the core: at the time
of writing about 187 datagrams per node per minute and ~0.037 s of CPU per node-minute (200 nodes).
"""

from __future__ import annotations

import pytest

from mule.sim import SimConfig, Simulation

NODES = 40
MINUTES = 6


def run_small_network() -> float:
    figures = Simulation(SimConfig(nodes=NODES, hours=MINUTES / 60, seed=5, warmup=60.0)).run()
    return figures.network["datagrams"]


@pytest.mark.benchmark(group="simulator: 40 nodes, 6 simulated minutes")
def test_bench_simulated_network(benchmark):
    datagrams = benchmark.pedantic(run_small_network, rounds=1, iterations=1)
    assert datagrams > 0
    if benchmark.stats is None:  # --benchmark-disable (the smoke run of scripts/run-tests): nothing was timed
        return
    seconds = benchmark.stats.stats.mean
    benchmark.extra_info["cpu_s_per_node_minute"] = seconds / (NODES * MINUTES)
    benchmark.extra_info["us_per_datagram"] = 1e6 * seconds / datagrams
