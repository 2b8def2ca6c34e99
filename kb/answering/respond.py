"""One answer path for every question about the knowledge base: parse once, follow up, retrieve units, compose.

    reply = respond("2026年的8+4文件什么时候印发的，文号是啥", session=session, today=today, context=previous)

The reply's messages name domain responses; `reply.context` is what the next question may follow up on.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import difflib
import re
from collections.abc import Iterable
from typing import Any

from sqlalchemy.orm import Session

from kb.answering import compose, qualifiers, tiers
from kb.answering.followup import context_of, resolve, with_document_names
from kb.answering.general import general_idf
from kb.answering.question import Question, parse_question
from kb.answering.reply import Line, Reply, Say
from kb.answering.retrieval import PARAMETERS, PREFERRED, Candidate, Parameters, preferred_kinds, rank
from kb.answering.snapshot import MeasureRecord, Snapshot, snapshot
from kb.answering.units import Unit, is_gap
from kb.answering.verdict import verdict_line
from kb.answering.vocabulary import vocabulary
from kb.format import format_amount
from kb.store import queries
from kb.store.models import AskedQuestion
from kb.text import normalize

MAX_UNITS = 3  # the main unit and up to two more the question also asks for ("什么时候印发的，文号是啥")
SAYS_MORE = 0.15  # a note line is added when it matches this much more of the question than the answer does
RESTATING = frozenset({"measure", "overview"})  # a measure's or document's whole summary restates its parts
YEARLY_EDITIONS = 3  # documents named in this many editions are a yearly series ("8+4")
CLARIFY_WORDS = 2  # a question with at most this many words of its own may fit several measures
# A figure as the knowledge base writes it: the number and its unit ("1042.8亿元", "80%").
_AMOUNT = re.compile(r"(\d+(?:\.\d+)?)([^\d（(；;，,。\s]*)")
# A word the answer names only after a negation in its clause ("不计入土建和厂房") is excluded, not included.
_NEGATED_BEFORE = re.compile(r"(?:不包含|不包括|不含|不计入|不算|不属于|不适用|除外)[^，,。；;：:]*$")
# Replies saying the knowledge base has nothing for a message.
NOTHING_FOUND = frozenset({"utter_out_of_scope", "utter_measure_not_found", "utter_default"})
# Kinds of answer only a document or measure has: a question asking for one is about the one it names.
ABOUT_A_DOCUMENT = frozenset({"date", "document", "department", "channel", "materials", "contact", "how",
                              "recommend", "origin"})


def respond(text: str, *, session: Session, today: dt.date, context: dict[str, Any] | None = None,
            intent: str | None = None, staff: bool = False, params: Parameters = PARAMETERS) -> Reply:
    """The reply to one message taken as a question about the knowledge base."""
    snap = snapshot(session=session)
    question = parse_question(text, snapshot=snap, today=today)
    return answer(question, snap, today=today, context=context, intent=intent, staff=staff, params=params)


def answer(question: Question, snap: Snapshot, *, today: dt.date, context: dict[str, Any] | None = None,
           intent: str | None = None, staff: bool = False, params: Parameters = PARAMETERS) -> Reply:
    """The reply to a parsed question, taken as a follow-up of `context` when it reads as one."""
    if question.other_region:
        return Reply((Say("utter_out_of_scope_region", {"region": question.other_region}),), answered=True)
    if _off_topic(question, snap, params):
        return Reply((Say("utter_out_of_scope"),), answered=False)
    own_documents = question.documents
    if question.ordinal and question.documents and not (context or {}).get("items") \
            and not _BATCH.search(question.text):
        # "32条第三个方面讲什么": the item of the named document's list, as if that list had just been shown.
        listed = _named_list(question, snap, today, params)
        if listed is not None:
            context = context_of(question, listed.id, listed.items)
            question = dataclasses.replace(question, documents=())
    asked_own = question.topic
    question, followed = resolve(question, context, snap)
    previous = snap.unit(str(context["unit"])) if context and context.get("unit") else None  # the last answer
    # "第三个具体讲什么": the item is asked about, not the list it was read from.
    items = (context or {}).get("items") or []
    # "第三个具体讲什么" after a list of at least three: the item; a larger ordinal names no item of it.
    item_of = context.get("unit") if followed and context and 0 < (question.ordinal or 0) <= len(items) else None
    if question.article:
        found = _article(question, snap, today=today, staff=staff)
        if found is not None:
            return found
    talked_about = previous.document_id if followed and previous is not None else None
    unpublished = _not_published(question, snap, talked_about)
    if unpublished is not None:
        return unpublished
    candidates = rank(question, snap, today=today, params=params)
    if not candidates and followed and question.documents and not question.topic:
        question = with_document_names(question, snap)
        candidates = rank(question, snap, today=today, params=params)
    if item_of:
        candidates = [c for c in candidates if c.unit.id != item_of] or candidates
    ranked = candidates  # before a follow-up narrows them to the document talked about
    if followed and not own_documents and question.documents:
        # "一共分几个部分" after a question on the 32条: the document talked about, while it has an answer.
        candidates = [c for c in candidates if c.unit.document_id in question.documents] or candidates
    if followed and previous is not None and previous.measure_id and not asked_own \
            and question.wanted & ABOUT_A_DOCUMENT:
        # "哪个文件规定的" after a measure: that measure's document, date or department, not another's.
        candidates = [c for c in candidates if c.unit.measure_id == previous.measure_id] or candidates
    # A follow-up the classifier took for off-topic ("这条执行到啥时候" after a measure) is judged as the question it continues.
    # So is a question wrapped in noise: the classifier read the fake system prompt or the SQL, not the question.
    off_topic_intent = intent == "out_of_scope" and not followed and not question.wrapped
    least = params.min_coverage_out_of_scope if off_topic_intent else params.min_coverage
    if "contact" in question.wanted and not followed and not question.documents and (
            not _words(t for t in question.topic if t in snap.index.idf)
            or any(word in question.text for word in vocabulary().general_lines)):
        # "有电话能咨询吗": nothing the knowledge base knows is named, so the line anyone can call.
        return Reply((Say("utter_contact_general"),), answered=True)
    if not candidates or (candidates[0].coverage < least and not question.documents):
        if intent == "nlu_fallback":
            return Reply((Say("utter_default"),), answered=False)
        if (off_topic_intent or not candidates) and not (question.families or question.documents):
            # Taken for off-topic, or not one word of it is in the knowledge base ("帮我写一段Python代码").
            return Reply((Say("utter_out_of_scope"),), answered=False)
        # The classifier took it for a policy question ("跨境电商海外仓补助多少"): say the KB lacks it.
        return Reply((Say("utter_measure_not_found"),), answered=False)
    tiered = _in_tier(question, candidates, snap)
    if tiered is not candidates:  # "那营收2.5亿的呢": the tier's figure is what is asked
        candidates, question = tiered, dataclasses.replace(question, wanted=question.wanted | {"figure"})
    if "yesno" in question.wanted:
        candidates = _mentioning(asked_own, candidates, ranked, snap)
    candidates = qualifiers.asked_first(candidates, question, snap)
    chosen, extra = _choose(question, candidates, snap)
    # Measures the question may also be about: the previous turn's, and the next best answers'.
    related = [previous.measure_id if previous is not None else None, *(c.unit.measure_id for c in candidates[:8])]
    prefix = _prefix(question, chosen[0], snap, related)
    main_measure = snap.measures.get(chosen[0].unit.measure_id) if chosen[0].unit.measure_id else None
    verdict = verdict_line(question, main_measure, today=today)
    if verdict is not None:
        prefix = [verdict]  # the verdict answers the yes/no question; "是的，X在其中" would only echo it
    numbered = _document_number(question, chosen[0].unit, snap)
    if numbered is not None:
        prefix = [numbered, *prefix]
    difference = _difference(question, chosen[0].unit, snap)
    if difference is not None:
        prefix = [difference, *prefix]
    if item_of:
        prefix = [Line("utter_line_item", {"ordinal": question.ordinal,
                                            "item": items[question.ordinal - 1]}), *prefix]
    message = compose.answer_message(chosen, question, snap, today=today, staff=staff, prefix=prefix)
    if extra:
        message = Say(message.response, {**message.values, "details": [*message.values["details"], *extra]})
    messages = [message]
    choices = _choices(question, candidates, snap, chosen[0])
    if choices:
        messages.append(Say("utter_clarify", buttons=tuple(choices)))
    return Reply(tuple(messages), context_of(question, chosen[0].unit.id, chosen[0].unit.items))


_NUMERAL_WORD = re.compile(r"[\d.零〇一二两三四五六七八九十百千万亿几]+")
_NEGATION = re.compile(r"[不没未无]")
_BATCH = re.compile(r"第\s*[一二两三四五六七八九十\d]{1,3}\s*[批档]")  # "第二批": a call or a tier, not a list item


def _named_list(question: Question, snap: Snapshot, today: dt.date, params: Parameters) -> Unit | None:
    """The list of a document the question names with at least as many items as its ordinal, best match first."""
    asking_a_list = dataclasses.replace(question, wanted=question.wanted | {"list"})
    return next((c.unit for c in rank(asking_a_list, snap, today=today, params=params)
                 if c.unit.kind == "list" and c.unit.document_id in question.documents
                 and len(c.unit.items) >= (question.ordinal or 0)), None)


def _off_topic(question: Question, snap: Snapshot, params: Parameters) -> bool:
    """Its content words unknown to the knowledge base outnumber those it knows, and none is about a firm's support.

    "32条里说的熊猫吃什么" shares only a document's name with the knowledge base; the name says nothing of what is
    asked. Unknown function words ("里面", "就是") do not make a question off-topic; an elliptical question
    takes its topic from the previous turn instead ("管到哪一年" after a measure).
    """
    if not question.topic or question.elliptical or question.article or question.ordinal:
        return False
    if vocabulary().about_a_person_only(question.text, known=lambda w: w in snap.index.idf) and not question.documents:
        return True  # "我想落户杭州要什么条件": a person's own affairs, whatever words it shares with the KB
    if question.wanted & ABOUT_A_DOCUMENT:
        return False  # it asks for something a document or measure has: a date, a department, a channel
    if any(word in question.text for word in vocabulary().firm_context):
        return False
    known = _words(t for t in question.topic if t in snap.index.idf)
    unknown = _words(t for t in question.topic if t not in snap.index.idf and _says_what(t, params))
    # "小巨人那部电影的导演是谁": a name the knowledge base knows, asked about in words it never uses.
    return len(unknown) > len(known) * params.unknown_words_per_known


def _words(tokens: Iterable[str]) -> list[str]:
    """Tokens as words: the parts of a longer token ("巨人", "小巨" of "小巨人") and numerals are not words."""
    found = [t for t in dict.fromkeys(tokens) if not _NUMERAL_WORD.fullmatch(t)]
    return [t for t in found if not any(t != other and t in other for other in found)]


def _says_what(token: str, params: Parameters) -> bool:
    """A word that says what is asked: rare in general text, and no predicate ("收不到" is cut across "营收不到")."""
    return general_idf(token) >= params.off_topic_word and not _NEGATION.search(token)


def respond_small_talk(text: str, response: str | None, *, session: Session, today: dt.date,
                       context: dict[str, Any] | None = None, staff: bool = False) -> Reply:
    """Small talk as classified; answered as a question when it holds one the KB answers.

    "2028年版的有了没" is no goodbye: it is tried as strictly as an off-topic message, and only when the
    knowledge base has nothing for it does the small-talk response (`response`) follow; with none (a
    greeting, already said by its own response), nothing more is said.
    """
    words = vocabulary()
    # "好，就这样，回头见" asks nothing: only a message with a way of asking is tried as a question.
    asks = words.asks(text) or any(cue in text.lower() for cues in words.wanted.values() for cue in cues)
    reply = respond(text, session=session, today=today, context=context, intent="out_of_scope", staff=staff) \
        if asks else Reply(())
    if reply.messages and reply.messages[0].response not in NOTHING_FOUND:
        return reply  # an answer, or "not published yet": the message was a question
    return Reply((Say(response),) if response else (), answered=True)


def respond_measure(measure_id: str, *, session: Session, today: dt.date, staff: bool = False) -> Reply:
    """The answer for a measure chosen by a button (/choose_measure)."""
    snap = snapshot(session=session)
    unit = snap.unit(f"m:{measure_id}")
    if unit is None:
        return Reply((Say("utter_measure_not_found"),), answered=False)
    question = parse_question(unit.label, snapshot=snap, today=today)
    message = compose.answer_message([Candidate(unit, 1.0, 1.0)], question, snap, today=today, staff=staff)
    return Reply((message,), context_of(question, unit.id))


def _same_topic(a: Candidate, b: Candidate) -> bool:
    if a.unit.measure_id:
        return b.unit.measure_id == a.unit.measure_id
    return b.unit.document_id == a.unit.document_id and not b.unit.measure_id


def _choose(question: Question, candidates: list[Candidate], snap: Snapshot) -> tuple[list[Candidate], list[Line]]:
    """The main unit, the units of the same topic the question also asks for, and lines of special views."""
    wanted = question.wanted
    if "origin" in wanted:
        main = _earliest(candidates, snap, question.documents)
        if question.documents and not any(snap.index.weight(t) for t in question.topic):
            # "8+4是哪年开始的": about the document itself, so its first edition's overview.
            first = min(question.documents, key=lambda d: (snap.documents[d].edition, d))
            overview = snap.unit(f"d:{first}")
            if overview is not None:
                main = Candidate(overview, main.score, main.coverage)
        document = snap.documents[main.unit.document_id]
        lines = [Line("utter_line_first_seen", {"document": document.short_name or document.title,
                                                 "year": document.edition})]
        before = [d for d in snap.documents_of_family(document.family) if d.edition < document.edition]
        if before:  # what the family was called before this first edition ("8+4" after "5+4")
            lines.append(Line("utter_line_labelled", {"label": "此前", "value": "、".join(
                f"{d.short_name or d.title}（{d.edition}年）" for d in before[-2:])}))
        return [main], lines
    if wanted & {"changes", "difference"} or len(set(question.years)) >= 2:  # "24版比23版涨了几亿": by year
        history = next((c for c in candidates if c.unit.kind == "history" and c.score >= 0.4 * candidates[0].score),
                       None)
        if history is not None:
            return [history], []
        # The figure asked for ("省财政给的钱涨了还是降了"), year by year: the best unit of a kind wanted.
        # "差多少", "哪年多": a figure, even without a figure word or beside a comparison
        kinds = preferred_kinds(question.wanted & {"difference"}) or preferred_kinds(
            question.wanted - {"changes", "difference"})
        main = next((c for c in candidates if c.unit.kind in kinds), candidates[0])
        over_editions = _over_editions(main, snap)
        if over_editions:
            return [main], over_editions
    main = _main_of_topic(question, candidates, snap)
    if is_gap(main.unit) and main.unit.key:
        filled = _filled_elsewhere(main.unit, snap)
        if filled is not None:
            missing = snap.documents[main.unit.document_id]
            return [Candidate(filled, main.score, main.coverage)], [Line("utter_line_gap", {
                "missing": missing.short_name or missing.title, "label": main.unit.label, "edition": filled.edition})]
    chosen = [main]
    if "channel" in wanted and main.unit.kind == "procedure":
        # "去哪报": the platform first, when the measure names one, then how the application goes.
        platform = next((c for c in candidates if c.unit.kind == "channel" and _same_topic(main, c)
                         and c.score >= 0.3 * main.score), None)
        if platform is not None:
            chosen = [platform, main]
    if "definition" in wanted and main.unit.kind not in RESTATING and main.unit.measure_id:
        # "所得税怎么优惠，执行到哪年": what the measure gives first, then the field also asked for.
        whole = snap.unit(f"m:{main.unit.measure_id}")
        if whole is not None:
            chosen = [Candidate(whole, main.score, main.coverage), main]
    for kind in sorted(wanted):
        kinds = PREFERRED.get(kind, frozenset())
        if not kinds or main.unit.kind in kinds or any(c.unit.kind in kinds for c in chosen):
            continue
        extra = next((c for c in candidates if c.unit.kind in kinds and _same_topic(main, c)
                      and c.unit.kind not in RESTATING and c.score >= 0.3 * main.score), None)
        if extra is not None and len(chosen) < MAX_UNITS:
            chosen.append(extra)
    if len(question.families) >= 2 and len(chosen) < MAX_UNITS:
        # "三个80%是8+4里的还是32条里的": the best answer from the other family named, too.
        other = next((c for c in candidates if c.unit.family != main.unit.family and c.coverage >= main.coverage),
                     None)
        if other is not None:
            chosen.append(other)
    said = max(c.coverage for c in chosen)
    telling = next((c for c in candidates if c.unit.kind in ("note", "fact") and _same_topic(main, c)
                    and c not in chosen and c.coverage >= said + SAYS_MORE), None)
    if telling is not None and len(chosen) < MAX_UNITS:
        chosen.append(telling)  # a line of the measure's note that says what its summary does not
    return chosen, []


def _topic_key(unit: Unit) -> tuple[str, str]:
    return ("measure", unit.measure_id) if unit.measure_id else ("document", unit.document_id)


def _main_of_topic(question: Question, candidates: list[Candidate], snap: Snapshot) -> Candidate:
    """Within the best candidate's topic (a measure, or a document's own facts), the unit to answer with.

    That is the topic's unit of a kind the question wants, else the measure as a whole.
    """
    best = candidates[0]
    if best.unit.kind == "history" and "changes" not in question.wanted:
        # A recorded history answers how something changed; asked anything else, the next best answers.
        best = next((c for c in candidates if c.unit.kind != "history"), best)
    topic = [c for c in candidates if _topic_key(c.unit) == _topic_key(best.unit)]
    kinds = preferred_kinds(question.wanted)
    if best.unit.kind not in ("measure", "overview") and best.unit.kind not in kinds and not best.unit.measure_id \
            and any(len(alias) >= 3 and alias in question.text for alias in (best.unit.label, *best.unit.aliases)):
        return best  # a document's own entry named in full ("谁开的发布会"): that entry, not the document in general
    wanted = next((c for c in topic if c.unit.kind in kinds), None)
    if wanted is not None:
        return wanted
    if best.unit.measure_id and best.unit.kind != "measure":
        whole = next((c for c in topic if c.unit.kind == "measure"), None)
        return whole or Candidate(snap.unit(f"m:{best.unit.measure_id}"), best.score, best.coverage)
    return best


def _filled_elsewhere(gap: Unit, snap: Snapshot) -> Unit | None:
    """The same entry in the family's newest other edition that records it."""
    same = [u for u in snap.index.units if u.family == gap.family and u.key == gap.key and u.measure_id is None
            and u.edition != gap.edition and not is_gap(u)]
    return max(same, key=lambda u: u.edition, default=None)


