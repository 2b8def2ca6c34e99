"""Admin imports: the one path for every change an admin makes (CLI, API, admin page, Excel).

1. `read_import` parses a .yaml/.yml/.json or .xlsx file and validates every record with the
   seed loader's validator (kb.store.validation.validate_content), collecting every problem;
2. `apply_import` takes the change lock, checks references against the database, writes in the
   caller's transaction and records a revision (kb.admin.revisions). A dry run writes inside a
   savepoint that is rolled back, so its diff is exactly what applying would do.

An import file is a partial update: documents, measures and firms are upserted by id and
nothing else is touched. Removal is explicit (`remove: {measures: [id, …]}`), or the file says
`mode: replace`, and then whatever it does not list is removed. New rows get origin "admin";
seed rows may be updated and keep their origin. Records in the export layout (`document_id`,
`aspect_or_package`, with the read-only `family`, `edition`, `origin`) are accepted too, so an
export can be edited and imported back.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from kb.admin.revisions import ChangeResult, describe, diff_exports, diff_is_empty, record_revision
from kb.eligibility.matches import schedule as schedule_matching
from kb.eligibility.profile import FIELDS
from kb.errors import SeedError, ValidationFailed
from kb.paths import PROJECT_ROOT
from kb.store.exporter import export_data
from kb.store.loader import read_seed, seed_files, upsert_rows, upsert_sources
from kb.store.locking import lock_for_change
from kb.store.models import Document, Firm, Measure
from kb.store.validation import SeedData, Validation, parse_yaml, validate_content
from kb.terms import dictionary_words

IMPORT_TOP_KEYS = ("remove", "firms", "mode")
MODES = ("upsert", "replace")
REMOVE_KINDS = ("documents", "measures", "firms")
FIRM_KEYS = {"credit_code", "name", "facts", "origin"}
# Keys of the export layout that the importer maps (renamed) or ignores (derived, read-only).
_MEASURE_RENAMES = {"document_id": "document", "aspect_or_package": "aspect"}
_READ_ONLY = {"documents": {"origin"}, "measures": {"family", "edition", "origin"}}
SUFFIXES = (".yaml", ".yml", ".json", ".xlsx")


@dataclass
class ImportInput:
    """A validated import, not yet checked against the database."""

    name: str
    state: Validation
    firms: dict[str, dict[str, Any]] = field(default_factory=dict)
    remove: dict[str, list[str]] = field(default_factory=lambda: {kind: [] for kind in REMOVE_KINDS})
    replace: bool = False
    # Where each record came from, to name a sheet and row when the database check finds a problem.
    locate: Any = None

    @property
    def data(self) -> SeedData:
        """The validated records."""
        return self.state.data


def read_import(path: Path, *, name: str | None = None) -> ImportInput:
    """Read and validate an import file; raise ValidationFailed listing every problem, naming file and key."""
    name = name or path.name
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ValidationFailed([SeedError(name, "(file)", f"cannot be read: {exc.strerror or exc}")]) from exc
    return parse_import(raw, name)


def parse_import(raw: bytes, name: str) -> ImportInput:
    """Validate an import given as bytes (an upload); the file name's suffix picks the format."""
    suffix = Path(name).suffix.lower()
    if suffix not in SUFFIXES:
        raise ValidationFailed([SeedError(name, "(file)", f"unsupported file type (use {', '.join(SUFFIXES)})")])
    if suffix == ".xlsx":
        from kb.admin.xlsx_read import read_workbook  # openpyxl is loaded only for Excel files

        content, locate = read_workbook(raw, name)
    else:
        errors: list[SeedError] = []
        content = _parse_json(raw, name, errors) if suffix == ".json" else parse_yaml(raw, name, errors)
        if errors:
            raise ValidationFailed(errors)
        locate = None
    return validate_import(content, name, raw=raw, locate=locate)


