"""``--set dotted.key=yaml`` for the benchmarks that train a shipped study file on other data (one parser)."""

from __future__ import annotations

import yaml


def apply_overrides(data: dict, overrides: list[str]) -> dict:
    """``data`` (a study file's mapping) with each ``dotted.key=value`` set, the value parsed as YAML."""
    for item in overrides:
        dotted, _, text = item.partition("=")
        *head, last = dotted.split(".")
        node = data
        for key in head:
            node = node.setdefault(key, {})
        node[last] = yaml.safe_load(text)
    return data
