"""Replies that lead with the answer: the figure, list, date or department first, a few lines, then the source."""

from __future__ import annotations

import datetime as dt
import re

from kb.answering import qualifiers, tiers
from kb.answering.question import Question
from kb.answering.reply import Line, Say
from kb.answering.retrieval import Candidate
from kb.answering.snapshot import Snapshot
from kb.answering.units import Unit
from kb.currency import NOT_YET_OPEN, OPEN, WINDOW_CLOSED, as_date, measure_currency, recurs_yearly
from kb.format import format_date
from kb.store.models import DRAFT

MAX_DETAILS = 4
LEAD_CHARS = 90  # a summary is cut to its first sentence, and that to about this many characters
WHOLE_SUMMARY_CHARS = 130  # a summary this short is the answer itself; a longer one continues on a line of its own
MORE_CHARS = 200  # how much of the rest of a summary that line keeps
FIGURES_SHOWN = 4  # a question naming no particular figure gets the measure's first few
_SENTENCE = re.compile(r"(?<=[。；！？])")
LIST_CHARS = 400  # asked for a list, the lead keeps the whole sentence that holds it
SENTENCE_CHARS = 160  # the sentence that answers is shown whole up to this length
# An origin question ("哪年开始的") is answered by a sentence that dates a start ("2011年起").
_DATED_START = re.compile(r"(?:19|20)\d{2}年(?:\d{1,2}月)?(?:起|开始|以来|首次|设立|推出|实施)")


def first_sentence(text: str, limit: int = LEAD_CHARS) -> str:
    """The text's first sentence without its closing 。 or ；, cut to `limit` characters with an ellipsis."""
    sentence = next((s for s in _SENTENCE.split(text.strip()) if s.strip()), text).strip()
    sentence = sentence.rstrip("。；")
    return sentence if len(sentence) <= limit else sentence[: limit - 1] + "…"


def subject_of(unit: Unit, snapshot: Snapshot) -> str:
    """What a unit is about: its measure's title, else its document's short name or title."""
    if unit.measure_id:
        return snapshot.measures[unit.measure_id].title
    document = snapshot.documents[unit.document_id]
    return document.short_name or document.title


def source_of(unit: Unit, snapshot: Snapshot) -> str:
    """The document as cited, the measure's article, and the first source URL."""
    document = snapshot.documents[unit.document_id]
    measure = snapshot.measures.get(unit.measure_id) if unit.measure_id else None
    clause = f"第{measure.number}条" if measure is not None and measure.number else ""
    urls = measure.source_urls if measure is not None else document.source_urls
    # The name firms know it by ("8+4", "32条") before the formal title, when the two differ.
    known_as = f"{document.short_name}·" if document.short_name and document.short_name not in document.title else ""
    return f"{known_as}{document.citation}{clause}　{urls[0] if urls else ''}".rstrip()


def _figures(unit: Unit, question: Question, snapshot: Snapshot) -> list[str]:
    """The figure asked about first, then the measure's other figures the question's words touch."""
    siblings = snapshot.figures_of(unit.measure_id)
    left_out = tiers.outside(siblings, question.amounts)  # other tiers than the question's amount falls in
    siblings = [u for u in siblings
                if u.id not in left_out and (u.id == unit.id or not qualifiers.left_out(u, question, snapshot))]
    # A follow-up's own words ("那未来工厂的呢") say which of the figures; the earlier topic's only found the measure.
    named_by_follow_up = _named_by_own_words(question, siblings, snapshot)
    asked = set(question.tokens)
    if named_by_follow_up:
        siblings = [u for u in siblings if u.id == unit.id or u in named_by_follow_up]
    tokens = snapshot.index.tokenize
    counted = question.counted
    named = asked & set(tokens(unit.label))
    # Among the figures of the qualifier member asked about, the one the question's other words pick:
    # "海岛县车间门槛" leaves out the 山区海岛县 智能工厂 figure, whose label it matches less.
    picked = qualifiers.names_asked(unit, question, snapshot)
    touched = [u for u in siblings if u.id != unit.id and (asked & set(tokens(u.label))
                                                           or counted is not None and _counts_in(u, counted))
               and not (picked and qualifiers.names_asked(u, question, snapshot) and asked & set(tokens(u.label)) < named)]
    rest = [u for u in siblings if u.id != unit.id and u not in touched]
    # A question naming no particular figure ("首台套能拿多少奖励") gets the measure's first few.
    general = not (named - set(tokens(subject_of(unit, snapshot))))
    chosen = [unit, *touched, *(rest if general else [])]
    return [u.text for u in chosen[:FIGURES_SHOWN]]


