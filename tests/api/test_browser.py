"""The web UI in a real browser: headless Debian chromium loads it against a running node, starts a search and
sees the results arrive in the page; screenshots are kept as test artefacts."""

from __future__ import annotations

import asyncio
import os
import shutil
import warnings
from pathlib import Path

import pytest

from tests.api.api_helpers import running_api
from tests.api.browser import chromium_page, find_chromium

CHROMIUM = find_chromium()
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

if CHROMIUM is None:
    # Loud on purpose: a skipped browser test must be seen in the summary, with its reason.
    warnings.warn("chromium is missing: the web UI browser test is skipped (apt-get install chromium)", stacklevel=1)


@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (apt-get install chromium)")
def test_ui_shows_a_search_streaming_in(tmp_path: Path):
    async def scenario() -> None:
        async with (
            running_api(tmp_path / "nodes", peers=14, settle_for=600.0) as running,
            chromium_page(CHROMIUM, tmp_path / "chromium") as page,
        ):
            await page.call("Page.navigate", url=f"{running.url}/#token={running.token}")
            # The dashboard fills from the API: status cards, bucket fill, both plots.
            await page.wait_for("document.querySelectorAll('#status-cards .card').length === 8")
            await page.wait_for("document.querySelectorAll('#dash-zones .zone').length > 0")
            await page.wait_for("document.getElementById('live').textContent === 'live'")
            await page.screenshot(tmp_path / "ui-dashboard.png")

            await page.evaluate(
                "location.hash = '#search'; document.getElementById('search-query').value = 'debian netinst';"
                "document.getElementById('search-start').click(); true"
            )
            while not running.searches.list():
                await asyncio.sleep(0.05)
            (search,) = running.searches.list()
            assert (search.kind, search.query) == ("keyword", "debian netinst")
            for number, fields in enumerate(RESULTS, start=1):
                running.searches.deliver(search.id, **fields)  # arrives over the event stream
                await page.wait_for(f"document.querySelectorAll('#results tr.result').length === {number}")
            names = await page.evaluate(
                "[...document.querySelectorAll('#results tr.result td:nth-child(2)')].map(td => td.textContent)"
            )
            assert names == [fields["name"] for fields in RESULTS]
            await page.screenshot(tmp_path / "ui-search.png")
        keep = os.environ.get(ARTEFACTS_ENV)
        for shot in ("ui-dashboard.png", "ui-search.png"):
            assert (tmp_path / shot).read_bytes().startswith(b"\x89PNG")
            if keep:
                Path(keep).mkdir(parents=True, exist_ok=True)
                shutil.copy(tmp_path / shot, Path(keep) / shot)

    asyncio.run(scenario())
