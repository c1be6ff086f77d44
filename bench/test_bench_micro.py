"""The ``python -m mule bench micro`` cases as smoke tests: each is built (which checks that every contender gives
the same answer: decoded messages, encoded bytes, closest IDs) and measured for one round in quick mode.

Figures come from ``python -m mule bench micro`` (fresh process per case, interleaved rounds); this file only keeps
the suite runnable under ``--benchmark-disable``.
"""

from __future__ import annotations

import pytest

from mule.bench import micro

micro._load_cases()


@pytest.mark.parametrize("name", list(micro.CASES))
def test_micro_case_builds_and_measures(name, monkeypatch):
    from mule.bench import micro_cases, micro_flood

    monkeypatch.setattr(micro_cases, "QUICK_KADEMLIA_IDS", 2_000)
    monkeypatch.setattr(micro_flood, "QUICK_RATES", (2_000,))
    monkeypatch.setattr(micro_flood, "QUICK_SECONDS", 0.3)
    built = micro.CASES[name](True)
    if built.contenders:
        result = micro.measure(built, rounds=1)
        assert set(result["rows"]) == set(built.contenders)
        assert all(row["median_s"] > 0 for row in result["rows"].values())
    else:
        assert built.notes
