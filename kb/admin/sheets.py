"""The Excel workbook's layout: its sheets, their Chinese columns and what each means, and the names cells may use.

Sheets: 文件 (documents), 措施 (measures, one row per benefit: a row with the same 编号 and
an empty 标题 adds another benefit to the measure above), 条件 (a measure's eligibility
conditions: rows of one 条件组 are alternatives, groups must all hold), 联系人 (department and
contacts, including staff-only ones), 企业 (the firm registry) and 说明 (what every column
means). kb.admin.xlsx_read reads a workbook into the import layout; kb.admin.xlsx_write writes one.
"""

from __future__ import annotations

from dataclasses import dataclass

from kb.eligibility.profile import FIELDS
from kb.families import FAMILIES, family_name


@dataclass(frozen=True)
class Column:
    """One column of a sheet: its Chinese header, the import key, what it means, an example."""

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
        Column("每年开展", "window_recurs", "常设项目每年一期时填 yearly：过了失效日期，最近一期仍作为口径回答", example=""),
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
