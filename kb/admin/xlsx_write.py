"""Write the knowledge base (or an empty template) as an Excel workbook in the layout of kb.admin.sheets."""

from __future__ import annotations

import io
import json
from typing import Any

import yaml

from kb.admin.sheets import HELP_SHEET, SHEETS
from kb.eligibility.profile import FIELDS


def _join(values: list[Any] | None, separator: str = "、") -> str | None:
    return separator.join(str(v) for v in values) if values else None


def _rule_rows(measure_id: str, rule: dict[str, Any] | None) -> list[list[Any]] | None:
    """Condition rows for a rule of the shape the 条件 sheet can say, else None (it goes to 规则 as YAML)."""
    if not rule:
        return []
    parts = rule["all"] if set(rule) == {"all"} else [rule]
    rows: list[list[Any]] = []

    def condition(node: dict[str, Any], group: str | None) -> list[Any] | None:
        if set(node) == {"category"}:
            return [measure_id, group, "类别", None, node["category"], None, None]
        if "field" not in node or set(node) - {"field", "op", "value", "explain", "ref"}:
            return None
        value = node.get("value")
        if isinstance(value, list):
            value = "、".join(str(v) for v in value)
        return [measure_id, group, node["field"], node["op"], value, node.get("explain"), node.get("ref")]

    for index, part in enumerate(parts):
        if set(part) == {"any"} and len(parts) > 1 and isinstance(part["any"], list) and len(part["any"]) > 1:
            for child in part["any"]:
                row = condition(child, str(index + 1))
                if row is None:
                    return None
                rows.append(row)
        else:
            row = condition(part, None)
            if row is None:
                return None
            rows.append(row)
    # Reading back must give the same rule: a lone any-group, or one condition under "all", would not.
    if len(parts) == 1 and set(rule) == {"all"}:
        return None
    return rows


def write_workbook(export: dict[str, list[dict[str, Any]]] | None = None) -> bytes:
    """Write the template (no export) or the whole knowledge base as an .xlsx workbook."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font

    export = export or {"documents": [], "measures": [], "firms": []}
    workbook = Workbook()
    workbook.remove(workbook.active)
    sheets = {}
    for name, columns in SHEETS.items():
        sheet = workbook.create_sheet(name)
        sheet.append([c.header for c in columns])
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        sheet.freeze_panes = "A2"
        for index, column in enumerate(columns, start=1):
            sheet.column_dimensions[sheet.cell(1, index).column_letter].width = max(10, min(40, len(column.header) * 3))
        sheets[name] = sheet

    for d in export.get("documents", []):
        sheets["文件"].append([d["id"], d["family"], d["edition"], d["title"], d["short_name"], _join(d["aliases"]),
                             d["issuer"], d["doc_number"], d["published"], d["valid_from"], d["valid_to"], d["summary"],
                             json.dumps(d["structure"], ensure_ascii=False) if d["structure"] else None,
                             d["confidence"], _join(d["sources"], "\n"), d.get("status"), d.get("press_conference"),
                             d.get("articles"), _join(d.get("lead_departments")), _join(d.get("co_issuers")), None])
    for m in export.get("measures", []):
        condition_rows = _rule_rows(m["id"], m["rule"])
        rule_text = None
        if condition_rows is None:
            rule_text = yaml.safe_dump(m["rule"], allow_unicode=True, sort_keys=False)
            condition_rows = []
        benefits = m["benefits"] or [{}]
        first = benefits[0]
        channel, window = m.get("channel") or {}, m.get("application_window") or {}
        sheets["措施"].append([m["id"], m["document_id"], m["number"], m["aspect_or_package"], m["title"], m["summary"],
                             "是" if m["outline_only"] else "否", first.get("what"), first.get("amount"),
                             first.get("unit"), first.get("note"), m["how_to_apply"], _join(m["keywords"]),
                             m["valid_from"], m["valid_to"], m["confidence"], m["note"], rule_text,
                             _join(m["sources"], "\n"), m.get("applies_by"), channel.get("name"), channel.get("url"),
                             channel.get("note"), window.get("from"), window.get("until"), window.get("call"),
                             window.get("source"), window.get("note"), window.get("recurs"),
                             _join(m.get("materials"), "\n"), None])
        for benefit in benefits[1:]:
            sheets["措施"].append([m["id"], None, None, None, None, None, None, benefit.get("what"), benefit.get("amount"),
                                 benefit.get("unit"), benefit.get("note")])
        for row in condition_rows:
            sheets["条件"].append(row)
        if any(m.get(k) for k in ("department", "contact", "internal_contact", "internal_note")):
            sheets["联系人"].append([m["id"], m["department"], m["contact"], m["internal_contact"], m["internal_note"]])
    for f in export.get("firms", []):
        facts = f["facts"]
        sheets["企业"].append([f["credit_code"], f["name"], *(
            _join(facts.get(name)) if FIELDS[name].kind == "certifications" else facts.get(name) for name in FIELDS), None])

    help_sheet = workbook.create_sheet(HELP_SHEET)
    help_sheet.append(["工作表", "列", "含义", "必填", "示例"])
    for cell in help_sheet[1]:
        cell.font = Font(bold=True)
    help_sheet.append(["（全部）", "", "导入是按编号的部分更新：表里有的新增或修改，没有的不动；删除须在“删除”列写“是”。"
                       "同一措施的多项补助：下一行写同一编号、标题留空，只填补助四列。导入前先校验，出错时什么也不改。", "", ""])
    for name, columns in SHEETS.items():
        for column in columns:
            help_sheet.append([name, column.header, column.meaning, "是" if column.required else "", column.example])
    for letter, width in zip("ABCDE", (10, 24, 90, 6, 30), strict=True):
        help_sheet.column_dimensions[letter].width = width
    for row in help_sheet.iter_rows(min_row=2):
        row[2].alignment = Alignment(wrap_text=True)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def template() -> bytes:
    """Return an empty workbook with every sheet, its Chinese headers, and the 说明 sheet."""
    return write_workbook(None)
