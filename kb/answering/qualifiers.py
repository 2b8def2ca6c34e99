"""Sibling figures set apart by a qualifier: which of them a question asks for.

A measure states some figures once per member of a qualifier (kb/rules/vocabulary.yaml `qualifiers`): 国际, 国内
and 省内 首台（套）; a 山区海岛县 threshold beside the general one. A question naming a member ("国内首台套的保费
补多少", "山区县呢"), or naming a county that is in or out of the member's region group, is answered with that
member's figures: the other members' figures are left out, and so is the unmarked figure that the asked
member's figure stands beside (数字化车间 2000万元 beside 数字化车间（山区海岛县）1500万元).
"""

from __future__ import annotations

from kb.answering.question import Question
from kb.answering.snapshot import Snapshot
from kb.answering.units import Unit
from kb.answering.vocabulary import Qualifiers


def names_asked(figure: Unit, question: Question, snapshot: Snapshot) -> bool:
    """Whether a figure's label names a member the question asks about."""
    return any(q.named_in(figure.label) & question.qualifiers for q in snapshot.vocabulary.qualifiers)


def all_words(snapshot: Snapshot) -> set[str]:
    """The tokens of every qualifier word: what a question says of which member, not of its subject."""
    return {t for q in snapshot.vocabulary.qualifiers for _, words in q.members for w in words
            for t in snapshot.index.tokenize(w)}


def _names_other_member(qualifiers: Qualifiers, label: str, asked: frozenset[str]) -> bool:
    named = qualifiers.named_in(label)
    return bool(asked and named and not named & asked)


def words_in(question: Question, snapshot: Snapshot) -> set[str]:
    """The tokens of the qualifier words a question uses ("山区县呢": 山区, 区县, 山区县)."""
    return {token for q in snapshot.vocabulary.qualifiers for _, words in q.members for word in words
            if word in question.text for token in snapshot.index.tokenize(word)}


def _core(label: str, qualifiers: Qualifiers, snapshot: Snapshot) -> set[str]:
    """A label's words without the qualifier's: what the figure is, whichever member it is for."""
    for _, words in qualifiers.members:
        for word in words:
            label = label.replace(word, " ")
    return set(snapshot.index.tokenize(label))


def _similarity(a: set[str], b: set[str]) -> float:
    return len(a & b) / len(a | b) if a | b else 0.0


def _counterpart(figure: Unit, figures: list[Unit], qualifiers: Qualifiers, asked: frozenset[str],
                 snapshot: Snapshot) -> Unit | None:
    """For a figure naming no member: the asked member's figure it stands beside, if each is the other's closest."""
    marked = [u for u in figures if qualifiers.named_in(u.label) & asked]
    unmarked = [u for u in figures if not qualifiers.named_in(u.label)]
    core = {u.id: _core(u.label, qualifiers, snapshot) for u in [*marked, *unmarked]}
    best = max(marked, key=lambda m: _similarity(core[figure.id], core[m.id]), default=None)
    if best is None or not core[figure.id] & core[best.id]:
        return None
    closest = max(unmarked, key=lambda u: _similarity(core[u.id], core[best.id]))
    return best if closest.id == figure.id else None


def replaced_by(figure: Unit, question: Question, snapshot: Snapshot) -> Unit | None:
    """What stands in for a figure the question's qualifier leaves out.

    The asked member's counterpart, or None when the figure is another member's; the figure itself when the
    qualifier does not touch it.
    """
    figures = snapshot.figures_of(figure.measure_id) if figure.measure_id else [figure]
    for qualifiers in snapshot.vocabulary.qualifiers:
        asked = question.qualifiers & {member for member, _ in qualifiers.members}
        if _names_other_member(qualifiers, figure.label, asked):
            return None
        members = qualifiers.of_label(figure.label)
        if not asked or not members or members & asked:
            continue
        counterpart = _counterpart(figure, figures, qualifiers, asked, snapshot)
        if counterpart is not None:
            return counterpart
    return figure


def left_out(figure: Unit, question: Question, snapshot: Snapshot) -> bool:
    """Whether the question's qualifier leaves a figure out of the reply."""
    return bool(question.qualifiers) and replaced_by(figure, question, snapshot) is not figure


def of_asked_member(figure: Unit, question: Question, snapshot: Snapshot) -> Unit:
    """The figure to lead with.

    Retrieval's, or the asked member's counterpart of it ("山区县呢" after the general threshold), or the
    figure the question's words pick best among the asked member's.
    """
    if not question.qualifiers:
        return figure
    replacement = replaced_by(figure, question, snapshot)
    if replacement is not None:
        return replacement
    asked = set(question.tokens)
    candidates = [u for u in snapshot.figures_of(figure.measure_id) if not left_out(u, question, snapshot)]
    return max(candidates, key=lambda u: len(asked & set(snapshot.index.tokenize(u.label))), default=figure)


def for_other_member(label: str, question: Question, snapshot: Snapshot) -> bool:
    """Whether a label names only members other than those the question asks about."""
    return any(_names_other_member(q, label, question.qualifiers & {member for member, _ in q.members})
               for q in snapshot.vocabulary.qualifiers)


def asked_first(candidates: list, question: Question, snapshot: Snapshot) -> list:
    """Retrieval's candidates with those about another member after the rest, in their order otherwise.

    "山区海岛县企业…的较低自筹比例" comes after the general ratio for a firm in 滨江; not when the talk is of
    that member itself ("泰顺还算不算山区县", then "松阳的呢").
    """
    topic = set(question.topic)
    talked_of = {member for q in snapshot.vocabulary.qualifiers for member, words in q.members
                 if any(word in topic or word in question.text for word in words)}
    if not question.qualifiers or talked_of - question.qualifiers:
        return candidates
    def about(unit: Unit) -> str:  # a figure by its label; any other part of a measure by the measure's title
        measure = snapshot.measures.get(unit.measure_id) if unit.measure_id and unit.kind != "figure" else None
        return measure.title if measure is not None else unit.label

    other = [c for c in candidates if for_other_member(about(c.unit), question, snapshot)]
    return [c for c in candidates if c not in other] + other
