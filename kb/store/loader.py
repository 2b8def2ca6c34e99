"""Loading curated YAML into the knowledge base: validate everything, then write once.

A load either applies every file or nothing: problems are collected across all
files first (each names its file and key), and only a clean input is written,
in one transaction that also records a revision.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from kb.errors import SeedError, ValidationFailed
from kb.paths import SEED_DIR
from kb.store.models import (
    APPLIES_BY,
    CONFIDENCE_LEVELS,
    DOCUMENT_STATUSES,
    FAMILIES,
    NOT_FOUND,
    SOURCE_KINDS,
    Document,
    Measure,
    Revision,
    Source,
)


def default_seed_dir() -> Path:
    """`HUIQI_SEED_DIR`, else the curated seed shipped in kb/seed/."""
    return Path(os.environ.get("HUIQI_SEED_DIR") or SEED_DIR)


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
WINDOW_KEYS = {"from", "until", "call", "source", "note"}
TOP_KEYS = {"documents", "measures", "sources"}


@dataclass
class SeedData:
    """Validated, normalised content of one or more seed files."""

    documents: dict[str, dict[str, Any]] = field(default_factory=dict)
    measures: dict[str, dict[str, Any]] = field(default_factory=dict)
    sources: dict[str, dict[str, Any]] = field(default_factory=dict)
    checksum: str = ""


@dataclass
class LoadResult:
    revision_id: int | None
    added: list[str]
    changed: list[str]
    removed: list[str]

    @property
    def unchanged(self) -> bool:
        return self.revision_id is None


def seed_files(directory: Path | None = None) -> list[Path]:
    return sorted((directory or default_seed_dir()).glob("*.yaml"))


def read_seed(paths: Iterable[Path]) -> SeedData:
    """Parse and validate files; raise ValidationFailed listing every problem."""
    state = Validation()
    for path in paths:
        raw = path.read_bytes()
        state.digest.update(path.name.encode() + b"\0" + raw)
        content = parse_yaml(raw, path.name, state.errors)
        if content is not None:
            validate_content(content, path.name, state)
    return state.finish()


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

    for index, item in enumerate(_as_list(content.get("documents"), file, "documents", errors)):
        label = _label("documents", index, item)
        if not _check_mapping(item, DOCUMENT_KEYS, DOCUMENT_REQUIRED, file, label, errors):
            continue
        if not _claim(where, "document", item["id"], file, label, errors):
            continue
        document = _normalise_document(item, file, label, errors)
        data.documents[document["id"]] = document

    for index, item in enumerate(_as_list(content.get("measures"), file, "measures", errors)):
        label = _label("measures", index, item)
        if not _check_mapping(item, MEASURE_KEYS, MEASURE_REQUIRED, file, label, errors):
            continue
        if not _claim(where, "measure", item["id"], file, label, errors):
            continue
        measure = _normalise_measure(item, file, label, errors)
        data.measures[measure["id"]] = measure
        state.document_refs.append((file, label, measure["document"]))


def load_seed(session: Session, data: SeedData, *, author: str = "seed", force: bool = False) -> LoadResult:
    """Make the seed-origin rows equal `data`, in the caller's transaction.

    Rows that admins added (origin other than "seed") are never touched. Skips
    the write when the same seed was the last one loaded, unless `force`.
    """
    from kb.admin.revisions import lock_for_change  # imported late, like the exporter below

    lock_for_change(session)  # an admin import running now finishes first
    last_seed = session.execute(
        select(Revision).where(Revision.action == "seed").order_by(Revision.id.desc()).limit(1)
    ).scalar_one_or_none()
    if last_seed is not None and last_seed.checksum == data.checksum and not force:
        return LoadResult(None, [], [], [])

    sources = upsert_sources(session, data)
    added: list[str] = []
    changed: list[str] = []
    existing_documents = {d.id: d for d in session.execute(select(Document)).scalars()}
    existing_measures = {m.id: m for m in session.execute(select(Measure)).scalars()}

    for model, items in ((Document, data.documents), (Measure, data.measures)):
        new, differing = upsert_rows(session, model, items, sources, origin="seed")
        added += new
        changed += differing

    gone = [m for m in existing_measures.values() if m.origin == "seed" and m.id not in data.measures]
    gone += [d for d in existing_documents.values() if d.origin == "seed" and d.id not in data.documents]
    removed = [row.id for row in gone]
    for row in gone:
        session.delete(row)
    session.flush()

    from kb.store.exporter import export_data  # the exporter reads models; imported late to keep layers one-way

    revision = Revision(
        author=author,
        action="seed",
        message=f"seed: {len(added)} added, {len(changed)} changed, {len(removed)} removed",
        checksum=data.checksum,
        changes={"added": added, "changed": changed, "removed": removed},
        snapshot=export_data(session),
    )
    session.add(revision)
    session.flush()
    return LoadResult(revision.id, added, changed, removed)


# --- validation helpers -------------------------------------------------------------------------

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
    """{from, until, call, source, note}: the application window of one call, dates as YYYY-MM-DD.

    A window without dates must say 未找到 in its note, with what was searched.
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
    if (start or until) and not value.get("source"):
        errors.append(SeedError(file, f"{key}.source", "missing: a window's dates need the URL they come from"))
    return {"from": start.isoformat() if start else None, "until": until.isoformat() if until else None,
            "call": _clean_text(value.get("call")), "source": value.get("source"), "note": _clean_text(value.get("note"))}


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


