"""Which answer units answer a question: BM25F over units, narrowed by what the question names.

Units of the year and documents it names, of the kinds it wants and of today's editions come first.

The weights are chosen by k-fold cross-validation over the development set (bench/answer_cv.py); the
values below are the ones it chose, with its score in bench/README.md.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from kb.answering.question import Question
from kb.answering.snapshot import Snapshot
from kb.answering.units import Unit
from kb.currency import recurs_yearly

_YEARISH = re.compile(r"(?:20)?\d\d(?:年|年度|年版|版)?")


@dataclass(frozen=True)
class Parameters:
    """The weights units are ranked by and the coverage an answer needs (chosen by bench/answer_cv.py)."""

    label_weight: float = 2.0  # a word of the topic in a unit's label and aliases, against its body text
    cue_label_weight: float = 4.0  # a word asking for a kind of answer ("截止", "文号") in a unit's label
    coverage_power: float = 0.5  # how much a unit's score depends on matching all of the topic
    preferred: float = 1.6  # a unit of a kind the question wants
    named: float = 1.3  # a unit of a document the question names
    dated: float = 1.3  # a unit of the edition the question names, or one that names the year itself
    superseded: float = 0.85  # a unit whose measure or document is past its validity, when no year is named
    outline: float = 0.8  # a measure known only in outline, against full ones on the same topic
    note: float = 0.7  # a sentence of a measure's note: short, so it would outscore the measure it explains
    unknown_weight: float = 1.0  # a question word the knowledge base never uses, as a share of the rarest word's weight
    min_coverage: float = 0.2  # the share of the question's words an answer must match …
    min_coverage_out_of_scope: float = 0.4  # … and when the classifier took it for out of scope
    # A word counts as saying what an off-topic question is about ("金鱼", not "里面") when its idf over
    # jieba's general corpus reaches this (function words sit near 3.6-6, content words above).
    off_topic_word: float = 6.5
    # An off-topic question may share a name with the knowledge base ("小巨人那部电影的导演是谁"): it is off-topic when its
    # unknown content words outnumber its known ones by this factor (0: any unknown content word at all).
    unknown_words_per_known: float = 1.0


PARAMETERS = Parameters()
_DRAFT_ASKED = re.compile(r"征求意见|草案|意见稿|draft", re.I)
SHORTLIST = 400  # units weighed after the text score (the seed makes about 900 units in all)

# The kinds of unit each wanted kind of answer prefers (kinds: kb.answering.units and vocabulary.yaml).
PREFERRED: dict[str, frozenset[str]] = {
    "figure": frozenset({"figure"}),
    "list": frozenset({"list"}),
    "date": frozenset({"date"}),
    "department": frozenset({"department"}),
    "contact": frozenset({"contact"}),
    "channel": frozenset({"channel", "procedure"}),
    "materials": frozenset({"materials", "procedure"}),
    "how": frozenset({"procedure", "channel"}),
    "recommend": frozenset({"procedure", "note"}),
    "definition": frozenset({"measure", "overview"}),
    "document": frozenset({"document", "overview"}),
    "origin": frozenset({"origin", "history"}),
    "changes": frozenset({"history"}),
    "difference": frozenset({"figure"}),
    "comparison": frozenset({"comparison", "overview"}),
}


APPLYING = frozenset({"procedure", "channel", "materials"})  # units that say how a firm applies
NOT_FOR_FIRMS = "不面向企业"  # applies_by of a measure no firm applies for (kb/store/models.py APPLIES_BY)


@dataclass(frozen=True)
class Candidate:
    """A unit that may answer the question, with its score and the share of the question's topic it matches."""

    unit: Unit
    score: float
    coverage: float  # share of the question's topic words the unit matches


def preferred_kinds(wanted: Iterable[str]) -> frozenset[str]:
    """The unit kinds that answer the kinds of answer wanted.

    A list asked for is what the question defines ("八个政策包都是啥"): the list, not a measure explaining it.
    """
    wanted = set(wanted)
    if "list" in wanted:
        wanted.discard("definition")
    return frozenset(kind for asked in wanted for kind in PREFERRED.get(asked, ()))