def _earliest(candidates: list[Candidate], snap: Snapshot, named_documents: tuple[str, ...] = ()) -> Candidate:
    """Among the units as good as the best on the topic, the one of the earliest edition."""
    best = candidates[0]
    close = [c for c in candidates if c.coverage >= 0.8 * best.coverage and c.score >= 0.3 * best.score]
    # "8+4是哪年开始的": the first edition of what is named, not of its predecessor filed in the same family.
    named = [c for c in close if c.unit.document_id in named_documents] if named_documents else []
    return min(named or close, key=lambda c: (snap.documents[c.unit.document_id].edition, -c.score))


def _alike(a: str, b: str) -> bool:
    # One name inside the other ("首台（套）装备认定奖励" and the same with "（2023年度名单）") is the same thing.
    return a in b or b in a or difflib.SequenceMatcher(None, a, b).ratio() >= 0.6


def _in_other_editions(unit: Unit, snap: Snapshot) -> dict[str, Unit]:
    """The same kind of unit, on the same thing, in the family's other editions, by year."""
    subject = compose.subject_of(unit, snap)
    by_year: dict[str, Unit] = {}
    for other in snap.index.units:
        if other.family == unit.family and other.kind == unit.kind and other.edition != unit.edition \
                and _alike(other.label, unit.label) \
                and (other.kind != "figure" or _alike(compose.subject_of(other, snap), subject)):
            by_year.setdefault(other.edition, other)
    return by_year


