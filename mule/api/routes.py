"""The handlers of ``/api/v1``: each reads the snapshot or hands a request to an adapter, and answers JSON."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import asdict
from typing import Any

from aiohttp import web
from prometheus_client import generate_latest

import mule
from mule.api.adapters import PUBLISH_KINDS, SEARCH_KINDS, Parts, PublishInfo, PublishRequest, Refused
from mule.api.errors import ApiError
from mule.api.events import EventHub
from mule.api.metrics import CONTENT_TYPE
from mule.api.openapi import openapi_json
from mule.api.snapshot import Snapshot, Snapshots
from mule.routing.constants import K

MAX_QUERY_CHARS = 512
MAX_NAME_CHARS = 1024
MAX_NOTE_CHARS = 4096
SSE_KEEPALIVE = 15.0

SNAPSHOTS = web.AppKey("snapshots", Snapshots)
EVENTS = web.AppKey("events", EventHub)
PARTS = web.AppKey("parts", Parts)
REGISTRY = web.AppKey("registry", object)
RENDERED = web.AppKey("rendered", dict)


def _rendered(request: web.Request, name: str, render: Callable[[Snapshot], bytes]) -> bytes:
    """A read-only body rendered once per snapshot: a client polling hard costs a dictionary lookup per request."""
    snapshot = request.app[SNAPSHOTS].current()
    cache = request.app[RENDERED]
    hit = cache.get(name)
    if hit is None or hit[0] is not snapshot:
        hit = cache[name] = (snapshot, render(snapshot))
    return hit[1]


def _json_bytes(data: Any) -> bytes:
    return json.dumps(data, default=_plain).encode()


def _cached_json(request: web.Request, name: str, render: Callable[[Snapshot], Any]) -> web.Response:
    body = _rendered(request, name, lambda snapshot: _json_bytes(render(snapshot)))
    return web.Response(body=body, content_type="application/json")


def _json(data: Any, status: int = 200) -> web.Response:
    return web.json_response(data, status=status, dumps=lambda value: json.dumps(value, default=_plain))


def _plain(value: object) -> object:
    if isinstance(value, bytes):
        return value.hex()
    raise TypeError(f"{type(value).__name__} is not JSON")


async def _body(request: web.Request) -> dict[str, Any]:
    if request.content_type != "application/json":
        raise ApiError(415, "unsupported_media_type", "send the body as application/json")
    raw = await request.read()  # aiohttp refuses more than client_max_size with 413
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ApiError(400, "bad_json", f"the body is not JSON: {exc}") from exc
    if not isinstance(body, dict):
        raise ApiError(400, "bad_json", "the body must be a JSON object")
    return body


def _text(body: dict[str, Any], key: str, limit: int, *, required: bool = True) -> str:
    value = body.get(key, None if required else "")
    if not isinstance(value, str) or (required and not value.strip()):
        raise ApiError(400, "bad_request", f"{key!r} must be a non-empty string")
    if len(value) > limit:
        raise ApiError(400, "bad_request", f"{key!r} is longer than {limit} characters")
    return value


def _choice(body: dict[str, Any], key: str, choices: tuple[str, ...]) -> str:
    value = body.get(key)
    if value not in choices:
        raise ApiError(400, "bad_request", f"{key!r} must be one of {', '.join(choices)}")
    return value


def _part(request: web.Request, name: str) -> Any:
    part = getattr(request.app[PARTS], name)
    if part is None:
        raise ApiError(503, "unavailable", f"this node has no {name} yet")
    return part


# --- read-only ------------------------------------------------------------------------------------------------


async def health(request: web.Request) -> web.Response:
    return _cached_json(
        request,
        "health",
        lambda snapshot: {"ok": True, "version": mule.__version__, "profile": snapshot.shaper.profile},
    )


async def status(request: web.Request) -> web.Response:
    return _cached_json(request, "status", Snapshot.status_json)


def _routing(snapshot: Snapshot) -> dict[str, Any]:
    return {
        "kad_id": snapshot.kad_id,
        "bucket_size": K,
        "zones": [asdict(zone) for zone in snapshot.zones],
        "contacts": [asdict(contact) for contact in snapshot.contacts],
    }


async def routing(request: web.Request) -> web.Response:
    return _cached_json(request, "routing", _routing)


async def shaper(request: web.Request) -> web.Response:
    return _cached_json(request, "shaper", lambda snapshot: asdict(snapshot.shaper))


async def index(request: web.Request) -> web.Response:
    return _json(asdict(_part(request, "index").figures()))


async def metrics(request: web.Request) -> web.Response:
    body = _rendered(request, "metrics", lambda _snapshot: generate_latest(request.app[REGISTRY]))
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE})


async def openapi(request: web.Request) -> web.Response:
    return web.Response(body=openapi_json(), content_type="application/json")


# --- searches and publishing ----------------------------------------------------------------------------------


async def list_searches(request: web.Request) -> web.Response:
    return _json({"searches": [asdict(info) for info in _part(request, "searches").list()]})


async def start_search(request: web.Request) -> web.Response:
    body = await _body(request)
    kind = _choice(body, "kind", SEARCH_KINDS)
    query = _text(body, "query", MAX_QUERY_CHARS)
    try:
        info = _part(request, "searches").start(kind, query)
    except Refused as exc:
        raise ApiError(409, "refused", str(exc)) from exc
    return _json(asdict(info), status=202)


async def get_search(request: web.Request) -> web.Response:
    return _json(asdict(_search(request)))


async def search_results(request: web.Request) -> web.Response:
    info = _search(request)
    after = request.query.get("after", "-1")
    if not after.lstrip("-").isdigit():
        raise ApiError(400, "bad_request", "'after' must be an integer")
    results = _part(request, "searches").results(info.id, int(after))
    return _json({"search": asdict(info), "results": [asdict(result) for result in results]})


async def cancel_search(request: web.Request) -> web.Response:
    info = _search(request)
    _part(request, "searches").cancel(info.id)
    return _json(asdict(_search(request)))


def _search(request: web.Request) -> Any:
    info = _part(request, "searches").get(request.match_info["search_id"])
    if info is None:
        raise ApiError(404, "no_such_search", "no search with that id")
    return info


async def list_publishes(request: web.Request) -> web.Response:
    return _json({"publishes": [_publish_json(info) for info in _part(request, "publishing").list()]})


async def publish(request: web.Request) -> web.Response:
    body = await _body(request)
    kind = _choice(body, "kind", PUBLISH_KINDS)
    file_hash = _text(body, "file_hash", 32)
    try:
        digest = bytes.fromhex(file_hash)
    except ValueError:
        digest = b""
    if len(digest) != 16:
        raise ApiError(400, "bad_request", "'file_hash' must be 32 hex digits (an ed2k/MD4 file hash)")
    size = body.get("size", 0)
    if isinstance(size, bool) or not isinstance(size, int) or not 0 <= size < 1 << 64:
        raise ApiError(400, "bad_request", "'size' must be a whole number of bytes")
    name = _text(body, "name", MAX_NAME_CHARS, required=kind == "keyword")
    note = _text(body, "note", MAX_NOTE_CHARS, required=kind == "notes")
    try:
        info = _part(request, "publishing").publish(PublishRequest(kind, digest, name, size, note))
    except Refused as exc:
        raise ApiError(409, "refused", str(exc)) from exc
    return _json(_publish_json(info), status=202)


def _publish_json(info: PublishInfo) -> dict[str, object]:
    return {**asdict(info), "file_hash": info.file_hash.hex()}


# --- events ---------------------------------------------------------------------------------------------------


async def events(request: web.Request) -> web.StreamResponse:
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-store"})
    await response.prepare(request)
    hub = request.app[EVENTS]
    queue = hub.subscribe()
    try:
        await response.write(hub.opening().encode())
        while True:
            try:
                event = await asyncio.wait_for(queue.get(), SSE_KEEPALIVE)
            except TimeoutError:
                await response.write(b": keep-alive\n\n")
                continue
            await response.write(event.encode())
    except ConnectionResetError:  # the client went away: nothing to answer
        return response
    finally:
        hub.unsubscribe(queue)


ROUTES: tuple[tuple[str, str, Any], ...] = (
    ("GET", "/health", health),
    ("GET", "/status", status),
    ("GET", "/routing", routing),
    ("GET", "/shaper", shaper),
    ("GET", "/index", index),
    ("GET", "/searches", list_searches),
    ("POST", "/searches", start_search),
    ("GET", "/searches/{search_id}", get_search),
    ("DELETE", "/searches/{search_id}", cancel_search),
    ("GET", "/searches/{search_id}/results", search_results),
    ("GET", "/publish", list_publishes),
    ("POST", "/publish", publish),
    ("GET", "/events", events),
    ("GET", "/openapi.json", openapi),
)
"""Every ``/api/v1`` route (method, path below the prefix, handler); the OpenAPI document lists the same."""
