"""The API server: aiohttp in the node's own event loop, loopback only unless the config says otherwise.

Every route under ``/api/`` and ``/metrics`` needs the bearer token (docs/api.md); the web UI's files
carry no node data and are served without it (the page asks for the token and sends it with each call).
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from aiohttp import web

from mule.api import PREFIX
from mule.api.adapters import Parts
from mule.api.auth import TokenSource, same_token
from mule.api.errors import ApiError, Handler, json_errors
from mule.api.events import EventHub
from mule.api.metrics import metrics_registry
from mule.api.routes import EVENTS, PARTS, REGISTRY, RENDERED, ROUTES, SNAPSHOTS, metrics
from mule.api.snapshot import NodeView, Snapshots
from mule.clock import Clock

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 16 * 1024
"""Larger request bodies are refused with 413 before they are read."""
SHUTDOWN_GRACE = 1.0


class BindRefused(Exception):
    """A non-loopback address without ``allow_remote``."""


@dataclass(frozen=True, slots=True)
class Listen:
    host: str = "127.0.0.1"
    port: int = 7670
    allow_remote: bool = False
    """Only an explicit setting lets the API listen beyond loopback; the token is required either way."""


LOOPBACK = Listen()
NO_PARTS = Parts()


def check_bind(listen: Listen) -> None:
    if listen.host == "localhost":
        return
    try:
        loopback = ipaddress.ip_address(listen.host).is_loopback
    except ValueError:
        loopback = False  # a host name could resolve anywhere: it counts as remote
    if not loopback and not listen.allow_remote:
        raise BindRefused(
            f"the API would listen on {listen.host}, beyond loopback; it controls the node, so that needs "
            "api.allow_remote = true in the config (and clients still need the token)"
        )


def _authenticate(tokens: TokenSource) -> web.middleware:
    @web.middleware
    async def check(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path.startswith("/api/") or request.path == "/metrics":
            scheme, _, offered = request.headers.get("Authorization", "").partition(" ")
            if scheme.lower() != "bearer" or not same_token(offered.strip(), tokens.current()):
                raise ApiError(401, "unauthorized", "send the token from the node's api.token as 'Bearer <token>'")
        if (request.content_length or 0) > MAX_BODY_BYTES:
            raise ApiError(413, "body_too_large", f"request bodies are limited to {MAX_BODY_BYTES} bytes")
        return await handler(request)

    return check


def build_app(node: NodeView, clock: Clock, data_dir: Path, parts: Parts = NO_PARTS) -> web.Application:
    app = web.Application(
        middlewares=[json_errors, _authenticate(TokenSource(data_dir))], client_max_size=MAX_BODY_BYTES
    )
    snapshots = Snapshots(node, clock)
    app[SNAPSHOTS] = snapshots
    app[PARTS] = parts
    app[EVENTS] = EventHub(snapshots, parts.searches)
    app[REGISTRY] = metrics_registry(snapshots, parts.index)
    app[RENDERED] = {}
    for method, path, handler in ROUTES:
        app.router.add_route(method, PREFIX + path, handler)
    app.router.add_get("/metrics", metrics)
    static = resources.files("mule.api") / "static"
    app.router.add_get("/", _page(static / "index.html"))
    app.router.add_static("/ui/", Path(str(static)), show_index=False)
    app.on_startup.append(_start_events)
    app.on_shutdown.append(_stop_events)
    return app


def _page(path: object) -> Handler:
    async def page(request: web.Request) -> web.StreamResponse:
        return web.FileResponse(Path(str(path)), headers={"Cache-Control": "no-store"})

    return page


async def _start_events(app: web.Application) -> None:
    app[EVENTS].start()


async def _stop_events(app: web.Application) -> None:
    await app[EVENTS].stop()
    app[SNAPSHOTS].close()


class ApiServer:
    """Serve one node's API beside it, on the running loop: ``await start()``, later ``await stop()``."""

    def __init__(
        self, node: NodeView, clock: Clock, data_dir: Path, listen: Listen = LOOPBACK, parts: Parts = NO_PARTS
    ):
        check_bind(listen)
        self.listen = listen
        self.app = build_app(node, clock, data_dir, parts)
        self._runner = web.AppRunner(self.app, access_log=None, shutdown_timeout=SHUTDOWN_GRACE)
        self.port: int | None = None

    async def start(self) -> None:
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.listen.host, self.listen.port)
        await site.start()
        sockets = self._runner.addresses
        self.port = sockets[0][1] if sockets else self.listen.port
        log.info("API on http://%s:%d/ (token in api.token of the data dir)", self.listen.host, self.port)

    async def stop(self) -> None:
        await asyncio.wait_for(self._runner.cleanup(), SHUTDOWN_GRACE * 5)
