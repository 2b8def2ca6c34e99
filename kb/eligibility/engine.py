"""The eligibility engine: evaluate rule data against firm facts, three-valued, and pick the next question.

Units: money in 万元 (float), ratios as fractions 0–1 (0.05 = 5%), counts in 人 (int), years as
int. Facts and rule values both use these units; explanations print figures as Chinese
readers write them: 300万元, 5000万元, 2亿元, 3%, 300人.

A verdict is *eligible*, *likely*, *not_eligible* or *unknown* (a needed fact is missing):

- a rule lists the official conditions it does not encode as `{unencoded: 知识产权, explain, ref, source}`
  nodes; such a node is undecided until the firm confirms it (fact `confirmed`, a set of names), so a
  verdict whose only open conditions are unencoded ones is *likely* ("符合已知条件，还需确认…"), never
  *eligible*; a failed condition still decides *not_eligible*;
- `{field: certifications, op: holds, value: 高新技术企业}` is met when the firm says it holds the title and
  fails otherwise (a firm that holds a title says so): an `any` of "holds" and the conditions to earn it is
  decided by the conditions when nothing about the title was said;
- a hedged figure ("2000万左右", `approximate`) within 10% of a threshold leaves that condition undecided;

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

import copy
import datetime as dt
import pickle
import threading
from collections import Counter
from collections.abc import Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from enum import Enum
from typing import Any

from kb.eligibility.profile import CERTIFICATIONS, DERIVED_FROM, FIELDS, INDUSTRIES, OWNERSHIPS, Field, derive
from kb.eligibility.regions import OUTSIDE, REGIONS
from kb.eligibility.rulebook import Rulebook, check_rule, default_rulebook
from kb.errors import KBError
from kb.format import format_number

Rule = Mapping[str, Any]
Facts = Mapping[str, Any]


class Status(str, Enum):
    ELIGIBLE = "eligible"
    LIKELY = "likely"
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
    unencoded: bool = False  # an official condition the rule does not encode (field is "confirmed")
    source: str | None = None


@dataclass(frozen=True)
class Verdict:
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


MET, FAILED, UNKNOWN = "met", "failed", "undecided"
_NEGATED_OP = {"eq": "ne", "ne": "eq", "lt": "ge", "ge": "lt", "le": "gt", "gt": "le", "in": "not_in",
               "not_in": "in", "contains": "not_contains", "not_contains": "contains",
               "in_group": "not_in_group", "not_in_group": "in_group", "between": "not_between",
               "not_between": "between", "holds": "not_holds"}
APPROXIMATE_MARGIN = 0.1  # a hedged figure this close (relative) to a threshold does not decide it


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


# --- evaluation ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Result:
    state: str
    findings: tuple[Finding, ...]
    touched: bool = False  # some condition under it is met (a tier whose guard the firm meets)
    leaf: bool = False  # a single condition
    met_count: int = 0  # conditions met beneath it


_CITIES: dict[str, tuple[str, ...]] = {}
for _full, (_city, _county) in REGIONS.items():
    _CITIES.setdefault(_city, ())
    _CITIES[_city] += (_full,)

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
            if kind == "choice" and value not in spec.values:
                raise FactsError(f"facts.{name}: “{value}”不是标准取值（{'、'.join(spec.values)}）")
            values[name] = value
        known = _STANDARD_VALUES.get(kind)
        if kind == "region" and (value in _CITIES or value == OUTSIDE):
            known = None  # a city: conditions on a county decide only when all its counties agree
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
    if op in ("contains", "holds"):
        return value in fact
    if op == "in_group":
        assert members is not None
        return fact in members
    raise AssertionError(op)


# --- compiled rules --------------------------------------------------------------------------------
#
# Checking a rule's grammar costs far more than judging it, and a catalogue's rules rarely change, so
# each rule is checked once and kept compiled, per rulebook. Two lookups find it again: by the rule
# object (confirmed by comparing it with a snapshot, so a rule edited in place is checked anew) and by
# its content (a type-exact frozen copy, so equal rules read afresh from the database share one
# compiled form). Equal sub-rules are one object, so within one call each is judged once.


class _Uncacheable(Exception):
    """A rule holding a value that cannot be pickled; it is checked and compiled on every call."""


def _content_key(value: Any) -> bytes:
    """Return bytes equal only for rules that read back identically.

    Unlike `==`, this tells 1, 1.0 and True apart, and a list from a tuple, as the grammar does;
    and it is cheaper than any walk in Python.
    """
    try:
        return pickle.dumps(value, protocol=5)
    except (pickle.PicklingError, TypeError, AttributeError, RecursionError) as error:
        raise _Uncacheable from error


class _Cond:
    __slots__ = ("field", "op", "value", "explain", "ref", "as_of", "texts", "if_missing")

    def __init__(self, node: Rule) -> None:
        self.field, self.op, self.value = node["field"], node["op"], copy.deepcopy(node["value"])
        self.explain, self.ref, self.as_of = node.get("explain", _NO_TEXT), node.get("ref"), node.get("as_of", _NO_TEXT)
        self.texts: dict[tuple[bool, dt.date], str] = {}  # explanations by (negated, date), made once
        self.if_missing = node.get("if_missing", _NO_TEXT)


class _Unencoded:
    __slots__ = ("name", "explain", "ref", "source")

    def __init__(self, node: Rule) -> None:
        self.name, self.ref, self.source = node["unencoded"], node.get("ref"), node.get("source")
        self.explain = node.get("explain") or node["unencoded"]


class _Branch:
    __slots__ = ("conjunction", "children")

    def __init__(self, conjunction: bool, children: tuple[Any, ...]) -> None:
        self.conjunction, self.children = conjunction, children


class _Not:
    __slots__ = ("child",)

    def __init__(self, child: Any) -> None:
        self.child = child


class _Category:
    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name


_NO_TEXT = object()
_Node = Any  # _Cond | _Branch | _Not | _Category


class _Compiled:
    """A checked rule (or its problems), with a snapshot to confirm an in-place edit did not change it."""

    __slots__ = ("root", "problems", "snapshot")

    def __init__(self, root: _Node | None, problems: list[str], snapshot: Any) -> None:
        self.root, self.problems, self.snapshot = root, problems, snapshot


class _BookCache:
    """Compiled rules for one rulebook."""

    MAX_ENTRIES = 200_000  # rule objects remembered by identity; cleared beyond this (old revisions)

    def __init__(self, book: Rulebook) -> None:
        self.book = book
        self.by_object: dict[int, tuple[Any, _Compiled]] = {}
        self.by_content: dict[Any, _Compiled] = {}
        self.nodes: dict[Any, _Node] = {}
        self.categories: dict[str, _Node] = {}
        self.holds: dict[_Node, frozenset[str]] = {}

    def compiled(self, rule: Any) -> _Compiled:
        seen = self.by_object.get(id(rule))
        if seen is not None and seen[0] is rule and rule == seen[1].snapshot:
            return seen[1]
        try:
            key = _content_key(rule)
        except _Uncacheable:
            problems = check_rule(rule, book=self.book)
            return _Compiled(None if problems else self.build(rule, cache=False), problems, None)
        found = self.by_content.get(key)
        if found is None:
            problems = check_rule(rule, book=self.book)
            found = _Compiled(None if problems else self.build(rule), problems, copy.deepcopy(rule))
            self.by_content[key] = found
        if len(self.by_object) >= self.MAX_ENTRIES:
            self.by_object.clear()
        self.by_object[id(rule)] = (rule, found)  # holding the rule keeps its id from being reused
        return found

    def build(self, node: Rule, cache: bool = True) -> _Node:
        """Compile a node; equal nodes give one object (dispatching on keys as the grammar does)."""
        if cache:
            try:
                key = _content_key(node)
            except _Uncacheable:
                cache = False
            else:
                found = self.nodes.get(key)
                if found is not None:
                    return found
        if "all" in node or "any" in node:
            built: _Node = _Branch("all" in node, tuple(
                self.build(child, cache) for child in node.get("all") or node.get("any")))
        elif "not" in node:
            built = _Not(self.build(node["not"], cache))
        elif "category" in node:
            built = _Category(node["category"])
        elif "unencoded" in node:
            built = _Unencoded(node)
        else:
            built = _Cond(node)
        if cache:
            self.nodes[key] = built
        return built

    def category(self, name: str) -> _Node:
        # Category rules were checked when the rulebook was loaded; like before, they are not re-checked.
        found = self.categories.get(name)
        if found is None:
            found = self.categories[name] = self.build(self.book.categories[name].rule)
        return found


_book_caches: dict[int, _BookCache] = {}
_book_caches_lock = threading.Lock()


def _cache_for(book: Rulebook) -> _BookCache:
    cache = _book_caches.get(id(book))
    if cache is None or cache.book is not book:
        with _book_caches_lock:
            if len(_book_caches) >= 16:  # rulebooks made in tests; the shipped one is reloaded rarely
                _book_caches.clear()
            cache = _book_caches[id(book)] = _BookCache(book)
    return cache


class _Run:
    """One call's evaluation: the facts read once, every node's outcome judged once."""

    def __init__(self, facts: Facts, on: dt.date, cache: _BookCache, approximate: Collection[str] = ()) -> None:
        self.raw, self.on, self.cache, self.book = facts, on, cache, cache.book
        # Approximate figures: a field name (±10% around the fact) or field → (low, high), None = open.
        self.ranges: dict[str, tuple[float | None, float | None] | None] = (
            {name: (tuple(bounds) if bounds is not None else None) for name, bounds in approximate.items()}
            if isinstance(approximate, Mapping) else dict.fromkeys(approximate))
        confirmed = facts.get("confirmed") or ()
        self.confirmed = frozenset([confirmed] if isinstance(confirmed, str) else confirmed)
        self.values: dict[str, Any] | None = None
        self.outcomes: dict[tuple[_Node, bool, str | None], _Result] = {}
        self.members: dict[tuple[str, dt.date], frozenset[str]] = {}
        self.verdicts: dict[_Node, tuple[Status, tuple[Finding, ...], tuple[Finding, ...], tuple[Finding, ...]]] = {}
        self.fields: dict[_Node, dict[str, Any]] = {}  # a verdict's fields but its measure_id
        self.by_object = cache.by_object

    def compiled(self, rule: Any, measure_id: str | None) -> _Node:
        seen = self.by_object.get(id(rule))
        if seen is not None and seen[0] is rule and rule == seen[1].snapshot:  # the cache's fast path, inline
            compiled = seen[1]
        else:
            compiled = self.cache.compiled(rule)
        if compiled.problems:
            raise RuleError(compiled.problems, measure_id or "rule")
        return compiled.root

    def verdict_parts(self, root: _Node):
        parts = self.verdicts.get(root)
        if parts is None:
            if self.values is None:
                self.values = _coerce(self.raw)  # raises FactsError at the first rule judged, as before
                founded = self.values.get("founded_year")
                if founded is not None and self.values.get("firm_age") is None:
                    self.values["firm_age"] = self.on.year - int(founded)
            result = self.node(root, False, None)
            by_state: dict[str, list[Finding]] = {MET: [], FAILED: [], UNKNOWN: []}
            for finding in result.findings:
                by_state[finding.status].append(finding)
            status = _STATUS[result.state]
            if status is Status.UNKNOWN and all(f.unencoded for f in by_state[UNKNOWN]):
                status = Status.LIKELY
            parts = self.verdicts[root] = (status, tuple(by_state[MET]), tuple(by_state[FAILED]),
                                           tuple(by_state[UNKNOWN]))
        return parts

    def verdict(self, rule: Rule | None, measure_id: str | None) -> Verdict:
        if not rule:
            return Verdict(Status.ELIGIBLE, measure_id=measure_id)
        status, met, failed, undecided = self.verdict_parts(self.compiled(rule, measure_id))
        return Verdict(status, met, failed, undecided, measure_id)

    def node(self, node: _Node, negated: bool, category: str | None) -> _Result:
        key = (node, negated, category)
        found = self.outcomes.get(key)
        if found is None:
            found = self.outcomes[key] = self.judge(node, negated, category)
        return found

    def judge(self, node: _Node, negated: bool, category: str | None) -> _Result:
        kind = type(node)
        if kind is _Cond:
            return self.condition(node, negated, category)
        if kind is _Branch:
            # not(all) = any(not …), not(any) = all(not …)
            return _combine([self.node(child, negated, category) for child in node.children],
                            node.conjunction != negated)
        if kind is _Not:
            return self.node(node.child, not negated, category)
        if kind is _Unencoded:
            state = (FAILED if negated else MET) if node.name in self.confirmed else UNKNOWN
            return _Result(state, (Finding("confirmed", "unencoded", node.name, state, node.explain, node.ref,
                                           category, negated, True, node.source),))
        name = node.name
        found = self.node(self.cache.category(name), negated, name)
        ref = self.book.categories[name].ref
        return _Result(found.state, tuple(f if f.ref else replace(f, ref=ref) for f in found.findings), found.touched,
                       found.leaf, found.met_count)

    @staticmethod
    def ranged(state: str, op: str, fact: Any, value: Any, bounds, negated: bool) -> str:
        """A hedged figure decides a comparison only when its whole range lies on one side of the threshold."""
        if bounds is None:
            return UNKNOWN if _near(fact, value) else state
        low, high = bounds
        ends = [_test(op, end, value, None) for end in (low, high) if end is not None]
        if low is None:  # open below: "不到2000万" can be anything down to 0 for money
            ends.append(_test(op, min(0.0, high if high is not None else 0.0), value, None))
        if high is None:
            ends.append(_test(op, float("inf"), value, None))
        if all(ends):
            return MET if not negated else FAILED
        if not any(ends):
            return FAILED if not negated else MET
        return UNKNOWN

    def holds_fields(self, node: _Node) -> frozenset[str]:
        """The fields of the `holds` conditions under a node (categories included), each node walked once."""
        found = self.cache.holds.get(node)
        if found is None:
            kind = type(node)
            if kind is _Cond:
                found = frozenset([node.field]) if node.op == "holds" else frozenset()
            elif kind is _Branch:
                found = frozenset().union(*(self.holds_fields(child) for child in node.children))
            elif kind is _Not:
                found = self.holds_fields(node.child)
            elif kind is _Category:
                found = self.holds_fields(self.cache.category(node.name))
            else:
                found = frozenset()
            self.cache.holds[node] = found
        return found

    def condition(self, node: _Cond, negated: bool, category: str | None) -> _Result:
        field_name, op, value = node.field, node.op, node.value
        fact = self.values.get(field_name)
        on = self.on if node.as_of is _NO_TEXT else node.as_of
        assumed = fact is None and node.if_missing is not _NO_TEXT
        if assumed:
            fact = node.if_missing  # a fact firms rarely state, read as the usual case ("a company")
        if fact is None and op == "holds":
            state = FAILED if not negated else MET  # nothing said about the title: the firm does not hold it
        elif fact is None:
            state = UNKNOWN
        else:
            members = None
            if op == "in_group":
                members = self.members.get((value, on))
                if members is None:
                    members = self.members[(value, on)] = self.book.members(value, on)
            if isinstance(fact, str) and fact in _CITIES:  # a city: each of its counties, then agree or not
                outcomes = {_test(op, county, value, members) for county in _CITIES[fact]}
                state = UNKNOWN if len(outcomes) > 1 else (MET if outcomes.pop() != negated else FAILED)
            else:
                state = MET if _test(op, fact, value, members) != negated else FAILED
            if op in _COMPARISON_OPS and field_name in self.ranges:
                state = self.ranged(state, op, fact, value, self.ranges[field_name], negated)
        text = node.texts.get((negated, on))
        if text is None:
            if node.explain is not _NO_TEXT:
                text = f"不符合“{node.explain}”" if negated else node.explain
            else:
                text = explain(field_name, _NEGATED_OP[op] if negated else op, value, on=on, book=self.book)
            node.texts[(negated, on)] = text
        if assumed:  # decided by the usual case, not by anything the firm said: no reason to show
            return _Result(state, (), False, True, 0)
        return _Result(state, (Finding(field_name, op, value, state, text, node.ref, category, negated),),
                       state == MET, op != "holds", int(state == MET))


_COMPARISON_OPS = frozenset({"lt", "le", "gt", "ge"})


def _near(fact: Any, threshold: Any) -> bool:
    """A hedged figure too close to a threshold to decide it ("2000万左右" against 2000万)."""
    try:
        return abs(float(fact) - float(threshold)) <= APPROXIMATE_MARGIN * abs(float(threshold))
    except (TypeError, ValueError):
        return False


def _applicable(children: list[_Result]) -> list[_Result]:
    """Of an `any`'s failed or undecided branches, those that apply to the firm.

    A tier ("5000万元至2亿元档") is a branch whose guards the firm meets; its siblings' failed guards
    ("上年销售收入不超过5000万元") are not reasons. A branch applies when it met something, or, for an
    undecided `any`, when it is itself undecided; a branch of a lone failed "holds" never explains.
    """
    def holds_only(child: _Result) -> bool:
        return all(f.op == "holds" and f.status == FAILED for f in child.findings)

    useful = [c for c in children if not holds_only(c)] or children
    touched = [c for c in useful if c.touched]
    return touched or useful


def _combine(children: list[_Result], conjunction: bool) -> _Result:
    """Three-valued and/or, keeping the findings that explain the outcome."""
    decisive, opposite = (FAILED, MET) if conjunction else (MET, FAILED)
    touched = any(c.touched for c in children)
    met_count = sum(c.met_count for c in children)
    deciding = [c for c in children if c.state == decisive]
    if deciding:
        return _Result(decisive, tuple(f for c in deciding for f in c.findings), touched, False, met_count)
    if any(c.state == UNKNOWN for c in children):
        if conjunction:  # the undecided children, plus the progress already made
            return _Result(UNKNOWN, tuple(f for c in children for f in c.findings), touched, False, met_count)
        # The open branches that apply, and the plain conditions already failed (reasons, not tiers' guards).
        shown = [c for c in children if c.state == FAILED and c.leaf]
        shown += _applicable([c for c in children if c.state == UNKNOWN])
        return _Result(UNKNOWN, tuple(f for c in shown for f in c.findings), touched, False, met_count)
    if conjunction:
        return _Result(opposite, tuple(f for c in children for f in c.findings), touched, False, met_count)
    return _Result(opposite, tuple(f for c in _closest(children) for f in c.findings), touched, False, met_count)


def _closest(children: list[_Result]) -> list[_Result]:
    """Of a failed `any`: its plain conditions, and of its branches (tiers) those the firm came closest to.

    Closest = fewest failed conditions, then most met: a firm in the 5000万–2亿 tier is told its ratio is
    short of 4%, not that its revenue is not under 5000万 or over 2亿.
    """
    leaves = [c for c in children if c.leaf]
    branches = [c for c in children if not c.leaf and not all(f.op == "holds" for f in c.findings)]
    # A branch for another kind than the firm chose ("智能工厂", not "数字化车间") is not its tier.
    branches = [c for c in branches if not any(
        f.field in FIELDS and FIELDS[f.field].kind == "choice" for f in c.findings)] or branches
    if branches:
        best = min((len(c.findings), -c.met_count) for c in branches)
        branches = [c for c in branches if (len(c.findings), -c.met_count) == best]
    return (leaves + branches) or children


_STATUS = {MET: Status.ELIGIBLE, FAILED: Status.NOT_ELIGIBLE, UNKNOWN: Status.UNKNOWN}


def evaluate(rule: Rule | None, facts: Facts, *, on: dt.date, measure_id: str | None = None,
             book: Rulebook | None = None, approximate: Collection[str] = ()) -> Verdict:
    """Judge one rule on a firm's facts, on a date (the date picks group versions).

    A missing or empty rule states no conditions: the verdict is eligible with nothing listed;
    callers decide how to present measures without a rule. Raises RuleError for a rule that does
    not follow the grammar and FactsError for facts of the wrong type.
    """
    return _Run(facts, on, _cache_for(book or default_rulebook()), approximate).verdict(rule, measure_id)


def evaluate_category(name: str, facts: Facts, *, on: dt.date, book: Rulebook | None = None,
                      approximate: Collection[str] = ()) -> Verdict:
    """Whether a firm is in a derived category (小型微利企业, 规上工业企业, …)."""
    return evaluate({"category": name}, facts, on=on, book=book, approximate=approximate)


def evaluate_all(measures: Iterable[tuple[str, Rule | None]], facts: Facts, *, on: dt.date,
                 book: Rulebook | None = None, approximate: Collection[str] = ()) -> list[Verdict]:
    """Verdicts for (measure id, rule) pairs, in the given order.

    The facts are read once and each distinct rule is judged once per call; measures sharing a rule
    get verdicts differing only in measure_id.
    """
    run = _Run(facts, on, _cache_for(book or default_rulebook()), approximate)
    by_object = run.by_object
    verdicts = []
    for measure_id, rule in measures:
        if not rule:
            verdicts.append(Verdict(Status.ELIGIBLE, measure_id=measure_id))
            continue
        seen = by_object.get(id(rule))
        if seen is not None and seen[0] is rule and rule == seen[1].snapshot and seen[1].root is not None:
            root = seen[1].root  # run.compiled's fast path, inline: this loop runs per measure
        else:
            root = run.compiled(rule, measure_id)
        fields = run.fields.get(root)
        if fields is None:
            status, met, failed, undecided = run.verdict_parts(root)
            fields = run.fields[root] = {"status": status, "met": met, "failed": failed, "undecided": undecided}
        # Same object as Verdict(**fields, measure_id=…) builds, at half the cost: this runs per measure.
        verdict = _new(Verdict)
        state = verdict.__dict__
        state.update(fields)
        state["measure_id"] = measure_id
        verdicts.append(verdict)
    return verdicts


_new = object.__new__


def next_question(measures: Iterable[tuple[str, Rule | None]], facts: Facts, *, on: dt.date,
                  exclude: Collection[str] = (), book: Rulebook | None = None,
                  approximate: Collection[str] = ()) -> Field | None:
    """Choose the field whose answer would decide the most still-undecided measures; None: stop asking.

    Counts, per field, the measures whose verdict is unknown and that list the field among their
    undecided conditions; ties go to the easier field (Field.ease). `exclude` holds fields the firm
    could not or would not answer. None means no answer to any remaining field can change a verdict.
    """
    run = _Run(facts, on, _cache_for(book or default_rulebook()), approximate)
    # Measures sharing a rule count alike: count the rules, then weigh each by how many measures have it.
    by_object = run.by_object
    rules: dict[_Node, int] = {}
    for measure_id, rule in measures:
        if rule:
            seen = by_object.get(id(rule))
            if seen is not None and seen[0] is rule and rule == seen[1].snapshot and seen[1].root is not None:
                root = seen[1].root  # run.compiled's fast path, inline: this loop runs per measure
            else:
                root = run.compiled(rule, measure_id)
            if root not in rules:
                run.verdict_parts(root)  # judged in catalogue order, so errors surface as evaluate_all's would
                rules[root] = 1
            else:
                rules[root] += 1
    counts: Counter[str] = Counter()
    for root, times in rules.items():
        status, _, _, undecided = run.verdicts[root]
        if status is Status.UNKNOWN:
            for name in dict.fromkeys(DERIVED_FROM.get(f.field, f.field) for f in undecided if not f.unencoded):
                if name not in exclude and name in FIELDS:
                    counts[name] += times
        if status in (Status.UNKNOWN, Status.LIKELY):
            # A title not mentioned counts as not held; asked, it may turn out to be held and decide the verdict.
            # A firm that fails a mandatory condition (a 个体户 for 高企) is not asked which titles it holds.
            for name in run.holds_fields(root):
                if name not in exclude and run.values.get(name) is None:
                    counts[name] += times
    if not counts:
        return None
    best = min(counts, key=lambda name: (-counts[name], FIELDS[name].ease, name))
    return FIELDS[best]


# --- many firms against a few rules (政策找企业) ---------------------------------------------------------


class RegistryJudge:
    """Verdicts of a set of rules for firm after firm: the registry matched when a rule changes.

    A verdict depends on the facts only through the outcome of each condition it reaches (categories
    included): met or not for a stated fact, each county's outcome for a city, or whether it is missing.
    Those outcomes are cheap to compute, so a firm whose outcomes equal an earlier firm's gets the
    verdict judged then; a new combination is judged in full, exactly as `evaluate_all` judges it. With
    no approximate figures, as in the registry, this is the same verdict `evaluate_all` gives.
    """

    def __init__(self, measures: Iterable[tuple[str, Rule]], *, on: dt.date, book: Rulebook | None = None) -> None:
        self.on = on
        self.cache = _cache_for(book or default_rulebook())
        self.book = self.cache.book
        self.measures: list[tuple[str, _Node]] = []
        run = _Run({}, on, self.cache)
        for measure_id, rule in measures:
            self.measures.append((measure_id, run.compiled(rule, measure_id)))  # raises RuleError for a bad rule
        self.leaves: dict[_Node, tuple[_Cond, ...]] = {}
        for _, root in self.measures:
            if root not in self.leaves:
                self.leaves[root] = tuple(dict.fromkeys(self._walk(root)))
        self.members: dict[tuple[str, dt.date], frozenset[str]] = {}
        self.known: dict[tuple[int, tuple], Verdict] = {}

    def _walk(self, node: _Node) -> Iterator[_Cond]:
        kind = type(node)
        if kind is _Cond:
            yield node
        elif kind is _Branch:
            for child in node.children:
                yield from self._walk(child)
        elif kind is _Not:
            yield from self._walk(node.child)
        elif kind is _Category:
            yield from self._walk(self.cache.category(node.name))

    def _outcome(self, leaf: _Cond, values: Mapping[str, Any]) -> Any:
        fact = values.get(leaf.field)
        if fact is None:
            return None  # missing: undecided, failed (a title) or the usual case (if_missing), the same every time
        op, value = leaf.op, leaf.value
        members = None
        if op == "in_group":
            on = self.on if leaf.as_of is _NO_TEXT else leaf.as_of
            members = self.members.get((value, on))
            if members is None:
                members = self.members[(value, on)] = self.book.members(value, on)
        if isinstance(fact, str) and fact in _CITIES:
            return frozenset(_test(op, county, value, members) for county in _CITIES[fact])
        return _test(op, fact, value, members)

    def verdicts(self, facts: Facts) -> list[Verdict]:
        """One verdict per measure, in order; raises FactsError for facts of the wrong type."""
        values = _coerce(facts)
        founded = values.get("founded_year")
        if founded is not None and values.get("firm_age") is None:
            values["firm_age"] = self.on.year - int(founded)
        confirmed = facts.get("confirmed") or ()
        confirmed = frozenset([confirmed] if isinstance(confirmed, str) else confirmed)
        outcomes: dict[_Cond, Any] = {}
        keys: dict[_Node, tuple] = {}
        run: _Run | None = None
        found = []
        for index, (measure_id, root) in enumerate(self.measures):
            key = keys.get(root)
            if key is None:
                parts = []
                for leaf in self.leaves[root]:
                    if leaf not in outcomes:
                        outcomes[leaf] = self._outcome(leaf, values)
                    parts.append(outcomes[leaf])
                key = keys[root] = (confirmed, *parts)
            verdict = self.known.get((index, key))
            if verdict is None:
                if run is None:
                    run = _Run(facts, self.on, self.cache)
                status, met, failed, undecided = run.verdict_parts(root)
                verdict = self.known[(index, key)] = Verdict(status, met, failed, undecided, measure_id)
            found.append(verdict)
        return found
