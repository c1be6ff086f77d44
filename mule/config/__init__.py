"""Operator configuration: the TOML file and its checks (``settings``), the sample, the data-dir lock."""

from __future__ import annotations

from importlib import resources


def sample_text() -> str:
    """The commented sample config shipped with the package (``python -m mule config sample``)."""
    return resources.files(__name__).joinpath("sample.toml").read_text(encoding="utf-8")
