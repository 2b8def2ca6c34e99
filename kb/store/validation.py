"""Validating curated YAML (seed files, admin imports, Excel imports): every problem, each naming its file and key.

`validate_content` checks one file's documents, measures and sources into a `Validation`; `finish` checks
the references across files and returns the normalised `SeedData`, or raises ValidationFailed listing all.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import yaml

from kb.errors import SeedError, ValidationFailed
from kb.store.models import (
    APPLIES_BY,
    CONFIDENCE_LEVELS,
    DOCUMENT_STATUSES,
    FAMILIES,
    NOT_FOUND,
    RECURRENCES,
    SOURCE_KINDS,
)

DOCUMENT_KEYS = {
    "id", "family", "edition", "title", "short_name", "aliases", "issuer", "doc_number",
    "published", "valid_from", "valid_to", "summary", "structure", "confidence", "sources",
    "status", "press_conference", "articles", "lead_departments", "co_issuers",
}
DOCUMENT_REQUIRED = {"id", "family", "edition", "title", "summary", "sources"}
MEASURE_KEYS = {
    "id", "document", "number", "aspect", "title", "summary", "outline_only", "benefits",
    "department", "contact", "how_to_apply", "keywords", "rule", "valid_from", "valid_to",
    "confidence", "note", "internal_note", "internal_contact", "sources",
    "applies_by", "channel", "application_window", "materials",
}
MEASURE_REQUIRED = {"id", "document", "title", "summary", "sources"}
BENEFIT_KEYS = {"what", "amount", "unit", "note"}
SOURCE_KEYS = {"url", "title", "publisher", "kind"}
CHANNEL_KEYS = {"name", "url", "note"}
WINDOW_KEYS = {"from", "until", "call", "source", "note", "recurs"}
TOP_KEYS = {"documents", "measures", "sources"}


@dataclass
class SeedData:
    """Validated, normalised content of one or more seed files."""

    documents: dict[str, dict[str, Any]] = field(default_factory=dict)
    measures: dict[str, dict[str, Any]] = field(default_factory=dict)
    sources: dict[str, dict[str, Any]] = field(default_factory=dict)
    checksum: str = ""


@dataclass
class Validation:
    """Problems and validated records gathered over one input (seed files, an admin YAML or an Excel import).

    Seed files, admin imports and Excel imports share this validator; an importer passes the
    ids already in the database as `known_documents`, so a measure may refer to one of them.
    """

    data: SeedData = field(default_factory=SeedData)
    errors: list[SeedError] = field(default_factory=list)
    where: dict[str, str] = field(default_factory=dict)  # "kind:id" -> file, to name both sides of a duplicate
    document_refs: list[tuple[str, str, str]] = field(default_factory=list)
    digest: Any = field(default_factory=hashlib.sha256)

    def finish(self, known_documents: Iterable[str] = ()) -> SeedData:
        """The validated data with its checksum; ValidationFailed with every problem, unknown documents included."""
        known = set(known_documents)
        for file, label, document_id in self.document_refs:
            if document_id not in self.data.documents and document_id not in known:
                self.errors.append(SeedError(file, f"{label}.document", f"no document with id {document_id!r}"))
        if self.errors:
            raise ValidationFailed(self.errors)
        self.data.checksum = self.digest.hexdigest()
        return self.data


def parse_yaml(raw: bytes, name: str, errors: list[SeedError]) -> dict | None:
    """Return the top-level mapping of a YAML file, or None with the problem recorded."""
    try:
        content = yaml.safe_load(raw) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        key = f"line {mark.line + 1}" if mark else "YAML"
        errors.append(SeedError(name, key, f"not valid YAML ({getattr(exc, 'problem', exc)})"))
        return None
    if not isinstance(content, dict):
        errors.append(SeedError(name, "top level", "must be a mapping with documents/measures/sources"))
        return None
    return content


def validate_content(content: dict, file: str, state: Validation, *, extra_top_keys: Iterable[str] = ()) -> None:
    """Validate one file's documents, measures and sources into `state`; importers add their own top keys."""
    errors, data, where = state.errors, state.data, state.where
    allowed_top = TOP_KEYS | set(extra_top_keys)
    for key in sorted(set(content) - allowed_top, key=str):
        errors.append(SeedError(file, str(key), f"unknown top-level key (allowed: {', '.join(sorted(allowed_top))})"))

    for index, item in enumerate(_as_list(content.get("sources"), file, "sources", errors)):
        label = _label("sources", index, item, "url")
        if _check_mapping(item, SOURCE_KEYS, {"url"}, file, label, errors):
            if item.get("kind") is not None and item["kind"] not in SOURCE_KINDS:
                errors.append(SeedError(file, f"{label}.kind", f"must be one of {', '.join(SOURCE_KINDS)}"))
            if _valid_url(item["url"]):
                # One URL may be described in several files: what each says is merged.
                data.sources[item["url"]] = {**data.sources.get(item["url"], {}), **item}
            else:
                errors.append(SeedError(file, f"{label}.url", f"not an http(s) URL: {item['url']!r}"))

    kinds = (("document", "documents", DOCUMENT_KEYS, DOCUMENT_REQUIRED, _normalise_document, data.documents),
             ("measure", "measures", MEASURE_KEYS, MEASURE_REQUIRED, _normalise_measure, data.measures))
    for kind, key, allowed, required, normalise, records in kinds:
        for index, item in enumerate(_as_list(content.get(key), file, key, errors)):
            label = _label(key, index, item)
            if not _check_mapping(item, allowed, required, file, label, errors):
                continue
            if not _claim(where, kind, item["id"], file, label, errors):
                continue
            record = normalise(item, file, label, errors)
            records[record["id"]] = record
            if kind == "measure":  # its document may be in another file, or already in the database
                state.document_refs.append((file, label, record["document"]))