def _over_editions(main: Candidate, snap: Snapshot) -> list[Line]:
    """The unit's counterparts in the family's other editions: one line per year."""
    by_year = _in_other_editions(main.unit, snap)
    return [Line("utter_line_year", {"year": year, "value": by_year[year].text}) for year in sorted(by_year)]


def _difference(question: Question, main: Unit, snap: Snapshot) -> Line | None:
    """"23版跟25版的钱差几亿": the figure of the two editions named, and how far apart they are."""
    if "difference" not in question.wanted or len(set(question.years)) < 2 or main.kind != "figure":
        return None
    by_year = {**_in_other_editions(main, snap), main.edition: main}
    earlier, later = sorted({str(y) for y in question.years[:2]})
    if earlier not in by_year or later not in by_year:
        return None
    first, second = (_AMOUNT.match(_value_of(by_year[year])) for year in (earlier, later))
    if not first or not second or first.group(2) != second.group(2):
        return None  # no figure, or not in the same unit: nothing to subtract
    places = max(len(m.group(1).partition(".")[2]) for m in (first, second))
    gap = round(float(second.group(1)) - float(first.group(1)), places)
    direction = "多" if gap > 0 else "少" if gap < 0 else "持平，相差"
    return Line("utter_line_difference", {
        "later": later, "earlier": earlier, "direction": direction,
        "amount": format_amount(abs(gap), second.group(2)),
        "later_value": _value_of(by_year[later]), "earlier_value": _value_of(by_year[earlier])})


