"""The range a firm fact can take, in engine units, in one place (kb.eligibility.profile.FIELDS names the fields).

A fact outside its range is a typing slip or an attack (`employees: -5`, `revenue: 1e308`), never a
firm: callers refuse it and name the field before anything is judged. The bounds are generous —
the largest Chinese firms fit well inside — and only there to keep nonsense out.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from dataclasses import dataclass

# field → (lowest, highest, unit as people read it). Money in 万元, ratios as fractions, counts in 人.
BOUNDS: dict[str, tuple[float, float, str]] = {
    "employees": (0, 5_000_000, "人"),
    "founded_year": (1800, 0, "年"),  # the upper bound is this year (see bounds())
    "firm_age": (0, 300, "年"),  # years since founding (derived from founded_year when not given)
    "market_rank": (1, 100_000, "位"),  # a world rank of the main product: first is 1
    "revenue": (0, 1e9, "万元"),
    "total_assets": (0, 1e10, "万元"),
    "rd_expense": (0, 1e9, "万元"),
    "rd_ratio": (0, 10, "（比例，0.035 即 3.5%）"),
    "tech_staff_ratio": (0, 1, "（比例，0.15 即 15%）"),
    "taxable_income": (-1e9, 1e9, "万元"),
    "equity_financing_2yr": (0, 1e9, "万元"),
    "digital_investment": (0, 1e9, "万元"),
}


@dataclass(frozen=True)
class OutOfRange:
    """A fact outside its range: the field and the message that names it."""

    field: str
    message: str


def bounds(name: str, today: dt.date | None = None) -> tuple[float, float, str] | None:
    """The (lowest, highest, unit) of a field, founded_year's highest being this year; None for a field with none."""
    if name not in BOUNDS:
        return None
    low, high, unit = BOUNDS[name]
    if name == "founded_year":
        high = (today or dt.date.today()).year
    return low, high, unit


def out_of_range(facts: Mapping[str, object], today: dt.date | None = None) -> OutOfRange | None:
    """The first numeric fact that is not a finite number within its bounds, or None."""
    for name in sorted(facts):
        limits = bounds(name, today)
        value = facts[name]
        if limits is None or value is None:
            continue
        low, high, unit = limits
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            return OutOfRange(name, f"facts.{name} 须是有限的数，现在是 {value!r}")
        if not low <= value <= high:
            return OutOfRange(name, f"facts.{name} 超出合理范围（{low:g}–{high:g}{unit}）：{value!r}")
    return None
