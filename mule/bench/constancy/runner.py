"""Runs the conditions in randomized blocks, each run in a child process, and collects their raw samples.

Every block runs each condition once, in a fresh random order, so slow drifts of the machine
(other users, thermal state) fall on every condition alike. CPU hogs are started for the
``loaded`` and ``loaded_equal`` runs only and stopped right after each; two long-lived nodes record
upkeep for the whole measurement (one correct, one with the fixed-tick control).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

import mule
from mule.bench.constancy.child import Spec


@dataclass(frozen=True, slots=True)
class Condition:
    name: str
    what: str
    spec: dict[str, object] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)
    hogs: bool = False
    one_core: bool = False
    nodes: int = 1
    control: bool = False
    """A negative control: a deliberately leaky node that must be told apart from ``idle``."""
    hogs_at_node_priority: bool = False
    """The hogs run at the node's own niceness instead of the default one."""
    limit: bool = False
    """A host the node cannot outrank: measured and reported with its result, not judged by the verdict."""

    @property
    def kind(self) -> str:
        return "control" if self.control else "limit" if self.limit else "condition"


CONDITIONS: tuple[Condition, ...] = (
    Condition("idle", "compiled core, both cores, empty table, quiet, no hogs"),
    Condition("loaded", "every core saturated by CPU hogs at the default priority", hogs=True),
    Condition(
        "loaded_equal",
        "limit: every core saturated by CPU hogs at the node's own priority",
        hogs=True,
        hogs_at_node_priority=True,
        limit=True,
    ),
    Condition("pure", "pure-Python core (MULE_NO_EXTENSIONS=1)", env={"MULE_NO_EXTENSIONS": "1"}),
    Condition("onecore", "pinned to one core (sched_setaffinity)", one_core=True),
    Condition("full", "1,250 verified contacts in the table", spec={"table": 1250}),
    Condition("flooded", "2,000 distinct peers flood PINGs at 500/s", spec={"flood_peers": 2000, "flood_rate": 500.0}),
    Condition("twonodes", "two nodes on one host, probed at once", nodes=2),
    Condition("client", "client role: the user starts 5 keyword searches a second", spec={"lookups": 5.0}),
    Condition("plus2ms", "control: +2 ms before hand-off", spec={"control": "plus2ms"}, control=True),
    Condition("fastpath", "control: PONG skips the base delay", spec={"control": "fastpath"}, control=True),
    Condition("fifo", "control: FIFO release", spec={"control": "fifo"}, control=True),
)
UPKEEP_NODES = (("upkeep", None), ("upkeep_fixed", "fixed_upkeep"))


@dataclass(frozen=True, slots=True)
class Plan:
    blocks: int
    duration: float
    rate: float
    seed: int
    conditions: tuple[Condition, ...]
    leak: str | None = None
    """Apply this control to every node (a deliberately leaky build, for ``--compare``)."""
    niceness: int = 0
    """The niceness every node runs at here: what ``mule run`` takes (``node_niceness``)."""

    def as_dict(self) -> dict[str, object]:
        return {
            "blocks": self.blocks,
            "duration": self.duration,
            "rate": self.rate,
            "seed": self.seed,
            "conditions": {c.name: c.what for c in self.conditions},
            "leak": self.leak,
            "niceness": self.niceness,
        }


QUICK = {"blocks": 6, "duration": 2.5, "rate": 800.0}
FULL = {"blocks": 16, "duration": 6.0, "rate": 800.0}


def child_env(extra: dict[str, str]) -> dict[str, str]:
    """The child imports this same mule tree, whatever the current directory."""
    env = {
        key: value for key, value in os.environ.items() if key not in ("MULE_NO_EXTENSIONS", "MULE_REQUIRE_EXTENSIONS")
    }
    root = str(Path(mule.__file__).resolve().parent.parent)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [root, env.get("PYTHONPATH")]))
    return {**env, **extra}