# A document number as measures cite it: "浙经信产数〔2025〕174号", "财政部 税务总局 商务部公告2025年第2号".
_DOC_NUMBER = re.compile(r"(?:浙|国|财|工信|发改|中办|中发|科|商|税|人社)[\u4e00-\u9fff]{0,8}〔\d{4}〕\d+号"
                         r"|公告\d{4}年第\d+号")


def _document_number(question: Question, unit: Unit, snap: Snapshot) -> Line | None:
    """For "…通知的文号" answered by a measure: the document numbers its own fields cite."""
    if "document" not in question.wanted or not unit.measure_id or unit.kind == "document":
        return None
    measure = snap.measures[unit.measure_id]
    cited = " ".join(filter(None, [measure.title, measure.how_to_apply, measure.summary, measure.note]))
    numbers = list(dict.fromkeys(_DOC_NUMBER.findall(cited)))
    return Line("utter_line_doc_number", {"value": "、".join(numbers[:2])}) if numbers else None


def _joined(words: list[str], text: str) -> list[str]:
    """Words the text writes next to each other as one ("上市公司" and "股份" → "上市公司股份")."""
    joined: list[str] = []
    for word in words:
        if joined and joined[-1] + word in text:
            joined[-1] += word
        else:
            joined.append(word)
    return joined


