"""Follow-ups: a question that is the rest of the previous one ("那24年呢", "山区县呢", "出处呢", "第三个展开讲讲").

The previous answer leaves its topic (`context`): the words it was about, its documents, year, what was wanted
and, for a list, its items. A question with a subject of its own is never treated as a follow-up.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any

import numpy as np

from kb.answering import qualifiers
from kb.answering.general import general_idf
from kb.answering.question import Question
from kb.answering.retrieval import PARAMETERS
from kb.answering.snapshot import Snapshot

OWN_SUBJECT_WORDS = 3  # this many words of its own about something make a question fresh


def context_of(question: Question, unit_id: str | None, items: tuple[str, ...] = ()) -> dict[str, Any]:
    """What a follow-up may continue from, as plain JSON for a Rasa slot."""
    return {"topic": list(question.topic), "tokens": list(question.tokens), "documents": list(question.documents),
            "families": list(question.families), "year": question.year, "wanted": sorted(question.wanted),
            "unit": unit_id, "items": list(items)}


_YEAR_BEFORE = re.compile(r"(?:前|上)一年|再往前一年|往前一年|前一版|上一版")
_YEAR_AFTER = re.compile(r"(?:后|下)一年|再往后一年|往后一年|后一版|下一版")


def _merged(question: Question, context: dict[str, Any], extra: tuple[str, ...] = ()) -> Question:
    earlier = tuple(t for t in context.get("topic") or () if t not in question.topic)
    year = question.year or context.get("year")
    if not question.year and context.get("year"):
        # "那前一年的呢" after 2025: the year before the one talked about, not before today
        year += -1 if _YEAR_BEFORE.search(question.text) else 1 if _YEAR_AFTER.search(question.text) else 0
    return dataclasses.replace(
        question,
        tokens=(*question.tokens, *extra, *earlier),
        topic=(*question.topic, *extra, *earlier),
        year=year,
        years=question.years or ((year,) if year else ()),
        documents=question.documents or tuple(context.get("documents") or ()),
        families=question.families or tuple(context.get("families") or ()),
        wanted=question.wanted or frozenset(context.get("wanted") or ()),
    )


def resolve(question: Question, context: dict[str, Any] | None, snapshot: Snapshot) -> tuple[Question, bool]:
    """The question with what it leaves out taken from the previous answer, and whether it was a follow-up."""
    if not context:
        return question, False
    items = context.get("items") or []
    if question.ordinal and 0 < question.ordinal <= len(items) and not question.documents:
        item = items[question.ordinal - 1]
        words = tuple(snapshot.index.tokenize(item))
        fresh = dataclasses.replace(question, tokens=(*words, *question.tokens), topic=(*words, *question.topic),
                                    documents=tuple(context.get("documents") or ()),
                                    families=tuple(context.get("families") or ()),
                                    year=question.year or context.get("year"))
        return fresh, True
    if question.inside and not question.documents:
        # "其中用地那块归哪个部门": its own subject, inside the document and edition talked about.
        return dataclasses.replace(question, documents=tuple(context.get("documents") or ()),
                                   families=question.families or tuple(context.get("families") or ()),
                                   year=question.year or context.get("year"),
                                   years=question.years or ((context["year"],) if context.get("year") else ())), True
    if question.topic and not question.elliptical and not any(snapshot.index.known(t) for t in question.topic) \
            and any(general_idf(t) >= PARAMETERS.off_topic_word for t in question.topic):
        return question, False  # every word of its own is unknown here: about something else, not a follow-up
    if question.documents:
        if question.elliptical and not question.topic:  # "32条呢": the new subject, what was asked before
            return dataclasses.replace(question, wanted=question.wanted or frozenset(context.get("wanted") or ())), True
        return question, False
    if len(question.topic) >= OWN_SUBJECT_WORDS and not question.elliptical:
        return question, False
    if question.elliptical and question.topic:
        merged = _merged(question, context)
        return _new_subject(question, merged, context, snapshot) or merged, True
    if not question.topic:
        # "那24年呢" after a document's 文号: the same entry of that year's document, not the document in general
        earlier = snapshot.unit(context["unit"]) if context.get("unit") else None
        same_entry = tuple(snapshot.index.tokenize(earlier.label)) if earlier is not None and earlier.kind not in (
            "measure", "overview") and not earlier.measure_id and earlier.label and not question.wanted else ()
        return _merged(question, context, same_entry), True
    # A short question with words of its own ("营收要多少"): continue the topic only where the previous
    # topic's knowledge also speaks of those words; otherwise it is a question of its own.
    merged = _merged(question, context)
    index = snapshot.index
    own = index.score(question.tokens, label_weight=1.0, evidence=question.topic)
    # "一共分几个部分" after a question about one document: its words found in that document continue it.
    earlier_documents = set(context.get("documents") or ())
    if earlier_documents and any(index.units[p].document_id in earlier_documents
                                 for p in np.flatnonzero(own.coverage)):
        return merged, True
    together = index.score(merged.tokens, label_weight=1.0, evidence=question.topic)
    best = int(together.score.argmax()) if len(together.score) else 0
    if len(together.score) and together.coverage[best] >= 0.99 * float(own.coverage.max()):
        return merged, True
    return question, False


def _new_subject(question: Question, merged: Question, context: dict[str, Any], snapshot: Snapshot) -> Question | None:
    """"那港口吞吐量呢" after 科技贷款: a follow-up naming another subject of the same documents, in two words or more.

    Merged with the earlier topic it would find the earlier answer again (whose label has none of its words);
    asked alone within the earlier documents and year, a unit whose label has two of them answers it.
    """
    index = snapshot.index
    qualifier_words = qualifiers.all_words(snapshot)
    known = [t for t in dict.fromkeys(question.topic) if index.known(t) and t not in qualifier_words]
    own = [t for t in known if not any(t != other and t in other for other in known)]
    scoped = dataclasses.replace(merged, tokens=question.tokens, topic=question.topic)
    earlier = snapshot.unit(context["unit"]) if context.get("unit") else None
    documents = set(scoped.documents) or ({earlier.document_id} if earlier is not None else set())
    if len(own) == 1 and (_names_a_list_of(question.text, documents, index) or (
            earlier is not None and not any(own[0] in text for text in (earlier.label, *earlier.body))
            and _labels_a_measure_of(own[0], documents, index))):
        # "4张清单呢" after the packages: a list of the same document, named as the document names it;
        # "交通那块呢" after its tech-loan figure: the measure of that document whose name says 交通
        return dataclasses.replace(scoped, documents=tuple(sorted(documents)))
    if len(own) < 2:
        return None
    together = index.score(merged.tokens, label_weight=1.0, evidence=merged.topic)
    if not len(together.score) or any(t in index.units[int(together.score.argmax())].label for t in own):
        return None
    alone = index.score(scoped.tokens, label_weight=1.0, evidence=scoped.topic)
    documents = set(scoped.documents)
    best = max((p for p in np.flatnonzero(alone.coverage) if not documents or index.units[p].document_id in documents),
               key=lambda p: alone.score[p], default=None)
    if best is None or sum(t in index.units[best].label for t in own) < 2:
        return None
    return scoped


def _names_a_list_of(text: str, documents: set[str], index) -> bool:
    """Whether the text says the name or an alias (three characters or more) of a list of one of `documents`."""
    return bool(documents) and any(
        unit.document_id in documents and unit.kind == "list"
        and any(len(name) >= 3 and name in text for name in (unit.label, *unit.aliases)) for unit in index.units)


def _labels_a_measure_of(word: str, documents: set[str], index) -> bool:
    """Whether a measure of one of `documents` has the word in its name."""
    return bool(documents) and any(unit.kind == "measure" and unit.document_id in documents and word in unit.label
                                   for unit in index.units)


def with_document_names(question: Question, snapshot: Snapshot) -> Question:
    """A follow-up of cue words only ("发文的是哪家") that found nothing: its document's name said, too."""
    names = tuple(t for d in question.documents[:1] if d in snapshot.documents
                  for t in snapshot.index.tokenize(snapshot.documents[d].short_name or snapshot.documents[d].title)
                  if t not in question.tokens)
    return dataclasses.replace(question, tokens=(*question.tokens, *names))


def topic_measure(context: dict[str, Any] | None, snapshot: Snapshot) -> str | None:
    """The measure the previous answer was about, if it has eligibility rules (facts given next are judged on it)."""
    unit = snapshot.unit(str(context.get("unit"))) if context and context.get("unit") else None
    measure = snapshot.measures.get(unit.measure_id) if unit is not None and unit.measure_id else None
    return measure.id if measure is not None and measure.rule and not measure.outline_only else None
