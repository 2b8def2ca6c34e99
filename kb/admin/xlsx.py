"""Excel import, export and template: the sheets admins fill in, read into the import layout.

Sheets: 文件 (documents), 措施 (measures, one row per benefit: a row with the same 编号 and
an empty 标题 adds another benefit to the measure above), 条件 (a measure's eligibility
conditions: rows of one 条件组 are alternatives, groups must all hold), 联系人 (department and
contacts, including staff-only ones), 企业 (the firm registry) and 说明 (what every column
means). A workbook is validated by the same validator as YAML; its problems name the file,
sheet, row and column: `policies.xlsx, sheet 措施, row 14, column 补助上限: "五十万元以内" is not an amount`.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import yaml

from kb.eligibility.profile import FIELDS
from kb.errors import SeedError, ValidationFailed
from kb.families import FAMILIES, FAMILY_NAMES, family_name


@dataclass(frozen=True)
class Column:
    header: str
    key: str
    meaning: str
    required: bool = False
    example: str = ""


YES = ("是", "y", "yes", "true", "1", "删除")
CONFIDENCE_NAMES = {"高": "high", "中": "medium", "低": "low"}
OP_NAMES = {"等于": "eq", "不等于": "ne", "小于": "lt", "不超过": "le", "大于": "gt", "不低于": "ge", "介于": "between",
            "属于": "in", "不属于": "not_in", "包含": "contains", "属于分组": "in_group"}
CATEGORY_FIELD = ("category", "类别")
DELETE = Column("删除", "_delete", "填“是”表示删除这个编号的条目（其余列可空）；删除文件会连同其措施一起删除", example="是")

SHEETS: dict[str, tuple[Column, ...]] = {
    "文件": (
        Column("编号", "id", "文件的唯一编号，只用字母、数字和连字符", True, "pe32-2023"),
        Column("政策族", "family", f"{' / '.join(FAMILIES)}，也可写 {'、'.join(map(family_name, FAMILIES))}", True, "8+4"),
        Column("版本", "edition", "年份或版次", True, "2026"),
        Column("标题", "title", "文件全称", True, "关于2026年进一步推动经济高质量发展若干政策的通知"),
        Column("简称", "short_name", "常用简称", example="2026年8+4政策"),
        Column("别名", "aliases", "其他叫法，用顿号（、）分隔", example="8+4、八加四"),
        Column("发文单位", "issuer", "发文机关", example="浙江省人民政府"),
        Column("文号", "doc_number", "发文字号", example="浙政发〔2026〕1号"),
        Column("发布日期", "published", "日期，格式 2026-02-26", example="2026-02-26"),
        Column("生效日期", "valid_from", "日期，格式 2026-01-01"),
        Column("失效日期", "valid_to", "日期，格式 2026-12-31"),
        Column("摘要", "summary", "用自己的话写的概要", True),
        Column("结构", "structure", "高级：文件结构，JSON 写法，可空", example="{}"),
        Column("可信度", "confidence", "high / medium / low（或 高 / 中 / 低），默认 high", example="high"),
        Column("来源网址", "sources", "至少一个 http(s) 网址，多个换行分隔", True, "https://www.zj.gov.cn/…"),
        Column("状态", "status", "正式 / 征求意见稿，默认 正式", example="正式"),
        Column("发布会日期", "press_conference", "新闻发布会日期，格式 2026-02-26", example="2026-02-26"),
        Column("条数", "articles", "正文条数（整数）", example="32"),
        Column("牵头部门", "lead_departments", "牵头部门，顿号（、）分隔", example="省发展改革委"),
        Column("联合发文单位", "co_issuers", "联合发文单位，顿号（、）分隔", example="中共浙江省委、浙江省人民政府"),
        DELETE,
    ),
    "措施": (
        Column("编号", "id", "措施的唯一编号；同一编号的下一行标题留空，表示该措施的又一项补助", True, "pe32-07"),
        Column("所属文件", "document", "文件表或知识库里已有的文件编号", True, "pe32-2023"),
        Column("条号", "number", "文件中的条号（整数），可空", example="7"),
        Column("方面", "aspect", "所属方面或政策包", example="科技创新"),
        Column("标题", "title", "措施名称", True, "首台（套）装备奖励"),
        Column("摘要", "summary", "用自己的话写的内容", True),
        Column("仅知大纲", "outline_only", "只知道大纲、细则未公布时填“是”", example="否"),
        Column("补助内容", "benefit_what", "这一项补助是什么", example="首台套奖励"),
        Column("补助上限", "benefit_amount", "数字，单位写在“单位”列", example="200"),
        Column("单位", "benefit_unit", "万元、亿元、% 等；有金额就必须写", example="万元"),
        Column("补助说明", "benefit_note", "补充说明", example="按销售额的一定比例"),
        Column("申报方式", "how_to_apply", "怎么申报、到哪里申报"),
        Column("关键词", "keywords", "用户可能的说法，顿号（、）分隔；帮助检索找到这条措施", example="首台套、首台（套）"),
        Column("生效日期", "valid_from", "日期，格式 2026-01-01"),
        Column("失效日期", "valid_to", "日期，格式 2026-12-31"),
        Column("可信度", "confidence", "high / medium / low（或 高 / 中 / 低）", example="high"),
        Column("备注", "note", "公开备注"),
        Column("规则", "rule", "高级：复杂的资格规则（YAML 写法）；简单条件请写在“条件”表", example=""),
        Column("来源网址", "sources", "至少一个 http(s) 网址，多个换行分隔", True),
        Column("享受方式", "applies_by", "申报 / 免申即享 / 申报纳税时直接享受 / 不面向企业", example="申报"),
        Column("申报渠道", "channel_name", "在哪里申报（平台或窗口名称）；查过没有写“未找到”", example="浙江省科技管理平台"),
        Column("渠道网址", "channel_url", "申报平台的 http(s) 网址", example="https://pm.kjt.zj.gov.cn"),
        Column("渠道说明", "channel_note", "补充说明；渠道“未找到”时写查过什么"),
        Column("申报开始", "window_from", "日期，格式 2025-10-04", example="2025-10-04"),
        Column("申报截止", "window_until", "日期，格式 2025-10-28", example="2025-10-28"),
        Column("申报批次", "window_call", "时间出自哪一年度、哪一批通知", example="2026年度第二批申报通知"),
        Column("时间来源", "window_source", "申报时间的来源网址（有日期就必须写）"),
        Column("时间说明", "window_note", "补充说明；没有日期时写“未找到”和查过什么"),
        Column("申报材料", "materials", "需要提交的材料，每行一项"),
        DELETE,
    ),
    "条件": (
        Column("措施编号", "measure", "条件所属的措施编号（须在措施表中）", True, "pe32-07"),
        Column("条件组", "group", "同一组内的条件满足其一即可；各组都要满足。空着表示单独一组", example="1"),
        Column("字段", "field", "企业信息字段：" + "、".join(f"{f.name}（{f.label}）" for f in FIELDS.values())
               + "；或 类别", True, "employees"),
        Column("运算", "op", "eq 等于、ne 不等于、lt 小于、le 不超过、gt 大于、ge 不低于、between 介于、in 属于、"
               "not_in 不属于、contains 包含、in_group 属于分组", True, "le"),
        Column("值", "value", "金额按万元、比例写 5% 或 0.05、人数写整数；多个值用顿号分隔；介于写 下限、上限", True, "300"),
        Column("说明", "explain", "向企业解释这个条件的一句话", example="员工人数不超过300人"),
        Column("出处", "ref", "条款出处", example="第7条"),
    ),
    "联系人": (
        Column("措施编号", "measure", "措施编号（须在措施表中）", True, "pe32-07"),
        Column("主管部门", "department", "负责的部门", example="省经信厅"),
        Column("联系方式", "contact", "对外公开的电话或窗口", example="0571-00000000"),
        Column("内部联系人", "internal_contact", "仅工作人员可见", example="张三 138…"),
        Column("内部备注", "internal_note", "仅工作人员可见"),
    ),
    "企业": (
        Column("统一社会信用代码", "credit_code", "18位代码", True, "91330100MA2XXXXXX1"),
        Column("企业名称", "name", "全称", True, "杭州某某科技有限公司"),
        *(Column(f"{f.label}（{f.unit}）" if f.unit and f.unit != "%" else f.label, f"fact:{f.name}",
                 f"企业信息 {f.name}" + ("，金额按万元" if f.kind == "money" else "，写 3.5% 或 0.035" if f.kind == "ratio"
                                         else "，多个用顿号分隔" if f.kind == "certifications" else ""))
          for f in FIELDS.values()),
        DELETE,
    ),
}
SHEET_KINDS = {"文件": "documents", "措施": "measures", "企业": "firms"}
HELP_SHEET = "说明"
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
              for key in ("from", "until", "call", "source", "note") if f"window_{key}" in record}
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


# --- writing ------------------------------------------------------------------------------------------


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
                             window.get("source"), window.get("note"), _join(m.get("materials"), "\n"), None])
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

