"""Every endpoint of the API: success, token refused, bad and oversize bodies, unknown routes, wrong methods."""

from __future__ import annotations

import asyncio
import json
import os
import stat
from pathlib import Path

import aiohttp
import pytest

from mule.api import PREFIX
from mule.api.auth import read_token, rotate_token, token_path
from mule.api.routes import ROUTES
from mule.api.server import MAX_BODY_BYTES, ApiServer, BindRefused, Listen
from tests.api.api_helpers import Running, running_api
from tests.node.network import network, settle

SEARCH = {"kind": "keyword", "query": "debian netinst"}
PUBLISH = {"kind": "keyword", "file_hash": "5f0b4b8e4e5d9b1c0a3c8d2e7f6a9b10", "name": "debian.iso", "size": 123}
ENDPOINTS = [(method, path) for method, path, _ in ROUTES if path != "/events"] + [("GET", "/metrics")]


def _url(running: Running, path: str) -> str:
    return running.url + (path if path == "/metrics" else PREFIX + path.replace("{search_id}", "s1"))


async def _request(running: Running, method: str, path: str, **kwargs) -> tuple[int, bytes, dict[str, str]]:
    async with running.session.request(method, _url(running, path), **kwargs) as response:
        return response.status, await response.read(), dict(response.headers)


def _error(body: bytes) -> str:
    error = json.loads(body)["error"]
    assert set(error) == {"code", "message"} and error["message"]
    return error["code"]


async def _with_search(running: Running) -> None:
    running.searches.start("keyword", "debian netinst")
    running.searches.deliver("s1", name="debian.iso", size=123)


def test_every_endpoint_answers_with_the_token_and_refuses_without(tmp_path: Path):
    async def scenario() -> None:
        async with running_api(tmp_path) as running:
            await _with_search(running)
            for method, path in ENDPOINTS:
                body = SEARCH if path == "/searches" else PUBLISH if path == "/publish" else None
                kwargs = {"json": body} if method == "POST" else {}
                status, payload, headers = await _request(running, method, path, headers=running.auth, **kwargs)
                assert status == (202 if method == "POST" else 200), (method, path, payload)
                if path != "/metrics":
                    assert headers["Content-Type"].startswith("application/json"), path
                    json.loads(payload)
                for bad in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": running.token}):
                    status, payload, headers = await _request(running, method, path, headers=bad, **kwargs)
                    assert status == 401 and _error(payload) == "unauthorized", (method, path, bad)
                    assert headers["WWW-Authenticate"] == "Bearer"

    asyncio.run(scenario())


def test_figures_come_from_the_node(tmp_path: Path):
    async def scenario() -> None:
        async with running_api(tmp_path) as running:
            ours = running.nodes[-1]
            await _with_search(running)

            async def get(path: str) -> dict:
                status, payload, _ = await _request(running, "GET", path, headers=running.auth)
                assert status == 200
                return json.loads(payload)

            node_status = ours.status()
            status = await get("/status")
            assert status["kad_id"] == f"{ours.kad_id:032x}"
            assert (status["contacts"], status["verified"], status["sent"]) == (
                node_status.contacts,
                node_status.verified,
                node_status.sent,
            )
            routing = await get("/routing")
            assert sum(zone["contacts"] for zone in routing["zones"]) == len(routing["contacts"]) == 3
            assert all(
                c["destination"].endswith("….b32.i2p") and len(c["destination"]) < 20 for c in routing["contacts"]
            )
            shaper = await get("/shaper")
            assert shaper["sent"] == ours.shaper.counters.sent > 0
            assert sum(shaper["delay"]["counts"]) == shaper["sent"]  # the API watched every hand-off
            low = shaper["delay_base"]
            high = low + shaper["delay_jitter"] + shaper["deadline_slack"]
            edges, counts = shaper["delay"]["edges"], shaper["delay"]["counts"]
            assert all(low - 0.05 <= edges[i] < high for i, count in enumerate(counts) if count)
            assert (await get("/health"))["ok"] is True
            assert (await get("/index"))["keyword_entries"] == 7
            results = await get("/searches/{search_id}/results")
            assert [r["fields"]["name"] for r in results["results"]] == ["debian.iso"]
            status_code, payload, _ = await _request(
                running, "GET", "/searches/{search_id}/results", headers=running.auth, params={"after": "0"}
            )
            assert json.loads(payload)["results"] == []
            metrics = (await _request(running, "GET", "/metrics", headers=running.auth))[1].decode()
            assert f"mule_sent_total {float(shaper['sent'])}" in metrics
            assert f"mule_contacts {float(status['contacts'])}" in metrics
            assert 'mule_shaper_delay_seconds_bucket{le="+Inf"}' in metrics
            assert 'mule_index_entries{kind="keyword"} 7.0' in metrics
            openapi = await get("/openapi.json")
            served = {(m.lower(), p) for m, p, _ in ROUTES}
            documented = {(m, p) for p, item in openapi["paths"].items() for m in item if m != "parameters"}
            assert documented == served
            status_code, payload, _ = await _request(running, "POST", "/publish", headers=running.auth, json=PUBLISH)
            assert status_code == 202 and json.loads(payload)["file_hash"] == PUBLISH["file_hash"]
            (request,) = running.publishing.requests
            assert (request.kind, request.file_hash.hex(), request.name, request.size) == (
                "keyword",
                PUBLISH["file_hash"],
                "debian.iso",
                123,
            )
            status_code, payload, _ = await _request(running, "DELETE", "/searches/{search_id}", headers=running.auth)
            assert status_code == 200 and json.loads(payload)["state"] == "cancelled"

    asyncio.run(scenario())


