"""The node's local HTTP API, live events, web UI and Prometheus metrics (docs/api.md).

The server lives in ``mule.api.server``, the protocols the node's search, publish and index parts implement in
``mule.api.adapters``; this package's root imports nothing, so the command-line client loads no web framework.
"""

from __future__ import annotations

PREFIX = "/api/v1"
"""Every API route lives below this; a new major version gets a new prefix beside it."""