# YAML's folded blocks join lines with a space; Chinese text has none between characters.
_SPACE_IN_CHINESE = re.compile(r"(?<=[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef])\s+(?=[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef])")


def _clean_text(value: Any) -> str | None:
    if value is None:
        return None
    text = _SPACE_IN_CHINESE.sub("", str(value).strip())
    return text or None



def _as_list(value: Any, file: str, key: str, errors: list[SeedError]) -> list:
    if value is None:
        return []
    if not isinstance(value, list):
        errors.append(SeedError(file, key, "must be a list"))
        return []
    return value


def _label(kind: str, index: int, item: Any, id_key: str = "id") -> str:
    if isinstance(item, dict) and item.get(id_key):
        return f"{kind}[{index}] ({id_key}={item[id_key]})"
    return f"{kind}[{index}]"


def _check_mapping(item: Any, allowed: set, required: set, file: str, label: str, errors: list[SeedError]) -> bool:
    if not isinstance(item, dict):
        errors.append(SeedError(file, label, "must be a mapping"))
        return False
    ok = True
    for key in sorted(set(item) - allowed):
        errors.append(SeedError(file, f"{label}.{key}", "unknown key"))
        ok = False
    for key in sorted(required):
        value = item.get(key)
        if value is None or value == "" or value == []:
            errors.append(SeedError(file, f"{label}.{key}", "missing" if key != "sources" else "missing: every entry needs at least one source URL"))
            ok = False
    return ok


def _claim(where: dict[str, str], kind: str, item_id: Any, file: str, label: str, errors: list[SeedError]) -> bool:
    key = f"{kind}:{item_id}"
    if key in where:
        errors.append(SeedError(file, f"{label}.id", f"duplicate {kind} id {item_id!r} (first defined in {where[key]})"))
        return False
    where[key] = file
    return True


def _valid_url(url: Any) -> bool:
    return isinstance(url, str) and url.startswith(("http://", "https://")) and " " not in url


def _date(value: Any, file: str, key: str, errors: list[SeedError]) -> dt.date | None:
    if value is None or isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        errors.append(SeedError(file, key, f"not a date (YYYY-MM-DD): {value!r}"))
        return None


def _plain(value: Any, file: str, key: str, errors: list[SeedError]) -> Any:
    """Free-form data as JSON can store it: dates become YYYY-MM-DD strings."""
    if isinstance(value, dict):
        for k in value:
            if not isinstance(k, str):
                errors.append(SeedError(file, f"{key}.{k}", "a key must be text (YAML reads no/yes/on/off as "
                                                           "true/false: quote it or rename it)"))
        return {str(k): _plain(v, file, f"{key}.{k}", errors) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v, file, f"{key}[{i}]", errors) for i, v in enumerate(value)]
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    errors.append(SeedError(file, key, f"unsupported value {value!r}"))
    return None


