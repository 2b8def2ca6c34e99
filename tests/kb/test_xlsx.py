"""Excel: the template, import with errors named by file, sheet, row and column, and export round trips."""

from __future__ import annotations

import io
import json

import pytest
from openpyxl import load_workbook

from kb.admin.importer import apply_import, parse_import
from kb.admin.sheets import SHEETS
from kb.admin.xlsx_write import template, write_workbook
from kb.errors import ValidationFailed
from kb.store.exporter import export_data
from kb.store.models import Measure

MEASURE_ROW = {"编号": "admin-xlsx-1", "所属文件": "pe32-2023", "标题": "海外仓建设补助", "摘要": "新建公共海外仓给予补助。",
               "补助内容": "建设补助", "补助上限": 50, "单位": "万元", "关键词": "海外仓、公共海外仓",
               "来源网址": "https://example.org/xlsx-1"}


def workbook(sheets: dict[str, list[dict]]) -> bytes:
    """Fill the template with rows given by header."""
    book = load_workbook(io.BytesIO(template()))
    for name, rows in sheets.items():
        headers = [c.header for c in SHEETS[name]]
        for row in rows:
            book[name].append([row.get(h) for h in headers])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def export_bytes(sessions) -> bytes:
    with sessions() as session:
        return json.dumps(export_data(session), ensure_ascii=False, sort_keys=True).encode()


def import_bytes(sessions, raw: bytes, name: str = "policies.xlsx", dry_run: bool = False):
    plan = parse_import(raw, name)
    with sessions.begin() as session:
        return apply_import(session, plan, author="excel", dry_run=dry_run)


def test_the_template_has_every_sheet_with_chinese_headers_and_an_explanation_sheet():
    book = load_workbook(io.BytesIO(template()))
    assert book.sheetnames == ["文件", "措施", "条件", "联系人", "企业", "说明"]
    assert [c.value for c in book["措施"][1]][:6] == ["编号", "所属文件", "条号", "方面", "标题", "摘要"]
    explained = {(row[0], row[1]) for row in book["说明"].iter_rows(min_row=2, values_only=True)}
    for name, columns in SHEETS.items():
        for column in columns:
            assert (name, column.header) in explained


def test_a_measure_with_two_benefits_a_condition_group_and_a_contact_is_imported(seeded):
    raw = workbook({
        "措施": [MEASURE_ROW, {"编号": "admin-xlsx-1", "补助内容": "运营奖励", "补助上限": 20, "单位": "万元"}],
        "条件": [{"措施编号": "admin-xlsx-1", "字段": "员工人数", "运算": "不超过", "值": 300, "说明": "员工不超过300人"},
                 {"措施编号": "admin-xlsx-1", "条件组": "a", "字段": "region", "运算": "in_group", "值": "山区26县"},
                 {"措施编号": "admin-xlsx-1", "条件组": "a", "字段": "certifications", "运算": "contains", "值": "高新技术企业"}],
        "联系人": [{"措施编号": "admin-xlsx-1", "主管部门": "省商务厅", "内部联系人": "张三"}],
    })
    result = import_bytes(seeded, raw)
    assert result.diff["measures"]["added"] == ["admin-xlsx-1"]
    with seeded() as session:
        measure = session.get(Measure, "admin-xlsx-1")
        assert [b["amount"] for b in measure.benefits] == [50, 20]
        assert measure.rule == {"all": [
            {"field": "employees", "op": "le", "value": 300, "explain": "员工不超过300人"},
            {"any": [{"field": "region", "op": "in_group", "value": "山区26县"},
                     {"field": "certifications", "op": "contains", "value": "高新技术企业"}]}]}
        assert (measure.department, measure.internal_contact, measure.origin) == ("省商务厅", "张三", "admin")


def test_the_whole_knowledge_base_exported_to_excel_imports_back_unchanged(seeded):
    with seeded() as session:
        data = export_data(session)
    assert import_bytes(seeded, write_workbook(data), dry_run=True).unchanged


BAD_CASES = [
    ("a text in a number column", {"措施": [MEASURE_ROW, {**MEASURE_ROW, "编号": "admin-xlsx-2", "补助上限": "五十万元以内"}]},
     'policies.xlsx, sheet 措施, row 3, column 补助上限: "五十万元以内" is not an amount'),
    ("a missing source URL", {"措施": [{**MEASURE_ROW, "来源网址": None}]},
     "policies.xlsx, sheet 措施, row 2, column 来源网址: missing: every entry needs at least one source URL"),
    ("a duplicate id", {"措施": [MEASURE_ROW, {**MEASURE_ROW, "所属文件": "pe32-2023", "标题": "另一条"}]},
     "policies.xlsx, sheet 措施, row 3, column 编号: duplicate measure id 'admin-xlsx-1'"),
    ("an unknown family", {"文件": [{"编号": "bj-2026", "政策族": "北京政策", "版本": "2026", "标题": "北京", "摘要": "x",
                                    "来源网址": "https://example.org/bj"}]},
     "policies.xlsx, sheet 文件, row 2, column 政策族: unknown family '北京政策'"),
    ("a rule on an unknown field", {"措施": [MEASURE_ROW], "条件": [
        {"措施编号": "admin-xlsx-1", "字段": "warehouse_area", "运算": "ge", "值": 1000}]},
     "policies.xlsx, sheet 条件, row 2, column 字段: 未知的企业信息字段 'warehouse_area'"),
    ("a measure of an unknown document", {"措施": [{**MEASURE_ROW, "所属文件": "pe99"}]},
     "policies.xlsx, sheet 措施, row 2, column 所属文件: no document with id 'pe99'"),
]


@pytest.mark.parametrize(("case", "sheets", "expected"), BAD_CASES, ids=[c[0] for c in BAD_CASES])
def test_bad_excel_input_is_named_by_file_sheet_row_and_column_and_changes_nothing(seeded, case, sheets, expected):
    before = export_bytes(seeded)
    with pytest.raises(ValidationFailed) as caught:
        import_bytes(seeded, workbook(sheets))
    found = [str(e) for e in caught.value.errors]
    assert any(p.startswith(expected) for p in found), found
    assert export_bytes(seeded) == before


def test_a_broken_xlsx_is_rejected_and_changes_nothing(seeded):
    before = export_bytes(seeded)
    with pytest.raises(ValidationFailed) as caught:
        import_bytes(seeded, workbook({"措施": [MEASURE_ROW]})[:2000])
    assert str(caught.value.errors[0]).startswith("policies.xlsx, (file): not a readable Excel workbook (.xlsx)")
    assert export_bytes(seeded) == before


def test_an_unknown_column_is_named_by_sheet_and_header():
    book = load_workbook(io.BytesIO(template()))
    book["措施"].cell(1, 30, "补助金额")
    buffer = io.BytesIO()
    book.save(buffer)
    with pytest.raises(ValidationFailed) as caught:
        parse_import(buffer.getvalue(), "policies.xlsx")
    assert str(caught.value.errors[0]).startswith("policies.xlsx, sheet 措施, row 1, column 补助金额: unknown column")
