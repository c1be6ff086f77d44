"""``python -m mule bench micro``: CPU cost of the hot paths against baselines measured in the same run.

How it keeps the figures honest (docs/performance.md):

- every case runs in a fresh Python process (no heap state, caches or page faults left by another case), with the
  garbage collector frozen after set-up and off while timing;
- its contenders (compiled twin, pure twin, baselines) are interleaved round by round, each round in a rotated
  order, so load that comes and goes hits them all alike;
- each sample is the CPU time of a batch (``time.thread_time``), divided by the batch's calls;
- the table gives each contender's median and inter-quartile spread, and its ratio to the case's baseline as the
  median of the per-round ratios (paired: both sides of a ratio ran within the same round);
- the machine's load average and CPU count are recorded before and after.

The ``struct`` codec, numpy ``argpartition`` and ``kademlia`` baselines live in the source tree's ``bench/`` folder
(``bench/baselines.py``), never in the product: from an installed wheel only the twins are compared.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mule.quantile import quantile

BENCH_DIR = Path(__file__).resolve().parents[2] / "bench"
TARGET_SECONDS = 0.002  # CPU per timed batch
CASES: dict[str, Callable[[bool], Case]] = {}


@dataclass
class Case:
    """Contenders measured against ``baseline``; ``notes`` are figures computed once (shares, sizes, rates)."""

    title: str
    contenders: dict[str, Callable[[], object]]
    baseline: str
    notes: dict[str, Any] = field(default_factory=dict)
    self_timed: bool = False
    """Each contender returns the CPU seconds it cost (work done in another process), one call per sample."""


def case(name: str) -> Callable[[Callable[[bool], Case]], Callable[[bool], Case]]:
    def register(build: Callable[[bool], Case]) -> Callable[[bool], Case]:
        CASES[name] = build
        return build

    return register


# --- measuring (in the child process) -------------------------------------------------------------------------------


def _batch_cpu(call: Callable[[], object], n: int) -> float:
    start = time.thread_time()
    for _ in range(n):
        call()
    return time.thread_time() - start


def _self_timed(call: Callable[[], object], n: int) -> float:
    return sum(float(call()) for _ in range(n))  # type: ignore[arg-type]


def _calibrate(call: Callable[[], object], target: float) -> int:
    n = 1
    while True:
        spent = _batch_cpu(call, n)
        if spent >= target or n >= 1 << 20:
            return n
        n = max(n * 2, int(n * target / max(spent, 1e-7)))


def measure(built: Case, rounds: int) -> dict[str, Any]:
    names = list(built.contenders)
    if built.self_timed:
        sizes = dict.fromkeys(names, 1)
        sample = _self_timed
    else:
        sizes = {name: _calibrate(built.contenders[name], TARGET_SECONDS) for name in names}
        sample = _batch_cpu
    samples: dict[str, list[float]] = {name: [] for name in names}
    gc.collect()
    gc.freeze()
    gc.disable()
    try:
        for index in range(rounds):
            shift = index % len(names)
            for name in names[shift:] + names[:shift]:
                samples[name].append(sample(built.contenders[name], sizes[name]) / sizes[name])
    finally:
        gc.enable()
        gc.unfreeze()
    base = samples[built.baseline]
    rows = {}
    for name in names:
        ratios = [mine / theirs for mine, theirs in zip(samples[name], base, strict=True)]
        rows[name] = {
            "median_s": statistics.median(samples[name]),
            "q1_s": quantile(samples[name], 0.25),
            "q3_s": quantile(samples[name], 0.75),
            "ratio": statistics.median(ratios),
            "ratio_q1": quantile(ratios, 0.25),
            "ratio_q3": quantile(ratios, 0.75),
            "batch": sizes[name],
        }
    return {"title": built.title, "baseline": built.baseline, "rows": rows, "notes": _notes(built)}


def _notes(built: Case) -> dict[str, Any]:
    """The case's notes, those given as functions read after the measurement (counters the rounds moved)."""
    return {key: value() if callable(value) else value for key, value in built.notes.items()}


def _load_cases() -> None:
    """Register every case (the baselines come from the source tree's bench/ folder when there is one)."""
    if BENCH_DIR.is_dir() and str(BENCH_DIR) not in sys.path:
        sys.path.insert(0, str(BENCH_DIR))
    from mule.bench import micro_cases, micro_flood  # noqa: F401