def _sources(item: dict, file: str, label: str, errors: list[SeedError]) -> list[str]:
    urls = item["sources"] if isinstance(item["sources"], list) else [item["sources"]]
    for url in urls:
        if not _valid_url(url):
            errors.append(SeedError(file, f"{label}.sources", f"not an http(s) URL: {url!r}"))
    return list(dict.fromkeys(urls))


def _confidence(item: dict, file: str, label: str, errors: list[SeedError]) -> str:
    confidence = item.get("confidence", "high")
    if confidence not in CONFIDENCE_LEVELS:
        errors.append(SeedError(file, f"{label}.confidence", f"must be one of {', '.join(CONFIDENCE_LEVELS)}"))
    return confidence


def _normalise_document(item: dict, file: str, label: str, errors: list[SeedError]) -> dict[str, Any]:
    if item["family"] not in FAMILIES:
        errors.append(SeedError(file, f"{label}.family", f"unknown family {item['family']!r} (one of {', '.join(FAMILIES)})"))
    return {
        "id": str(item["id"]),
        "family": item["family"],
        "edition": str(item["edition"]),
        "title": item["title"],
        "short_name": item.get("short_name"),
        "aliases": list(item.get("aliases") or []),
        "issuer": item.get("issuer"),
        "doc_number": item.get("doc_number"),
        "published": _date(item.get("published"), file, f"{label}.published", errors),
        "valid_from": _date(item.get("valid_from"), file, f"{label}.valid_from", errors),
        "valid_to": _date(item.get("valid_to"), file, f"{label}.valid_to", errors),
        "summary": _clean_text(item["summary"]),
        "structure": _plain(item.get("structure") or {}, file, f"{label}.structure", errors),
        "confidence": _confidence(item, file, label, errors),
        "status": _choice(item.get("status") or "正式", DOCUMENT_STATUSES, file, f"{label}.status", errors),
        "press_conference": _date(item.get("press_conference"), file, f"{label}.press_conference", errors),
        "articles": _count(item.get("articles"), file, f"{label}.articles", errors),
        "lead_departments": _names(item.get("lead_departments"), file, f"{label}.lead_departments", errors),
        "co_issuers": _names(item.get("co_issuers"), file, f"{label}.co_issuers", errors),
        "sources": _sources(item, file, label, errors),
    }


def _choice(value: Any, allowed: tuple[str, ...], file: str, key: str, errors: list[SeedError]) -> str | None:
    if value is None or value == "":
        return None
    if value not in allowed:
        errors.append(SeedError(file, key, f"{value!r} is not one of {', '.join(allowed)}"))
    return value


def _count(value: Any, file: str, key: str, errors: list[SeedError]) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        errors.append(SeedError(file, key, f"not a positive whole number: {value!r}"))
        return None
    return value


def _names(value: Any, file: str, key: str, errors: list[SeedError]) -> list[str] | None:
    """A list of names; one name alone is taken as a list of one."""
    if value is None or value == [] or value == "":
        return None
    items = value if isinstance(value, list) else [value]
    if not all(isinstance(v, str) and v.strip() for v in items):
        errors.append(SeedError(file, key, "must be a list of names"))
        return None
    return [v.strip() for v in items]


def _channel(value: Any, file: str, key: str, errors: list[SeedError]) -> dict[str, Any] | None:
    """{name, url, note}: where a firm applies. name 未找到 records a search that found nothing (say what in note)."""
    if value is None:
        return None
    if isinstance(value, str):
        value = {"name": value}
    if not _check_mapping(value, CHANNEL_KEYS, {"name"}, file, key, errors):
        return None
    if value.get("url") is not None and not _valid_url(value["url"]):
        errors.append(SeedError(file, f"{key}.url", f"not an http(s) URL: {value['url']!r}"))
    if value["name"] == NOT_FOUND and not value.get("note"):
        errors.append(SeedError(file, f"{key}.note", f"missing: a channel {NOT_FOUND} says what was searched"))
    return {k: _clean_text(value.get(k)) if k != "url" else value.get(k) for k in ("name", "url", "note")}


