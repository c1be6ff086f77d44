"""kill -9 of a real ``python -m mule run`` process at 50 random moments never leaves a state file mule cannot read.

Ten data dirs, each with an index of 1,200 entries and a nodes.dat, run side by side against the threaded fake
bridge, five rounds. The first two rounds kill each process at a random moment of its start (lock, key files,
UDP key, session); the later ones send SIGTERM, watch the data dir for the save at the end of the drain (nodes.dat,
then the three index files) and kill at a random moment after it begins: on a loaded host the save starts late
and lasts long, so a window fixed in advance would miss it. After every kill, every
file in the data dir is read with mule's own readers, the index is restored without a single refusal, and the
kills that landed inside the save (a temporary file left behind, or only some files replaced) are counted:
some must have, or the test proves nothing.
"""

from __future__ import annotations

import random
import signal
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from cli_helpers import DEADLINE_S, Cli, wait_for_line
from fake_bridge import BridgeThread, threaded_bridge

from mule.config.lock import LOCK_FILE, DataDirLock
from mule.contract import PROFILE_V3
from mule.i2p.keys import KEY_FILE_NAME, STREAM_KEY_FILE_NAME, load_keys
from mule.index import LocalIndex
from mule.index.persist import KEY_INDEX, LOAD_INDEX, SRC_INDEX, restore, save
from mule.kad.contact import Contact
from mule.kad.files.atomic import TEMPORARY_SUFFIX
from mule.kad.files.key_index import read_key_index
from mule.kad.files.load_index import read_load_index
from mule.kad.files.nodes_dat import NodeEntry, read_nodes_dat, write_nodes_dat
from mule.kad.files.preferences_kad import write_preferences_kad
from mule.kad.files.src_index import read_src_index
from mule.kad.opcodes import KAD_VERSION
from mule.node.identity import PREFERENCES_KAD, UDP_KEY_FILE, read_kad_id, read_udp_key
from mule.node.service import NODES_DAT
from tests.index.index_parts import KEYWORD, keyword_entry, source_entry
from tests.node.peers import dest, kad_id

pytestmark = [pytest.mark.slow, pytest.mark.once]

PROCESSES = 10
ROUNDS = 5  # 50 kills
START_ROUNDS = 2
ENTRIES = 600
"""Keyword and source entries in each index: 0.6 MB of files, some 50 ms to save."""
START_WINDOW_S = 2.0
"""First round: killed this long after the spawn at most (the start's writes happen within it)."""
SAVE_WINDOW_S = 0.08
"""Later rounds: killed at most this long after the save was seen to begin (it takes some 50 ms idle)."""
POLL_S = 0.002


def seed_state(data: Path, number: int) -> int:
    """A data dir with a Kad ID, a nodes.dat of 30 contacts and an index of ``ENTRIES`` keyword and source entries."""
    data.mkdir(mode=0o700)
    ours = kad_id(10_000 + number)
    write_preferences_kad(data / PREFERENCES_KAD, ours)
    contacts = tuple(NodeEntry(Contact(KAD_VERSION, kad_id(n), dest(n)), verified=True) for n in range(1, 31))
    write_nodes_dat(data / NODES_DAT, contacts)
    index = LocalIndex(0.0)
    for n in range(ENTRIES):
        index.keywords.add(KEYWORD + n % 50, keyword_entry(n, publisher=n % 97 + 1), 0.0)
        index.sources.add(kad_id(8001 + n % 40), source_entry(n + 1), 0.0)
    save(index, data, ours, 0.0, time.time())
    return ours


READERS = {
    PREFERENCES_KAD: read_kad_id,
    UDP_KEY_FILE: read_udp_key,
    KEY_FILE_NAME: lambda data: load_keys(data / KEY_FILE_NAME),
    STREAM_KEY_FILE_NAME: lambda data: load_keys(data / STREAM_KEY_FILE_NAME),
    NODES_DAT: lambda data: read_nodes_dat(data / NODES_DAT),
    KEY_INDEX: lambda data: read_key_index(data / KEY_INDEX),
    SRC_INDEX: lambda data: read_src_index(data / SRC_INDEX),
    LOAD_INDEX: lambda data: read_load_index(data / LOAD_INDEX),
    LOCK_FILE: lambda data: DataDirLock(data).__enter__().release(),  # free: the next start can take it
}
"""Every file mule keeps in a data dir (without the API), each with mule's own reader."""