# --- writing helpers ----------------------------------------------------------------------------


def upsert_sources(session: Session, data: SeedData) -> dict[str, Source]:
    """Every source the data refers to or describes, by URL, created where missing; shared by seed and import."""
    existing = {s.url: s for s in session.execute(select(Source)).scalars()}
    wanted = {url for fields in [*data.documents.values(), *data.measures.values()] for url in fields["sources"]}
    for url in sorted((wanted | set(data.sources)) - set(existing)):
        existing[url] = Source(url=url)
        session.add(existing[url])
    for url, meta in data.sources.items():
        for key in ("title", "publisher", "kind"):
            if key in meta:  # a key left out keeps what the database has
                setattr(existing[url], key, meta[key])
    return existing


def assign_fields(row: Document | Measure, fields: dict[str, Any], sources: dict[str, Source]) -> None:
    """Copy validated fields onto a row; "document" (a measure's reference) goes in as document_id."""
    for key, value in fields.items():
        if key == "document":
            row.document_id = value
        elif key != "sources":
            setattr(row, key, value)
    row.sources = [sources[url] for url in fields["sources"]]


def upsert_rows(session: Session, model: type[Document] | type[Measure], items: dict[str, dict[str, Any]],
                sources: dict[str, Source], *, origin: str) -> tuple[list[str], list[str]]:
    """Create or update one row of `model` per id in `items`; return the ids added and the ids whose fields changed."""
    added: list[str] = []
    changed: list[str] = []
    for row_id, fields in items.items():
        row = session.get(model, row_id)
        if row is None:
            row = model(id=row_id, origin=origin)
            session.add(row)
            added.append(row_id)
        elif _row_differs(row, fields):
            changed.append(row_id)
        assign_fields(row, fields, sources)
    return added, changed


def _row_differs(row: Document | Measure, fields: dict[str, Any]) -> bool:
    for key, value in fields.items():
        if key == "document":
            key, value = "document_id", value
        if key == "sources":
            current = [s.url for s in row.sources]
        else:
            current = getattr(row, key)
        if json.dumps(current, default=str, sort_keys=True) != json.dumps(value, default=str, sort_keys=True):
            return True
    return False


def seed_database(url: str, *, author: str = "seed") -> None:
    """Create or upgrade the schema at `url` and load the curated seed: a ready knowledge base."""
    from kb.store.db import make_engine, make_sessionmaker
    from kb.store.schema import create_schema

    engine = make_engine(url)
    try:
        create_schema(engine)
        with make_sessionmaker(engine).begin() as session:
            load_seed(session, read_seed(seed_files()), author=author)
    finally:
        engine.dispose()
