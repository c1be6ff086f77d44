"""``python -m mule status | search | publish | api`` against a running node's API (the CLI runs in a thread while
the node's loop serves it)."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import os
from pathlib import Path

import pytest

from mule.api.auth import read_token
from mule.api.snapshot import SNAPSHOT_EVERY
from mule.cli import main
from mule.transport.release import ReleaseStatus
from tests.api.api_helpers import Running, running_api
from tests.node.network import settle


@pytest.fixture(autouse=True)
def no_user_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("MULE_CONFIG", raising=False)


async def _mule(running: Running, *words: str) -> tuple[int, str]:
    data_dir = running.nodes[-1]._data_dir
    argv = [*words, "--data-dir", str(data_dir), "--api", f"127.0.0.1:{running.server.port}"]
    out = io.StringIO()

    def call() -> int:
        with contextlib.redirect_stdout(out):
            return main(argv)

    code = await asyncio.to_thread(call)
    return code, out.getvalue()


def test_status_publish_search_and_token_commands(tmp_path: Path):
    async def scenario() -> None:
        async with running_api(tmp_path) as running:
            ours = running.nodes[-1]
            code, out = await _mule(running, "status")
            assert code == 0 and f"node {ours.kad_id:032x}" in out and "3 verified" in out, out
            code, out = await _mule(running, "status", "--json")
            assert json.loads(out)["status"]["contacts"] == 3

            code, out = await _mule(running, "publish", "5f0b4b8e4e5d9b1c0a3c8d2e7f6a9b10", "--name", "a.iso")
            assert code == 0 and "publish p1 (keyword 5f0b4b8e4e5d9b1c0a3c8d2e7f6a9b10) queued" in out
            code, _ = await _mule(running, "publish", "nothex", "--name", "a.iso")
            assert code == 1

            search = asyncio.create_task(_mule(running, "search", "debian", "netinst", "--max", "2", "--json"))
            while not running.searches.list():
                await asyncio.sleep(0.02)
            running.searches.deliver("s1", name="one.iso")
            running.searches.deliver("s1", name="two.iso")
            code, out = await asyncio.wait_for(search, 60)
            assert code == 0 and [json.loads(line)["name"] for line in out.splitlines()] == ["one.iso", "two.iso"]
            assert running.searches.get("s1").query == "debian netinst"

            code, out = await _mule(running, "api", "url")
            assert out.strip() == f"http://127.0.0.1:{running.server.port}/#token={running.token}"
            code, out = await _mule(running, "api", "rotate-token")
            assert code == 0 and read_token(ours._data_dir) != running.token
            code, out = await _mule(running, "status")
            assert code == 0  # the CLI reads the new token; the server accepts it at once

            os.chmod(ours._data_dir / "api.token", 0o644)
            code, _ = await _mule(running, "status")
            assert code == 3  # a token readable by others is refused as a config problem

    asyncio.run(scenario())


def test_status_and_metrics_show_the_release_thread_where_the_transport_has_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    async def scenario() -> None:
        async with running_api(tmp_path) as running:
            ours = running.nodes[-1]
            code, out = await _mule(running, "status")  # the in-memory transport sends when handed
            assert code == 0 and "release   none: datagrams leave when the event loop hands them over" in out, out
            status = ReleaseStatus(True, 2, 900, 12e-6, 31e-6, 4e-4)
            monkeypatch.setattr(ours, "release_status", lambda: status)
            await settle(running.clock, SNAPSHOT_EVERY)  # the API serves a fresh copy
            code, out = await _mule(running, "status")
            assert (
                "release   thread at SCHED_FIFO: lateness p50 0.012 ms p99 0.031 ms max 0.400 ms over 900 sends, "
                "2 refused by the kernel"
            ) in out, out
            code, out = await _mule(running, "status", "--json")
            assert json.loads(out)["shaper"]["release"]["lateness_p99"] == 31e-6
            async with running.session.get(f"{running.url}/metrics", headers=running.auth) as response:
                text = await response.text()
            assert "mule_release_realtime 1.0" in text and "mule_release_refused_total 2.0" in text
            assert 'mule_release_lateness_seconds{quantile="0.99"} 3.1e-05' in text

    asyncio.run(scenario())


def test_status_without_a_running_api_fails_in_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    data_dir = tmp_path / "data"
    data_dir.mkdir(mode=0o700)
    (data_dir / "api.token").write_text("x\n")
    os.chmod(data_dir / "api.token", 0o600)
    assert main(["status", "--data-dir", str(data_dir), "--api", "127.0.0.1:9"]) == 1
    assert "api.enabled = true" in capsys.readouterr().err


class _RacedClient:
    """A result delivered between subscribing and the catch-up read: it is in both, as in a real race."""

    def events(self):
        yield "status", {}
        yield "search-result", {"search_id": "s1", "seq": 0, "fields": {"name": "one.iso"}}
        yield "search-result", {"search_id": "s1", "seq": 1, "fields": {"name": "two.iso"}}
        yield "status", {}

    def post(self, path: str, body: dict) -> dict:
        return {"id": "s1", "kind": "keyword", "state": "queued"}

    def get(self, path: str) -> dict:
        if path.endswith("/results"):
            return {"results": [{"search_id": "s1", "seq": 0, "fields": {"name": "one.iso"}}]}
        return {"state": "done"}


def test_search_prints_each_result_once_when_catch_up_and_stream_overlap(capsys: pytest.CaptureFixture[str]):
    from argparse import Namespace

    from mule.cli.search import _stream

    assert _stream(_RacedClient(), Namespace(json=True, max=0, kind="keyword"), "debian") == 0
    assert [json.loads(line)["name"] for line in capsys.readouterr().out.splitlines()] == ["one.iso", "two.iso"]
