"""mule: an I2P-only, iMule-compatible Kad2 node whose wire behaviour is uniform by design."""

from __future__ import annotations

__version__ = "0.1.0"
