"""``--compare`` on files made from virtual-clock runs: one build twice is indistinguishable, a leaky build is not."""

from __future__ import annotations

import json
from pathlib import Path

from virtual_rig import runs

from mule.bench.constancy.controls import FastPathShaper
from mule.bench.constancy.summary import compare_files
from mule.shaper import Shaper


def constancy_json(path: Path, shaper_class: type[Shaper], seeds: range) -> Path:
    as_idle = [{**run, "condition": "idle"} for run in runs(shaper_class, seeds, requests=800)]
    path.write_text(json.dumps({"runs": as_idle, "unreliable_tests": []}), encoding="utf-8")
    return path


def test_one_build_twice_is_indistinguishable_and_a_leaky_build_is_caught(tmp_path: Path) -> None:
    first = constancy_json(tmp_path / "a.json", Shaper, range(6))
    again = constancy_json(tmp_path / "b.json", Shaper, range(50, 56))
    leaky = constancy_json(tmp_path / "c.json", FastPathShaper, range(100, 106))
    assert compare_files(first, again, permutations=9) == 0
    assert compare_files(first, leaky, out=tmp_path / "out", permutations=9) == 1
    assert "DISTINGUISHABLE" in json.loads((tmp_path / "out" / "compare.json").read_text())["verdict"]