def _parse_json(raw: bytes, name: str, errors: list[SeedError]) -> dict | None:
    try:
        content = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        errors.append(SeedError(name, "JSON", f"not valid JSON ({exc})"))
        return None
    if not isinstance(content, dict):
        errors.append(SeedError(name, "top level", "must be a mapping with documents/measures"))
        return None
    return content


def validate_import(content: dict, name: str, *, raw: bytes = b"", locate=None) -> ImportInput:
    """Validate parsed content (the seed layout plus remove/firms/mode, or the export layout)."""
    state = Validation()
    state.digest.update(raw or json.dumps(content, sort_keys=True, default=str, ensure_ascii=False).encode())
    content = _from_export_layout(content)
    validate_content(content, name, state, extra_top_keys=IMPORT_TOP_KEYS)
    result = ImportInput(name=name, state=state, locate=locate)
    mode = content.get("mode", "upsert")
    if mode not in MODES:
        state.errors.append(SeedError(name, "mode", f"must be one of {', '.join(MODES)}, not {mode!r}"))
    result.replace = mode == "replace"
    result.firms = _validate_firms(content.get("firms"), name, state.errors)
    result.remove = _validate_remove(content.get("remove"), name, state.errors, result)
    if locate is not None:
        state.errors[:] = [locate(error) for error in state.errors]
    if state.errors:
        raise ValidationFailed(state.errors)
    return result


def _from_export_layout(content: dict) -> dict:
    content = dict(content)
    for kind in ("documents", "measures"):
        items = content.get(kind)
        if not isinstance(items, list):
            continue
        converted = []
        for item in items:
            if isinstance(item, dict):
                item = {(_MEASURE_RENAMES.get(k, k) if kind == "measures" else k): v
                        for k, v in item.items() if k not in _READ_ONLY[kind]}
            converted.append(item)
        content[kind] = converted
    return content


def _validate_firms(items: Any, file: str, errors: list[SeedError]) -> dict[str, dict[str, Any]]:
    from kb.eligibility.firms import credit_code_problem, normalise_code
    from kb.eligibility.rulebook import _check_value  # the same value checks as rule conditions

    firms: dict[str, dict[str, Any]] = {}
    if items is None:
        return firms
    if not isinstance(items, list):
        errors.append(SeedError(file, "firms", "must be a list"))
        return firms
    for index, item in enumerate(items):
        label = f"firms[{index}]"
        if not isinstance(item, dict):
            errors.append(SeedError(file, label, "must be a mapping"))
            continue
        code = normalise_code(str(item.get("credit_code") or ""))
        label = f"firms[{index}] (credit_code={code})" if code else label
        for key in sorted(set(item) - FIRM_KEYS):
            errors.append(SeedError(file, f"{label}.{key}", "unknown key"))
        problem = credit_code_problem(code)
        if problem:
            errors.append(SeedError(file, f"{label}.credit_code", problem))
            continue
        if code in firms:
            errors.append(SeedError(file, f"{label}.credit_code", f"duplicate firm {code!r}"))
            continue
        if not item.get("name"):
            errors.append(SeedError(file, f"{label}.name", "missing"))
        facts = item.get("facts") or {}
        if not isinstance(facts, dict):
            errors.append(SeedError(file, f"{label}.facts", "must be a mapping of field → value"))
            facts = {}
        clean: dict[str, Any] = {}
        for key, value in facts.items():
            spec = FIELDS.get(key)
            if spec is None:
                errors.append(SeedError(file, f"{label}.facts.{key}", f"unknown firm fact (one of {', '.join(FIELDS)})"))
                continue
            problems: list[str] = []
            if spec.kind == "certifications":
                value = sorted(set(value if isinstance(value, list) else [value]))
                for position, item_value in enumerate(value):
                    _check_value(spec.kind, item_value, f"{label}.facts.{key}[{position}]", problems)
            else:
                _check_value(spec.kind, value, f"{label}.facts.{key}", problems)
            for problem in problems:
                where, _, text = problem.partition(": ")
                errors.append(SeedError(file, where, text))
            clean[key] = value
        firms[code] = {"name": str(item.get("name") or "").strip(), "facts": clean}
    return firms


