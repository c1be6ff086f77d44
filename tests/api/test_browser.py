"""The web UI in a real browser: headless Debian chromium loads it against a running node, starts a search and
sees the results arrive in the page; screenshots are kept as test artefacts.

Twice: with fake search parts that deliver results on cue, and on real PROFILE_V3 nodes (``node_parts``) where
other nodes published the files and the search travels the network in the node's own lookup slots."""

from __future__ import annotations

import asyncio
import os
import shutil
import warnings
from pathlib import Path

import pytest

from mule._core import id_from_md4
from mule.lookup import State
from mule.lookup.requests import SharedFile
from tests.api.api_helpers import Running, running_api
from tests.api.browser import Page, chromium_page, find_chromium
from tests.node.network import settle

CHROMIUM = find_chromium()
QUERY = "debian netinst"
NODE_TIME = 1800.0
"""Seconds of node time the real nodes get to publish, and then to search (lookup and publish slots)."""
ARTEFACTS_ENV = "MULE_TEST_ARTEFACTS"
"""A directory to copy the screenshots to (CI keeps it); without it they stay in pytest's tmp_path."""
RESULTS = (
    {
        "name": "debian-12.5.0-amd64-netinst.iso",
        "size": 658505728,
        "file_hash": "5f0b4b8e4e5d9b1c0a3c8d2e7f6a9b10",
        "sources": 14,
    },
    {
        "name": "debian-12.5.0-i386-netinst.iso",
        "size": 646971392,
        "file_hash": "a1c2e3f4a5b6c7d8e9f0a1b2c3d4e5f6",
        "sources": 6,
    },
    {
        "name": "debian-live-12.5.0-amd64-xfce.iso",
        "size": 3032481792,
        "file_hash": "0123456789abcdef0123456789abcdef",
        "sources": 3,
    },
    {
        "name": "debian-edu-12.5.0-amd64-netinst.iso",
        "size": 709885952,
        "file_hash": "fedcba9876543210fedcba9876543210",
        "sources": 2,
    },
)

MATCHING = [fields["name"] for fields in RESULTS if all(word in fields["name"] for word in QUERY.split())]

if CHROMIUM is None:
    # Loud on purpose: a skipped browser test must be seen in the summary, with its reason.
    warnings.warn("chromium is missing: the web UI browser test is skipped (apt-get install chromium)", stacklevel=1)


@pytest.mark.once
@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (apt-get install chromium)")
@pytest.mark.parametrize("nodes", ["fake-parts", "real-nodes"])
def test_ui_shows_a_search_streaming_in(tmp_path: Path, nodes: str):
    real = nodes == "real-nodes"

    async def scenario() -> None:
        async with (
            running_api(tmp_path / "nodes", peers=14, settle_for=600.0, real=real) as running,
            chromium_page(CHROMIUM, tmp_path / "chromium") as page,
        ):
            if real:
                await publish_elsewhere(running)
            await page.call("Page.navigate", url=f"{running.url}/#token={running.token}")
            # The dashboard fills from the API: status cards, bucket fill, both plots.
            await page.wait_for("document.querySelectorAll('#status-cards .card').length === 8")
            await page.wait_for("document.querySelectorAll('#dash-zones .zone').length > 0")
            await page.wait_for("document.getElementById('live').textContent === 'live'")
            # The shaper's figures, the release thread's row last (these memory transports have none).
            await page.wait_for(
                "document.getElementById('shaper-figures').textContent.includes('release threadnone: datagrams leave')"
            )
            await page.screenshot(tmp_path / "ui-dashboard.png")

            await page.evaluate(
                f"location.hash = '#search'; document.getElementById('search-query').value = '{QUERY}';"
                "document.getElementById('search-start').click(); true"
            )
            while not running.searches.list():
                await asyncio.sleep(0.05)
            (search,) = running.searches.list()
            assert (search.kind, search.query) == ("keyword", QUERY)
            if real:
                await results_arrive_from_the_network(running, page)
            else:
                for number, fields in enumerate(RESULTS, start=1):
                    running.searches.deliver(search.id, **fields)  # type: ignore[union-attr]  # over the stream
                    await page.wait_for(f"document.querySelectorAll('#results tr.result').length === {number}")
            names = await page.evaluate(
                "[...document.querySelectorAll('#results tr.result td:nth-child(2)')].map(td => td.textContent)"
            )
            if real:  # the live image was published under "debian" too, but lacks "netinst": the search filters it
                assert sorted(names) == sorted(MATCHING)
            else:
                assert names == [fields["name"] for fields in RESULTS]
            await page.screenshot(tmp_path / "ui-search.png")
        keep = os.environ.get(ARTEFACTS_ENV)
        for shot in ("ui-dashboard.png", "ui-search.png"):
            assert (tmp_path / shot).read_bytes().startswith(b"\x89PNG")
            if keep:
                Path(keep, nodes).mkdir(parents=True, exist_ok=True)
                shutil.copy(tmp_path / shot, Path(keep, nodes, shot))

    asyncio.run(scenario())


async def publish_elsewhere(running: Running) -> None:
    """Four other nodes each publish one file under the search's first keyword (as iMule would, among others)."""
    handles = [
        node.publish_keyword(
            QUERY.split()[0], [SharedFile(id_from_md4(bytes.fromhex(f["file_hash"])), f["name"], f["size"])]
        )
        for node, f in zip(running.nodes[2:], RESULTS, strict=False)
    ]
    end = running.clock.now() + NODE_TIME
    while not all(handle.results and handle.state is State.QUEUED for handle in handles):  # stored, republish waits
        assert running.clock.now() < end, "the other nodes' publishes did not finish"
        await settle(running.clock, 5.0)


async def results_arrive_from_the_network(running: Running, page: Page) -> None:
    """Advance node time while the page is watched: the search waits for a keyword slot, then results stream in."""
    end = running.clock.now() + NODE_TIME
    while await page.evaluate("document.querySelectorAll('#results tr.result').length") < len(MATCHING):
        assert running.clock.now() < end, "the results never all reached the page"
        await settle(running.clock, 1.0)
        await asyncio.sleep(0.05)  # the event stream and the page run on wall time
    while running.searches.list()[0].state != "done":  # so that a late, wrong result would show
        assert running.clock.now() < end, "the search did not finish"
        await settle(running.clock, 5.0)
    (search,) = running.searches.list()
    await page.wait_for(f"document.querySelectorAll('#results tr.result').length === {search.results}")
