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

The rule grammar, named groups and derived categories are in kb.eligibility.rulebook and kb/rules/*.yaml;
facts, their units and parsing in kb.eligibility.profile; the parts: verdicts, compiled, judging.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Collection, Iterable, Iterator, Mapping
from typing import Any

from kb.eligibility.compiled import NO_TEXT, Branch, CategoryRef, Cond, Node, Not, cache_for
from kb.eligibility.judging import CITY_COUNTIES, Run, coerce, compare
from kb.eligibility.profile import DERIVED_FROM, FIELDS, TITLES_KEPT_FOR_A_TERM, Field, close_certifications
from kb.eligibility.rulebook import Rulebook, default_rulebook
from kb.eligibility.verdicts import (  # noqa: F401 - re-exported: the engine's public names
    Facts,
    FactsError,
    Finding,
    Rule,
    RuleError,
    Status,
    Verdict,
    explain,
    format_money,
    format_value,
)


def evaluate(rule: Rule | None, facts: Facts, *, on: dt.date, measure_id: str | None = None,
             book: Rulebook | None = None, approximate: Collection[str] = ()) -> Verdict:
    """Judge one rule on a firm's facts, on a date (the date picks group versions).

    A missing or empty rule states no conditions: the verdict is eligible with nothing listed;
    callers decide how to present measures without a rule. Raises RuleError for a rule that does
    not follow the grammar and FactsError for facts of the wrong type.
    """
    return Run(facts, on, cache_for(book or default_rulebook()), approximate).verdict(rule, measure_id)


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
    run = Run(facts, on, cache_for(book or default_rulebook()), approximate)
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
    run = Run(facts, on, cache_for(book or default_rulebook()), approximate)
    # Measures sharing a rule count alike: count the rules, then weigh each by how many measures have it.
    by_object = run.by_object
    rules: dict[Node, int] = {}
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
        deciding: set[str] = set()  # a field counts once per rule, however many of its conditions name it
        if status is Status.UNKNOWN:
            deciding |= {DERIVED_FROM.get(f.field, f.field) for f in undecided if not f.unencoded}
            if "rd_ratio" in deciding and run.values.get("revenue") and run.values.get("rd_expense") is None:
                deciding.add("rd_expense")  # with revenue known, the R&D spend a firm knows decides its ratio too
        for name in deciding:
            if name not in exclude and name in FIELDS:
                counts[name] += times
    if counts:
        return FIELDS[min(counts, key=lambda name: (-counts[name], FIELDS[name].ease, name))]
    # A title not mentioned counts as not held; asked, it may turn out to be held and decide the verdict. It is
    # asked once no figure decides anything (firms describe revenue and R&D before their titles), and after a
    # failure only where holding a title could overturn it: a rule failing on nothing but a title not said to be
    # held, or, for a firm asking what it can get, a rule whose figures fail but a title earned in an earlier
    # year (valid for its term) would satisfy. A firm asking about one title is told why its figures fail it; a
    # firm failing a mandatory condition (a 个体户 for 高企), or the figures of a title judged anew each year,
    # is not asked which titles it holds.
    held_runs: dict[str, Run] = {}  # the same facts for a firm that also holds one title, made when needed
    for root, times in rules.items():
        status, _, failed, _ = run.verdicts[root]
        if status in (Status.UNKNOWN, Status.LIKELY) or status is Status.NOT_ELIGIBLE and (
                all(f.op == "holds" for f in failed) or len(rules) > 1 and any(
                    _run_holding(held_runs, title, facts, on, run.cache, approximate).verdict_parts(root)[0]
                    is not Status.NOT_ELIGIBLE for title in TITLES_KEPT_FOR_A_TERM)):
            for name in run.holds_fields(root):
                if run.values.get(name) is None and name not in exclude and name in FIELDS:
                    counts[name] += times
    if not counts:
        return None
    best = min(counts, key=lambda name: (-counts[name], FIELDS[name].ease, name))
    return FIELDS[best]


def _run_holding(runs: dict[str, Run], title: str, facts: Facts, on: dt.date, cache, approximate) -> Run:
    if title not in runs:
        held = close_certifications({title}) | frozenset(facts.get("certifications") or ())
        runs[title] = Run({**facts, "certifications": held}, on, cache, approximate)
    return runs[title]


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
        """Compile the measures' rules (RuleError for a bad one) and collect the conditions each reaches."""
        self.on = on
        self.cache = cache_for(book or default_rulebook())
        self.book = self.cache.book
        self.measures: list[tuple[str, Node]] = []
        run = Run({}, on, self.cache)
        for measure_id, rule in measures:
            self.measures.append((measure_id, run.compiled(rule, measure_id)))  # raises RuleError for a bad rule
        self.leaves: dict[Node, tuple[Cond, ...]] = {}
        for _, root in self.measures:
            if root not in self.leaves:
                self.leaves[root] = tuple(dict.fromkeys(self._walk(root)))
        self.members: dict[tuple[str, dt.date], frozenset[str]] = {}
        self.known: dict[tuple[int, tuple], Verdict] = {}

    def _walk(self, node: Node) -> Iterator[Cond]:
        kind = type(node)
        if kind is Cond:
            yield node
        elif kind is Branch:
            for child in node.children:
                yield from self._walk(child)
        elif kind is Not:
            yield from self._walk(node.child)
        elif kind is CategoryRef:
            yield from self._walk(self.cache.category(node.name))

    def _outcome(self, leaf: Cond, values: Mapping[str, Any]) -> Any:
        fact = values.get(leaf.field)
        if fact is None:
            return None  # missing: undecided, failed (a title) or the usual case (if_missing), the same every time
        op, value = leaf.op, leaf.value
        members = None
        if op == "in_group":
            on = self.on if leaf.as_of is NO_TEXT else leaf.as_of
            members = self.members.get((value, on))
            if members is None:
                members = self.members[(value, on)] = self.book.members(value, on)
        if isinstance(fact, str) and fact in CITY_COUNTIES:
            return frozenset(compare(op, county, value, members) for county in CITY_COUNTIES[fact])
        return compare(op, fact, value, members)

    def verdicts(self, facts: Facts) -> list[Verdict]:
        """One verdict per measure, in order; raises FactsError for facts of the wrong type."""
        values = coerce(facts)
        founded = values.get("founded_year")
        if founded is not None and values.get("firm_age") is None:
            values["firm_age"] = self.on.year - int(founded)
        confirmed = facts.get("confirmed") or ()
        confirmed = frozenset([confirmed] if isinstance(confirmed, str) else confirmed)
        outcomes: dict[Cond, Any] = {}
        keys: dict[Node, tuple] = {}
        run: Run | None = None
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
                    run = Run(facts, self.on, self.cache)
                status, met, failed, undecided = run.verdict_parts(root)
                verdict = self.known[(index, key)] = Verdict(status, met, failed, undecided, measure_id)
            found.append(verdict)
        return found
