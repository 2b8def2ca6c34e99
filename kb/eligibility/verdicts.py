"""What a verdict is made of — its status, the findings that decide it — and how a condition is said in Chinese.

Units: money in 万元 (float), ratios as fractions 0–1 (0.05 = 5%), counts in 人 (int), years as int;
explanations print figures as Chinese readers write them: 300万元, 2亿元, 3%, 300人.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any

from kb.eligibility.profile import FIELDS
from kb.eligibility.rulebook import Rulebook, default_rulebook
from kb.errors import KBError
from kb.format import format_number

Rule = Mapping[str, Any]
Facts = Mapping[str, Any]


class Status(str, Enum):
    """A verdict's status: eligible, likely, not eligible or unknown."""

    ELIGIBLE = "eligible"
    LIKELY = "likely"
    NOT_ELIGIBLE = "not_eligible"
    UNKNOWN = "unknown"


class RuleError(KBError):
    """A rule that does not follow the grammar; names every problem by its key path."""

    def __init__(self, problems: list[str], where: str = "rule") -> None:
        """Keep the problems; the message names `where` and each problem."""
        self.problems = problems
        super().__init__(f"{where}: " + "; ".join(problems))


class FactsError(KBError):
    """A fact of the wrong type for its field (facts are values in engine units, not raw text)."""


@dataclass(frozen=True)
class Finding:
    """One condition as it bears on a verdict."""

    field: str
    op: str
    value: Any
    status: str  # "met" | "failed" | "undecided"
    explanation: str
    ref: str | None = None
    category: str | None = None  # the derived category it belongs to, if any
    negated: bool = False  # the condition sits under a `not`; explanation and status already account for it
    unencoded: bool = False  # an official condition the rule does not encode (field is "confirmed")
    source: str | None = None


@dataclass(frozen=True)
class Verdict:
    """A rule's verdict on a firm's facts, with the findings met, failed and undecided."""

    status: Status
    met: tuple[Finding, ...] = ()
    failed: tuple[Finding, ...] = ()
    undecided: tuple[Finding, ...] = ()
    measure_id: str | None = None

    @property
    def undecided_fields(self) -> tuple[str, ...]:
        """The facts that could still decide this verdict, in rule order, each once (unencoded ones aside)."""
        return tuple(dict.fromkeys(f.field for f in self.undecided if not f.unencoded))

    @property
    def to_confirm(self) -> tuple[str, ...]:
        """The official conditions the rule does not encode that the firm still has to confirm."""
        return tuple(dict.fromkeys(f.explanation for f in self.undecided if f.unencoded))




def format_money(wan: float) -> str:
    """万元 as written: 300 → 300万元, 20000 → 2亿元, 0.5 → 5000元."""
    if abs(wan) >= 10_000:
        return f"{format_number(round(wan / 10_000, 6))}亿元"
    if 0 < abs(wan) < 1:
        return f"{format_number(round(wan * 10_000, 2))}元"
    return f"{format_number(round(wan, 6))}万元"


def format_value(field_name: str, value: Any) -> str:
    """A field's value as written: money as 300万元 or 2亿元, a ratio 0.05 as 5%, counts and years with their unit."""
    spec = FIELDS[field_name]
    if isinstance(value, (list, tuple, set, frozenset)):
        return "、".join(format_value(field_name, item) for item in value)
    if spec.kind == "money":
        return format_money(value)
    if spec.kind == "ratio":
        return f"{format_number(round(value * 100, 6))}%"
    if spec.kind in ("count", "year"):
        return f"{format_number(value)}{spec.unit}"
    return str(value)


def explain(field_name: str, op: str, value: Any, *, on: dt.date, book: Rulebook | None = None) -> str:
    """Say a condition in one Chinese sentence from the field's label: "员工人数不超过300人"."""
    spec = FIELDS[field_name]
    label = spec.label
    count = spec.kind == "count"
    if op in ("in_group", "not_in_group"):
        name = (book or default_rulebook()).label(value, on)
        verb = "位于" if spec.kind == "region" else "属于"
        return f"{'不' if op == 'not_in_group' else ''}{verb}{name}"
    if op in ("contains", "not_contains", "holds", "not_holds"):
        return f"{'已' if op in ('contains', 'holds') else '未'}认定为{value}"
    shown = format_value(field_name, value)
    if op in ("between", "not_between"):
        lo, hi = (format_value(field_name, bound) for bound in value)
        return f"{label}{'不' if op == 'not_between' else ''}在{lo}至{hi}之间（含）"
    phrase = {
        "eq": "为", "ne": "不是", "le": "不超过", "gt": "超过",
        "lt": "少于" if count else "低于", "ge": "不少于" if count else "不低于",
        "in": "属于" if spec.kind != "region" else "位于", "not_in": "不属于" if spec.kind != "region" else "不位于",
    }[op]
    return f"{label}{phrase}{shown}"

