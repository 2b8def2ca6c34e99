"""Answer units: every answerable piece of the knowledge base, with what it is called and what it says.

A measure gives a unit for itself, one per figure, and one each for its department, contact, how to apply,
channel, window, materials and note sentences; a document gives its overview, one unit per field
(文号, 印发日期, 发布会 …), per named list and per labelled structure entry, and its recorded histories.
Labels and the words questions use for them come from the records and from kb/rules/vocabulary.yaml.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from kb.answering.vocabulary import Label, Vocabulary
from kb.currency import as_date
from kb.format import format_amount, format_benefit, format_date, format_number, format_period

if TYPE_CHECKING:
    from kb.answering.snapshot import DocumentRecord, MeasureRecord

# Kinds of unit: what kind of answer it gives. A question's wanted kinds prefer some of them
# (kb.answering.retrieval). Fields and structure entries take their kind from kb/rules/vocabulary.yaml.
MEASURE, FIGURE, NOTE, OVERVIEW, LIST, FACT, HISTORY = "measure", "figure", "note", "overview", "list", "fact", "history"

_YEAR = re.compile(r"20\d\d")
_ISO_DATE = re.compile(r"(20\d\d)-(\d\d)-(\d\d)")
_ID_LIKE = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)+")
# Note sentences about the record itself (which field was left empty, how good the source is) are for
# editors, not firms: a field name or a word about the source's quality marks them.
_EDITORIAL = re.compile(r"[a-z_]{4,}|转码|镜像|转载|机翻|数据集|未逐字|推定|未核实|未填|不填|据此|[（(](?:high|medium|low)[）)]")


@dataclass(frozen=True)
class Unit:
    """One answerable piece: its kind, what it is called, the text retrieval reads, and the answer itself."""

    id: str
    kind: str
    label: str
    aliases: tuple[str, ...]
    body: tuple[str, ...]  # the texts retrieval reads at body weight (shared parts are cut into words once)
    document_id: str
    family: str
    edition: str
    measure_id: str | None = None
    key: str | None = None  # the document field or structure entry a field/fact/list unit holds
    text: str = ""  # the answer as a reader sees it
    items: tuple[str, ...] = ()  # a list unit's items
    years: frozenset[str] = field(default_factory=frozenset)  # years its own words mention ("2024年度")


def public_note_sentences(note: str | None) -> list[str]:
    """The sentences of a note that state a fact a firm may ask about."""
    sentences = (s.strip() for s in re.split(r"(?<=[。；])", note or ""))
    return [s.rstrip("；") for s in sentences if s and not _EDITORIAL.search(_ID_LIKE.sub("", s))]


def is_gap(unit: Unit) -> bool:
    """A unit that records what the sources do not give ("未找到…")."""
    return unit.text.startswith(("未找到", "尚未找到"))


def public_text(text: str) -> str:
    """A fact's text without its editorial clauses (which field a date stands in for, how good a source is)."""
    clauses = re.split(r"(?<=[；;])", text)
    kept = [c for c in clauses if not _EDITORIAL.search(_ID_LIKE.sub("", c))]
    shown = "".join(kept).rstrip("；;") if kept else ""
    # A clause dropped from inside brackets leaves them open: close them.
    return shown + "）" * max(0, shown.count("（") - shown.count("）"))


def readable(value: Any, titles: Mapping[str, str]) -> str:
    """A structure value as text: dates as 2026年2月26日, amounts with units, record ids as their titles."""
    if value is None or isinstance(value, bool):
        return ""
    if isinstance(value, dt.date):
        return format_date(value)
    if isinstance(value, (int, float)):
        return format_number(value)
    if isinstance(value, str):
        text = titles.get(value, value)
        text = _ISO_DATE.sub(lambda m: f"{int(m[1])}年{int(m[2])}月{int(m[3])}日", text)
        return _ID_LIKE.sub(lambda m: f"“{titles[m[0]]}”" if m[0] in titles else m[0], text)
    if isinstance(value, list):
        return "；".join(filter(None, (readable(item, titles) for item in value)))
    if isinstance(value, dict):
        if value.get("amount") is not None:
            figure = format_amount(value["amount"], value.get("unit"))
            return f"{figure}（{value['note']}）" if value.get("note") else figure
        if "name" in value:
            rest = "，".join(f"{readable(v, titles)}" for k, v in value.items()
                            if k not in ("name", "measure", "measures", "document", "documents") and readable(v, titles))
            return f"{value['name']}（{rest}）" if rest else str(value["name"])
        parts = [f"{k}：{readable(v, titles)}" if not isinstance(k, str) or not k.isascii() else readable(v, titles)
                 for k, v in value.items() if k not in ("measure", "measures", "document", "documents")]
        return "；".join(p for p in parts if p)
    return str(value)


