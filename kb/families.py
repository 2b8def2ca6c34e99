"""The policy families, read once from kb/rules/families.yaml: their keys and the names people give them."""

from __future__ import annotations

from typing import Any

import yaml

from kb.paths import RULES_DIR


def _read() -> dict[str, dict[str, Any]]:
    with open(RULES_DIR / "families.yaml", encoding="utf-8") as handle:
        return yaml.safe_load(handle)


_FAMILIES = _read()

FAMILIES: tuple[str, ...] = tuple(_FAMILIES)  # the keys, in the file's order
# A family's names (its name first, then its aliases) → its key, in the file's order.
FAMILY_NAMES: dict[str, str] = {name: key for key, item in _FAMILIES.items()
                                for name in (str(item["name"]), *item.get("aliases", ()))}


def family_name(key: str) -> str:
    """The name people use for a family ("8+4" for eight_plus_four); the key itself when unknown."""
    item = _FAMILIES.get(key)
    return str(item["name"]) if item else key
