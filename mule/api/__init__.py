"""The node's local HTTP API, live events, web UI and Prometheus metrics (docs/api.md)."""

from __future__ import annotations

from mule.api.adapters import (
    IndexFigures,
    IndexStats,
    Parts,
    PublishInfo,
    Publishing,
    PublishRequest,
    Refused,
    Searches,
    SearchInfo,
    SearchResult,
)
from mule.api.server import ApiServer, BindRefused, Listen

__all__ = [
    "ApiServer",
    "BindRefused",
    "IndexFigures",
    "IndexStats",
    "Listen",
    "Parts",
    "PublishInfo",
    "PublishRequest",
    "Publishing",
    "Refused",
    "SearchInfo",
    "SearchResult",
    "Searches",
]
