"""The verdict line: conditions are judged, controls must be caught, limits are reported and never judged."""

from __future__ import annotations

from mule.bench.constancy.summary import verdict


def pair(b: str, kind: str, *flagged: str) -> dict[str, object]:
    tests = [{"name": name, "flagged": True} for name in flagged] + [{"name": "KS delays", "flagged": False}]
    return {"a": "idle", "b": b, "kind": kind, "tests": tests}


def result(*pairs: dict[str, object]) -> dict[str, object]:
    return {"pairs": list(pairs), "upkeep": {}, "linkability": {}}


def test_a_limit_told_apart_is_named_but_does_not_fail_the_verdict() -> None:
    judged = verdict(
        result(
            pair("loaded", "condition"),
            pair("loaded_equal", "limit", "KS gaps"),
            pair("fifo", "control", "KS delays order"),
        )
    )
    assert judged["ok"] and judged["told_apart"] == []
    assert judged["verdict"].startswith("constancy: PASS")
    assert "beyond the node's reach, not judged: loaded_equal told apart (KS gaps)" in judged["verdict"]


def test_a_condition_told_apart_fails_the_verdict_and_a_quiet_limit_says_so() -> None:
    judged = verdict(result(pair("loaded", "condition", "KS gaps"), pair("loaded_equal", "limit")))
    assert not judged["ok"] and judged["told_apart"] == ["loaded (KS gaps)"]
    assert "loaded_equal not told apart" in judged["verdict"]


def test_a_missed_control_fails_the_verdict() -> None:
    judged = verdict(result(pair("plus2ms", "control")))
    assert not judged["ok"] and judged["controls_missed"] == ["plus2ms"]