def test_bad_bodies_unknown_routes_and_wrong_methods(tmp_path: Path):
    async def scenario() -> None:
        async with running_api(tmp_path) as running:
            auth = running.auth
            for path in ("/searches", "/publish"):
                for raw in (b"{not json", b"[1, 2]", b"\xff\xfe"):
                    headers = {**auth, "Content-Type": "application/json"}
                    status, payload, _ = await _request(running, "POST", path, headers=headers, data=raw)
                    assert (status, _error(payload)) == (400, "bad_json"), (path, raw)
                big = b'{"query": "' + b"x" * MAX_BODY_BYTES + b'"}'
                headers = {**auth, "Content-Type": "application/json"}
                status, payload, _ = await _request(running, "POST", path, headers=headers, data=big)
                assert (status, _error(payload)) == (413, "body_too_large"), path

                async def chunks():
                    for _ in range(MAX_BODY_BYTES // 1024 + 2):
                        yield b" " * 1024

                status, payload, _ = await _request(running, "POST", path, headers=headers, data=chunks())
                assert (status, _error(payload)) == (413, "body_too_large"), path  # no Content-Length: counted
                status, payload, _ = await _request(running, "POST", path, headers=auth, data=b"kind=keyword")
                assert (status, _error(payload)) == (415, "unsupported_media_type")
            for body in ({"kind": "film", "query": "x"}, {"kind": "keyword", "query": ""}, {"kind": "keyword"}):
                status, payload, _ = await _request(running, "POST", "/searches", headers=auth, json=body)
                assert (status, _error(payload)) == (400, "bad_request"), body
            for change in ({"file_hash": "abc"}, {"size": -1}, {"size": True}, {"name": ""}, {"kind": "notes"}):
                status, payload, _ = await _request(running, "POST", "/publish", headers=auth, json=PUBLISH | change)
                assert (status, _error(payload)) == (400, "bad_request"), change
            status, payload, _ = await _request(
                running, "GET", "/searches/{search_id}/results", headers=auth, params={"after": "x"}
            )
            assert status == 404 and _error(payload) == "no_such_search"
            running.searches.refuse = True
            status, payload, _ = await _request(running, "POST", "/searches", headers=auth, json=SEARCH)
            assert (status, _error(payload)) == (409, "refused")

            for path in ("/api/v1/nothing", "/api/v2/status", "/api/v1/status/extra", "/nothing"):
                async with running.session.get(running.url + path, headers=auth) as response:
                    assert response.status == 404 and _error(await response.read()) == "not_found", path
            async with running.session.get(running.url + "/api/v1/nothing") as response:
                assert response.status == 401  # no route is revealed without the token
            for method, path in ENDPOINTS:
                wrong = "PATCH"
                status, payload, headers = await _request(running, wrong, path, headers=auth)
                assert (status, _error(payload)) == (405, "method_not_allowed"), path
                assert method in headers["Allow"]

    asyncio.run(scenario())


def test_parts_the_node_lacks_answer_unavailable(tmp_path: Path):
    async def scenario() -> None:
        async with running_api(tmp_path, parts=False) as running:
            for method, path in [("GET", "/index"), ("GET", "/searches"), ("POST", "/searches"), ("GET", "/publish")]:
                kwargs = {"json": SEARCH} if method == "POST" else {}
                status, payload, _ = await _request(running, method, path, headers=running.auth, **kwargs)
                assert (status, _error(payload)) == (503, "unavailable"), path
            status, payload, _ = await _request(running, "GET", "/status", headers=running.auth)
            assert status == 200

    asyncio.run(scenario())


def test_events_stream_status_verified_contacts_and_results(tmp_path: Path):
    async def scenario() -> None:
        async with running_api(tmp_path, settle_for=0.0) as running:
            async with running.session.get(
                running.url + PREFIX + "/events", headers=running.auth, timeout=aiohttp.ClientTimeout(total=60)
            ) as response:
                assert response.status == 200 and response.headers["Content-Type"] == "text/event-stream"
                events = _events(response)
                assert (await anext(events))[0] == "status"
                table = running.nodes[-1].table
                before = {f"{c.kad_id:032x}" for c in table.contacts() if c.verified}  # from the saved nodes.dat
                await settle(running.clock, 120.0)  # handshakes verify the peers
                running.searches.start("keyword", "x")
                running.searches.deliver("s1", name="found.iso")
                seen: dict[str, list[dict]] = {}
                after = {f"{c.kad_id:032x}" for c in table.contacts() if c.verified}
                assert len(after - before) >= 2
                while len(seen.get("contact-verified", [])) < len(after - before) or "search-result" not in seen:
                    name, data = await asyncio.wait_for(anext(events), 30)
                    seen.setdefault(name, []).append(data)
                assert seen["search-result"][0]["fields"] == {"name": "found.iso"}
                ids = {c["kad_id"] for c in seen["contact-verified"]}
                assert ids == after - before
                response.close()  # an event stream never ends by itself
            async with running.session.get(running.url + PREFIX + "/events") as response:
                assert response.status == 401

    asyncio.run(scenario())


async def _events(response):
    name = None
    async for raw in response.content:
        line = raw.decode().rstrip("\n")
        if line.startswith("event: "):
            name = line[7:]
        elif line.startswith("data: "):
            yield name, json.loads(line[6:])


def test_token_file_is_private_and_rotation_takes_effect(tmp_path: Path):
    async def scenario() -> None:
        async with running_api(tmp_path) as running:
            data_dir = running.nodes[-1]._data_dir
            assert stat.S_IMODE(os.stat(token_path(data_dir)).st_mode) == 0o600
            old = running.token
            new = rotate_token(data_dir)
            assert new != old and read_token(data_dir) == new
            assert stat.S_IMODE(os.stat(token_path(data_dir)).st_mode) == 0o600
            status, _, _ = await _request(running, "GET", "/status", headers=running.auth)
            assert status == 401
            status, _, _ = await _request(running, "GET", "/status", headers={"Authorization": f"Bearer {new}"})
            assert status == 200

    asyncio.run(scenario())


@pytest.mark.parametrize("host", ["0.0.0.0", "192.0.2.1", "::", "node.example"])
def test_non_loopback_binds_are_refused_unless_allowed(tmp_path: Path, host: str):
    _, _, _, (node,) = network(tmp_path, 1)
    with pytest.raises(BindRefused, match="allow_remote"):
        ApiServer(node, node._clock, tmp_path, Listen(host, 0))
    ApiServer(node, node._clock, tmp_path, Listen(host, 0, allow_remote=True))  # explicit: accepted


def test_a_remote_bind_still_needs_the_token(tmp_path: Path):
    async def scenario() -> None:
        _, _, _, (node,) = network(tmp_path, 1)
        await node.start()
        # Bind every address (allowed explicitly); the test still connects through loopback only.
        server = ApiServer(node, node._clock, node._data_dir, Listen("0.0.0.0", 0, allow_remote=True))
        await server.start()
        try:
            async with (
                aiohttp.ClientSession() as session,
                session.get(f"http://127.0.0.1:{server.port}{PREFIX}/status") as response,
            ):
                assert response.status == 401
        finally:
            await server.stop()
            await node.stop()

    asyncio.run(scenario())


@pytest.mark.parametrize("host", ["127.0.0.1", "127.8.9.10", "::1", "localhost"])
def test_loopback_binds_are_accepted(tmp_path: Path, host: str):
    _, _, _, (node,) = network(tmp_path, 1)
    ApiServer(node, node._clock, tmp_path, Listen(host, 0))
