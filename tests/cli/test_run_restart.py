"""A real ``python -m mule run`` process stopped with SIGTERM and started again (issue 10's restart acceptance).

The process runs PROFILE_V3 on the real clock against the threaded fake bridge, with three peer nodes on the
bridge's loop. It learns them, receives a keyword publish, drains on SIGTERM (keeps answering, then saves),
and after a restart has the same Kad ID and destination, its routing table back from nodes.dat (with the
peers that could have told it gone) and its index back from key_index.dat: the keyword is answered again.
Everything is observed from outside: the log, the local API, the files, and what the peers receive.
"""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from cli_helpers import DEADLINE_S, Cli, closed_port, wait_for_line
from fake_bridge import BridgeThread, threaded_bridge
from peers_on_bridge import ANSWERER, PUBLISHER, Peer

from mule.api.auth import read_token, token_path
from mule.api.client import ApiClient, ApiUnreachable
from mule.cli.exits import Exit
from mule.cli.progress import short_b32
from mule.contract import PROFILE_V3
from mule.i2p.keys import KEY_FILE_NAME, load_keys
from mule.index.persist import KEY_INDEX, LOAD_INDEX, SRC_INDEX
from mule.kad.contact import Contact
from mule.kad.files.key_index import read_key_index
from mule.kad.files.load_index import read_load_index
from mule.kad.files.nodes_dat import NodeEntry, read_nodes_dat, write_nodes_dat
from mule.kad.files.preferences_kad import read_preferences_kad
from mule.kad.files.src_index import read_src_index
from mule.kad.keywords import keyword_id
from mule.kad.messages import KademliaRes
from mule.kad.opcodes import KAD_VERSION
from mule.lookup import SharedFile
from mule.node.identity import PREFERENCES_KAD, UDP_KEY_FILE
from mule.node.service import NODES_DAT

pytestmark = [pytest.mark.slow, pytest.mark.once]

KEYWORD = "restartmoon"
SHARED = SharedFile(file_id=0x5EED_0000_0000_0000_0000_0000_0000_0001, name="restartmoon tapes.ogg", size=123_456)
IDENTITY = (PREFERENCES_KAD, UDP_KEY_FILE, KEY_FILE_NAME)
DRAIN_TARGET = 0xD4A1_0000_0000_0000_0000_0000_0000_0001
"""What the test asks the process for once its drain has begun: an answer naming it is work done in the drain."""


@pytest.fixture
def served() -> Iterator[BridgeThread]:
    with threaded_bridge() as bridge_thread:
        yield bridge_thread


def write_config(path: Path, served: BridgeThread, data_dir: Path, api_port: int) -> Path:
    bridge = served.bridge
    path.write_text(
        f'[sam]\naddress = "127.0.0.1:{bridge.port}"\nudp_port = {bridge.udp_port}\n'
        f'[node]\ndata_dir = "{data_dir}"\n'
        f'[api]\nenabled = true\nlisten = "127.0.0.1:{api_port}"\n'
    )
    return path


def eventually(check: Callable[[], Any], what: str) -> Any:
    """Poll ``check`` until it returns something truthy (a hang bound, not a timing assertion)."""
    deadline = time.monotonic() + DEADLINE_S
    while time.monotonic() < deadline:
        with_value = check()
        if with_value:
            return with_value
        time.sleep(0.2)
    raise AssertionError(f"never: {what}")


def api_of(data_dir: Path, port: int) -> ApiClient:
    """The process's API, once it has written its token (it starts after the session is up)."""
    eventually(lambda: token_path(data_dir).exists(), "the API token is written")
    return ApiClient("127.0.0.1", port, read_token(data_dir))


def api_get(api: ApiClient, path: str) -> Any:
    try:
        return api.get(path)
    except ApiUnreachable:
        return None


def routing_ids(api: ApiClient) -> set[str]:
    routing = api_get(api, "/routing")
    return {contact["kad_id"] for contact in routing["contacts"]} if routing else set()


def hex_id(kad_id: int) -> str:
    return f"{kad_id:032x}"