def _value_of(unit: Unit) -> str:
    """A figure unit's value without its label or remarks: "1023.6亿元"."""
    return unit.text.rpartition("：")[2].split("（")[0]


def _prefix(question: Question, main: Candidate, snap: Snapshot, related: list[str | None] = ()) -> list[Line]:
    """For "X是不是Y" where the answer names X among its items or text: say yes first."""
    if "yesno" not in question.wanted:
        return []
    unit = main.unit
    exclusive = _exclusive_sentence(question, [unit.measure_id, *related], snap)
    if exclusive is not None:  # "两个能一起拿吗" where the measure says "只能选一项"
        return [Line("utter_line_exclusive", {"sentence": exclusive})]
    said = set(snap.index.tokenize(" ".join([unit.label, *unit.aliases, compose.subject_of(unit, snap)])))
    words = _whole_words(question.topic)
    specific = [t for t in words if t not in said]
    text = "；".join(unit.items) if unit.items else unit.text
    excluded = [t for t in specific if t in text and all(_NEGATED_BEFORE.search(text[:m.start()])
                                                           for m in re.finditer(re.escape(t), text))]
    if excluded:  # "包括厂房吗" where the answer says "不计入土建和厂房"
        return [Line("utter_line_no", {"word": "、".join(_joined(excluded, text))})]
    listed = unit.items or tuple(re.split(r"[、，,（）()；;]", unit.text))
    named = [t for t in specific if any(t in item for item in listed)]
    if named and len(named) == len(specific):
        return [Line("utter_line_yes", {"word": "、".join(named)})]
    return []


