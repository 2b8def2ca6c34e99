"""Figures that hold for one tier of an amount: "研发费用占比下限（5000万至2亿元）" holds for revenue in that range.

A question stating an amount ("营收1.2亿的企业研发占比要多少") is answered by the tier its amount falls in; the
sibling tiers (the same label with another range) are left out of the reply, as is a sentence stating them all.
"""

from __future__ import annotations

import functools

from kb.answering.units import Unit
from kb.eligibility.quantities import prepare, quantities

Range = tuple[float | None, float | None]


@functools.lru_cache(maxsize=4096)  # a label is read for every answer stating an amount: read each once
def tier_range(label: str) -> Range | None:
    """The amounts (万元) a figure's label limits it to: "（5000万至2亿元）" → (5000, 20000), "（2亿元以上）" → (20000, None)."""
    if "（" not in label:
        return None
    amounts = [q for q in quantities(prepare(label.split("（", 1)[1])) if q.unit == "万"]
    if len(amounts) == 2:
        return amounts[0].value, amounts[1].value
    if len(amounts) == 1 and (amounts[0].low is None) != (amounts[0].high is None):
        return amounts[0].low, amounts[0].high
    return None


def _holds(bounds: Range, amount: float) -> bool:
    low, high = bounds
    return (low is None or amount >= low) and (high is None or amount <= high)


def family(unit: Unit) -> str:
    """What a tiered figure measures, without its tier: "研发费用占比下限"."""
    return unit.label.split("（")[0]


def outside(figures: list[Unit], amounts: tuple[float, ...]) -> set[str]:
    """Ids of the tiered figures whose tier the one stated amount falls outside, when a sibling tier holds it."""
    if len(amounts) != 1:
        return set()
    by_family: dict[str, list[tuple[Unit, Range]]] = {}
    for unit in figures:
        bounds = tier_range(unit.label)
        if bounds is not None:
            by_family.setdefault(family(unit), []).append((unit, bounds))
    left_out: set[str] = set()
    for tiers in by_family.values():
        inside = [u for u, bounds in tiers if _holds(bounds, amounts[0])]
        if len(tiers) >= 2 and inside:
            left_out |= {u.id for u, _ in tiers} - {inside[0].id}
    return left_out
