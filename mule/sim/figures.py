"""The simulator's figures: plain data (JSON-ready) and one human-readable rendering."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from mule.quantile import quantile


def summary(values: Sequence[float]) -> dict[str, float]:
    """Mean, extremes and the usual quantiles of ``values``."""
    if not values:
        return {"count": 0, "mean": 0.0, "min": 0.0, "p5": 0.0, "median": 0.0, "p95": 0.0, "max": 0.0}
    return {
        "count": len(values),
        "mean": round(sum(values) / len(values), 3),
        "min": float(min(values)),
        "p5": quantile(values, 0.05),
        "median": quantile(values, 0.5),
        "p95": quantile(values, 0.95),
        "max": float(max(values)),
    }


@dataclass(slots=True)
class LookupFigures:
    """One kind of lookup across the network: how many ran, how many met their goal, and how far they walked."""

    started: int = 0
    finished: int = 0
    succeeded: int = 0
    hops: list[int] = field(default_factory=list)
    outcomes: list[tuple[float, bool]] = field(default_factory=list)
    """(simulated second it was submitted, succeeded) for each finished lookup: success by the network's age."""

    def as_dict(self) -> dict[str, Any]:
        return {
            "started": self.started,
            "finished": self.finished,
            "succeeded": self.succeeded,
            "success_rate": round(self.succeeded / self.finished, 4) if self.finished else None,
            "hops_mean": round(sum(self.hops) / len(self.hops), 3) if self.hops else None,
            "hops_p95": quantile(self.hops, 0.95) if self.hops else None,
        }


@dataclass(slots=True)
class Figures:
    config: dict[str, Any]
    simulated_seconds: float
    cpu_seconds: float
    nodes_live: int
    joined: int
    left: int
    contacts: dict[str, float]
    verified: dict[str, float]
    datagrams_per_node_minute: float
    by_opcode_per_node_minute: dict[str, float]
    network: dict[str, int]
    shaper: dict[str, int]
    core: dict[str, int]
    observed_nodes: int = 0
    """Nodes whose sends are tallied by opcode (``by_opcode_per_node_minute`` is their average)."""
    lookups: dict[str, dict[str, Any]] = field(default_factory=dict)
    publishes: dict[str, int] = field(default_factory=dict)
    memory: dict[str, float] | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def render(self) -> str:
        lines = [
            f"simulated {self.simulated_seconds / 3600:.2f} h of {self.config['nodes']} nodes "
            f"(churn {self.config['churn']:.0%}: {self.joined} joined, {self.left} left, "
            f"{self.nodes_live} live at the end) in {self.cpu_seconds:.1f} s CPU",
            "contacts per routing table: " + _brief(self.contacts) + "; verified: " + _brief(self.verified),
            f"datagrams per node per minute: {self.datagrams_per_node_minute:.2f} "
            f"(by opcode: the average of {self.observed_nodes} observed nodes)",
        ]
        lines += [f"  {name:<22} {rate:8.3f}" for name, rate in self.by_opcode_per_node_minute.items()]
        for kind, figures in self.lookups.items():
            rate = figures["success_rate"]
            lines.append(
                f"{kind} lookups: {figures['finished']}/{figures['started']} finished, "
                f"success {'-' if rate is None else f'{rate:.1%}'}, "
                f"hops mean {figures['hops_mean']} p95 {figures['hops_p95']}"
            )
        if self.publishes:
            lines.append(
                f"keyword publishes: {self.publishes['acknowledged']}/{self.publishes['started']} acknowledged"
            )
        lines.append("network: " + ", ".join(f"{k} {v}" for k, v in self.network.items()))
        lines.append("shaper: " + ", ".join(f"{k} {v}" for k, v in self.shaper.items()))
        lines.append("core: " + ", ".join(f"{k} {v}" for k, v in self.core.items()))
        if self.memory is not None:
            lines.append("memory (tracemalloc): " + ", ".join(f"{k} {v:,.0f}" for k, v in self.memory.items()))
        return "\n".join(lines)


def _brief(stats: dict[str, float]) -> str:
    return f"mean {stats['mean']:.1f}, p5 {stats['p5']:.0f}, median {stats['median']:.0f}, p95 {stats['p95']:.0f}"