def _whole_words(tokens: tuple[str, ...]) -> list[str]:
    """Whole words of the question only: a bigram inside a longer word ("荐限" of "推荐限额") names nothing."""
    return [t for t in tokens if len(t) >= 2 and not any(t != w and t in w for w in tokens)]


def _mentioning(own_words: tuple[str, ...], candidates: list[Candidate], ranked: list[Candidate], snap: Snapshot,
                reach: int = 8) -> list[Candidate]:
    """For "厂房算投资吗": the best unit that says the words asked about, when the best one does not.

    Looked for among the best `reach` of the candidates, then of all `ranked` (a follow-up's candidates are
    narrowed to the document talked about; the word may be said in another).
    """
    words = _whole_words(own_words)
    if not candidates or not words:
        return candidates

    def says(candidate: Candidate) -> bool:  # in what the reply shows of it: its subject, label and text
        unit = candidate.unit
        shown = f"{compose.subject_of(unit, snap)} {unit.label} {unit.text}"
        return all(word in shown for word in words)

    if says(candidates[0]):
        return candidates
    better = next((c for c in (*candidates[1:reach], *ranked[:reach]) if says(c)), None)
    return candidates if better is None else [better, *(c for c in candidates if c is not better)]


def _in_tier(question: Question, candidates: list[Candidate], snap: Snapshot) -> list[Candidate]:
    """The tier of a figure the question's amount falls in first; its sibling tiers left out (kb.answering.tiers)."""
    if not candidates or not candidates[0].unit.measure_id:
        return candidates
    left_out = tiers.outside(snap.figures_of(candidates[0].unit.measure_id), question.amounts)
    if not left_out:
        return candidates
    kept = [c for c in candidates if c.unit.id not in left_out]
    inside = [c for c in kept if c.unit.kind == "figure" and c.unit.measure_id == candidates[0].unit.measure_id
              and tiers.tier_range(c.unit.label) is not None]
    return [*inside[:1], *(c for c in kept if c not in inside[:1])]