def start_child(spec: Spec, env: dict[str, str], workdir: Path) -> tuple[subprocess.Popen[bytes], Path]:
    out = workdir / f"{spec.condition}-{spec.run}-{os.urandom(4).hex()}.json"
    process = subprocess.Popen(
        [sys.executable, "-m", "mule.bench.constancy.child", json.dumps(asdict(spec)), str(out)],
        env=child_env(env),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    return process, out


class ForkServer:
    """One ``child --serve`` per environment (compiled, pure): runs forked from it skip start-up and imports."""

    def __init__(self, env: dict[str, str], workdir: Path) -> None:
        self._log = workdir / f"server-{os.urandom(4).hex()}.log"
        self._process = subprocess.Popen(
            [sys.executable, "-m", "mule.bench.constancy.child", "--serve"],
            env=child_env(env),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log.open("wb"),
            text=True,
        )
        self._workdir = workdir

    def run(self, specs: list[Spec]) -> list[dict[str, object]]:
        """Run ``specs`` at once (forked together), and return their results."""
        outs = [self._workdir / f"{spec.condition}-{spec.run}-{os.urandom(4).hex()}.json" for spec in specs]
        assert self._process.stdin is not None and self._process.stdout is not None
        self._process.stdin.write(
            json.dumps([[json.dumps(asdict(s)), str(o)] for s, o in zip(specs, outs, strict=True)]) + "\n"
        )
        self._process.stdin.flush()
        codes = json.loads(self._process.stdout.readline() or "null")
        if codes is None or any(codes):
            tail = self._log.read_text(encoding="utf-8", errors="replace")[-2000:]
            raise RuntimeError(f"a bench run failed (exit {codes}): {tail}")
        return [json.loads(out.read_text(encoding="utf-8")) for out in outs]

    def close(self) -> None:
        assert self._process.stdin is not None
        self._process.stdin.close()
        self._process.wait()


def finish_child(process: subprocess.Popen[bytes], out: Path) -> dict[str, object]:
    _, err = process.communicate()
    if process.returncode != 0:
        raise RuntimeError(f"a bench run failed (exit {process.returncode}): {err.decode(errors='replace')[-2000:]}")
    return json.loads(out.read_text(encoding="utf-8"))


def node_niceness() -> int:
    """The niceness a node started from here runs at: each run takes the deployed priority as ``mule run`` does,
    which only root, CAP_SYS_NICE or RLIMIT_NICE allow (tried in a throwaway process: it cannot be undone)."""
    probe = "from mule.node.priority import take_deployed_priority as t; print(t().after)"
    done = subprocess.run([sys.executable, "-c", probe], env=child_env({}), capture_output=True, text=True, check=True)
    return int(done.stdout)


class Hogs:
    """One busy process per core, at ``niceness`` (None: this process's), for as long as the context lasts."""

    def __init__(self, niceness: int | None = None) -> None:
        self._niceness = niceness

    def __enter__(self) -> Hogs:
        hog = [sys.executable, "-c", "while True: pass"]
        self._processes = [subprocess.Popen(hog) for _ in range(os.cpu_count() or 1)]
        if self._niceness is not None:
            # Set from here, the moment each exists: a hog that set its own would run at this process's niceness
            # until its interpreter had started, which on a loaded host is longer than the wait below.
            for process in self._processes:
                os.setpriority(os.PRIO_PROCESS, process.pid, self._niceness)
        time.sleep(0.3)  # let the scheduler spread them
        return self

    def __exit__(self, *_: object) -> None:
        for process in self._processes:
            process.kill()
        for process in self._processes:
            process.wait()


def measure(plan: Plan, progress: Callable[[str], None]) -> list[dict[str, object]]:
    """Every run of every condition (and the two upkeep nodes), as the children reported them."""
    rng = np.random.default_rng(plan.seed)
    results: list[dict[str, object]] = []
    total = plan.blocks * len(plan.conditions)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="mule-constancy-") as tmp:
        workdir = Path(tmp)
        stop_file = workdir / "stop"
        upkeep = [
            start_child(
                Spec(
                    name,
                    0,
                    plan.seed + 7919 * (i + 1),
                    control=control or plan.leak,
                    upkeep_only=True,
                    extra={"stop_file": str(stop_file), "block": 0},
                ),
                {},
                workdir,
            )
            for i, (name, control) in enumerate(UPKEEP_NODES)
        ]
        servers = {
            key: ForkServer(dict(key), workdir) for key in {tuple(sorted(c.env.items())) for c in plan.conditions}
        }
        done = 0
        for block in range(plan.blocks):
            for index in rng.permutation(len(plan.conditions)):
                condition = plan.conditions[int(index)]
                run_started = time.monotonic()
                server = servers[tuple(sorted(condition.env.items()))]
                runs = _run(condition, plan, block, int(rng.integers(1 << 31)), server)
                results.extend(runs)
                done += 1
                elapsed = time.monotonic() - started
                progress(
                    f"[{done:3d}/{total}] block {block + 1}/{plan.blocks} {condition.name:<12} "
                    f"{len(runs[0]['delays']):6,d} replies  {time.monotonic() - run_started:4.1f} s  "
                    f"elapsed {elapsed / 60:4.1f} min  eta {elapsed / done * (total - done) / 60:4.1f} min"
                )
        for server in servers.values():
            server.close()
        stop_file.touch()
        for process, out in upkeep:
            results.append(finish_child(process, out))
    return results


def _run(condition: Condition, plan: Plan, block: int, seed: int, server: ForkServer) -> list[dict[str, object]]:
    spec: dict[str, object] = {"duration": plan.duration, "rate": plan.rate, **condition.spec}
    if plan.leak is not None:
        spec["control"] = spec.get("control") or plan.leak
    cpus = None
    if condition.one_core:
        allowed = sorted(os.sched_getaffinity(0))
        cpus = [allowed[seed % len(allowed)]]
    start_at = time.monotonic() + 1.0 if condition.nodes > 1 else None
    specs = [
        Spec(
            condition.name if node == 0 else f"{condition.name}_b",
            block,
            seed + node,
            cpus=cpus,
            start_at=start_at,
            extra={"block": block},
            **spec,
        )  # type: ignore[arg-type]
        for node in range(condition.nodes)
    ]
    if condition.hogs:
        with Hogs(plan.niceness if condition.hogs_at_node_priority else None):
            return server.run(specs)
    return server.run(specs)