def _validate_remove(value: Any, file: str, errors: list[SeedError], result: ImportInput) -> dict[str, list[str]]:
    remove: dict[str, list[str]] = {kind: [] for kind in REMOVE_KINDS}
    if value is None:
        return remove
    if not isinstance(value, dict):
        errors.append(SeedError(file, "remove", f"must be a mapping of {', '.join(REMOVE_KINDS)} to id lists"))
        return remove
    upserted = {"documents": result.data.documents, "measures": result.data.measures, "firms": result.firms}
    for kind, ids in value.items():
        if kind not in REMOVE_KINDS:
            errors.append(SeedError(file, f"remove.{kind}", f"unknown kind (one of {', '.join(REMOVE_KINDS)})"))
            continue
        if not isinstance(ids, list):
            errors.append(SeedError(file, f"remove.{kind}", "must be a list of ids"))
            continue
        for index, item_id in enumerate(ids):
            item_id = str(item_id)
            if item_id in upserted[kind]:
                errors.append(SeedError(file, f"remove.{kind}[{index}]", f"{item_id!r} is both imported and removed"))
            remove[kind].append(item_id)
    return remove


# --- applying ---------------------------------------------------------------------------------------


def _check_against_database(session: Session, plan: ImportInput) -> None:
    """Check what only the database can answer: documents that measures belong to, ids to remove."""
    documents = set(session.execute(select(Document.id)).scalars())
    existing = {
        "documents": documents,
        "measures": set(session.execute(select(Measure.id)).scalars()),
        "firms": set(session.execute(select(Firm.credit_code)).scalars()),
    }
    errors: list[SeedError] = []
    for kind, ids in plan.remove.items():
        for index, item_id in enumerate(ids):
            if item_id not in existing[kind]:
                errors.append(SeedError(plan.name, f"remove.{kind}[{index}]", f"no {kind[:-1]} with id {item_id!r} to remove"))
    removed_documents = set(plan.remove["documents"])
    known = (documents - removed_documents) if not plan.replace else set()
    plan.state.errors = errors
    try:
        plan.state.finish(known_documents=known)
    except ValidationFailed as failed:
        errors = failed.errors
        if plan.locate is not None:
            errors = [plan.locate(error) for error in errors]
        raise ValidationFailed(errors) from None


def _write(session: Session, plan: ImportInput) -> None:
    sources = upsert_sources(session, plan.data)
    upsert_rows(session, Document, plan.data.documents, sources, origin="admin")
    session.flush()
    upsert_rows(session, Measure, plan.data.measures, sources, origin="admin")
    for code, fields in plan.firms.items():
        row = session.get(Firm, code)
        if row is None:
            row = Firm(credit_code=code, origin="admin")
            session.add(row)
        row.name, row.facts = fields["name"], fields["facts"]
    session.flush()

    remove = {kind: set(ids) for kind, ids in plan.remove.items()}
    if plan.replace:
        remove["measures"] |= set(session.execute(select(Measure.id)).scalars()) - set(plan.data.measures)
        remove["documents"] |= set(session.execute(select(Document.id)).scalars()) - set(plan.data.documents)
        remove["firms"] |= set(session.execute(select(Firm.credit_code)).scalars()) - set(plan.firms)
    # A removed document takes its measures with it (the diff lists them).
    for model, kind in ((Measure, "measures"), (Document, "documents"), (Firm, "firms")):
        for item_id in sorted(remove[kind]):
            row = session.get(model, item_id)
            if row is not None:
                session.delete(row)
        session.flush()
    session.expire_all()