def _exclusive_sentence(question: Question, measure_ids: list[str | None], snap: Snapshot) -> str | None:
    """A sentence saying only one of two benefits is had, when the question asks for both at once.

    Read in the answer's measure, the one the previous turn was about ("和应用奖励可以都拿吗" after the insurance
    compensation) and the next best answers'; a sentence naming more words of the question comes first.
    """
    words = vocabulary()
    if not any(cue in question.text for cue in words.together):
        return None
    found = []
    for measure_id in dict.fromkeys(m for m in measure_ids if m):
        measure = snap.measures[measure_id]
        for sentence in re.split(r"[。；;\n]", f"{measure.summary}。{measure.note or ''}"):
            if any(phrase in sentence for phrase in words.exclusive):
                found.append(sentence.strip())
    found.sort(key=lambda s: -sum(t in s for t in question.topic if len(t) >= 2))
    return found[0] if found else None


def _choices(question: Question, candidates: list[Candidate], snap: Snapshot, main: Candidate) -> list[dict]:
    """Up to three other measures for a very short question that fits several equally."""
    if len(question.topic) > CLARIFY_WORDS or question.wanted - {"yesno"}:
        return []
    seen = {compose.subject_of(main.unit, snap)}
    buttons = []
    for candidate in candidates[1:]:
        if candidate.score < 0.8 * main.score or not candidate.unit.measure_id:
            continue
        title = compose.subject_of(candidate.unit, snap)
        if any(_alike(title, s) for s in seen):
            continue
        seen.add(title)
        buttons.append({"title": title, "payload": f'/choose_measure{{"measure_id": "{candidate.unit.measure_id}"}}'})
    return buttons[:3]


