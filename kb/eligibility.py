"""The eligibility engine: evaluate rule data against firm facts, three-valued, and pick the next question.

Units: money in 万元 (float), ratios as fractions 0–1 (0.05 = 5%), counts in 人 (int), years as
int. Facts and rule values both use these units; explanations print figures as Chinese
readers write them: 300万元, 5000万元, 2亿元, 3%, 300人.

A verdict is *eligible*, *not_eligible* or *unknown* (a needed fact is missing):

- `all` fails if any child fails; is unknown if none fails and some are unknown; else is met;
- `any` is met if any child is met; is unknown if none is met and some are unknown; else fails;
- `not` swaps met and failed and keeps unknown (pushed down to the conditions, so each
  reason reads as said: "不位于山区26县").

A verdict lists the conditions that decided it (met, failed, undecided), each with a one-sentence
Chinese explanation and its clause reference. For a met `any` only the met branch is listed;
for a failed `all` only the failing conditions.

The rule grammar, named groups and derived categories are in kb.rulebook and kb/rules/*.yaml;
facts, their units and parsing in kb.profile.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, replace
from enum import Enum
from typing import Any

from kb.errors import KBError
from kb.format import format_number
from kb.profile import CERTIFICATIONS, FIELDS, INDUSTRIES, OWNERSHIPS, Field, derive
from kb.regions import REGIONS
from kb.rulebook import Rulebook, check_rule, default_rulebook

Rule = Mapping[str, Any]
Facts = Mapping[str, Any]


class Status(str, Enum):
    ELIGIBLE = "eligible"
    NOT_ELIGIBLE = "not_eligible"
    UNKNOWN = "unknown"


class RuleError(KBError):
    """A rule that does not follow the grammar; names every problem by its key path."""

    def __init__(self, problems: list[str], where: str = "rule") -> None:
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


@dataclass(frozen=True)
class Verdict:
    status: Status
    met: tuple[Finding, ...] = ()
    failed: tuple[Finding, ...] = ()
    undecided: tuple[Finding, ...] = ()
    measure_id: str | None = None

    @property
    def undecided_fields(self) -> tuple[str, ...]:
        """The facts that could still decide this verdict, in rule order, each once."""
        return tuple(dict.fromkeys(f.field for f in self.undecided))


MET, FAILED, UNKNOWN = "met", "failed", "undecided"
_NEGATED_OP = {"eq": "ne", "ne": "eq", "lt": "ge", "ge": "lt", "le": "gt", "gt": "le", "in": "not_in",
               "not_in": "in", "contains": "not_contains", "not_contains": "contains",
               "in_group": "not_in_group", "not_in_group": "in_group", "between": "not_between",
               "not_between": "between"}


# --- formatting ------------------------------------------------------------------------------------


def format_money(wan: float) -> str:
    """万元 as written: 300 → 300万元, 20000 → 2亿元, 0.5 → 5000元."""
    if abs(wan) >= 10_000:
        return f"{format_number(round(wan / 10_000, 6))}亿元"
    if 0 < abs(wan) < 1:
        return f"{format_number(round(wan * 10_000, 2))}元"
    return f"{format_number(round(wan, 6))}万元"


def format_value(field_name: str, value: Any) -> str:
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
    if op in ("contains", "not_contains"):
        return f"{'已' if op == 'contains' else '未'}认定为{value}"
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


# --- evaluation ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Result:
    state: str
    findings: tuple[Finding, ...]


_STANDARD_VALUES = {"region": REGIONS, "industry": INDUSTRIES, "ownership": OWNERSHIPS,
                    "certifications": CERTIFICATIONS}


def _coerce(facts: Facts) -> dict[str, Any]:
    """Facts in engine types; unknown keys are kept but ignored by rules; None means unknown."""
    values: dict[str, Any] = {}
    for name, value in facts.items():
        spec = FIELDS.get(name)
        if value is None or spec is None:
            values[name] = value
            continue
        kind = spec.kind
        if kind in ("money", "ratio", "count", "year"):
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise FactsError(f"facts.{name}: {value!r} 不是数；请先用 kb.profile.parse 读成{spec.unit or '数'}")
            values[name] = float(value) if kind in ("money", "ratio") else value
        elif kind == "certifications":
            if isinstance(value, str) or not isinstance(value, Iterable):
                raise FactsError(f"facts.{name}: 应是资质名称的集合，现在是 {value!r}")
            values[name] = frozenset(value)
        else:
            if not isinstance(value, str):
                raise FactsError(f"facts.{name}: 应是文字，现在是 {value!r}")
            values[name] = value
        known = _STANDARD_VALUES.get(kind)
        if known is not None:
            strange = sorted(set(values[name]) - set(known)) if kind == "certifications" else (
                [value] if value not in known else [])
            if strange:
                raise FactsError(f"facts.{name}: {strange} 不是标准取值；请先用 kb.profile.parse 读取")
    return derive(values)


def _test(op: str, fact: Any, value: Any, members: frozenset[str] | None) -> bool:
    if op == "eq":
        return fact == value
    if op == "ne":
        return fact != value
    if op == "lt":
        return fact < value
    if op == "le":
        return fact <= value
    if op == "gt":
        return fact > value
    if op == "ge":
        return fact >= value
    if op == "between":
        return value[0] <= fact <= value[1]
    if op == "in":
        return fact in value
    if op == "not_in":
        return fact not in value
    if op == "contains":
        return value in fact
    if op == "in_group":
        assert members is not None
        return fact in members
    raise AssertionError(op)


class _Evaluator:
    def __init__(self, facts: dict[str, Any], on: dt.date, book: Rulebook) -> None:
        self.facts, self.on, self.book = facts, on, book

    def node(self, node: Rule, negated: bool, category: str | None) -> _Result:
        if "all" in node or "any" in node:
            conjunction = ("all" in node) != negated  # not(all) = any(not …), not(any) = all(not …)
            children = [self.node(child, negated, category) for child in node.get("all") or node.get("any")]
            return _combine(children, conjunction)
        if "not" in node:
            return self.node(node["not"], not negated, category)
        if "category" in node:
            name = node["category"]
            found = self.node(self.book.categories[name].rule, negated, name)
            ref = self.book.categories[name].ref
            return _Result(found.state, tuple(
                f if f.ref else replace(f, ref=ref) for f in found.findings))
        return self.condition(node, negated, category)

    def condition(self, node: Rule, negated: bool, category: str | None) -> _Result:
        field_name, op, value = node["field"], node["op"], node["value"]
        fact = self.facts.get(field_name)
        on = node.get("as_of", self.on)
        if fact is None:
            state = UNKNOWN
        else:
            members = self.book.members(value, on) if op == "in_group" else None
            state = MET if _test(op, fact, value, members) != negated else FAILED
        if "explain" in node:
            text = f"不符合“{node['explain']}”" if negated else node["explain"]
        else:
            text = explain(field_name, _NEGATED_OP[op] if negated else op, value, on=on, book=self.book)
        finding = Finding(field_name, op, value, state, text, node.get("ref"), category, negated)
        return _Result(state, (finding,))


def _combine(children: list[_Result], conjunction: bool) -> _Result:
    """Three-valued and/or, keeping the findings that explain the outcome."""
    decisive, opposite = (FAILED, MET) if conjunction else (MET, FAILED)
    deciding = [c for c in children if c.state == decisive]
    if deciding:
        return _Result(decisive, tuple(f for c in deciding for f in c.findings))
    if any(c.state == UNKNOWN for c in children):
        # The undecided children, plus what is already settled (progress for `all`, reasons for `any`).
        return _Result(UNKNOWN, tuple(f for c in children for f in c.findings))
    return _Result(opposite, tuple(f for c in children for f in c.findings))


_STATUS = {MET: Status.ELIGIBLE, FAILED: Status.NOT_ELIGIBLE, UNKNOWN: Status.UNKNOWN}


def evaluate(rule: Rule | None, facts: Facts, *, on: dt.date, measure_id: str | None = None,
             book: Rulebook | None = None) -> Verdict:
    """Judge one rule on a firm's facts, on a date (the date picks group versions).

    A missing or empty rule states no conditions: the verdict is eligible with nothing listed;
    callers decide how to present measures without a rule. Raises RuleError for a rule that does
    not follow the grammar and FactsError for facts of the wrong type.
    """
    book = book or default_rulebook()
    if not rule:
        return Verdict(Status.ELIGIBLE, measure_id=measure_id)
    problems = check_rule(rule, book=book)
    if problems:
        raise RuleError(problems, measure_id or "rule")
    result = _Evaluator(_coerce(facts), on, book).node(rule, False, None)
    by_state: dict[str, list[Finding]] = {MET: [], FAILED: [], UNKNOWN: []}
    for finding in result.findings:
        by_state[finding.status].append(finding)
    return Verdict(_STATUS[result.state], tuple(by_state[MET]), tuple(by_state[FAILED]),
                   tuple(by_state[UNKNOWN]), measure_id)


def evaluate_category(name: str, facts: Facts, *, on: dt.date, book: Rulebook | None = None) -> Verdict:
    """Whether a firm is in a derived category (小型微利企业, 规上工业企业, …)."""
    return evaluate({"category": name}, facts, on=on, book=book)


def evaluate_all(measures: Iterable[tuple[str, Rule | None]], facts: Facts, *, on: dt.date,
                 book: Rulebook | None = None) -> list[Verdict]:
    """Verdicts for (measure id, rule) pairs, in the given order."""
    return [evaluate(rule, facts, on=on, measure_id=measure_id, book=book) for measure_id, rule in measures]


def next_question(measures: Iterable[tuple[str, Rule | None]], facts: Facts, *, on: dt.date,
                  exclude: Collection[str] = (), book: Rulebook | None = None) -> Field | None:
    """Choose the field whose answer would decide the most still-undecided measures; None: stop asking.

    Counts, per field, the measures whose verdict is unknown and that list the field among their
    undecided conditions; ties go to the easier field (Field.ease). `exclude` holds fields the firm
    could not or would not answer. None means no answer to any remaining field can change a verdict.
    """
    counts: Counter[str] = Counter()
    for verdict in evaluate_all(measures, facts, on=on, book=book):
        if verdict.status is Status.UNKNOWN:
            counts.update(name for name in verdict.undecided_fields if name not in exclude)
    if not counts:
        return None
    best = min(counts, key=lambda name: (-counts[name], FIELDS[name].ease, name))
    return FIELDS[best]
