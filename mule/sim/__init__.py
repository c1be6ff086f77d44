"""The network simulator: many production node cores and shapers on one virtual clock (docs/simulation.md)."""

from __future__ import annotations

from mule.sim.figures import Figures
from mule.sim.network import Latency, SimNetwork
from mule.sim.node import Identity, SimNode
from mule.sim.simulation import SimConfig, Simulation

__all__ = ["Figures", "Identity", "Latency", "SimConfig", "SimNetwork", "SimNode", "Simulation"]