SAVED = (NODES_DAT, LOAD_INDEX, SRC_INDEX, KEY_INDEX)
"""What a stop writes, in this order."""


def saved_times(data: Path) -> list[int]:
    return [(data / name).stat().st_mtime_ns for name in SAVED]


def check_data_dir(data: Path, ours: int) -> bool:
    """Every file readable, nothing unknown, the index restored whole; whether a temporary file was left behind."""
    names = {path.name for path in data.iterdir()}
    temporaries = {name for name in names if name.endswith(TEMPORARY_SUFFIX)}
    assert names - temporaries <= READERS.keys(), names
    for name in names - temporaries:
        READERS[name](data)
    assert read_kad_id(data) == ours
    assert len(read_nodes_dat(data / NODES_DAT).entries) == 30
    index = LocalIndex(0.0)
    assert restore(index, data, ours, 0.0, time.time()) == []
    assert (len(index.keywords), len(index.sources)) == (ENTRIES, ENTRIES)
    return bool(temporaries)


def wait_for_the_save(data: Path, before: list[int], limit: float) -> None:
    """Until a temporary file appears or a saved file changes (the save has begun), or ``limit`` (monotonic)."""
    while time.monotonic() < limit:
        if any(path.name.endswith(TEMPORARY_SUFFIX) for path in data.iterdir()) or saved_times(data) != before:
            return
        time.sleep(POLL_S)


def kill_once(cli: Cli, config: Path, data: Path, in_start: bool, offset: float, seen: list[str]) -> None:
    """Start the node and kill -9 it: ``offset`` seconds after the spawn (``in_start``), else after SIGTERM,
    ``offset`` seconds after its save was seen to begin."""
    process = cli.start("run", "--config", str(config))
    try:
        if in_start:
            time.sleep(offset)
        else:
            before = saved_times(data)
            wait_for_line(process, "session created after", seen)
            process.send_signal(signal.SIGTERM)
            wait_for_line(process, "stopping the node", seen)
            time.sleep(PROFILE_V3.drain * 0.9)
            wait_for_the_save(data, before, time.monotonic() + DEADLINE_S)
            time.sleep(offset)
    finally:
        process.send_signal(signal.SIGKILL)
        process.communicate(timeout=DEADLINE_S)


def write_config(path: Path, served: BridgeThread, data: Path) -> Path:
    bridge = served.bridge
    path.write_text(
        f'[sam]\naddress = "127.0.0.1:{bridge.port}"\nudp_port = {bridge.udp_port}\n[node]\ndata_dir = "{data}"\n'
    )
    return path


def test_kill_9_at_50_random_moments_never_leaves_an_unreadable_state_file(cli: Cli, tmp_path: Path) -> None:
    rng = random.Random(20261129)
    dirs = [tmp_path / f"data{n}" for n in range(PROCESSES)]
    ids = [seed_state(data, n) for n, data in enumerate(dirs)]
    interrupted = 0
    with threaded_bridge() as served:
        configs = [write_config(tmp_path / f"mule{n}.toml", served, data) for n, data in enumerate(dirs)]
        for round_number in range(ROUNDS):
            in_start = round_number < START_ROUNDS
            before = [saved_times(data) for data in dirs]
            offsets = [rng.uniform(0.0, START_WINDOW_S) if in_start else rng.uniform(0.0, SAVE_WINDOW_S) for _ in dirs]
            logs: list[list[str]] = [[] for _ in dirs]
            with ThreadPoolExecutor(PROCESSES) as pool:
                runs = [
                    pool.submit(kill_once, cli, config, data, in_start, offset, seen)
                    for config, data, offset, seen in zip(configs, dirs, offsets, logs, strict=True)
                ]
                for run in runs:
                    run.result(timeout=DEADLINE_S)
            for data, ours, times in zip(dirs, ids, before, strict=True):
                left_temporaries = check_data_dir(data, ours)
                replaced = sum(a != b for a, b in zip(times, saved_times(data), strict=True))
                interrupted += left_temporaries or 0 < replaced < len(SAVED)
    assert interrupted >= 3, interrupted  # kills did land inside the save: the test bites
