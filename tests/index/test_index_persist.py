"""The index across restarts: iMule's three files written as ``~CIndexed`` writes them, read back with every check
``CIndexed::ReadFile`` makes, damaged files refused whole with one log line, and no torn file after kill -9."""

from __future__ import annotations

import logging
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mule.index import LocalIndex
from mule.index.limits import HOUR, KEYWORD_LIFETIME, SOURCE_LIFETIME
from mule.index.persist import KEY_INDEX, LOAD_INDEX, SRC_INDEX, restore, save
from mule.kad.files.atomic import TEMPORARY_SUFFIX
from mule.kad.files.key_index import build_key_index, read_key_index
from mule.kad.files.src_index import read_src_index
from tests.index.index_parts import KEYWORD, keyword_entry, source_entry
from tests.node.peers import kad_id

ME = kad_id(1)
UNIX = 1_700_000_000.0
FILE = kad_id(8001)
NAMES = (KEY_INDEX, SRC_INDEX, LOAD_INDEX)


def populated(now: float = 100.0) -> LocalIndex:
    idx = LocalIndex(now)
    for n in range(5):
        for publisher in range(1, 4):
            idx.keywords.add(KEYWORD + n % 2, keyword_entry(n, publisher=publisher, now=now), now)
    idx.keywords.add(KEYWORD, keyword_entry(0, publisher=9, name="other name.zip", now=now), now)
    for publisher in range(1, 6):
        idx.sources.add(FILE, source_entry(publisher, now=now, complete=publisher > 2), now)
    idx.loads.record(kad_id(77), 50, now)
    return idx


def files(folder: Path) -> dict[str, bytes]:
    return {name: (folder / name).read_bytes() for name in NAMES}


def test_save_writes_imules_versions_and_save_times(tmp_path):
    save(populated(), tmp_path, ME, 100.0, UNIX)
    keys, sources = read_key_index(tmp_path / KEY_INDEX), read_src_index(tmp_path / SRC_INDEX)
    assert (keys.version, keys.save_time, keys.kad_id) == (3, int(UNIX + KEYWORD_LIFETIME), ME)
    assert (sources.version, sources.save_time) == (2, int(UNIX + SOURCE_LIFETIME))
    assert [k.keyword_id for k in keys.keywords] == sorted(k.keyword_id for k in keys.keywords)
    assert (tmp_path / LOAD_INDEX).read_bytes()[:8] == (1).to_bytes(4, "little") + int(UNIX).to_bytes(4, "little")


def test_restart_keeps_answers_tracking_and_bytes(tmp_path):
    before = populated()
    save(before, tmp_path, ME, 100.0, UNIX)
    first = files(tmp_path)
    later = 5_000.0  # another process: another monotonic timeline, the same wall clock moment
    after = LocalIndex(later)
    assert restore(after, tmp_path, ME, later, UNIX) == []
    assert len(after.keywords) == len(before.keywords) and len(after.sources) == len(before.sources)
    found = {
        e.file_id: (e.name, e.names, [p for p, _ in e.publishers])
        for e in after.keywords.search(KEYWORD, None, 0, later)
    }
    assert found[kad_id(0)] == ("holiday photos.zip", [("holiday photos.zip", 3), ("other name.zip", 1)], [1, 2, 3, 9])
    assert after.sources.counts(FILE) == (5, 3)
    assert not after.loads.may_store(kad_id(77), later) and after.loads.may_store(kad_id(78), later)
    save(after, tmp_path, ME, later, UNIX)
    second = files(tmp_path)
    assert second[KEY_INDEX] == first[KEY_INDEX] and second[LOAD_INDEX] == first[LOAD_INDEX]
    # iMule re-adds sources front first, so each restart reverses a file's slots; two restarts restore the order.
    assert [s.source_id for s in read_src_index(tmp_path / SRC_INDEX).files[0].sources] == [
        kad_id(p) for p in range(1, 6)
    ]
    again = LocalIndex(0.0)
    restore(again, tmp_path, ME, 0.0, UNIX)
    save(again, tmp_path, ME, 0.0, UNIX)
    assert files(tmp_path) == first


def test_keywords_of_another_kad_id_or_saved_too_long_ago_are_ignored(tmp_path):
    save(populated(), tmp_path, ME, 100.0, UNIX)
    other = LocalIndex(0.0)
    assert restore(other, tmp_path, kad_id(2), 0.0, UNIX) == [f"{KEY_INDEX} ignored: written for another Kad ID"]
    assert len(other.keywords) == 0 and len(other.sources) == 5
    late = LocalIndex(0.0)
    notes = restore(late, tmp_path, ME, 0.0, UNIX + KEYWORD_LIFETIME)
    assert notes == [
        f"{KEY_INDEX} ignored: saved for a time now past",
        f"{SRC_INDEX} ignored: saved for a time now past",
    ]
    assert len(late.keywords) == len(late.sources) == 0 and len(late.loads) == 1


