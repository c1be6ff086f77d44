"""systemd's readiness protocol (``Type=notify``) without a dependency: one datagram to ``$NOTIFY_SOCKET``."""

from __future__ import annotations

import os
import socket


def sd_notify(*fields: str) -> bool:
    """Send ``READY=1``, ``STATUS=...``, ``STOPPING=1``...; a no-op (``False``) when not run by systemd."""
    address = os.environ.get("NOTIFY_SOCKET")
    if not address:
        return False
    if address.startswith("@"):
        address = "\0" + address[1:]  # an abstract socket
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            sock.sendto("\n".join(fields).encode(), address)
    except OSError:
        return False  # readiness is a courtesy to the service manager; never a reason to stop the node
    return True
