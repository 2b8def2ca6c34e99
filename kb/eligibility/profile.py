"""Firm facts: the field registry, and reading what real people type into values.

Units of values (the same inside the eligibility engine):

- money in 万元 as float ("两千万" → 2000.0, "1.2个亿" → 12000.0, "3500万元" → 3500.0);
- ratios as fractions 0–1 ("3.5%" → 0.035);
- counts as int (人), years as int;
- region as the full county name "丽水市遂昌县" (see kb.regions);
- industry as one name of `INDUSTRIES`; ownership one of `OWNERSHIPS`;
- certifications as a frozenset of names from `CERTIFICATIONS` (an empty set is a fact: "none").

Parsers never raise: `parse(field, text)` returns `Parsed` (a value, possibly marked
approximate so the bot confirms it) or `Problem` (a Chinese sentence for the user).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

from kb.eligibility.numbers import CN_NUMERALS, NUMBER, cn_number, digit_runs, normalise
from kb.eligibility.regions import RegionMatch, find_region
from kb.eligibility.wording import vocabulary
from kb.format import format_number

# A finer type a firm names (有限责任公司) and the broad type the rules speak of (企业), from kb/rules/facts.yaml.
BROADER: dict[str, str] = dict(vocabulary().get("entity_type_broader") or {})
OWNERSHIP_OF_TYPE: dict[str, str] = dict(vocabulary().get("entity_type_ownership") or {})


def broad_types(value: Any) -> tuple[Any, ...]:
    """The value and every broader type it is a kind of: 有限责任公司 → (有限责任公司, 企业)."""
    chain = [value]
    while isinstance(chain[-1], str) and chain[-1] in BROADER and BROADER[chain[-1]] not in chain:
        chain.append(BROADER[chain[-1]])
    return tuple(chain)


KINDS = ("money", "count", "ratio", "region", "industry", "certifications", "ownership", "year", "choice")


@dataclass(frozen=True)
class Field:
    """One firm fact the bot can ask for: how it is named, measured and asked."""

    name: str
    label: str
    kind: str
    unit: str
    question: str
    ease: int  # 1 = easiest to answer; breaks ties when choosing the next question
    values: tuple[str, ...] = ()  # the standard values of a "choice" field


FIELDS: dict[str, Field] = {f.name: f for f in (
    Field("region", "所在县（市、区）", "region", "", "贵公司注册在浙江哪个县（市、区）？例如：丽水市遂昌县、杭州滨江", 1),
    Field("industry", "所属行业", "industry", "", "主要做哪一行？例如：金属制品、软件和信息技术服务、批发零售", 2),
    Field("ownership", "企业性质", "ownership", "", "企业是民营、国有还是外资？", 3),
    Field("employees", "员工人数", "count", "人", "现在大约有多少员工（含劳务派遣）？例如：120人", 4),
    Field("founded_year", "成立年份", "year", "年", "公司是哪一年成立的？", 5),
    Field("certifications", "已获资质", "certifications", "",
          "已经拿到哪些资质？例如：高新技术企业、专精特新、科技型中小企业、省首台（套）产品；都没有就说“没有”", 6),
    Field("revenue", "上年营业收入", "money", "万元", "上一年营业收入大约多少？例如：6800万、1.2亿", 7),
    Field("total_assets", "资产总额", "money", "万元", "资产总额大约多少？例如：4000万", 8),
    Field("rd_expense", "上年研发费用", "money", "万元", "上一年研发费用大约多少？例如：300万", 9),
    Field("rd_ratio", "研发费用占营业收入比例", "ratio", "%",
          "研发费用占营业收入的比例是多少？例如：3.5%；也可以直接说研发投入金额", 10),
    Field("taxable_income", "年度应纳税所得额", "money", "万元", "上一年度应纳税所得额大约多少？例如：280万", 11),
    Field("equity_financing_2yr", "近两年新增股权融资", "money", "万元",
          "近两年新增股权融资（合格机构投资者实缴）有多少？没有就说0", 12),
    # 省级数字化车间/智能工厂的投资门槛（浙经信产数〔2025〕174号）：设备、软件、技术咨询，不含土建厂房。
    Field("digital_investment", "近五年数字化软硬件投资", "money", "万元",
          "近五年在数字化改造上的软硬件投资（设备、软件、技术咨询，不含厂房）大约多少？没有就说0", 13),
    Field("entity_type", "主体类型", "choice", "", "是公司（企业），还是个体工商户、个人独资企业？", 14,
          tuple(vocabulary()["entity_types"])),
    Field("taxpayer_type", "增值税纳税人类型", "choice", "", "增值税是小规模纳税人还是一般纳税人？", 15,
          ("小规模纳税人", "一般纳税人")),
    Field("tax_collection", "企业所得税征收方式", "choice", "", "企业所得税是查账征收还是核定征收？", 16,
          ("查账征收", "核定征收")),
    # 高企认定第十一条（四）：科技人员占当年职工总数的比例（国科发火〔2016〕32号）。
    Field("tech_staff_ratio", "科技人员占职工总数比例", "ratio", "%",
          "科技人员占职工总数的比例大约多少？例如：15%；也可以说科技人员人数", 17),
    # 浙经信产数〔2025〕174号: the investment threshold depends on what is applied for.
    Field("digital_project", "申报的数字化项目", "choice", "", "准备申报数字化车间还是智能工厂？", 19,
          ("数字化车间", "智能工厂")),
    # 首台（套）认定奖励：零部件类和按标准认定的不享受省级认定奖励（浙经信装备〔2024〕212号）.
    Field("equipment_type", "首台（套）装备类型", "choice", "", "认定的首台（套）是整机（成套装备）还是零部件？", 20,
          tuple(vocabulary()["equipment_types"])),
    # 制造业单项冠军：申请产品的市场占有率位居全球前3. A rank at home bounds the world rank from below.
    Field("market_rank", "主导产品全球市场排名", "count", "位",
          "主导产品在全球细分市场大约排第几？例如：全球第2；只知道国内排名也可以说，如“国内第五”", 21),
    # Derived by the engine from founded_year and the evaluation date; asked as founded_year (DERIVED_FROM).
    Field("firm_age", "成立年限", "count", "年", "公司是哪一年成立的？", 18),
)}
# Facts the engine derives: the field to ask instead.
DERIVED_FROM = {"firm_age": "founded_year", "rd_ratio": "rd_ratio"}

OWNERSHIPS = ("民营", "国有", "外资", "集体", "混合")

# 省首台（套）产品: the firm has equipment recognised as a provincial 首台（套） (listed in the promotion catalogue).
CERTIFICATIONS = ("高新技术企业", "科技型中小企业", "创新型中小企业", "专精特新中小企业", "专精特新小巨人企业",
                  "省首台（套）产品", "制造业单项冠军")

# Standard industry names; the manufacturing subgroups are also the members of the group 制造业
# in kb/rules/groups.yaml (GB/T 4754 divisions, shortened).
INDUSTRIES = (
    "制造业", "农副食品加工", "食品制造", "酒饮料和精制茶制造", "纺织", "纺织服装服饰", "皮革制鞋", "木材加工",
    "家具制造", "造纸和纸制品", "印刷", "文教体育用品", "石油加工", "化学原料和化学制品", "医药制造", "化学纤维",
    "橡胶和塑料制品", "非金属矿物制品", "黑色金属冶炼", "有色金属冶炼", "金属制品", "通用设备", "专用设备", "汽车制造",
    "铁路船舶航空航天设备", "电气机械和器材", "计算机通信和其他电子设备", "仪器仪表", "烟草制品", "其他制造业",
    "农业", "采矿业", "电力热力燃气及水生产和供应", "建筑业", "批发零售", "交通运输仓储和邮政", "住宿餐饮",
    "软件和信息技术服务", "金融业", "房地产业", "租赁和商务服务", "科学研究和技术服务", "文化体育娱乐", "娱乐业", "其他服务业",
)

# What people say → standard name. Generic words ("厂", "服务") only count when nothing more specific matches.
INDUSTRY_WORDS: dict[str, tuple[str, ...]] = {
    "金属制品": ("金属制品", "五金", "金属加工", "钣金", "紧固件", "标准件"),
    "通用设备": ("通用设备", "机械", "阀门", "水泵", "泵业", "轴承", "机床"),
    "专用设备": ("专用设备",),
    "汽车制造": ("汽车", "汽配", "汽车零部件"),
    "电气机械和器材": ("电气机械", "电气", "电机", "电器", "光伏", "电池", "家电"),
    "计算机通信和其他电子设备": ("电子", "通信设备", "芯片", "集成电路", "半导体"),
    "仪器仪表": ("仪器", "仪表"),
    "医药制造": ("医药", "制药", "药厂"),
    "化学原料和化学制品": ("化工", "化学品"),
    "化学纤维": ("化纤", "化学纤维"),
    "橡胶和塑料制品": ("塑料", "橡胶"),
    "纺织": ("纺织", "印染"),
    "纺织服装服饰": ("服装", "服饰"),
    "皮革制鞋": ("皮革", "制鞋", "鞋业", "鞋厂"),
    "家具制造": ("家具",),
    "食品制造": ("食品",),
    "农副食品加工": ("农副食品",),
    "酒饮料和精制茶制造": ("饮料", "酒厂", "茶叶", "制茶", "精制茶"),
    "造纸和纸制品": ("造纸", "纸制品", "纸箱"),
    "印刷": ("印刷",),
    "木材加工": ("木材",),
    "文教体育用品": ("文具", "体育用品"),
    "非金属矿物制品": ("建材", "水泥", "玻璃", "陶瓷"),
    "黑色金属冶炼": ("钢铁", "炼钢"),
    "有色金属冶炼": ("有色金属",),
    "铁路船舶航空航天设备": ("船舶", "造船", "航空", "航天"),
    "制造业": ("制造业", "制造", "工厂", "加工厂", "厂"),
    "软件和信息技术服务": ("软件和信息技术服务", "软件", "信息技术", "互联网", "信息服务", "IT"),
    "批发零售": ("批发", "零售", "贸易", "商贸", "外贸", "电商", "超市"),
    "农业": ("农业", "种植", "养殖", "农场", "林业", "渔业", "畜牧", "农林牧渔"),
    "采矿业": ("采矿", "矿山"),
    "电力热力燃气及水生产和供应": ("电力", "供电", "燃气", "供水", "热力"),
    "建筑业": ("建筑", "施工", "装修"),
    "交通运输仓储和邮政": ("物流", "运输", "快递", "仓储"),
    "住宿餐饮": ("餐饮", "饭店", "酒店", "民宿", "火锅", "饭馆", "餐厅", "小吃", "奶茶", "宾馆", "旅馆"),
    "金融业": ("金融", "银行"),
    "房地产业": ("房地产",),
    "租赁和商务服务": ("租赁", "咨询", "广告", "商务服务", "人力资源"),
    "科学研究和技术服务": ("研发服务", "检验检测", "技术服务", "工程设计"),
    "文化体育娱乐": ("传媒", "影视", "文化"),
    "娱乐业": ("娱乐",),
    "烟草制品": ("烟草", "卷烟"),
    "其他服务业": ("服务",),
}
GENERIC_INDUSTRY_WORDS = {"制造", "工厂", "加工厂", "厂", "服务"}

OWNERSHIP_WORDS = {
    "民营": ("民营", "民企", "私营", "私企", "私人企业", "民间资本", "私人的", "家族企业", "民资控股"),
    "国有": ("国企", "国有", "央企", "国营", "国资控股", "国资委", "国资平台", "国资公司"),
    "外资": ("外资", "外企", "外商", "合资", "港资", "台资", "独资外企", "日资", "美资", "韩资", "德资", "欧资",
           "日本母公司", "外国母公司", "境外母公司", "外方控股"),
    "集体": ("集体企业", "集体所有制", "村集体", "乡镇集体"),
    "混合": ("混合所有制", "混改"),
}
# A foreign owner named by its country or region ("日本独资", "德国控股"): kb/rules/facts.yaml foreign_owners.
OWNERSHIP_WORDS["外资"] += tuple(f"{place}{form}" for place in vocabulary()["foreign_owners"]["places"]
                                 for form in vocabulary()["foreign_owners"]["forms"])
OWNERSHIP_WORDS["外资"] += tuple(f"{owner}{link}{place}" for owner in vocabulary()["foreign_owners"].get("owners", ())
                                 for link in vocabulary()["foreign_owners"].get("links", ())
                                 for place in vocabulary()["foreign_owners"]["places"])

CERTIFICATION_WORDS = {
    "高新技术企业": ("高新技术企业", "高新企业", "高企", "国高", "国家高新", "高新"),
    "专精特新小巨人企业": ("小巨人",),
    "专精特新中小企业": ("专精特新",),
    "科技型中小企业": ("科技型中小企业", "科技型中小", "科技型企业", "科小"),
    "创新型中小企业": ("创新型中小企业", "创新型中小"),
    "省首台（套）产品": ("首台套", "首台(套)"),
    "制造业单项冠军": ("单项冠军",),  # text is NFKC-normalised: （套） arrives as (套)
}
# A title word that names something else when these follow it: 高新区, 高新技术产品 (a place, a product).
TITLE_WORD_NOT_BEFORE = {"高新": re.compile(r"区|园|技术产[业品]|产品|开发|产业|收入|技术领域")}
# A 小巨人 must already be a 专精特新中小企业 (firm_categories.yaml FC-XJR: prerequisite).
_IMPLIED_CERTIFICATIONS = {"专精特新小巨人企业": ("专精特新中小企业",)}
# Titles a firm can hold though this year's figures fail their conditions (held for a term): kb/rules/facts.yaml.
TITLES_KEPT_FOR_A_TERM = tuple(t for t in CERTIFICATIONS if t not in set(vocabulary().get("titles_judged_yearly") or ()))


@dataclass(frozen=True)
class Parsed:
    """A value read from text. `approximate` asks the bot to confirm it ("一百多人" → 100)."""

    field: str
    value: Any
    approximate: bool = False
    note: str = ""


@dataclass(frozen=True)
class Problem:
    """Why a text could not be read, as a sentence for the user."""

    field: str
    message: str


@dataclass(frozen=True)
class Extraction:
    """Facts found in one free sentence: values, which are approximate, and what could not be read.

    `ranges` holds, for approximate figures, the range the wording allows (low, high; None = open):
    "八千多万" → (8000, 9000), "不到两千万" → (None, 2000).
    """

    facts: dict[str, Any]
    approximate: frozenset[str] = frozenset()
    problems: dict[str, str] = field(default_factory=dict)
    ranges: dict[str, tuple[float | None, float | None]] = field(default_factory=dict)


# --- one asked field's answer ---------------------------------------------------------------------

_NUMBER_RE = re.compile(NUMBER)
_APPROX_WORDS = ("左右", "大约", "大概", "约", "差不多", "上下", "将近", "接近", "近", "估计", "不到", "出头")


@dataclass(frozen=True)
class _Number:
    value: float
    text: str
    approximate: bool
    has_big_unit: bool  # 万 or 亿 written: the figure is in 元 (or 人) units, not bare


def _read_number(text: str, what: str, field_name: str, example: str) -> _Number | Problem:
    """Find the single number in a short answer, or say why there is none."""
    if re.search(r"\d\s*[eE]\s*[+-]?\d", text):
        return Problem(field_name, f"“{text}”是科学计数法，请直接写出{what}，例如“{example}”")
    if re.search(r"(?:^|[^\d\w])-\s*\d", text) or re.search(rf"负\s*[\d{CN_NUMERALS}]", text):
        return Problem(field_name, f"{what}不能是负数，请核对后再告诉我")
    if re.search(r"[几若干数]\s*[十百千万亿]|好多|很多|不少|许多|一些", text):
        return Problem(field_name, f"“{text}”不是具体的{what}，请说一个大概的数，例如“{example}”")
    approximate = any(word in text for word in _APPROX_WORDS)
    cleaned, count = re.subn(rf"(?<=[\d{CN_NUMERALS}])\s*[多余来](?=[十百千万亿个人元块名位]|$)", "", text)
    approximate = approximate or count > 0
    matches = [m for m in _NUMBER_RE.finditer(cleaned) if cn_number(m.group()) is not None]
    if not matches:
        return Problem(field_name, f"没有从“{text}”里看到{what}，请写成数字，例如“{example}”")
    if len(matches) > 1:
        return Problem(field_name, f"“{text}”里有不止一个数，请只告诉我一个{what}")
    written = matches[0].group()
    value = cn_number(written)
    assert value is not None
    return _Number(value, written, approximate, "万" in written or "亿" in written)


def _note_for(approximate: bool) -> str:
    return "这是估计值，请确认" if approximate else ""


def parse_money(text: str, field_name: str = "revenue") -> Parsed | Problem:
    """Read an amount of money in 万元: "两千万" → 2000, "1.2个亿" → 12000, "5000000元" → 500."""
    text = normalise(text)
    label = FIELDS[field_name].label if field_name in FIELDS else "金额"
    number = _read_number(text, "金额", field_name, "2000万")
    if isinstance(number, Problem):
        return number
    rest = text[text.find(number.text) + len(number.text):]
    note = _note_for(number.approximate)
    if number.has_big_unit:
        value = number.value / 10_000
    elif re.match(r"\s*(?:元|块)", rest):
        value = number.value / 10_000
    else:
        value = number.value
        note = f"没写单位，按{format_number(value)}万元理解，请确认"
        number = _Number(number.value, number.text, True, False)
    if value > 100_000_000:
        return Problem(field_name, f"{label}“{text}”大得不合常理，请核对")
    return Parsed(field_name, round(value, 6), number.approximate, note)


def parse_count(text: str, field_name: str = "employees") -> Parsed | Problem:
    """Read a head count: "120人", "一百二十人", "85个人"; "一百多人" → 100, marked approximate."""
    text = normalise(text)
    number = _read_number(text, "人数", field_name, "120人")
    if isinstance(number, Problem):
        return number
    if not float(number.value).is_integer():
        return Problem(field_name, f"人数应是整数，“{text}”不是")
    if number.value > 2_000_000:
        return Problem(field_name, f"“{text}”人数大得不合常理，请核对")
    return Parsed(field_name, int(number.value), number.approximate, _note_for(number.approximate))


def parse_ratio(text: str, field_name: str = "rd_ratio") -> Parsed | Problem:
    """Read a ratio as a fraction: "3.5%" / "百分之三点五" → 0.035.

    An amount instead ("研发投入300万") is returned as the研发费用 (field rd_expense):
    it becomes a ratio once the revenue is known (see `derive`).
    """
    text = normalise(text)
    scale = None
    if "%" in text:
        scale, text_number = 100, text.replace("%", "")
    elif "百分之" in text:
        scale, text_number = 100, text.replace("百分之", "")
    elif "千分之" in text:
        scale, text_number = 1000, text.replace("千分之", "")
    else:
        text_number = text
    if scale is None and re.search(rf"[\d{CN_NUMERALS}]\s*(?:多|余)?\s*(?:万|亿|元|块)", text):
        amount = parse_money(text, "rd_expense")
        if isinstance(amount, Problem):
            return Problem(field_name, amount.message)
        return Parsed("rd_expense", amount.value, amount.approximate,
                      "这是研发费用金额，知道营业收入后换算成比例")
    number = _read_number(text_number, "比例", field_name, "3.5%")
    if isinstance(number, Problem):
        return number
    approximate, note = number.approximate, _note_for(number.approximate)
    if scale is None:
        scale, approximate = 100, True
        note = f"按{format_number(number.value)}%理解，请确认"
    value = number.value / scale
    if value > 1:
        return Problem(field_name, f"比例不能超过100%，“{text}”请核对")
    return Parsed(field_name, round(value, 8), approximate, note)


def parse_year(text: str, field_name: str = "founded_year", *, today: dt.date | None = None) -> Parsed | Problem:
    """Read a year: "2015年", "二〇一五年"; "成立5年" counts back from today."""
    today = today or dt.date.today()
    text = normalise(text)
    ago = re.search(rf"(?:成立|办了|开了|有)?\s*([\d{CN_NUMERALS}]+)\s*(多)?\s*年(?:了|多)?$", text)
    digits = digit_runs(text)
    full = re.search(r"(?<!\d)(\d{4})(?!\d)", digits)
    if re.search(r"\d\s*[eE]\s*[+-]?\d", text) or text.startswith("-"):
        return Problem(field_name, f"“{text}”不是年份，请写成如“2015年”")
    if full:
        year = int(full.group(1))
    elif ago and cn_number(ago.group(1)) is not None and (cn_number(ago.group(1)) or 0) < 200 and (
            "成立" in text or "了" in text or ago.group(2)):
        years = int(cn_number(ago.group(1)) or 0)
        return Parsed(field_name, today.year - years, True, f"按成立{years}年推算为{today.year - years}年，请确认")
    elif re.search(r"\d", digits):
        return Problem(field_name, f"请写出完整的年份，例如“2015年”，“{text}”看不出是哪一年")
    else:
        return Problem(field_name, f"没有从“{text}”里看到年份，请写成如“2015年”")
    if year > today.year:
        return Problem(field_name, f"成立年份不能晚于今年（{today.year}年），“{text}”请核对")
    if year < 1900:
        return Problem(field_name, f"“{text}”作为成立年份太早了，请核对")
    return Parsed(field_name, year)


def parse_region(text: str, field_name: str = "region") -> Parsed | Problem:
    """Read a county: "遂昌" → 丽水市遂昌县; a city alone, an unknown place or one outside Zhejiang is a problem."""
    found = find_region(normalise(text))
    if isinstance(found, RegionMatch):
        return Parsed(field_name, found.full_name)
    if isinstance(found, str):
        return Problem(field_name, found)
    return Problem(field_name, f"没认出“{text}”是浙江哪个县（市、区），请写成如“丽水市遂昌县”或“遂昌”")


def best_word(text: str, table: dict[str, tuple[str, ...]], generic: set[str] = frozenset()) -> str | None:
    """The standard value whose word the text holds, a specific word before a `generic` one, then the longest."""
    best: tuple[bool, int] | None = None
    chosen = None
    for standard, words in table.items():
        for word in words:
            if word in text:
                rank = (word not in generic, len(word))
                if best is None or rank > best:
                    best, chosen = rank, standard
    return chosen


def parse_industry(text: str, field_name: str = "industry") -> Parsed | Problem:
    """Read an industry: a standard name as it is, else the one its words name ("五金" → 金属制品)."""
    text = normalise(text)
    if text in INDUSTRIES:
        return Parsed(field_name, text)
    found = best_word(text, INDUSTRY_WORDS, GENERIC_INDUSTRY_WORDS)
    if found is None:
        return Problem(field_name, f"没认出“{text}”属于哪个行业，请换个说法，例如“金属制品”“软件”“批发零售”")
    return Parsed(field_name, found)


def parse_ownership(text: str, field_name: str = "ownership") -> Parsed | Problem:
    """Read the ownership from the words that name it: "民企" → 民营, "外商" → 外资."""
    found = best_word(normalise(text), OWNERSHIP_WORDS)
    if found is None:
        return Problem(field_name, f"没认出“{text}”是哪种企业性质，请说“民营”“国有”或“外资”")
    return Parsed(field_name, found)


def _certifications_in(text: str) -> set[str]:
    found: set[str] = set()
    for clause in re.split(r"[，,；;。、和与及还]", text):
        if re.match(r"\s*(?:没有|没|无|不是|未)", clause):
            continue
        for standard, words in CERTIFICATION_WORDS.items():
            if any(word in clause for word in words):
                found.add(standard)
    return found


def parse_certifications(text: str, field_name: str = "certifications") -> Parsed | Problem:
    """Read certifications, with what each implies: "小巨人" adds 专精特新中小企业; "没有" → none."""
    text = normalise(text)
    found = _certifications_in(text)
    if found:
        return Parsed(field_name, close_certifications(found))
    if re.search(r"没有|没|无|都不是|还没", text):
        return Parsed(field_name, frozenset())
    return Problem(field_name, f"没认出“{text}”里的资质，请说“高新技术企业”“专精特新”“科技型中小企业”，或者“没有”")


def close_certifications(names: set[str] | frozenset[str]) -> frozenset[str]:
    """Add what a certification implies: a 小巨人 is also a 专精特新中小企业."""
    closed = set(names)
    for name in names:
        closed.update(_IMPLIED_CERTIFICATIONS.get(name, ()))
    return frozenset(closed)


_PARSERS = {
    "money": parse_money,
    "count": parse_count,
    "ratio": parse_ratio,
    "region": parse_region,
    "industry": parse_industry,
    "ownership": parse_ownership,
    "certifications": parse_certifications,
}


def parse(field_name: str, text: str, *, today: dt.date | None = None) -> Parsed | Problem:
    """Read the answer to one field's question. Never raises."""
    spec = FIELDS.get(field_name)
    if spec is None:
        return Problem(field_name, f"没有“{field_name}”这一项企业信息")
    if text is None or not str(text).strip():
        return Problem(field_name, f"没有收到{spec.label}，请再说一次")
    try:
        if spec.kind == "year":
            return parse_year(text, field_name, today=today)
        return _PARSERS[spec.kind](text, field_name)
    except Exception:  # noqa: BLE001 - a parser bug must not reach the user as a traceback
        return Problem(field_name, f"没能读懂“{text}”，请换个说法告诉我{spec.label}")


def derive(facts: dict[str, Any]) -> dict[str, Any]:
    """Facts plus what follows from them: R&D ratio or expense from the other and revenue; implied titles."""
    derived = dict(facts)
    if derived.get("rd_ratio") is None and derived.get("rd_expense") is not None and derived.get("revenue"):
        derived["rd_ratio"] = round(float(derived["rd_expense"]) / float(derived["revenue"]), 6)
    elif derived.get("rd_ratio") is None and derived.get("rd_expense") == 0:
        derived["rd_ratio"] = 0.0  # no R&D at all is no share of any revenue
    elif derived.get("rd_expense") is None and derived.get("rd_ratio") is not None and derived.get("revenue"):
        # "营收三千万，研发占5%": the expense is that share of revenue (hedged as the ratio was: see Run)
        derived["rd_expense"] = round(float(derived["rd_ratio"]) * float(derived["revenue"]), 6)
    if derived.get("certifications") is not None:
        derived["certifications"] = close_certifications(frozenset(derived["certifications"]))
    if derived.get("ownership") is None and derived.get("entity_type") in OWNERSHIP_OF_TYPE:
        derived["ownership"] = OWNERSHIP_OF_TYPE[derived["entity_type"]]  # a 个体工商户 is private by what it is
    return derived