def test_entries_past_their_lifetime_are_dropped_on_load(tmp_path):
    idx = LocalIndex(0.0)
    idx.keywords.add(KEYWORD, keyword_entry(1, now=0.0), 0.0)
    idx.keywords.add(KEYWORD, keyword_entry(2, now=2 * HOUR), 2 * HOUR)
    idx.sources.add(FILE, source_entry(1, now=0.0), 0.0)
    idx.sources.add(FILE, source_entry(2, now=2 * HOUR), 2 * HOUR)
    save(idx, tmp_path, ME, 2 * HOUR, UNIX)
    back = LocalIndex(0.0)
    restore(back, tmp_path, ME, 0.0, UNIX + SOURCE_LIFETIME - HOUR)  # source 1's five hours are over
    assert back.sources.counts(FILE) == (1, 1) and len(back.keywords) == 2


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("damage", ["truncate", "garbage", "version", "directory"])
def test_a_damaged_file_is_ignored_whole_with_one_log_line(tmp_path, caplog, name, damage):
    save(populated(), tmp_path, ME, 100.0, UNIX)
    path = tmp_path / name
    data = path.read_bytes()
    if damage == "truncate":
        path.write_bytes(data[: len(data) - 3])
    elif damage == "garbage":
        path.write_bytes(os.urandom(len(data)))
    elif damage == "version":
        path.write_bytes((99).to_bytes(4, "little") + data[4:])
    else:
        path.unlink()
        path.mkdir()
    idx = LocalIndex(0.0)
    with caplog.at_level(logging.WARNING, logger="mule.index.persist"):
        notes = restore(idx, tmp_path, ME, 0.0, UNIX)
    assert len(notes) == 1 and notes[0].startswith(f"{name} ignored")
    assert [r.getMessage() for r in caplog.records] == notes
    sizes = {KEY_INDEX: len(idx.keywords), SRC_INDEX: len(idx.sources), LOAD_INDEX: len(idx.loads)}
    assert sizes.pop(name) == 0 and all(sizes.values())


def test_a_tag_of_the_wrong_type_where_imule_reads_it_refuses_the_file(tmp_path):
    from mule.kad.files.key_index import StoredKeyEntry, StoredKeySource, StoredKeyword, Tracking
    from mule.kad.opcodes import TagName
    from mule.kad.tags import IntTag, StringTag

    bad = StoredKeyEntry(int(UNIX + HOUR), (StringTag(TagName.FILESIZE, "big"),), Tracking((("a.avi", 1),), ()))
    keywords = (StoredKeyword(KEYWORD, (StoredKeySource(1, (bad,)),)),)
    (tmp_path / KEY_INDEX).write_bytes(build_key_index(keywords, int(UNIX + HOUR), ME))
    idx = LocalIndex(0.0)
    assert restore(idx, tmp_path, ME, 0.0, UNIX) == [f"{KEY_INDEX} ignored: tag 0x24 should be an integer"]
    good = StoredKeyEntry(int(UNIX + HOUR), (IntTag(TagName.FILESIZE, 5),), Tracking((("a.avi", 1),), ((3, 4),)))
    keywords = (StoredKeyword(KEYWORD, (StoredKeySource(1, (good,)),)),)
    (tmp_path / KEY_INDEX).write_bytes(build_key_index(keywords, int(UNIX + HOUR), ME))
    assert restore(idx, tmp_path, ME, 0.0, UNIX) == [] and len(idx.keywords) == 1


# --- kill -9 ---------------------------------------------------------------------------------------------------------

_WRITER = """
import sys
from pathlib import Path
from mule.kad.files.atomic import write_atomic
folder, names, generations = Path(sys.argv[1]), sys.argv[2].split(","), int(sys.argv[3])
versions = [{n: (folder / f"v{g}.{n}").read_bytes() for n in names} for g in range(generations)]
print("ready", flush=True)
g = 0
while True:
    g = (g + 1) % generations
    for name in names:
        write_atomic(folder / "state" / name, versions[g][name])
"""


def _generations(folder: Path, count: int) -> list[dict[str, bytes]]:
    """Index files of growing indexes (up to ~1 MB each), so that a kill often lands inside a write."""
    out = []
    for g in range(count):
        idx = LocalIndex(0.0)
        for n in range(300 * (g + 1)):
            idx.keywords.add(KEYWORD + n % 50, keyword_entry(n, publisher=n % 97 + 1), 0.0)
            idx.sources.add(FILE + n % 40, source_entry(n + 1), 0.0)
        idx.loads.record(kad_id(g), 60, 0.0)
        target = folder / f"gen{g}"
        target.mkdir()
        save(idx, target, ME, 0.0, UNIX)
        version = files(target)
        for name, data in version.items():
            (folder / f"v{g}.{name}").write_bytes(data)
        out.append(version)
    return out


@pytest.mark.slow
@pytest.mark.once
def test_kill_9_at_50_random_moments_never_leaves_a_torn_file(tmp_path):
    versions = _generations(tmp_path, 3)
    state = tmp_path / "state"
    state.mkdir()
    for name in NAMES:
        (state / name).write_bytes(versions[0][name])
    allowed = {name: {v[name] for v in versions} for name in NAMES}
    rng = random.Random(20240610)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    interrupted = 0
    for _ in range(50):
        child = subprocess.Popen(
            [sys.executable, "-c", _WRITER, str(tmp_path), ",".join(NAMES), str(len(versions))],
            stdout=subprocess.PIPE,
            env=env,
        )
        assert child.stdout is not None and child.stdout.readline() == b"ready\n"
        time.sleep(rng.uniform(0.0, 0.2))
        child.send_signal(signal.SIGKILL)
        child.wait()
        child.stdout.close()
        for name in NAMES:
            assert (state / name).read_bytes() in allowed[name]
        leftovers = list(state.glob(f"*{TEMPORARY_SUFFIX}"))
        interrupted += bool(leftovers)
        for leftover in leftovers:  # what the node deletes when it starts
            leftover.unlink()
        idx = LocalIndex(0.0)
        assert restore(idx, state, ME, 0.0, UNIX) == []
        assert len(idx.keywords) in {300 * (g + 1) for g in range(3)}
    assert interrupted >= 5  # the kills did land inside writes (a temporary file left behind): the test bites