def _items(value: Any, titles: Mapping[str, str]) -> tuple[str, ...]:
    if isinstance(value, dict):  # named items with what is known of each ("尖兵：省重大科技计划；榜单…")
        return tuple(f"{k}：{readable(v, titles)}" if readable(v, titles) else str(k) for k, v in value.items())
    if isinstance(value, list):
        return tuple(readable(item, titles) for item in value if readable(item, titles))
    return ()


def _years(*texts: str) -> frozenset[str]:
    return frozenset(_YEAR.findall(" ".join(texts)))


def _issued_jointly(document: DocumentRecord) -> str:
    """Who issued a joint document, its lead first and how many in all: "哪几家联合发的" asks for every one."""
    if not document.co_issuers:
        return ""
    issuers = [*(f"{d}（牵头）" for d in document.lead_departments), *document.co_issuers]
    return "、".join(issuers) + (f"（共{len(issuers)}个部门）" if document.lead_departments else "")


def _document_field_values(document: DocumentRecord) -> dict[str, str]:
    """A document's own fields as text, for those it has."""
    values = {
        "title": f"《{document.title.strip('《》')}》",
        "doc_number": document.doc_number or "",
        "issuer": document.issuer or "",
        "published": format_date(document.published),
        "press_conference": format_date(document.press_conference),
        "articles": f"{document.articles}条" if document.articles else "",
        "lead_departments": "、".join(document.lead_departments),
        "co_issuers": _issued_jointly(document),
    }
    if document.valid_from or document.valid_to:
        values["valid"] = "至".join(filter(None, [format_date(document.valid_from), format_date(document.valid_to)]))
    return {key: value for key, value in values.items() if value}


def _document_units(document: DocumentRecord, words: Vocabulary, titles: Mapping[str, str]) -> list[Unit]:
    names = " ".join(filter(None, [document.short_name, *document.aliases]))
    base = dict(document_id=document.id, family=document.family, edition=document.edition)
    units = [Unit(id=f"d:{document.id}", kind=OVERVIEW, label=document.short_name or document.title,
                  aliases=document.aliases, body=(document.title, document.summary), text=document.summary,
                  years=_years(document.title), **base)]
    for key, value in _document_field_values(document).items():
        label = words.document_fields.get(key)
        if label is None:
            continue
        if label.kind == "department":
            value = words.with_short_names(value)
        units.append(Unit(id=f"d:{document.id}:field:{key}", kind=label.kind, label=label.label, aliases=label.aliases,
                          body=(names, document.title, value), key=key, text=value, **base))
    for key, value in document.structure.items():
        label = words.structure_labels.get(key)
        if label is None or value in (None, "", [], {}):
            continue
        unit = _structure_unit(document, key, value, label, names, titles, base)
        if unit.text:
            units.append(unit)
    for topic, steps in document_histories(document):
        text = "；".join(f"{step.get('years', '')}：{step.get('rule', '')}" for step in steps)
        units.append(Unit(id=f"d:{document.id}:history:{topic}", kind=HISTORY, label=topic, aliases=(),
                          body=(names, text), text=text, years=_years(text), **base))
    return units


def _structure_unit(document: DocumentRecord, key: str, value: Any, label: Label, names: str,
                    titles: Mapping[str, str], base: dict) -> Unit:
    items = _items(value, titles) if label.is_list else ()
    text = "、".join(items) if items else public_text(readable(value, titles))
    # Retrieval reads the items' names: what is said of each is shown, not matched (it would only dilute them).
    indexed = "、".join(map(str, value)) if items and isinstance(value, dict) else text
    kind = LIST if items else (FACT if label.kind == LIST else label.kind)
    return Unit(id=f"d:{document.id}:{'list' if items else 'fact'}:{key}", kind=kind,
                label=_counted(label.label, len(items)), aliases=label.aliases, body=(names, indexed), key=key,
                text=text, items=items,
                years=_years(text), **base)


_COUNTED_LABEL = re.compile(r"^(?:\d+|[一二两三四五六七八九十]+)([个张项条].+)$")