def _named_by_own_words(question: Question, figures: list[Unit], snapshot: Snapshot) -> list[Unit]:
    """The figures a follow-up names with its own words alone ("那未来工厂的呢", "人数呢").

    Every word of its own topic, qualifiers aside, is in their labels; none when it is not a follow-up.
    """
    if set(question.own_topic) == set(question.topic):
        return []
    tokens = snapshot.index.tokenize
    own = set(question.own_topic) - qualifiers.words_in(question, snapshot)
    return [u for u in figures if own and own <= set(tokens(u.label))]


def picked_by_own_words(unit: Unit, question: Question, snapshot: Snapshot) -> Unit:
    """The measure's figure a follow-up's own words name ("那未来工厂的呢" after 数字化车间's threshold), else the unit."""
    figures = snapshot.figures_of(unit.measure_id)
    other_tiers = tiers.outside(figures, question.amounts)
    named = _named_by_own_words(question, [u for u in figures if u.id not in other_tiers], snapshot)
    return unit if not named or unit in named else named[0]


def _counts_in(unit: Unit, measure_word: str) -> bool:
    return re.search(rf"\d{re.escape(measure_word)}", unit.text) is not None


def figure_asked(unit: Unit, question: Question, snapshot: Snapshot) -> Unit | None:
    """For a measure unit and a question asking a figure: the measure's figure whose label the question names."""
    if unit.kind != "measure" or "figure" not in question.wanted:
        return None
    asked = set(question.topic)
    tokens = snapshot.index.tokenize
    title = set(tokens(unit.label))
    figures = snapshot.figures_of(unit.measure_id)
    counted = question.counted
    scored = [(len(asked & (set(tokens(u.label)) - title)) + (counted is not None and _counts_in(u, counted)), u)
              for u in figures if not qualifiers.left_out(u, question, snapshot)]
    best = max(scored, key=lambda pair: pair[0], default=(0, None))
    return best[1] if best[0] else None


def _summary_split(text: str) -> tuple[str, str]:
    """A summary as the lead takes it, and what is left for a line of its own."""
    text = text.strip()
    if len(text) <= WHOLE_SUMMARY_CHARS:
        return text.rstrip("。"), ""
    first = first_sentence(text, limit=len(text))
    rest = text[len(first):].lstrip("。；").strip()
    if len(first) > LEAD_CHARS:
        return first_sentence(text), ""
    rest = rest if len(rest) <= MORE_CHARS else rest[: MORE_CHARS - 1] + "…"
    return first, rest


def lead(unit: Unit, question: Question, snapshot: Snapshot) -> str:
    """The first sentence of the reply: what the unit says, named by what it is about."""
    subject = subject_of(unit, snapshot)
    figure = figure_asked(unit, question, snapshot)
    if figure is not None:
        unit = figure
    if unit.kind == "figure" and unit.measure_id:
        unit = qualifiers.of_asked_member(picked_by_own_words(unit, question, snapshot), question, snapshot)
        counted = question.counted
        if counted is not None and not _counts_in(unit, counted):  # "多少项": the measure's figure counted in 项
            unit = next((u for u in snapshot.figures_of(unit.measure_id) if _counts_in(u, counted)), unit)
        return f"{subject}：{'；'.join(_figures(unit, question, snapshot))}"
    if unit.kind == "list":
        items = "\n".join(f"{i}. {item}" for i, item in enumerate(unit.items, 1))
        return f"{subject}{unit.label}：\n{items}"
    if unit.kind == "history":
        steps = "\n".join(step for step in unit.text.split("；") if step)
        return f"{unit.label}：\n{steps}"
    if unit.kind in ("measure", "overview"):
        if "list" in question.wanted:
            return f"{subject}：{first_sentence(unit.text, limit=LIST_CHARS)}"
        return f"{subject}：{_summary_split(unit.text)[0]}"
    if unit.kind == "note":
        return f"{subject}：{unit.text.rstrip('。')}"
    return f"{subject}{unit.label}：{unit.text}"