def _child(name: str, quick: bool, rounds: int) -> None:
    _load_cases()
    built = CASES[name](quick)
    result = measure(built, rounds) if built.contenders else {"title": built.title, "rows": {}, "notes": _notes(built)}
    json.dump(result, sys.stdout)


# --- running and reporting (in the parent) --------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    return {
        "loadavg": [round(x, 2) for x in os.getloadavg()],
        "nproc": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def run_case(name: str, quick: bool, rounds: int) -> dict[str, Any]:
    env = dict(os.environ)
    command = [sys.executable, "-m", "mule.bench.micro", "--child", name, "--rounds", str(rounds)]
    if quick:
        command.append("--quick")
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        return {"title": name, "error": done.stderr.strip().splitlines()[-1:] or ["failed"], "rows": {}, "notes": {}}
    result = json.loads(done.stdout)
    result["child_cpu_s"] = round(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime, 2)
    return result


def run(names: list[str], quick: bool, rounds: int, progress: Callable[[str], None]) -> dict[str, Any]:
    report: dict[str, Any] = {"machine_before": machine(), "quick": quick, "rounds": rounds, "cases": {}}
    for index, name in enumerate(names, 1):
        progress(f"[{index}/{len(names)}] {name}")
        report["cases"][name] = run_case(name, quick, rounds)
    report["machine_after"] = machine()
    return report


def _time(seconds: float) -> str:
    if seconds >= 1e-3:
        return f"{seconds * 1e3:8.2f} ms"
    return f"{seconds * 1e6:8.2f} us"


def format_table(report: dict[str, Any]) -> str:
    before, after = report["machine_before"], report["machine_after"]
    lines = [
        f"mule bench micro: {before['nproc']} CPUs, load {before['loadavg']} -> {after['loadavg']}, "
        f"Python {before['python']}, {report['rounds']} interleaved rounds per case, CPU time (thread_time)",
        f"{'case / contender':<58} {'median':>11} {'IQR':>23} {'ratio':>8} {'ratio IQR':>15}",
    ]
    for result in report["cases"].values():
        lines.append(f"{result['title']}" + (f"  ERROR: {result['error']}" if "error" in result else ""))
        for name, row in result["rows"].items():
            mark = "  (baseline)" if name == result.get("baseline") else ""
            lines.append(
                f"  {name + mark:<56} {_time(row['median_s']):>11} {_time(row['q1_s'])}..{_time(row['q3_s'])}"
                f" {row['ratio']:>7.2f}x {row['ratio_q1']:>6.2f}..{row['ratio_q3']:<6.2f}"
            )
        for key, value in result.get("notes", {}).items():
            lines.append(f"    {key}: {value}")
    return "\n".join(lines)


def register(subparsers: argparse._SubParsersAction, parents: list[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "micro", parents=parents, help="CPU cost of the hot paths against baselines measured in the same run"
    )
    parser.add_argument("--quick", action="store_true", help="fewer rounds and smaller inputs (a minute or so)")
    parser.add_argument("--json", action="store_true", help="print the full report as JSON")
    parser.add_argument("--rounds", type=int, default=None, help="interleaved rounds per case (default 31; quick 7)")
    parser.add_argument("cases", nargs="*", metavar="CASE", help="only these cases (default: all)")
    parser.set_defaults(handler=_handle)


def _handle(args: argparse.Namespace) -> int:
    _load_cases()
    names = args.cases or list(CASES)
    unknown = [name for name in names if name not in CASES]
    if unknown:
        print(f"unknown case(s) {unknown}; known: {list(CASES)}", file=sys.stderr)
        return 2
    rounds = args.rounds or (7 if args.quick else 31)
    tty = sys.stderr.isatty()

    def progress(line: str) -> None:
        if tty:
            print(f"\r\033[K{line}", end="", file=sys.stderr, flush=True)

    report = run(names, args.quick, rounds, progress)
    if tty:
        print("\r\033[K", end="", file=sys.stderr, flush=True)
    print(json.dumps(report, indent=2) if args.json else format_table(report))
    return 0


if __name__ == "__main__":
    options = argparse.ArgumentParser()
    options.add_argument("--child", required=True)
    options.add_argument("--rounds", type=int, required=True)
    options.add_argument("--quick", action="store_true")
    chosen = options.parse_args()
    from mule.bench import micro  # the registry lives in the imported module, not in __main__

    micro._child(chosen.child, chosen.quick, chosen.rounds)