def _expired(snapshot: Snapshot, unit: Unit, today: dt.date) -> bool:
    measure = snapshot.measures.get(unit.measure_id) if unit.measure_id else None
    if measure is not None and recurs_yearly(measure):
        return False  # the latest edition of a yearly programme still speaks for it
    valid_to = measure.valid_to if measure is not None else snapshot.documents[unit.document_id].valid_to
    return valid_to is not None and valid_to < today


def _not_applied_for(snapshot: Snapshot, unit: Unit) -> bool:
    """How to apply for a measure firms do not apply for (a programme-wide target): no answer to "怎么申报"."""
    if unit.kind not in APPLYING or not unit.measure_id:
        return False
    return snapshot.measures[unit.measure_id].applies_by == NOT_FOR_FIRMS


def _newest_first(edition: str) -> tuple:
    return tuple(-ord(ch) for ch in edition)


def rank(question: Question, snapshot: Snapshot, *, today: dt.date, params: Parameters = PARAMETERS,
         limit: int = 200) -> list[Candidate]:
    """Units that share evidence with the question, best first."""
    index = snapshot.index
    # Evidence that the knowledge base knows what is asked: every word but the years (a year narrows, below).
    evidence = [t for t in question.tokens if not _YEARISH.fullmatch(t)] or question.tokens
    cues = set(question.tokens) - set(question.topic)
    scores = index.score(question.tokens, label_weight=params.label_weight, evidence=evidence, cue_tokens=cues,
                         cue_label_weight=params.cue_label_weight, unknown=params.unknown_weight)
    score = scores.score.copy()
    candidates = np.flatnonzero(score > 0)
    if not len(candidates):
        return []
    units = index.units
    families = set(question.families)
    if families:
        inside = [p for p in candidates if units[p].family in families]
        if inside:  # the family narrows only while something inside it answers
            candidates = np.array(inside, dtype=np.intp)
    year = str(question.year) if question.year else None
    if year:
        dated = [p for p in candidates if units[p].edition == year or year in units[p].years]
        if dated:
            candidates = np.array(dated, dtype=np.intp)
    base = score[candidates] * scores.coverage[candidates] ** params.coverage_power
    if len(candidates) > SHORTLIST:
        # Only the best by text are weighed further: boosts move a unit by a few times at most, never from
        # beyond this many places into the answer (and a large catalogue keeps the Python loop short).
        keep = np.argpartition(-base, SHORTLIST)[:SHORTLIST]
        candidates, base = candidates[keep], base[keep]
    preferred = preferred_kinds(question.wanted)
    named = set(question.documents)
    # "What is the 8+4 policy system?": nothing asked beyond the documents' names, so the documents themselves.
    about_documents = bool(named) and not any(index.weight(t) for t in question.topic)
    ranked = []
    for position, value in zip(candidates.tolist(), base.tolist(), strict=True):
        unit = units[position]
        if unit.kind in preferred and not _not_applied_for(snapshot, unit):
            value *= params.preferred
        if unit.document_id in named:
            value *= params.named
            if about_documents and unit.measure_id is None:
                value *= params.preferred
        if year and (unit.edition == year or year in unit.years):
            value *= params.dated
        if not year and _expired(snapshot, unit, today) and snapshot.has_newer(unit):
            value *= params.superseded  # an entry the newer edition does not state is still the latest said
        if unit.kind == "measure" and snapshot.measures[unit.measure_id].outline_only:
            value *= params.outline
        if unit.kind == "note":
            value *= params.note
        ranked.append(Candidate(unit, value, float(scores.coverage[position])))
    if not _DRAFT_ASKED.search(question.text):
        # A consultation draft whose final text is in the KB answers only when asked about, or when only the
        # draft speaks of the question's words: never as if in force.
        final = [c for c in ranked if not snapshot.draft_replaced(c.unit.document_id)]
        drafted = max((c.coverage for c in ranked if c not in final), default=0.0)
        if final and max(c.coverage for c in final) >= drafted:
            ranked = final
    # Ties go to the newer edition (the family's current one), then by id for a stable order.
    ranked.sort(key=lambda c: (-round(c.score, 9), -c.coverage, _newest_first(c.unit.edition), c.unit.id))
    return ranked[:limit]
