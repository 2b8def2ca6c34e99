"""Excel import: a workbook admins filled in, read into the import layout.

Sheets: 文件 (documents), 措施 (measures, one row per benefit: a row with the same 编号 and
an empty 标题 adds another benefit to the measure above), 条件 (a measure's eligibility
conditions: rows of one 条件组 are alternatives, groups must all hold), 联系人 (department and
contacts, including staff-only ones), 企业 (the firm registry) and 说明 (what every column
means). A workbook is validated by the same validator as YAML; its problems name the file,
sheet, row and column: `policies.xlsx, sheet 措施, row 14, column 补助上限: "五十万元以内" is not an amount`.
The layout is kb.admin.sheets; writing is kb.admin.xlsx_write.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import re
from collections.abc import Callable
from typing import Any

import yaml

from kb.admin.sheets import (
    CATEGORY_FIELD,
    CONFIDENCE_NAMES,
    HELP_SHEET,
    OP_NAMES,
    SHEETS,
    YES,
)
from kb.eligibility.profile import FIELDS
from kb.errors import SeedError, ValidationFailed
from kb.families import FAMILY_NAMES

_SPLIT = re.compile(r"[、,，;；\n]+")
_RECORD_KEY = re.compile(r"^(documents|measures|firms)\[(\d+)\](?: \([^)]*\))?(?:\.(.+))?$")


# --- reading ------------------------------------------------------------------------------------------


class _Sheetless:
    """Problems located by sheet, row and column, gathered while reading a workbook."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.errors: list[SeedError] = []

    def add(self, sheet: str, row: int | None, column: str | None, problem: str) -> None:
        where = f"sheet {sheet}" + (f", row {row}" if row else "") + (f", column {column}" if column else "")
        self.errors.append(SeedError(self.file, where, problem))


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).strip()
    return text or None


def _list(value: Any) -> list[str]:
    text = _text(value)
    return [part.strip() for part in _SPLIT.split(text) if part.strip()] if text else []


def _number(text: str) -> float | int | None:
    try:
        number = float(text.replace(",", ""))
    except ValueError:
        return None
    return int(number) if number.is_integer() else number


