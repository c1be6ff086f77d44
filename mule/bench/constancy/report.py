"""The HTML report: the main figure (matplotlib), every test with its threshold, the classifier verdicts."""

from __future__ import annotations

import html
import textwrap
from collections.abc import Mapping, Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only: never a window, never a display server
import matplotlib.pyplot as plt
import numpy as np

from mule.bench.constancy import adversary
from mule.bench.constancy.analysis import Run, pooled
from mule.contract.profile import PROFILE_V2

MAIN_FIGURE = "constancy.png"
PHASE_PERIOD = 0.05


def main_figure(by_condition: Mapping[str, Sequence[Run]], summary: Mapping[str, object], path: Path) -> None:
    """Delay histograms over the law, phases, Q-Q against the law, lateness CDFs, classifier accuracies."""
    law = PROFILE_V2.delay
    names = [name for name in by_condition if by_condition[name] and not name.startswith("upkeep")]
    colours = {name: plt.cm.tab10(i % 10) for i, name in enumerate(names)}  # type: ignore[attr-defined]
    figure, axes = plt.subplots(2, 3, figsize=(18, 10))
    ax = axes[0, 0]
    bins = np.linspace(0.0, law.high + 0.1, 91)
    for name in names:
        ax.hist(
            pooled(by_condition[name], "delays"),
            bins=bins,
            density=True,
            histtype="step",
            color=colours[name],
            label=name,
        )
    ax.plot(
        [0, law.base, law.base, law.high, law.high, law.high + 0.1],
        [0, 0, 1 / law.jitter, 1 / law.jitter, 0, 0],
        "k--",
        lw=2,
        label="documented law",
    )
    ax.set(title="Reply delay (request hand-off → reply hand-off)", xlabel="seconds", ylabel="density", ylim=(0, 1.0))
    ax.legend(fontsize=7, ncol=2)

    ax = axes[0, 1]
    bins = np.linspace(0.0, 1.0, 26)
    for name in names:
        ax.hist(
            np.mod(pooled(by_condition[name], "sent"), PHASE_PERIOD) / PHASE_PERIOD,
            bins=bins,
            density=True,
            histtype="step",
            color=colours[name],
            label=name,
        )
    ax.axhline(1.0, color="k", ls="--", lw=2, label="uniform (no phase)")
    ax.set(
        title=f"Hand-off phase modulo {PHASE_PERIOD * 1e3:g} ms (V1's grid)",
        xlabel="phase",
        ylabel="density",
        ylim=(0, 2),
    )

    ax = axes[0, 2]
    probabilities = np.linspace(0.0005, 0.9995, 400)
    expected = law.base + law.jitter * probabilities
    for name in names:
        delays = pooled(by_condition[name], "delays")
        if delays.size:
            ax.plot(
                1e3 * (expected - law.base),
                1e3 * (np.quantile(delays, probabilities) - expected),
                color=colours[name],
                lw=1,
                label=name,
            )
    ax.axhline(0.0, color="k", ls="--", lw=2)
    ax.set(
        title="Q-Q against the law: observed − law quantile (controls off scale)",
        xlabel="law quantile − base (ms)",
        ylabel="ms",
        ylim=(-15, 40),
    )

    ax = axes[1, 0]
    for name in names:
        lateness = np.sort(pooled(by_condition[name], "lateness")) * 1e3
        if lateness.size:
            ax.plot(lateness, np.arange(1, lateness.size + 1) / lateness.size, color=colours[name], label=name)
    ax.axvline(PROFILE_V2.deadline_slack * 1e3, color="k", ls=":", label="deadline slack (dropped beyond)")
    ax.set(
        title="Release lateness CDF (inside the node; not on the wire)", xlabel="ms (log)", ylabel="share", xscale="log"
    )
    ax.legend(fontsize=7)

    ax = axes[1, 1]
    pairs = summary["pairs"]  # type: ignore[index]
    labels, accuracies, lows, highs, kinds = [], [], [], [], []
    for pair in pairs:  # type: ignore[union-attr]
        best = adversary.judged(pair["classifiers"].get("timing", []))
        if best is None:
            continue
        labels.append(f"{pair['a']} vs {pair['b']}")
        accuracies.append(best["accuracy"])
        lows.append(best["accuracy"] - best["low"])
        highs.append(best["high"] - best["accuracy"])
        kinds.append(pair["kind"])
    y = np.arange(len(labels))
    ax.errorbar(accuracies, y, xerr=[lows, highs], fmt="none", ecolor="grey")
    colours = {"control": "tab:red", "limit": "tab:grey"}
    ax.scatter(accuracies, y, c=[colours.get(k, "tab:blue") for k in kinds], zorder=3)
    ax.axvline(0.5, color="k", ls="--", lw=1, label="chance")
    ax.axvline(0.55, color="tab:blue", ls=":", label="target for conditions (≤ 55 %)")
    ax.axvline(0.9, color="tab:red", ls=":", label="controls (≥ 90 %)")
    ax.set_yticks(y, labels, fontsize=8)
    ax.set(
        title="Fingerprinting classifier on timing features (95 % CI, runs)",
        xlabel="cross-validated accuracy",
        xlim=(0, 1.02),
    )
    ax.legend(fontsize=7, loc="lower left")

    ax = axes[1, 2]
    rows = []
    for pair in pairs:  # type: ignore[union-attr]
        flagged = [t["name"] for t in pair["tests"] if t["flagged"]]
        rows.append(
            (f"{pair['a']} vs {pair['b']}", pair["kind"], "YES" if pair["distinguishable"] else "no", len(flagged))
        )
    ax.axis("off")
    table = ax.table(
        cellText=rows, colLabels=("pair", "kind", "told apart", "tests flagged"), loc="upper center", cellLoc="left"
    )
    table.auto_set_font_size(False)
    table.set_fontsize(7)
    table.scale(1, 1.3)
    ax.set_title(textwrap.fill(str(summary["verdict"]), 90), fontsize=8)
    figure.suptitle("mule bench constancy: is anything on the wire a function of this machine?", fontsize=14)
    figure.tight_layout()
    figure.savefig(path, dpi=80)
    plt.close(figure)