def answering_sentence(unit: Unit, question: Question, snapshot: Snapshot, shown: str) -> str | None:
    """The sentence of the measure's summary or note that holds the question's own words the reply lacks.

    "那摊销的部分呢" asks about one clause of a long summary; a reply that shows the measure's figures
    would leave it out. Words of the measure's title name the measure, not the part asked about.
    """
    measure = snapshot.measures.get(unit.measure_id) if unit.measure_id else None
    if measure is None:
        return None
    tokens = snapshot.index.tokenize
    title = set(tokens(measure.title))
    asked = {t for t in question.topic if t not in title and snapshot.index.weight(t) > 0}
    origin = bool(question.wanted & {"origin", "changes"})  # since when, or what it was before: a dated sentence
    if not asked and not origin:
        return None
    shown_tokens = set(tokens(shown))
    figures = snapshot.figures_of(measure.id)
    left_out = tiers.outside(figures, question.amounts)
    # A sentence stating every tier (or every member: 山区海岛县 and the rest) would restate the ones the
    # question's amount or qualifier rules out.
    other_tiers = [u.text.rpartition("：")[2] for u in figures
                   if u.id in left_out or qualifiers.left_out(u, question, snapshot)]
    best, best_score = None, 0.0
    # What the measure says; asked when or how, also how to apply (when a project under construction must run is said only there).
    said = " ".join(filter(None, [measure.summary, measure.note]))
    if question.wanted & {"date", "how", "channel", "materials"} and measure.how_to_apply:
        said = f"{said.rstrip('。')}。{measure.how_to_apply}"
    for sentence in _SENTENCE.split(said):
        sentence = sentence.strip().rstrip("。；")
        if not sentence or sentence in shown or any(value in sentence for value in other_tiers):
            continue
        words = set(tokens(sentence))
        new = asked & words - shown_tokens
        score = sum(snapshot.index.weight(t) for t in new)
        if origin and _DATED_START.search(sentence) and not _DATED_START.search(shown):
            score += 1.0 + sum(snapshot.index.weight(t) for t in asked & words)
        if score > best_score:
            best, best_score = sentence, score
    if best is None:
        return None
    return best if len(best) <= SENTENCE_CHARS else best[: SENTENCE_CHARS - 1] + "…"


def window_lines(measure, today: dt.date) -> list[Line]:
    """Where the measure's application window stands today: open until, opens on, or closed on."""
    currency = measure_currency(measure, today=today)
    call = (measure.application_window or {}).get("call") or ""
    values = {"call": f"（{call}）" if call else ""}
    if currency.state == WINDOW_CLOSED:
        return [Line("utter_line_window_closed", {**values, "date": format_date(currency.closed_on)})]
    if currency.state == OPEN:
        return [Line("utter_line_window_open", {**values, "date": format_date(currency.until)})]
    if currency.state == NOT_YET_OPEN:
        opens = as_date(measure.application_window["from"])
        return [Line("utter_line_window_not_open", {**values, "date": format_date(opens)})]
    return []


def currency_lines(unit: Unit, question: Question, snapshot: Snapshot, today: dt.date) -> list[Line]:
    """Say when the unit's measure or document is past its validity or window, and name the current edition."""
    measure = snapshot.measures.get(unit.measure_id) if unit.measure_id else None
    document = snapshot.documents[unit.document_id]
    if document.status == DRAFT:
        return [Line("utter_line_draft")]
    window = window_lines(measure, today) if measure is not None and measure.application_window else []
    if window and window[0].response != "utter_line_window_closed":
        return window  # open now, or soon: what a firm needs to know first
    valid_to = measure.valid_to if measure is not None else document.valid_to
    if valid_to is None or valid_to >= today or question.year == int(unit.edition[:4] or 0):
        return window  # in force (its window may have closed), or the edition the question asks about
    if measure is not None and recurs_yearly(measure):
        # A standing programme: this is its latest edition here, not a measure that ended.
        return window + [Line("utter_line_yearly_latest", {"edition": document.edition, "year": today.year})]
    newer = [d for d in snapshot.documents_of_family(document.family) if d.edition > document.edition
             and (d.valid_from is None or d.valid_from <= today)]
    if newer and not question.year:
        return window + [Line("utter_line_superseded", {"date": format_date(valid_to), "edition": document.edition,
                                                "current": newer[-1].short_name or newer[-1].title})]
    return window + [Line("utter_line_expired", {"date": format_date(valid_to)})]