def _cell_date(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.date()
    return _text(value) if not isinstance(value, dt.date) else value


def _rows(sheet, name: str, problems: _Sheetless) -> list[tuple[int, dict[str, Any]]]:
    """Rows as {key: cell value}, located by their Excel row number; unknown headers are problems."""
    columns = {column.header: column for column in SHEETS[name]}
    rows = list(sheet.iter_rows(values_only=True))
    if not rows:
        return []
    headers = [_text(h) for h in rows[0]]
    keys: list[str | None] = []
    for header in headers:
        if header is None:
            keys.append(None)
        elif header in columns:
            keys.append(columns[header].key)
        else:
            problems.add(name, 1, header, f"unknown column (columns of {name}: {'、'.join(columns)})")
            keys.append(None)
    result = []
    for number, values in enumerate(rows[1:], start=2):
        record = {key: value for key, value in zip(keys, values, strict=False) if key and value is not None and _text(value) is not None}
        if record:
            result.append((number, record))
    return result


class _Locator:
    """Maps the validator's record keys (measures[3] (id=x).benefits[1].amount) back to sheet, row and column."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.records: dict[tuple[str, int], dict[str, Any]] = {}
        self.removals: dict[tuple[str, int], tuple[str, int]] = {}

    def __call__(self, error: SeedError) -> SeedError:
        if error.file != self.file:
            return error
        match = _RECORD_KEY.match(error.key)
        removal = re.match(r"^remove\.(\w+)\[(\d+)\]", error.key)
        if removal and (removal[1], int(removal[2])) in self.removals:
            sheet, row = self.removals[(removal[1], int(removal[2]))]
            return SeedError(self.file, f"sheet {sheet}, row {row}, column 编号", error.problem)
        if not match or (match[1], int(match[2])) not in self.records:
            return error
        place = self.records[(match[1], int(match[2]))]
        rest = match[3] or ""
        sheet, row, column = place["sheet"], place["row"], None
        head = rest.split(".")[0].split("[")[0]
        if head == "benefits":
            benefit = re.match(r"benefits\[(\d+)\](?:\.(\w+))?", rest)
            if benefit:
                row = place["benefit_rows"][int(benefit[1])] if int(benefit[1]) < len(place["benefit_rows"]) else row
                column = _header("措施", f"benefit_{benefit[2]}") if benefit[2] else None
        elif head == "rule" and place.get("rule_rows"):
            path = rest
            best = max((p for p in place["rule_rows"] if path == p or path.startswith(p + ".")), key=len, default=None)
            if best is not None:
                sheet, row = "条件", place["rule_rows"][best]
                leaf = path[len(best) + 1:].split(".")[0].split("[")[0] if path != best else ""
                column = _header("条件", leaf) if leaf else None
            else:
                column = "规则"
        elif head in ("department", "contact", "internal_contact", "internal_note") and place.get("contact_row"):
            sheet, row, column = "联系人", place["contact_row"], _header("联系人", head)
        elif head in ("channel", "application_window"):
            leaf = rest.split(".")[1] if "." in rest else "from"
            column = _header("措施", f"{'channel' if head == 'channel' else 'window'}_{leaf}")
        elif head == "facts":
            fact = rest.split(".")[1].split("[")[0] if "." in rest else ""
            column = _header("企业", f"fact:{fact}")
        elif head:
            column = _header(sheet, head)
        where = f"sheet {sheet}, row {row}" + (f", column {column}" if column else "")
        return SeedError(self.file, where, error.problem)


def _header(sheet: str, key: str) -> str | None:
    return next((c.header for c in SHEETS[sheet] if c.key == key), None)


def read_workbook(raw: bytes, file: str) -> tuple[dict[str, Any], Callable[[SeedError], SeedError]]:
    """Read a workbook into the import layout, with a locator for the validator's problems.

    Raises ValidationFailed at once for an unreadable file, and for cells whose type is wrong
    (a text in a number column), together with the other problems of the workbook's layout.
    """
    import zipfile

    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        workbook = load_workbook(io.BytesIO(raw), read_only=True, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, ValueError, OSError) as exc:
        raise ValidationFailed([SeedError(file, "(file)", f"not a readable Excel workbook (.xlsx): {exc}")]) from None
    problems = _Sheetless(file)
    locate = _Locator(file)
    content: dict[str, Any] = {}
    sheets = {}
    for name in workbook.sheetnames:
        if name == HELP_SHEET:
            continue
        if name not in SHEETS:
            problems.add(name, None, None, f"unknown sheet (sheets: {'、'.join([*SHEETS, HELP_SHEET])})")
            continue
        sheets[name] = _rows(workbook[name], name, problems)
    workbook.close()

    remove: dict[str, list[str]] = {}

    def removed(kind: str, sheet: str, row: int, item_id: str) -> None:
        locate.removals[(kind, len(remove.setdefault(kind, [])))] = (sheet, row)
        remove[kind].append(item_id)

    documents = []
    for row, record in sheets.get("文件", []):
        if _text(record.get("_delete", "")) in YES:
            removed("documents", "文件", row, _text(record.get("id")) or "")
            continue
        locate.records[("documents", len(documents))] = {"sheet": "文件", "row": row}
        documents.append(_document(record, row, problems))
    if documents:
        content["documents"] = documents

    measures: list[dict[str, Any]] = []
    by_id: dict[str, dict[str, Any]] = {}
    last_id = None
    for row, record in sheets.get("措施", []):
        item_id = _text(record.get("id"))
        if _text(record.get("_delete", "")) in YES:
            removed("measures", "措施", row, item_id or "")
            continue
        benefit = _benefit(record, row, problems)
        if item_id and item_id == last_id and not record.get("title"):
            if benefit:
                measure = by_id[item_id]
                measure["benefits"].append(benefit)
                locate.records[("measures", measure["_index"])]["benefit_rows"].append(row)
            continue
        last_id = item_id
        measure = _measure(record, row, problems)
        measure["benefits"] = [benefit] if benefit else []
        measure["_index"] = len(measures)
        locate.records[("measures", len(measures))] = {"sheet": "措施", "row": row, "benefit_rows": [row] if benefit else []}
        measures.append(measure)
        if item_id and item_id not in by_id:
            by_id[item_id] = measure

    conditions: dict[str, list[tuple[int, dict[str, Any]]]] = {}
    for row, record in sheets.get("条件", []):
        measure_id = _text(record.get("measure"))
        if measure_id not in by_id:
            problems.add("条件", row, "措施编号", f"{measure_id!r} is not a measure of sheet 措施")
            continue
        conditions.setdefault(measure_id, []).append((row, record))
    for measure_id, rows in conditions.items():
        measure = by_id[measure_id]
        if measure.get("rule") is not None:
            problems.add("条件", rows[0][0], "措施编号", f"measure {measure_id!r} already has a 规则 in sheet 措施; use one of the two")
            continue
        rule, rule_rows = _rule(rows, problems)
        measure["rule"] = rule
        locate.records[("measures", measure["_index"])]["rule_rows"] = rule_rows

    for row, record in sheets.get("联系人", []):
        measure_id = _text(record.get("measure"))
        if measure_id not in by_id:
            problems.add("联系人", row, "措施编号", f"{measure_id!r} is not a measure of sheet 措施")
            continue
        for key in ("department", "contact", "internal_contact", "internal_note"):
            if key in record:
                by_id[measure_id][key] = _text(record[key])
        locate.records[("measures", by_id[measure_id]["_index"])]["contact_row"] = row
    for measure in measures:
        measure.pop("_index")
    if measures:
        content["measures"] = measures

    firms = []
    for row, record in sheets.get("企业", []):
        if _text(record.get("_delete", "")) in YES:
            removed("firms", "企业", row, (_text(record.get("credit_code")) or "").upper())
            continue
        locate.records[("firms", len(firms))] = {"sheet": "企业", "row": row}
        firms.append(_firm(record, row, problems))
    if firms:
        content["firms"] = firms
    if remove:
        content["remove"] = remove
    if problems.errors:
        raise ValidationFailed(problems.errors)
    return content, locate


def _document(record: dict[str, Any], row: int, problems: _Sheetless) -> dict[str, Any]:
    family = _text(record.get("family"))
    document = {
        "id": _text(record.get("id")),
        "family": FAMILY_NAMES.get(family, family),
        "edition": _text(record.get("edition")),
        "title": _text(record.get("title")),
        "summary": _text(record.get("summary")),
        "sources": _list(record.get("sources")) or None,
    }
    for key in ("short_name", "issuer", "doc_number"):
        if key in record:
            document[key] = _text(record[key])
    if "aliases" in record:
        document["aliases"] = _list(record["aliases"])
    for key in ("published", "valid_from", "valid_to", "press_conference"):
        if key in record:
            document[key] = _cell_date(record[key])
    if "status" in record:
        document["status"] = _text(record["status"])
    for key in ("lead_departments", "co_issuers"):
        if key in record:
            document[key] = _list(record[key])
    if "articles" in record:
        articles = record["articles"]
        parsed = _number(articles.strip()) if isinstance(articles, str) else articles
        if not isinstance(parsed, (int, float)) or isinstance(parsed, bool) or not float(parsed).is_integer():
            problems.add("文件", row, "条数", f"\"{_text(articles)}\" is not a number of articles (write an integer)")
        else:
            document["articles"] = int(parsed)
    if "confidence" in record:
        document["confidence"] = CONFIDENCE_NAMES.get(_text(record["confidence"]), _text(record["confidence"]))
    if "structure" in record:
        try:
            document["structure"] = json.loads(str(record["structure"]))
        except json.JSONDecodeError:
            problems.add("文件", row, "结构", f"not JSON: {_text(record['structure'])!r}")
    return document


def _benefit(record: dict[str, Any], row: int, problems: _Sheetless) -> dict[str, Any] | None:
    if not any(key in record for key in ("benefit_what", "benefit_amount", "benefit_unit", "benefit_note")):
        return None
    amount = record.get("benefit_amount")
    if isinstance(amount, str):
        parsed = _number(amount.strip())
        if parsed is None:
            problems.add("措施", row, "补助上限", f"\"{amount.strip()}\" is not an amount (write a number; the unit goes in 单位)")
        amount = parsed
    elif isinstance(amount, float) and amount.is_integer():
        amount = int(amount)
    return {"what": _text(record.get("benefit_what")), "amount": amount,
            "unit": _text(record.get("benefit_unit")), "note": _text(record.get("benefit_note"))}


def _measure(record: dict[str, Any], row: int, problems: _Sheetless) -> dict[str, Any]:
    measure: dict[str, Any] = {
        "id": _text(record.get("id")),
        "document": _text(record.get("document")),
        "title": _text(record.get("title")),
        "summary": _text(record.get("summary")),
        "sources": _list(record.get("sources")) or None,
    }
    number = record.get("number")
    if number is not None:
        parsed = _number(str(number).strip()) if isinstance(number, str) else number
        if not isinstance(parsed, int) or isinstance(parsed, bool):
            problems.add("措施", row, "条号", f"\"{_text(number)}\" is not an article number (write an integer)")
        else:
            measure["number"] = parsed
    for key in ("aspect", "how_to_apply", "note"):
        if key in record:
            measure[key] = _text(record[key])
    if "outline_only" in record:
        measure["outline_only"] = _text(record["outline_only"]) in YES
    if "keywords" in record:
        measure["keywords"] = _list(record["keywords"])
    for key in ("valid_from", "valid_to"):
        if key in record:
            measure[key] = _cell_date(record[key])
    if "confidence" in record:
        measure["confidence"] = CONFIDENCE_NAMES.get(_text(record["confidence"]), _text(record["confidence"]))
    if "rule" in record:
        try:
            measure["rule"] = yaml.safe_load(str(record["rule"]))
        except yaml.YAMLError:
            problems.add("措施", row, "规则", "not valid YAML")
    if "applies_by" in record:
        measure["applies_by"] = _text(record["applies_by"])
    if "materials" in record:  # one per line: a material's own text may hold 、
        measure["materials"] = [line.strip() for line in (_text(record["materials"]) or "").split("\n") if line.strip()]
    channel = {key: _text(record[f"channel_{key}"]) for key in ("name", "url", "note") if f"channel_{key}" in record}
    if channel:
        measure["channel"] = channel
    window = {key: (_cell_date if key in ("from", "until") else _text)(record[f"window_{key}"])
              for key in ("from", "until", "call", "source", "note", "recurs") if f"window_{key}" in record}
    window = {key: value for key, value in window.items() if key != "recurs" or value}
    if window:
        measure["application_window"] = window
    return measure


def _condition_value(text: Any, field: str, op: str) -> Any:
    kind = FIELDS[field].kind if field in FIELDS else None

    def one(part: Any) -> Any:
        if not isinstance(part, str):
            return int(part) if isinstance(part, float) and part.is_integer() else part
        part = part.strip()
        if kind == "ratio" and part.endswith("%") and _number(part[:-1]) is not None:
            return round(_number(part[:-1]) / 100, 10)
        if kind in ("money", "count", "ratio", "year") and _number(part) is not None:
            return _number(part)
        return part

    if op in ("in", "not_in", "between") and isinstance(text, str):
        return [one(part) for part in _list(text)]
    if kind == "certifications" and op == "in":
        return [one(part) for part in _list(text)]
    return one(text)


def _rule(rows: list[tuple[int, dict[str, Any]]], problems: _Sheetless) -> tuple[dict[str, Any], dict[str, int]]:
    """Build {all: [condition | {any: [...]}]} from the condition rows, with each node's row for errors."""
    groups: dict[str, list[tuple[int, dict[str, Any]]]] = {}
    for position, (row, record) in enumerate(rows):
        group = _text(record.get("group")) or f"_row{position}"
        field_text = _text(record.get("field")) or ""
        field = next((name for name, spec in FIELDS.items() if field_text in (name, spec.label)), field_text)
        if field in CATEGORY_FIELD:
            node: dict[str, Any] = {"category": _text(record.get("value"))}
        else:
            op = _text(record.get("op")) or ""
            op = OP_NAMES.get(op, op)
            node = {"field": field, "op": op}
            if "value" in record:
                node["value"] = _condition_value(record["value"], field, op)
            for key in ("explain", "ref"):
                if key in record:
                    node[key] = _text(record[key])
        groups.setdefault(group, []).append((row, node))
    parts, where = [], {}
    for index, members in enumerate(groups.values()):
        if len(members) == 1:
            parts.append(members[0][1])
            where[f"rule.all[{index}]"] = members[0][0]
        else:
            parts.append({"any": [node for _, node in members]})
            where[f"rule.all[{index}]"] = members[0][0]
            for position, (row, _) in enumerate(members):
                where[f"rule.all[{index}].any[{position}]"] = row
    if len(parts) == 1:
        # A single condition is the rule itself; keep its row under the plain "rule" path.
        return parts[0], {key.replace("rule.all[0]", "rule", 1): row for key, row in where.items()}
    return {"all": parts}, where


def _firm(record: dict[str, Any], row: int, problems: _Sheetless) -> dict[str, Any]:
    facts: dict[str, Any] = {}
    for key, value in record.items():
        if not key.startswith("fact:"):
            continue
        name = key[5:]
        spec = FIELDS[name]
        if spec.kind == "certifications":
            facts[name] = _list(value)
        elif spec.kind in ("money", "count", "ratio", "year"):
            parsed = _condition_value(value, name, "eq")
            if not isinstance(parsed, (int, float)):
                problems.add("企业", row, _header("企业", key), f"\"{_text(value)}\" is not a number")
                continue
            facts[name] = parsed
        else:
            facts[name] = _text(value)
    return {"credit_code": (_text(record.get("credit_code")) or "").upper(), "name": _text(record.get("name")),
            "facts": facts}