def _window(value: Any, file: str, key: str, errors: list[SeedError]) -> dict[str, Any] | None:
    """{from, until, call, source, note, recurs}: the application window of one call, dates as YYYY-MM-DD.

    A window without dates must say 未找到 in its note, with what was searched. `recurs: yearly` marks a standing
    programme with a call every year, whose latest edition in the knowledge base still applies once it lapses.
    """
    if value is None:
        return None
    if not _check_mapping(value, WINDOW_KEYS, set(), file, key, errors):
        return None
    start = _date(value.get("from"), file, f"{key}.from", errors)
    until = _date(value.get("until"), file, f"{key}.until", errors)
    if start and until and start > until:
        errors.append(SeedError(file, f"{key}.until", f"before from ({start.isoformat()})"))
    if value.get("source") is not None and not _valid_url(value["source"]):
        errors.append(SeedError(file, f"{key}.source", f"not an http(s) URL: {value['source']!r}"))
    if not start and not until and NOT_FOUND not in str(value.get("note") or ""):
        errors.append(SeedError(file, key, f"no from/until: give a date or a note saying {NOT_FOUND} and what was searched"))
    if value.get("recurs") is not None and value["recurs"] not in RECURRENCES:
        errors.append(SeedError(file, f"{key}.recurs", f"one of {', '.join(RECURRENCES)}, not {value['recurs']!r}"))
    if (start or until) and not value.get("source"):
        errors.append(SeedError(file, f"{key}.source", "missing: a window's dates need the URL they come from"))
    return {"from": start.isoformat() if start else None, "until": until.isoformat() if until else None,
            "call": _clean_text(value.get("call")), "source": value.get("source"), "note": _clean_text(value.get("note")),
            **({"recurs": value["recurs"]} if value.get("recurs") else {})}


def _normalise_measure(item: dict, file: str, label: str, errors: list[SeedError]) -> dict[str, Any]:
    benefits = []
    for index, benefit in enumerate(_as_list(item.get("benefits"), file, f"{label}.benefits", errors)):
        key = f"{label}.benefits[{index}]"
        if not _check_mapping(benefit, BENEFIT_KEYS, {"what"}, file, key, errors):
            continue
        amount = benefit.get("amount")
        if amount is not None and (isinstance(amount, bool) or not isinstance(amount, (int, float))):
            errors.append(SeedError(file, f"{key}.amount", f"not a number: {amount!r}"))
        elif amount is not None and not benefit.get("unit"):
            errors.append(SeedError(file, f"{key}.unit", "missing: an amount needs its unit (万元, %, 亿元, …)"))
        benefits.append({k: benefit.get(k) for k in ("what", "amount", "unit", "note")})
    number = item.get("number")
    if number is not None and (isinstance(number, bool) or not isinstance(number, int) or number < 1):
        errors.append(SeedError(file, f"{label}.number", f"not an article number: {number!r}"))
    rule = item.get("rule")
    if rule is not None and not isinstance(rule, dict):
        errors.append(SeedError(file, f"{label}.rule", "must be a mapping (all/any/not over conditions)"))
    elif rule is not None:
        from kb.eligibility.rulebook import (
            check_rule,  # the rule grammar and field registry; late import keeps loading light
        )

        for problem in check_rule(rule, path=f"{label}.rule"):
            key, _, text = problem.partition(": ")
            errors.append(SeedError(file, key, text))
    return {
        "id": str(item["id"]),
        "document": str(item["document"]),
        "number": number,
        "aspect": item.get("aspect"),
        "title": item["title"],
        "summary": _clean_text(item["summary"]),
        "outline_only": bool(item.get("outline_only", False)),
        "benefits": benefits,
        "department": item.get("department"),
        "contact": item.get("contact"),
        "how_to_apply": _clean_text(item.get("how_to_apply")),
        "keywords": [str(k) for k in item.get("keywords") or []],
        "rule": rule,
        "valid_from": _date(item.get("valid_from"), file, f"{label}.valid_from", errors),
        "valid_to": _date(item.get("valid_to"), file, f"{label}.valid_to", errors),
        "confidence": _confidence(item, file, label, errors),
        "note": _clean_text(item.get("note")),
        "internal_note": _clean_text(item.get("internal_note")),
        "internal_contact": item.get("internal_contact"),
        "applies_by": _choice(item.get("applies_by"), APPLIES_BY, file, f"{label}.applies_by", errors),
        "channel": _channel(item.get("channel"), file, f"{label}.channel", errors),
        "application_window": _window(item.get("application_window"), file, f"{label}.application_window", errors),
        "materials": _names(item.get("materials"), file, f"{label}.materials", errors),
        "sources": _sources(item, file, label, errors),
    }