def _cell(value: object) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.4g}"
    return html.escape(str(value))


def _row(cells: Sequence[object], *, header: bool = False, flagged: bool = False) -> str:
    tag = "th" if header else "td"
    inner = "".join(f"<{tag}>{_cell(cell)}</{tag}>" for cell in cells)
    return f"<tr class='{'y' if flagged else ''}'>{inner}</tr>"


TEST_HEADER = ("test", "unit", "statistic", "p", "threshold", "flagged")
CONDITION_HEADER = (
    "condition",
    "what",
    "runs",
    "replies",
    "delay min / p50 / max (s)",
    "lateness p50 / p99 / max (ms)",
    "KS p vs law",
    "expired",
    "handed over late",
)


def _test_row(test: Mapping[str, object], *first: object) -> str:
    cells = (*first, test["name"], test["unit"], test["statistic"], test["p_value"], test["threshold"])
    return _row((*cells, "YES" if test["flagged"] else "no"), flagged=bool(test["flagged"]))


def write_html(summary: Mapping[str, object], path: Path) -> None:
    parts = [
        "<!doctype html><meta charset='utf-8'><title>mule bench constancy</title>",
        "<style>body{font-family:sans-serif;max-width:1300px;margin:auto}"
        "td,th{padding:2px 8px;border-bottom:1px solid #ddd;font-size:13px}.y{background:#fdd}</style>",
        f"<h1>mule bench constancy</h1><p><b>{html.escape(str(summary['verdict']))}</b></p>",
        f"<p>{html.escape(str(summary['machine']))}</p>",
        f"<img src='{MAIN_FIGURE}' style='width:100%'>",
        "<h2>Conditions</h2><table>",
        _row(CONDITION_HEADER, header=True),
    ]
    for name, row in summary["conditions"].items():  # type: ignore[union-attr]
        dq, lq = row["delay_quantiles"], row["lateness_ms"]
        delays = " / ".join(_q(dq, key) for key in ("0.0", "0.5", "1.0"))
        lateness = " / ".join(_q(lq, key) for key in ("0.5", "0.99", "1.0"))
        parts.append(
            _row(
                (
                    name,
                    row.get("what", ""),
                    row["runs"],
                    row["replies"],
                    delays,
                    lateness,
                    row["law_ks_p"],
                    row["expired"],
                    row.get("loop_late", 0),
                )
            )
        )
    parts.append("</table><h2>Every test, per pair</h2>")
    for pair in summary["pairs"]:  # type: ignore[union-attr]
        told = "told apart" if pair["distinguishable"] else "not told apart"
        parts.append(f"<h3>{pair['a']} vs {pair['b']} ({pair['kind']}): {told}</h3><table>")
        parts.append(_row(TEST_HEADER, header=True))
        parts.extend(_test_row(test) for test in pair["tests"])
        parts.append("</table><table>")
        parts.append(_row(("features", "model", "accuracy", "95 % CI", "permutation p", "runs"), header=True))
        for feature_set, verdicts in pair["classifiers"].items():
            for v in verdicts:
                interval = f"{v['low']:.3f}–{v['high']:.3f}"
                parts.append(_row((feature_set, v["model"], v["accuracy"], interval, v["p_value"], v["runs"])))
        parts.append("</table>")
    for title, key in (("Upkeep against the renewal law", "upkeep"), ("Two nodes on one host", "linkability")):
        parts.append(f"<h2>{title}</h2><table>{_row(('node', *TEST_HEADER), header=True)}")
        for node, tests in summary[key].items():  # type: ignore[union-attr]
            parts.extend(_test_row(test, node) for test in tests)
        parts.append("</table>")
    parts.append("<p>Raw per-run samples: constancy.json. Method and reading guide: docs/constancy.md.</p>")
    path.write_text("\n".join(parts), encoding="utf-8")


def _q(quantiles: Mapping[str, float], key: str) -> str:
    return f"{quantiles[key]:.4g}" if key in quantiles else "–"