def apply_import(session: Session, plan: ImportInput, *, author: str, dry_run: bool = False) -> ChangeResult:
    """Check, write and record an import in the caller's transaction; a dry run leaves the database as it was."""
    lock_for_change(session)
    _check_against_database(session, plan)
    before = export_data(session)
    savepoint = session.begin_nested()
    _write(session, plan)
    after = export_data(session)
    diff = diff_exports(before, after)
    terms = retrain_terms(before, after)
    if dry_run or diff_is_empty(diff):
        savepoint.rollback()
        session.expire_all()
        return ChangeResult(None, diff, dry_run=dry_run, retrain_terms=terms)
    savepoint.commit()
    revision = record_revision(session, author=author, action="import",
                               message=f"导入 {plan.name}：{describe(diff)}", diff=diff, after=after,
                               checksum=plan.state.digest.hexdigest())
    result = ChangeResult(revision.id, diff, retrain_terms=terms)
    schedule_matching(session, revision.id, diff, result)  # 政策找企业, once the caller's transaction commits
    return result


def measure_input(record: dict[str, Any], *, name: str = "admin-form") -> ImportInput:
    """One measure edited in the admin page's form, as an import of that measure."""
    return validate_import({"measures": [record]}, name)


# --- vocabulary: when a retrain would help ------------------------------------------------------------

JIEBA_DIR = PROJECT_ROOT / "jieba_dict"
NLU_DIR = PROJECT_ROOT / "data" / "nlu"
# Terms admins added beyond the seed (`huiqi train` writes them); kb_terms.txt is the seed's (`huiqi nlu dict`).
ADMIN_TERMS_FILE = "admin_terms.txt"


@functools.lru_cache(maxsize=1)
def _seed_terms() -> frozenset[str]:
    data = read_seed(seed_files())
    documents = [{"short_name": d["short_name"], "aliases": d["aliases"]} for d in data.documents.values()]
    measures = [{"keywords": m["keywords"]} for m in data.measures.values()]
    return frozenset(_terms({"documents": documents, "measures": measures}))


def nlu_vocabulary(jieba_dir: Path = JIEBA_DIR, nlu_dir: Path = NLU_DIR, *, with_seed: bool = True) -> set[str]:
    """Words the NLU already has: the jieba dictionaries, the entity synonyms' examples and the curated seed's terms.

    The seed's own terms count as known: the model in use was trained with the seed as it is, and
    adding them would retrain every fresh clone; only what admins add beyond it suggests a retrain.
    """
    words: set[str] = set(_seed_terms()) if with_seed else set()
    for path in sorted(jieba_dir.glob("*.txt")):
        words |= dictionary_words(path)
    for path in sorted(nlu_dir.glob("*.yml")):
        try:
            content = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError:
            continue
        for item in content.get("nlu") or []:
            if isinstance(item, dict) and "synonym" in item:
                words.add(str(item["synonym"]))
                words.update(line.lstrip("- ").strip() for line in str(item.get("examples", "")).splitlines())
    return {w for w in words if w}


def _terms(export: dict) -> set[str]:
    terms = set()
    for document in export.get("documents", []):
        terms.update(filter(None, [document.get("short_name"), *(document.get("aliases") or [])]))
    for measure in export.get("measures", []):
        terms.update(measure.get("keywords") or [])
    return {t.strip() for t in terms if t and 2 <= len(t.strip()) <= 20}


def retrain_terms(before: dict, after: dict, vocabulary: set[str] | None = None) -> tuple[str, ...]:
    """Keywords, short names and aliases a change adds that the NLU's vocabulary lacks (→ 建议重新训练)."""
    vocabulary = nlu_vocabulary() if vocabulary is None else vocabulary
    return tuple(sorted(_terms(after) - _terms(before) - vocabulary))


def missing_terms(export: dict, vocabulary: set[str] | None = None) -> tuple[str, ...]:
    """Every knowledge-base term the NLU's vocabulary lacks; `huiqi train` adds them to the jieba dictionary."""
    vocabulary = nlu_vocabulary() if vocabulary is None else vocabulary
    return tuple(sorted(_terms(export) - vocabulary))

