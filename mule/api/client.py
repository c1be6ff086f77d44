"""A small client of a running node's API for the command line (stdlib only: the CLI loads no aiohttp)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from mule.api import PREFIX

TIMEOUT = 10.0


class ApiUnreachable(Exception):
    """No API answers at that address (the node is not running, or ``api.enabled`` is false)."""


class ApiRefused(Exception):
    """The API answered with an error body; ``code`` is its stable code."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{message} ({status} {code})")
        self.status = status
        self.code = code


@dataclass(frozen=True, slots=True)
class ApiClient:
    host: str
    port: int
    token: str

    @property
    def base(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def get(self, path: str) -> Any:
        return self._call("GET", path, None)

    def post(self, path: str, body: dict[str, Any]) -> Any:
        return self._call("POST", path, body)

    def events(self, timeout: float | None = None) -> Iterator[tuple[str, dict[str, Any]]]:
        """``(name, data)`` for each event of the live stream, until the server ends it."""
        with self._open("GET", "/events", None, timeout) as response:
            name = "message"
            for raw in response:
                line = raw.decode("utf-8").rstrip("\r\n")
                if line.startswith("event: "):
                    name = line[7:]
                elif line.startswith("data: "):
                    yield name, json.loads(line[6:])
                elif not line:
                    name = "message"

    def _call(self, method: str, path: str, body: dict[str, Any] | None) -> Any:
        with self._open(method, path, body, TIMEOUT) as response:
            return json.loads(response.read())

    def _open(self, method: str, path: str, body: dict[str, Any] | None, timeout: float | None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.base + PREFIX + path, data=data, method=method)
        request.add_header("Authorization", f"Bearer {self.token}")
        if data is not None:
            request.add_header("Content-Type", "application/json")
        try:
            return urllib.request.urlopen(request, timeout=timeout)
        except urllib.error.HTTPError as exc:
            try:
                error = json.loads(exc.read())["error"]
            except (ValueError, KeyError, TypeError):
                error = {"code": "http", "message": exc.reason}
            raise ApiRefused(exc.code, error["code"], error["message"]) from None
        except (urllib.error.URLError, OSError) as exc:
            raise ApiUnreachable(f"no node API at {self.base} ({getattr(exc, 'reason', exc)})") from None