def _counted(label: str, count: int) -> str:
    """A label that counts its list ("五个方面") says this document's count: the 31条 has 10个方面."""
    match = _COUNTED_LABEL.match(label)
    return f"{count}{match.group(1)}" if match and count else label


def document_histories(document: DocumentRecord) -> list[tuple[str, list[dict]]]:
    """A document's recorded histories: `later_history` (one chain) and `histories` (named chains)."""
    structure = document.structure
    chains = []
    history = structure.get("later_history")
    if isinstance(history, list) and history:
        chains.append((str(history[0].get("rule") or document.short_name or document.title), history))
    for chain in structure.get("histories") or []:
        if isinstance(chain, dict) and isinstance(chain.get("steps"), list) and chain["steps"]:
            chains.append((str(chain.get("topic") or chain["steps"][0].get("rule") or ""), chain["steps"]))
    return chains


def _measure_units(measure: MeasureRecord, document: DocumentRecord, words: Vocabulary) -> list[Unit]:
    names = " ".join(filter(None, [document.short_name, *document.aliases]))
    topic = " ".join([measure.title, *measure.keywords])
    notes = public_note_sentences(measure.note)
    base = dict(document_id=document.id, family=document.family, edition=document.edition, measure_id=measure.id)
    own = " ".join([measure.title, *measure.keywords, measure.summary])
    units = [Unit(id=f"m:{measure.id}", kind=MEASURE, label=measure.title, aliases=measure.keywords,
                  body=(measure.aspect or "", names, measure.summary, *(b["what"] for b in measure.benefits)),
                  text=measure.summary, years=_years(own), **base)]
    for i, benefit in enumerate(measure.benefits):
        if benefit.get("amount") is None:
            continue
        figure = format_benefit(benefit)
        units.append(Unit(id=f"m:{measure.id}:figure:{i}", kind=FIGURE, label=benefit["what"], aliases=(),
                          body=(topic, names), text=figure, years=_years(figure, measure.title), **base))
    pieces = {"department": measure.department, "contact": measure.contact, "how_to_apply": measure.how_to_apply,
              "channel": _channel_text(measure.channel), "application_window": _window_text(measure.application_window),
              "materials": "；".join(measure.materials), "validity": format_period(measure.valid_from, measure.valid_to)}
    for key, text in pieces.items():
        label = words.measure_fields.get(key)
        if text and label is not None:
            units.append(Unit(id=f"m:{measure.id}:{key}", kind=label.kind, label=label.label, aliases=label.aliases,
                              body=(topic, names, text), key=key, text=text, years=_years(text, measure.title),
                              **base))
    for i, sentence in enumerate(notes):
        units.append(Unit(id=f"m:{measure.id}:note:{i}", kind=NOTE, label="", aliases=(),
                          body=(sentence, topic), text=sentence, years=_years(sentence), **base))
    return units


def _channel_text(channel: dict | None) -> str:
    if not channel or not channel.get("name") or channel.get("name") == "未找到":
        return ""
    return " ".join(filter(None, [channel.get("name"), channel.get("url")]))


def _window_text(window: dict | None) -> str:
    if not window or not (window.get("from") or window.get("until")):
        return ""
    days = [format_date(as_date(d)) if as_date(d) else str(d or "") for d in (window.get("from"), window.get("until"))]
    # The hour of the deadline, when the note gives one ("17:30截止"): the last day alone can mislead.
    hour = re.search(r"\d{1,2}[:：]\d{2}[^；;，,。]*", str(window.get("note") or ""))
    extra = "；".join(filter(None, (window.get("call"), hour.group() if hour else "")))
    return "至".join(filter(None, days)) + (f"（{extra}）" if extra else "")


def build_units(documents: Mapping[str, DocumentRecord], measures: Mapping[str, MeasureRecord],
                words: Vocabulary) -> list[Unit]:
    """Every answer unit of the knowledge base, documents first, in a stable order."""
    titles = {d.id: d.short_name or d.title for d in documents.values()}
    titles.update({m.id: m.title for m in measures.values()})
    units: list[Unit] = []
    for document_id in sorted(documents):
        units += _document_units(documents[document_id], words, titles)
    for measure_id in sorted(measures):
        measure = measures[measure_id]
        document = documents.get(measure.document_id)
        if document is not None:
            units += _measure_units(measure, document, words)
    return units
