"""One call's judgement: facts read once, each compiled node judged once, three-valued.

- `all` fails if any child fails; is unknown if none fails and some are unknown; else is met;
- `any` is met if any child is met; is unknown if none is met and some are unknown; else fails;
- `not` swaps met and failed and keeps unknown (pushed down to the conditions, so each reason reads as
  said: "不位于山区26县");
- a hedged figure within APPROXIMATE_MARGIN of a threshold, or a range across it, leaves it undecided.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from kb.eligibility.compiled import NO_TEXT, BookCache, Branch, CategoryRef, Cond, Node, Not, Unencoded
from kb.eligibility.profile import CERTIFICATIONS, FIELDS, INDUSTRIES, OWNERSHIPS, broad_types, derive
from kb.eligibility.regions import OUTSIDE, REGIONS
from kb.eligibility.verdicts import Facts, FactsError, Finding, Rule, RuleError, Status, Verdict, explain

MET, FAILED, UNKNOWN = "met", "failed", "undecided"
_NEGATED_OP = {"eq": "ne", "ne": "eq", "lt": "ge", "ge": "lt", "le": "gt", "gt": "le", "in": "not_in",
               "not_in": "in", "contains": "not_contains", "not_contains": "contains",
               "in_group": "not_in_group", "not_in_group": "in_group", "between": "not_between",
               "not_between": "between", "holds": "not_holds"}
APPROXIMATE_MARGIN = 0.1  # a hedged figure this close (relative) to a threshold does not decide it


@dataclass(frozen=True)
class _Result:
    state: str
    findings: tuple[Finding, ...]
    touched: bool = False  # some condition under it is met (a tier whose guard the firm meets)
    leaf: bool = False  # a single condition
    met_count: int = 0  # conditions met beneath it


CITY_COUNTIES: dict[str, tuple[str, ...]] = {}
for _full, (_city, _county) in REGIONS.items():
    CITY_COUNTIES.setdefault(_city, ())
    CITY_COUNTIES[_city] += (_full,)

_STANDARD_VALUES = {"region": REGIONS, "industry": INDUSTRIES, "ownership": OWNERSHIPS,
                    "certifications": CERTIFICATIONS}


def coerce(facts: Facts) -> dict[str, Any]:
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
        if kind == "region" and (value in CITY_COUNTIES or value == OUTSIDE):
            known = None  # a city: conditions on a county decide only when all its counties agree
        if known is not None:
            strange = sorted(set(values[name]) - set(known)) if kind == "certifications" else (
                [value] if value not in known else [])
            if strange:
                raise FactsError(f"facts.{name}: {strange} 不是标准取值；请先用 kb.profile.parse 读取")
    return derive(values)


def compare(op: str, fact: Any, value: Any, members: frozenset[str] | None) -> bool:
    """Whether a fact meets a condition's op and value; `in_group` is judged against the group's `members`.

    A finer type is its broader type too: a 有限责任公司 meets "entity_type eq 企业".
    """
    if op in ("eq", "ne", "in", "not_in") and isinstance(fact, str):
        kinds = broad_types(fact)
        inside = any(kind == value for kind in kinds) if op in ("eq", "ne") else any(kind in value for kind in kinds)
        return inside if op in ("eq", "in") else not inside
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



class Run:
    """One call's evaluation: the facts read once, every node's outcome judged once."""

    def __init__(self, facts: Facts, on: dt.date, cache: BookCache, approximate: Collection[str] = ()) -> None:
        """Hold the facts, the date, the compiled rules and the hedged figures' ranges; nothing judged yet."""
        self.raw, self.on, self.cache, self.book = facts, on, cache, cache.book
        # Approximate figures: a field name (±10% around the fact) or field → (low, high), None = open.
        self.ranges: dict[str, tuple[float | None, float | None] | None] = (
            {name: (tuple(bounds) if bounds is not None else None) for name, bounds in approximate.items()}
            if isinstance(approximate, Mapping) else dict.fromkeys(approximate))
        if facts.get("rd_expense") is None and facts.get("revenue") and "rd_ratio" in self.ranges:
            # The R&D expense derived from a hedged ratio is as hedged as the ratio.
            bounds, revenue = self.ranges["rd_ratio"], float(facts["revenue"])
            self.ranges["rd_expense"] = None if bounds is None else tuple(
                None if b is None else b * revenue for b in bounds)
        confirmed = facts.get("confirmed") or ()
        self.confirmed = frozenset([confirmed] if isinstance(confirmed, str) else confirmed)
        self.values: dict[str, Any] | None = None
        self.outcomes: dict[tuple[Node, bool, str | None], _Result] = {}
        self.members: dict[tuple[str, dt.date], frozenset[str]] = {}
        self.verdicts: dict[Node, tuple[Status, tuple[Finding, ...], tuple[Finding, ...], tuple[Finding, ...]]] = {}
        self.fields: dict[Node, dict[str, Any]] = {}  # a verdict's fields but its measure_id
        self.by_object = cache.by_object

    def compiled(self, rule: Any, measure_id: str | None) -> Node:
        """The compiled root of a rule; RuleError naming the measure when the rule has problems."""
        seen = self.by_object.get(id(rule))
        if seen is not None and seen[0] is rule and rule == seen[1].snapshot:  # the cache's fast path, inline
            compiled = seen[1]
        else:
            compiled = self.cache.compiled(rule)
        if compiled.problems:
            raise RuleError(compiled.problems, measure_id or "rule")
        return compiled.root

    def verdict_parts(self, root: Node):
        """A rule's status and its met, failed and undecided findings, judged once per root (FactsError: bad facts)."""
        parts = self.verdicts.get(root)
        if parts is None:
            if self.values is None:
                self.values = coerce(self.raw)  # raises FactsError at the first rule judged, as before
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
        """The verdict of a rule on the facts; a measure with no rule is eligible."""
        if not rule:
            return Verdict(Status.ELIGIBLE, measure_id=measure_id)
        status, met, failed, undecided = self.verdict_parts(self.compiled(rule, measure_id))
        return Verdict(status, met, failed, undecided, measure_id)

    def node(self, node: Node, negated: bool, category: str | None) -> _Result:
        """The outcome of a node, negated or not, within a category or not: judged once, then remembered."""
        key = (node, negated, category)
        found = self.outcomes.get(key)
        if found is None:
            found = self.outcomes[key] = self.judge(node, negated, category)
        return found

    def judge(self, node: Node, negated: bool, category: str | None) -> _Result:
        """The outcome of a node by its kind: a condition, `all`/`any`, `not`, an unencoded condition or a category."""
        kind = type(node)
        if kind is Cond:
            return self.condition(node, negated, category)
        if kind is Branch:
            # not(all) = any(not …), not(any) = all(not …)
            return _combine([self.node(child, negated, category) for child in node.children],
                            node.conjunction != negated)
        if kind is Not:
            return self.node(node.child, not negated, category)
        if kind is Unencoded:
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
        ends = [compare(op, end, value, None) for end in (low, high) if end is not None]
        if low is None:  # open below: "不到2000万" can be anything down to 0 for money
            ends.append(compare(op, min(0.0, high if high is not None else 0.0), value, None))
        if high is None:
            ends.append(compare(op, float("inf"), value, None))
        if all(ends):
            return MET if not negated else FAILED
        if not any(ends):
            return FAILED if not negated else MET
        return UNKNOWN

    def holds_fields(self, node: Node) -> frozenset[str]:
        """The fields of the `holds` conditions under a node (categories included), each node walked once."""
        found = self.cache.holds.get(node)
        if found is None:
            kind = type(node)
            if kind is Cond:
                found = frozenset([node.field]) if node.op == "holds" else frozenset()
            elif kind is Branch:
                found = frozenset().union(*(self.holds_fields(child) for child in node.children))
            elif kind is Not:
                found = self.holds_fields(node.child)
            elif kind is CategoryRef:
                found = self.holds_fields(self.cache.category(node.name))
            else:
                found = frozenset()
            self.cache.holds[node] = found
        return found

    def condition(self, node: Cond, negated: bool, category: str | None) -> _Result:
        """The outcome of one condition on the facts, with its finding in Chinese (none when `if_missing` decided)."""
        field_name, op, value = node.field, node.op, node.value
        fact = self.values.get(field_name)
        on = self.on if node.as_of is NO_TEXT else node.as_of
        assumed = fact is None and node.if_missing is not NO_TEXT
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
            if isinstance(fact, str) and fact in CITY_COUNTIES:  # a city: each of its counties, then agree or not
                outcomes = {compare(op, county, value, members) for county in CITY_COUNTIES[fact]}
                state = UNKNOWN if len(outcomes) > 1 else (MET if outcomes.pop() != negated else FAILED)
            else:
                state = MET if compare(op, fact, value, members) != negated else FAILED
            if op in _COMPARISON_OPS and field_name in self.ranges:
                state = self.ranged(state, op, fact, value, self.ranges[field_name], negated)
        text = node.texts.get((negated, on))
        if text is None:
            if node.explain is not NO_TEXT:
                text = f"不符合“{node.explain}”" if negated else node.explain
            else:
                text = explain(field_name, _NEGATED_OP[op] if negated else op, value, on=on, book=self.book)
            node.texts[(negated, on)] = text
        if assumed:  # decided by the usual case, not by anything the firm said: no reason to show
            return _Result(state, (), False, True, 0)
        if fact is None and node.confirm_unstated:
            state = MET if text in self.confirmed else UNKNOWN
            return _Result(state, (Finding("confirmed", "unencoded", text, state, text, node.ref, category, negated,
                                           True),), False, True, 0)
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
