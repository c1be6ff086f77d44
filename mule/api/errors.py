"""One error body for every failure: ``{"error": {"code": "...", "message": "..."}}`` with a stable ``code``.

Clients branch on ``code`` (documented in docs/api.md); ``message`` is for people and may change.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

log = logging.getLogger(__name__)

STATUS_CODES = {
    400: "bad_request",
    401: "unauthorized",
    404: "not_found",
    405: "method_not_allowed",
    413: "body_too_large",
    415: "unsupported_media_type",
    500: "internal",
    503: "unavailable",
}
"""The code for an aiohttp HTTP error of each status (a handler may give a more precise one)."""


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def error_response(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> web.Response:
    body = json.dumps({"error": {"code": code, "message": message}})
    return web.Response(status=status, text=body, content_type="application/json", headers=headers)


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def json_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Outermost middleware: every failure leaves as the one error body, never an HTML page or a traceback."""
    try:
        return await handler(request)
    except ApiError as exc:
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
        return error_response(exc.status, exc.code, exc.message, headers)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        headers = {"Allow": exc.headers["Allow"]} if "Allow" in exc.headers else None
        code = STATUS_CODES.get(exc.status, "bad_request" if exc.status < 500 else "internal")
        return error_response(exc.status, code, exc.reason, headers)
    except Exception:
        log.warning("API handler failed on %s %s", request.method, request.path, exc_info=True)
        return error_response(500, "internal", "internal error (logged by the node)")