def detail_lines(chosen: list[Candidate], question: Question, snapshot: Snapshot, *, today: dt.date,
                 staff: bool, shown: str) -> list[Line]:
    """At most a few lines after the lead (`shown`): other units asked for, currency, confidence, staff notes."""
    main = chosen[0].unit
    lines: list[Line] = []
    measure = snapshot.measures.get(main.measure_id) if main.measure_id else None
    sentence = answering_sentence(main, question, snapshot, shown)
    if sentence:
        lines.append(Line("utter_line_more", {"text": sentence}))
    if main.kind in ("measure", "overview") and figure_asked(main, question, snapshot) is None:
        rest = _summary_split(main.text)[1]
        if rest and sentence and sentence.rstrip("…") in rest:
            lines = [line for line in lines if line.values.get("text") != sentence]  # the rest says it already
        if rest:
            lines.append(Line("utter_line_more", {"text": rest}))
        if main.kind == "measure" and measure is not None:
            figures = [u.text for u in snapshot.figures_of(measure.id)]
            if figures and not rest:
                lines.append(Line("utter_line_figures", {"value": "；".join(figures[:2])}))
            if measure.department:
                lines.append(Line("utter_line_department", {"value": measure.department}))
    if main.kind == "figure" and measure is not None and measure.department \
            and not any(c.unit.kind == "department" for c in chosen):
        lines.append(Line("utter_line_department", {"value": measure.department}))
    if main.kind == "overview":
        document = snapshot.documents[main.document_id]
        issued = "，".join(filter(None, [document.issuer, format_date(document.published) if document.published
                                         else None, document.doc_number]))
        if issued:
            lines.append(Line("utter_line_labelled", {"label": "发文", "value": issued}))
    if measure is not None and measure.outline_only:
        lines.append(Line("utter_line_outline", {"document": snapshot.documents[main.document_id].citation}))
    for candidate in chosen[1:]:
        unit = candidate.unit
        if unit.kind == "figure" and unit.text in shown:
            continue  # the lead already gives it
        if sentence and sentence.rstrip("…。") in unit.text:
            lines = [line for line in lines if line.values.get("text") != sentence]  # said below, under its label
        if unit.kind == "list":
            lines.append(Line("utter_line_labelled", {"label": unit.label, "value": "、".join(unit.items)}))
        else:
            lines.append(Line("utter_line_labelled", {"label": unit.label or subject_of(unit, snapshot),
                                                      "value": unit.text}))
    # Whether the measure still applies is never cut for room: the other lines give way to it.
    current = currency_lines(main, question, snapshot, today)
    confidence = measure.confidence if measure is not None else snapshot.documents[main.document_id].confidence
    if confidence == "low":
        current.append(Line("utter_line_low_confidence"))
    lines = lines[:max(0, MAX_DETAILS - len(current))] + current[:MAX_DETAILS]
    if staff and measure is not None:
        if measure.internal_note:
            lines.append(Line("utter_line_staff_note", {"internal_note": measure.internal_note}))
        if measure.internal_contact:
            lines.append(Line("utter_line_staff_contact", {"internal_contact": measure.internal_contact}))
    return lines


def answer_message(chosen: list[Candidate], question: Question, snapshot: Snapshot, *, today: dt.date,
                   staff: bool, prefix: list[Line] | None = None) -> Say:
    """The answer as one message: any `prefix` lines, the lead, the detail lines after it, and the source."""
    main = chosen[0].unit
    first = lead(main, question, snapshot)
    return Say("utter_answer", {
        "prefix": prefix or [],
        "lead": first,
        "details": detail_lines(chosen, question, snapshot, today=today, staff=staff, shown=first),
        "source": source_of(main, snapshot),
    })