def test_sigterm_drains_saves_and_a_restart_keeps_identity_table_and_index(
    cli: Cli, tmp_path: Path, served: BridgeThread
) -> None:
    publisher = Peer(served, tmp_path / "peer0", PUBLISHER).start()
    answerers = [Peer(served, tmp_path / f"peer{n}", ANSWERER).start((publisher.contact,)) for n in (1, 2)]
    peers = [publisher, *answerers]
    try:
        eventually(lambda: publisher.contacts() == 2, "the publisher knows both answerers")
        data = tmp_path / "data"
        data.mkdir(mode=0o700)
        # The process knows only the publisher at first: the answerers it must learn.
        write_nodes_dat(data / NODES_DAT, (NodeEntry(publisher.contact, verified=True),))
        api_port = closed_port()
        config = write_config(tmp_path / "mule.toml", served, data, api_port)
        peer_ids = {hex_id(peer.contact.kad_id) for peer in peers}

        # --- first run: learn the peers, receive a publish, drain on SIGTERM ------------------------------------
        process = cli.start("run", "--config", str(config))
        seen: list[str] = []
        up = wait_for_line(process, "session created after", seen)
        kad_id = read_preferences_kad(data / PREFERENCES_KAD)
        identity = {name: (data / name).read_bytes() for name in IDENTITY}
        api = api_of(data, api_port)
        eventually(lambda: routing_ids(api) == peer_ids, "the process learns all three peers")
        # A store walks from the publisher's verified contacts: the process must be one of them first.
        eventually(lambda: publisher.verified(kad_id), "the publisher has verified the process")
        served.call(_publish(publisher))
        eventually(lambda: index_figures(api).get("keywords") == 1, "the publish reaches the index")

        process.send_signal(signal.SIGTERM)
        for answerer in answerers:  # from here on only nodes.dat can tell the process about these two
            answerer.stop()
        wait_for_line(process, "stopping the node", seen)
        draining = time.monotonic()
        # A request sent only now: its answer cannot have been queued before the drain. Both legs together take
        # at most twice the delay law's bound (3.6 s), inside the 5 s drain.
        publisher.ask_for_contacts(Contact(KAD_VERSION, kad_id, process_destination(data)), DRAIN_TARGET)
        exited = wait_for_exit(process, seen)
        log = "".join(seen)
        assert "SIGTERM: stopping" in log and "Traceback" not in log, log
        assert exited - draining >= PROFILE_V3.drain  # the drain is waited out, on the real clock
        answered = [h.message for h in publisher.heard if isinstance(h.message, KademliaRes)]
        assert any(res.target == DRAIN_TARGET for res in answered), "no answer to the request sent in the drain"

        saved = read_nodes_dat(data / NODES_DAT)
        assert {hex_id(entry.contact.kad_id) for entry in saved.entries} == peer_ids  # learned, not just the seed
        assert indexed_keywords(data, kad_id) == [keyword_id(KEYWORD)]
        assert {name: (data / name).read_bytes() for name in IDENTITY} == identity

        # --- second run: same identity, table and index --------------------------------------------------------
        process = cli.start("run", "--config", str(config))
        seen = []
        again = wait_for_line(process, "session created after", seen)
        ours = f"node {hex_id(kad_id)} (ours) as {short_b32(process_destination(data))}"
        assert ours in up and ours in again
        restored = wait_for_line(process, "bootstrapping from", seen)
        assert "(3 in the routing table)" in restored, restored
        api = api_of(data, api_port)
        assert peer_ids <= eventually(lambda: routing_ids(api), "the API answers")  # two peers are gone: nodes.dat
        assert index_figures(api) | {"bytes": 0} == {
            "keywords": 1,
            "keyword_entries": 1,
            "sources": 0,
            "source_entries": 0,
            "notes": 0,
            "note_entries": 0,
            "bytes": 0,
        }
        process.send_signal(signal.SIGTERM)
        wait_for_line(process, "stopping the node", seen)
        wait_for_exit(process, seen)
        assert indexed_keywords(data, kad_id) == [keyword_id(KEYWORD)]  # saved again from the restored index
        assert {name: (data / name).read_bytes() for name in IDENTITY} == identity
    finally:
        for peer in peers:
            peer.stop()


def wait_for_exit(process: subprocess.Popen[str], seen: list[str]) -> float:
    """Once the node has said it is stopping: when the process had exited (with success)."""
    _, rest = process.communicate(timeout=DEADLINE_S)
    seen.append(rest)
    assert process.returncode == Exit.OK, "".join(seen)
    return time.monotonic()


def index_figures(api: ApiClient) -> dict[str, int]:
    return api_get(api, "/index") or {}


def indexed_keywords(data: Path, kad_id: int) -> list[int]:
    """The keyword IDs in key_index.dat (the other two index files must parse too)."""
    read_src_index(data / SRC_INDEX)
    read_load_index(data / LOAD_INDEX)
    stored = read_key_index(data / KEY_INDEX)
    assert stored.kad_id == kad_id
    return [keyword.keyword_id for keyword in stored.keywords]


def process_destination(data: Path) -> bytes:
    """The process's destination, as its key file holds it."""
    keys = load_keys(data / KEY_FILE_NAME)
    assert keys is not None
    return keys.public


async def _publish(peer: Peer) -> None:
    assert peer.node is not None and peer.node.core is not None
    # iMule (and mule) publish only once a self lookup has been answered (the first one 60 s after start): this
    # peer, which runs no lookups, is let through at once.
    peer.node.core.lookup_manager.publish_ready = True
    peer.node.publish_keyword(KEYWORD, [SHARED])
