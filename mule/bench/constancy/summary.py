"""The JSON summary (with the raw per-run samples), the verdict, the report files, and ``--compare``."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from pathlib import Path

from mule.bench.constancy import analysis, report
from mule.bench.constancy.analysis import Pair, Run
from mule.bench.constancy.runner import CONDITIONS, Plan

FORMAT = "mule-constancy/1"
BASELINE = "idle"


def by_condition(runs: Sequence[Run]) -> dict[str, list[Run]]:
    grouped: dict[str, list[Run]] = {}
    for run in runs:
        grouped.setdefault(str(run["condition"]), []).append(run)
    return grouped


def _pair_dict(pair: Pair) -> dict[str, object]:
    return {
        "a": pair.a,
        "b": pair.b,
        "kind": pair.kind,
        "distinguishable": pair.distinguishable,
        "tests": [asdict(test) for test in pair.tests],
        "classifiers": pair.classifiers,
    }


def build(plan: Plan, runs: Sequence[Run], machine: str, *, permutations: int) -> dict[str, object]:
    grouped = by_condition(runs)
    idle = grouped.get(BASELINE, [])
    pairs = []
    if len(idle) >= 4:
        odd, even = idle[0::2], idle[1::2]
        pairs.append(analysis.compare(odd, even, "idle (odd)", "idle (even)", "null", permutations=permutations))
    for condition in plan.conditions:
        if condition.name != BASELINE and grouped.get(condition.name):
            pairs.append(
                analysis.compare(
                    idle, grouped[condition.name], BASELINE, condition.name, condition.kind, permutations=permutations
                )
            )
    upkeep = {
        name: [asdict(t) for t in analysis.upkeep_tests(grouped[name])]
        for name in ("upkeep", "upkeep_fixed")
        if grouped.get(name)
    }
    linkability = {}
    if grouped.get("twonodes") and grouped.get("twonodes_b"):
        linkability["twonodes"] = [asdict(t) for t in analysis.linkability(grouped["twonodes"], grouped["twonodes_b"])]
    whats = {c.name: c.what for c in CONDITIONS}
    conditions = {
        name: {"what": whats.get(name, ""), **analysis.condition_summary(rs)}
        for name, rs in grouped.items()
        if not name.startswith("upkeep")
    }
    result: dict[str, object] = {
        "format": FORMAT,
        "plan": plan.as_dict(),
        "machine": machine,
        "conditions": conditions,
        "pairs": [_pair_dict(p) for p in pairs],
        "upkeep": upkeep,
        "linkability": linkability,
    }
    result.update(verdict(result))
    return result


def verdict(result: Mapping[str, object]) -> dict[str, object]:
    """One line: which conditions were told apart from idle (and by what), and whether every control was caught.

    The A/A pair (idle's odd blocks against its even blocks) calibrates the pooled tests on this machine: a test
    that tells idle from idle is measuring the machine's drift (other users' load), not a condition, so it is
    named in the verdict as unreliable here and does not count for or against any other pair.
    """
    pairs = result["pairs"]
    unreliable = sorted({t["name"] for p in pairs if p["kind"] == "null" for t in p["tests"] if t["flagged"]})  # type: ignore[union-attr,index]

    def told(pair: Mapping[str, object]) -> list[str]:
        return [t["name"] for t in pair["tests"] if t["flagged"] and t["name"] not in unreliable]  # type: ignore[union-attr,index]

    for pair in pairs:  # type: ignore[union-attr]
        pair["distinguishable"] = bool(told(pair))  # type: ignore[index]
    leaks = [f"{p['b']} ({', '.join(told(p))})" for p in pairs if p["kind"] == "condition" and told(p)]  # type: ignore[union-attr,index]
    limits = [
        f"{p['b']} " + (f"told apart ({', '.join(told(p))})" if told(p) else "not told apart")
        for p in pairs  # type: ignore[union-attr]
        if p["kind"] == "limit"  # type: ignore[index]
    ]
    controls = [p for p in pairs if p["kind"] == "control"]  # type: ignore[union-attr,index]
    missed = [p["b"] for p in controls if not p["distinguishable"]]
    upkeep = result["upkeep"]
    upkeep_leak = any(t["flagged"] for t in upkeep.get("upkeep", []))  # type: ignore[union-attr]
    fixed = upkeep.get("upkeep_fixed")  # type: ignore[union-attr]
    if fixed:  # no tests: the measurement was too short for upkeep to be judged
        controls = [*controls, {"b": "fixed_upkeep"}]
        if not any(t["flagged"] for t in fixed):
            missed.append("fixed_upkeep")
    linked = [n for n, tests in result["linkability"].items() if any(t["flagged"] for t in tests)]  # type: ignore[union-attr]
    problems = leaks + (["upkeep law"] if upkeep_leak else []) + [f"{n} phase-linked" for n in linked]
    caught = len(controls) - len(missed)
    line = (
        (
            "constancy: PASS — no condition told apart from idle"
            if not problems
            else "constancy: LEAK — told apart: " + "; ".join(problems)
        )
        + f"; negative controls caught {caught}/{len(controls)}"
        + (f" (MISSED: {', '.join(missed)})" if missed else "")
        + (f"; beyond the node's reach, not judged: {', '.join(limits)}" if limits else "")
        + (f"; unreliable on this machine (they told idle from idle): {', '.join(unreliable)}" if unreliable else "")
    )
    return {
        "verdict": line,
        "ok": not problems and not missed,
        "told_apart": problems,
        "controls_missed": missed,
        "unreliable_tests": unreliable,
    }


def write(result: Mapping[str, object], runs: Sequence[Run], out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    report.main_figure(by_condition(runs), result, out / report.MAIN_FIGURE)
    report.write_html(result, out / "report.html")
    (out / "constancy.json").write_text(json.dumps({**result, "runs": list(runs)}), encoding="utf-8")


def compare_files(a: Path, b: Path, *, out: Path | None = None, permutations: int = 99) -> int:
    """Whether two constancy.json files (two machines, two builds) can be told apart, condition by condition.

    Controls are left out (they are leaky on purpose); every other condition both files measured is compared
    with the same tests as a pair inside one run. Exit 0: indistinguishable; 1: told apart.
    """
    first, second = (json.loads(path.read_text(encoding="utf-8")) for path in (a, b))
    runs_a, runs_b = by_condition(first["runs"]), by_condition(second["runs"])
    controls = {c.name for c in CONDITIONS if c.control}
    shared = [
        name
        for name in runs_a
        if name in runs_b and name not in controls and not name.startswith("upkeep") and not name.endswith("_b")
    ]
    pairs = [
        analysis.compare(runs_a[name], runs_b[name], f"A:{name}", f"B:{name}", "compare", permutations=permutations)
        for name in shared
    ]
    # Each file's own A/A pair says which pooled tests its machine's drift already sets off: those do not count.
    unreliable = set(first.get("unreliable_tests", [])) | set(second.get("unreliable_tests", []))
    for pair in pairs:
        for test in pair.tests:
            test.flagged = test.flagged and test.name not in unreliable
    told = [f"{p.b[2:]} ({', '.join(t.name for t in p.tests if t.flagged)})" for p in pairs if p.distinguishable]
    for pair in pairs:
        best = analysis.judged_classifier(pair, "timing")
        ks = next(t for t in pair.tests if t.name == "KS reply delays")
        accuracy = f"{best['accuracy']:.2f} [{best['low']:.2f}, {best['high']:.2f}]" if best else "–"
        told_apart = "TOLD APART" if pair.distinguishable else "same"
        print(f"  {pair.b[2:]:<10} {told_apart:<10} KS D={ks.statistic:.4f} p={ks.p_value:.3g}  classifier {accuracy}")
    line = (
        ("compare: DISTINGUISHABLE — " + "; ".join(told))
        if told
        else f"compare: indistinguishable on {len(pairs)} condition(s)"
    )
    if unreliable:
        line += f" (not counted, unreliable on these machines: {', '.join(sorted(unreliable))})"
    print(line)
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        (out / "compare.json").write_text(
            json.dumps({"a": str(a), "b": str(b), "verdict": line, "pairs": [_pair_dict(p) for p in pairs]}),
            encoding="utf-8",
        )
    return 1 if told else 0
