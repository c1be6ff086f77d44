"""The OpenAPI 3.1 document served at ``/api/v1/openapi.json`` (a test checks it names exactly the served routes)."""

from __future__ import annotations

import json
from functools import cache
from typing import Any

import mule

_ERROR = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {
                "code": {
                    "type": "string",
                    "description": "Stable: unauthorized, not_found, no_such_search, method_not_allowed, bad_json, "
                    "bad_request, unsupported_media_type, body_too_large, refused, unavailable, internal",
                },
                "message": {"type": "string", "description": "For people; may change"},
            },
        }
    },
}
_SEARCH = {
    "type": "object",
    "properties": {
        "id": {"type": "string"},
        "kind": {"enum": ["keyword", "source", "notes"]},
        "query": {"type": "string"},
        "state": {"enum": ["queued", "running", "done", "cancelled"]},
        "results": {"type": "integer"},
        "started": {"type": ["number", "null"]},
    },
}
_PUBLISH = {
    "type": "object",
    "properties": {
        "id": {"type": "string"},
        "kind": {"enum": ["keyword", "source", "notes"]},
        "file_hash": {"type": "string"},
        "state": {"type": "string"},
    },
}
_OBJECT = {"type": "object"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _operation(
    summary: str,
    schema: dict[str, Any],
    *,
    status: str = "200",
    body: dict[str, Any] | None = None,
    errors: tuple[str, ...] = (),
) -> dict[str, Any]:
    responses = {status: _json(schema, summary), "401": {"$ref": "#/components/responses/Error"}}
    for code in errors:
        responses[code] = {"$ref": "#/components/responses/Error"}
    operation: dict[str, Any] = {"summary": summary, "responses": responses}
    if body is not None:
        operation["requestBody"] = {"required": True, "content": {"application/json": {"schema": body}}}
    return operation


def _queue(summary: str, schema: dict[str, Any], required: list[str], fields: dict[str, Any]) -> dict[str, Any]:
    """A POST that queues work for the node's slots: 202 with the queued item, its body an object of ``fields``."""
    body = {"type": "object", "required": required, "properties": {"kind": schema["properties"]["kind"], **fields}}
    return _operation(summary, schema, status="202", body=body, errors=("400", "409", "413", "415", "503"))


_SEARCH_ID = [{"name": "search_id", "in": "path", "required": True, "schema": {"type": "string"}}]


@cache
def openapi_document() -> dict[str, Any]:
    paths: dict[str, Any] = {
        "/health": {"get": _operation("The server answers; version and protocol profile", _OBJECT)},
        "/status": {"get": _operation("Node status (the figures of the status line)", _OBJECT)},
        "/routing": {"get": _operation("Routing table: zones (leaves) and contacts, destinations shortened", _OBJECT)},
        "/shaper": {
            "get": _operation("Shaper: queue depth, counters, caps hit, lateness quantiles, delay histogram", _OBJECT)
        },
        "/index": {"get": _operation("Local index figures", _OBJECT, errors=("503",))},
        "/searches": {
            "get": _operation("Searches this node knows", _OBJECT, errors=("503",)),
            "post": _queue(
                "Queue a search; it starts when a lookup slot takes it",
                _SEARCH,
                ["kind", "query"],
                {"query": {"type": "string", "maxLength": 512}},
            ),
        },
        "/searches/{search_id}": {
            "parameters": _SEARCH_ID,
            "get": _operation("One search", _SEARCH, errors=("404", "503")),
            "delete": _operation("Cancel a search", _SEARCH, errors=("404", "503")),
        },
        "/searches/{search_id}/results": {
            "parameters": [*_SEARCH_ID, {"name": "after", "in": "query", "schema": {"type": "integer"}}],
            "get": _operation("Results with seq > after, in arrival order", _OBJECT, errors=("400", "404", "503")),
        },
        "/publish": {
            "get": _operation("Publishes this node was asked for", _OBJECT, errors=("503",)),
            "post": _queue(
                "Queue a publish; it starts when a publish slot takes it",
                _PUBLISH,
                ["kind", "file_hash"],
                {
                    "file_hash": {"type": "string", "pattern": "^[0-9a-fA-F]{32}$"},
                    "name": {"type": "string", "maxLength": 1024},
                    "size": {"type": "integer", "minimum": 0},
                    "note": {"type": "string", "maxLength": 4096},
                },
            ),
        },
        "/events": {
            "get": {
                "summary": "Server-Sent Events: status, contact-verified, search-result",
                "responses": {
                    "200": {"description": "An event stream", "content": {"text/event-stream": {}}},
                    "401": {"$ref": "#/components/responses/Error"},
                },
            }
        },
        "/openapi.json": {"get": _operation("This document", _OBJECT)},
    }
    return {
        "openapi": "3.1.0",
        "info": {"title": "mule node API", "version": mule.__version__},
        "servers": [{"url": "/api/v1"}],
        "security": [{"bearer": []}],
        "paths": paths,
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {"Error": _ERROR},
            "responses": {"Error": _json({"$ref": "#/components/schemas/Error"}, "An error")},
        },
    }


@cache
def openapi_json() -> bytes:
    return json.dumps(openapi_document()).encode()