def _article(question: Question, snap: Snapshot, *, today: dt.date, staff: bool) -> Reply | None:
    """第N条 of the document the question names (a family's document in force when it names only the family)."""
    family = question.families[0] if question.families else None
    if family is None:
        return None
    named = [snap.documents[d] for d in question.documents if snap.documents[d].family == family]
    if question.year:
        named = [d for d in named if d.edition == str(question.year)] or named
    document = (queries.edition_in_force(sorted(named, key=lambda d: d.edition), today=today) if named
                else snap.document_in_force(family, today))
    if document is None:
        return None
    measure = next((m for m in snap.measures_of.get(document.id, []) if m.number == question.article), None)
    if measure is None:
        return Reply((Say("utter_article_text_missing", {"document": f"《{document.title.strip('《》')}》",
                                                         "number": question.article,
                                                         "source_url": document.source_urls[0]}),))
    unit = snap.unit(f"m:{measure.id}")
    message = compose.answer_message([Candidate(unit, 1.0, 1.0)], question, snap, today=today, staff=staff)
    return Reply((message,), context_of(question, unit.id))


def _not_published(question: Question, snap: Snapshot, talked_about: str | None = None) -> Reply | None:
    """A yearly edition named that the knowledge base does not have, later than every one it has.

    Yearly means the documents the question names come in three or more editions under one name ("8+4"
    names 2023–2026); "32条" names one document, so 今年 with it asks about today, not a missing edition.
    """
    if not question.year or not (question.documents or talked_about in snap.documents):
        return None
    # "明年的出了吗" after an answer from one edition asks about the series that edition belongs to.
    named = [snap.documents[d] for d in question.documents if d in snap.documents] or _series(snap, talked_about)
    editions = sorted({d.edition for d in named})
    if any(edition.startswith(str(question.year)) for edition in editions):
        return None
    if len(editions) < YEARLY_EDITIONS or str(question.year) <= editions[-1]:
        return None
    latest = max(named, key=lambda d: d.edition)
    return Reply((Say("utter_not_published", {"year": question.year, "name": latest.short_name or latest.title,
                                              "latest": latest.edition}),), answered=False)


_EDITION_MARK = re.compile(r"[（(]?\d{4}年?(?:版|度)?[）)]?")


def _series(snap: Snapshot, document_id: str) -> list:
    """The editions of one yearly document: its family's documents named alike but for the year."""
    def name(document) -> str:
        return _EDITION_MARK.sub("", document.short_name or document.title)

    talked = snap.documents[document_id]
    return [d for d in snap.documents_of_family(talked.family) if name(d) == name(talked)]


def log_question(text: str, *, session: Session, kind: str, channel: str, sender: str | None) -> None:
    """Keep a question the assistant could not answer (or a hand-off) for the staff digest."""
    session.add(AskedQuestion(kind=kind, channel=channel or "unknown", sender=sender, text=text[:2000]))


def measures_asked_about(text: str, *, session: Session, today: dt.date, family: str | None = None,
                         limit: int = 5) -> list[tuple[float, MeasureRecord]]:
    """The measures a message is about, best first, each scored by its best unit (for the eligibility dialogue)."""
    snap = snapshot(session=session)
    question = parse_question(text, snapshot=snap, today=today)
    best: dict[str, float] = {}
    for candidate in rank(question, snap, today=today):
        if candidate.coverage < PARAMETERS.min_coverage:
            continue  # what an answer would not be given for names no measure either
        measure_id = candidate.unit.measure_id
        if measure_id and (family is None or candidate.unit.family == family) and measure_id not in best:
            best[measure_id] = candidate.score
    # rank() is best first, so each measure's first unit is its best and `best` is already in order.
    return [(score, snap.measures[measure_id]) for measure_id, score in list(best.items())[:limit]]


def family_named(text: str, *, session: Session) -> str | None:
    """The family of the document a message names (the longest name wins)."""
    named = snapshot(session=session).named_documents(normalize(text))
    return named[0].family if named else None
