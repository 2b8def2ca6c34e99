"""The firm-fact vocabulary (labels, hedges, places, entity and taxpayer words) of kb/rules/facts.yaml, read once."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import yaml

FACTS_FILE = Path(__file__).resolve().parent.parent / "rules" / "facts.yaml"


@functools.lru_cache(maxsize=1)
def vocabulary() -> dict[str, Any]:
    """kb/rules/facts.yaml as read (cached: the file ships with the code)."""
    return yaml.safe_load(FACTS_FILE.read_text(encoding="utf-8"))
