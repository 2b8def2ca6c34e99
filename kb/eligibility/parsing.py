"""Reading every fact a firm's own words give, in any order, several per message.

"去年营业额七千多万，五十来个人，研发大概占营收的3.1%，安吉那边的个体户，也没啥资质" gives revenue
7000–8000万, 50 people (approximate), an R&D ratio of 3.1%, the region 湖州市安吉县, the entity type and
no certifications. The vocabulary (labels, hedges, places, entity and taxpayer types) is data in
kb/rules/facts.yaml; numbers are read by kb.eligibility.numbers.cn_number.

A figure is a `Quantity`: a point value (in engine units) and the range the wording allows — "八千多万"
is 8000–9000, "不到两千万" at most 2000, "两三千万" 2000–3000, "三十来个" about 30 (±10%). The point value is
what a bare fact carries; the range travels as `Extraction.ranges` so the engine decides a condition only
when the whole range is on one side of its threshold.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from dataclasses import dataclass, field
from typing import Any

from kb.eligibility import english
from kb.eligibility.numbers import cn_number, digit_runs, normalise
from kb.eligibility.profile import (
    CERTIFICATION_WORDS,
    FIELDS,
    GENERIC_INDUSTRY_WORDS,
    INDUSTRY_WORDS,
    OWNERSHIP_WORDS,
    TITLE_WORD_NOT_BEFORE,
    Extraction,
    best_word,
    close_certifications,
)
from kb.eligibility.quantities import NUMERAL_CHARS, Quantity, place_step, prepare, quantities, scaled
from kb.eligibility.regions import ELSEWHERE, OUTSIDE, REGIONS, RegionMatch, city_of, find_region
from kb.eligibility.wording import vocabulary

MONEY_FIELDS = ("revenue", "total_assets", "taxable_income", "rd_expense", "digital_investment",
                "equity_financing_2yr")


def _longest_first(words) -> list[str]:
    return sorted(words, key=len, reverse=True)


# Registering a trademark or capital is not registering the firm: no founding year in it.
_NOT_FOUNDING = re.compile(r"注册了?(?:商标|专利|品牌|资本|资金|会员)")


# --- facts ---------------------------------------------------------------------------------------------


@dataclass
class _Found:
    facts: dict[str, Any] = field(default_factory=dict)
    ranges: dict[str, tuple[float | None, float | None]] = field(default_factory=dict)
    approximate: set[str] = field(default_factory=set)
    problems: dict[str, str] = field(default_factory=dict)
    priority: dict[str, int] = field(default_factory=dict)
    margin: Quantity | None = None  # a profit margin (%): taxable income once revenue is known
    tech_staff: float | None = None  # a head count of S&T staff: a ratio once employees are known
    loss_said: bool = False  # "亏的，两百万左右": a loss said before its figure, in a clause of its own

    def put(self, name: str, quantity: Quantity | None, value: Any, priority: int = 1) -> None:
        if name in self.facts and self.priority.get(name, 1) > priority:
            return
        self.facts[name] = value
        self.priority[name] = priority
        self.ranges.pop(name, None)
        self.approximate.discard(name)
        if quantity is not None and quantity.approximate:
            self.approximate.add(name)
            self.ranges[name] = (quantity.low, quantity.high)


def _labels() -> list[tuple[str, str]]:
    pairs = [(word, name) for name, words in vocabulary()["labels"].items() for word in words]
    return sorted(pairs, key=lambda p: len(p[0]), reverse=True)


def _label_spans(clause: str) -> list[tuple[int, int, str]]:
    spans: list[tuple[int, int, str]] = []
    taken = [False] * len(clause)
    for bad in vocabulary()["not_labels"]:
        for m in re.finditer(re.escape(bad), clause):
            for i in range(m.start(), m.end()):
                taken[i] = True
    for word, name in _labels():
        for m in re.finditer(re.escape(word), clause):
            if any(taken[m.start():m.end()]):
                continue
            for i in range(m.start(), m.end()):
                taken[i] = True
            spans.append((m.start(), m.end(), name))
    return sorted(spans)


def _is_ratio_clause(clause: str) -> bool:
    return "研发" in clause and any(w in clause for w in vocabulary()["ratio_words"])


def extract(text: str, *, today: dt.date | None = None, asked: str | None = None) -> Extraction:
    """Every fact in a firm's message; `asked` is the field just asked, which a bare figure answers."""
    today = today or dt.date.today()
    found = _Found()
    try:
        _extract(text, today, asked, found)
    except Exception:  # noqa: BLE001 - extraction is best effort; whatever was read is kept
        found.problems.setdefault("text", "这句话没能完全读懂，可以分开告诉我各项信息")
    return Extraction(found.facts, frozenset(found.approximate), found.problems, dict(found.ranges))


def extract_facts(text: str, *, today: dt.date | None = None) -> dict[str, Any]:
    """Return the facts `extract` finds, as a plain dict of field → value."""
    return extract(text, today=today).facts


def corrected_figure(text: str, stated: list[str]) -> Extraction:
    """A correction giving a bare figure ("刚才写错了，是三千六百万"): it replaces the fact of its kind stated last.

    `stated` lists the fields already given, oldest first. Nothing is read unless the message corrects.
    """
    vocab = vocabulary()
    if not any(word in text for word in vocab.get("correction_words") or ()):
        return Extraction({}, frozenset(), {}, {})
    kinds = {"万": ("money",), "元": ("money",), "人": ("count",), "%": ("ratio",)}
    for q in quantities(prepare(text)):
        fitting = [name for name in stated if name in FIELDS and FIELDS[name].kind in kinds.get(q.unit, ())]
        if fitting:
            scale = 0.01 if q.unit == "%" else 1.0
            name = fitting[-1]
            ranges = {name: (scaled(q.low, scale), scaled(q.high, scale))} if q.approximate else {}
            value = round(q.value * scale, 6) if FIELDS[name].kind != "count" else int(round(q.value))
            return Extraction({name: value}, frozenset(ranges), {}, ranges)
    return Extraction({}, frozenset(), {}, {})


def _extract(text: str, today: dt.date, asked: str | None, found: _Found) -> None:
    vocab = vocabulary()
    text = english.to_chinese(text)
    raw = normalise(text)
    prepared = _market_rank(prepare(text), found, asked)
    _words(raw, found, asked)
    _region(raw, found)
    # Brackets and a space between two Chinese words end a clause too ("营收两千万 今年预计三千万").
    clauses = [c for c in re.split(r"[，,。；;！!？?\n（）()]|、(?=\D)|(?<=[\u4e00-\u9fff])\s+(?=[\u4e00-\u9fff])",
                                   prepared) if c.strip()]
    last_label: str | None = None
    for clause in clauses:
        last_label = _figures(clause, today, asked, found, last_label, len(clauses) == 1)
    if found.margin is not None and found.facts.get("revenue") is not None and "taxable_income" not in found.facts:
        income = found.facts["revenue"] * found.margin.value / 100
        found.put("taxable_income", _approx(found.margin, income), round(income, 6))
    if "founded_year" not in found.facts and re.search(r"老厂|就有|开业|成立|注册|办厂|建厂|创办",
                                                         _NOT_FOUNDING.sub("", raw)):
        year = re.search(r"(?<!\d)((?:19|20)\d{2})\s*年(?!\d)", raw)  # "厂子早就有了，记得是2003年"
        if year and int(year.group(1)) <= today.year:
            found.put("founded_year", None, int(year.group(1)))
    if found.tech_staff is not None and found.facts.get("employees") and "tech_staff_ratio" not in found.facts:
        found.put("tech_staff_ratio", None, round(found.tech_staff / found.facts["employees"], 8))
    # A ratio without a figure for R&D: the R&D expense follows from revenue and ratio in kb.profile.derive.
    if any(w in raw for w in vocab["break_even_words"]) and "taxable_income" not in found.facts:
        found.put("taxable_income", None, 0.0)
    elif any(w in raw for w in vocab["no_profit_words"]) and "taxable_income" not in found.facts:
        found.put("taxable_income", Quantity(0.0, None, 0.0, True, 0, 0, "万"), 0.0)
    for name, words in vocab["none_words"].items():
        if name not in found.facts and any(w in raw for w in words):
            found.put(name, None, frozenset() if name == "certifications" else 0.0)
    if asked == "certifications" and "certifications" not in found.facts and re.fullmatch(
            r"\s*(?:没有|没|无|都没有|一个都没有|还没有|暂时没有)[。!！,，]?\s*", raw):
        found.put("certifications", None, frozenset())


_UNSURE = re.compile(r"(?:不太?清楚|不知道|不确定|搞不清|记不清|说不准|不记得)[^，,。；;]*(?:还是|或者|啥的|什么的)")


def _words(raw: str, found: _Found, asked: str | None) -> None:
    vocab = vocabulary()
    ownership = best_word(_ECONOMY_TERMS.sub(" ", raw), OWNERSHIP_WORDS)
    if ownership:
        found.put("ownership", None, ownership)
    # "不太清楚注册的是个体还是啥": a type the firm is unsure of is no fact.
    sure = "，".join(c for c in _CLAUSE_END.split(raw) if not _UNSURE.search(c))
    for name, table in (("entity_type", vocab["entity_types"]), ("taxpayer_type", vocab["taxpayer_types"]),
                        ("tax_collection", vocab["tax_collection"]),
                        ("digital_project", vocab["digital_projects"])):
        value = _first_said(sure, table)
        if value:
            found.put(name, None, value)
    # "首台套是零部件类的": the kind of a recognised 首台（套）, said in a clause about it (or when asked).
    clauses = _CLAUSE_END.split(raw)
    mentions = [any(w in c for w in vocab["equipment_clause_words"]) for c in clauses]
    # The clause that names it, or the one right after ("有个省内首台套，是按标准认定的").
    about_first_set = [c for i, c in enumerate(clauses)
                       if asked == "equipment_type" or mentions[i] or (i and mentions[i - 1])]
    equipment = _first_said("，".join(about_first_set), vocab["equipment_types"]) if about_first_set else None
    if equipment:
        found.put("equipment_type", None, equipment)
    certifications = _certifications(raw)
    if certifications:
        found.put("certifications", None, close_certifications(certifications))
    # What the firm plans to do ("准备新设一家房地产公司") is not its trade.
    said = "，".join(_without_spending(c) for c in _CLAUSE_END.split(_without_places(raw))
                    if not _PLANS.search(c))
    industry = best_word(re.sub(r"研发[^，,。；;]*|纳税人|征收", "", said), _industry_words(), GENERIC_INDUSTRY_WORDS)
    makes_nothing = re.search(r"不生产|不做生产|自己不做|没有工厂|没工厂|不自己生产", said)
    trades = any(w in said for w in vocab["trade_words"]) and not any(w in said for w in vocab["production_words"])
    sells = re.search(r"卖[^，,。\d]{1,6}的", said) and not any(w in said for w in vocab["production_words"])
    if industry in vocab["served_where_made"]:
        sells = False  # "卖早餐的" serves what it makes: food service, not trade
    if sells or industry and (trades or makes_nothing and best_word(said, {"批发零售": _industry_words()["批发零售"]})):
        industry = "批发零售"  # sells what others make: trade, whatever the goods are
    if industry:
        found.put("industry", None, industry)


# "民营经济税收占比" speaks of the province's private economy, not of the firm's ownership.
_ECONOMY_TERMS = re.compile("|".join(map(re.escape, vocabulary()["economy_terms"])))
_RANK_AT = r"(?P<which>第|前)\s*(?P<rank>[一二两三四五六七八九十]{1,3}|\d{1,3})\s*(?:名|位)?"
_RANK = re.compile(rf"(?:(?P<world>全球|世界|国际)|(?P<home>全国|国内|中国|省内|全省))[^，,。；;]{{0,10}}?{_RANK_AT}")
_BARE_RANK = re.compile(_RANK_AT)
_RANK_WORDS = re.compile(r"排|名|占有率|份额|市场|全球|世界")
# "排十名开外", "排在20名以后": behind that rank, at home or anywhere, so behind it in the world too.
_BEHIND_RANK = re.compile(r"排(?:名)?\s*(?:在)?\s*(?:第)?(?P<rank>[一二两三四五六七八九十]{1,3}|\d{1,3})\s*(?:名|位)?\s*"
                          r"(?:开外|以外|之外|以后|之后|往后)")


def _market_rank(prepared: str, found: _Found, asked: str | None) -> str:
    """The world rank of the firm's main product ("全球第二", "国内排第五" → at best fifth in the world).

    Read only in a clause about a market position; the clause's figures are taken out of the text, so
    "排第8" is no head count. A rank said with no market ("第二") answers only the question that asked it.
    """
    for clause in re.split(r"[，,。；;！!？?\n]", prepared):
        if not (_RANK_WORDS.search(clause) or asked == "market_rank"):
            continue
        behind = _BEHIND_RANK.search(clause)
        if behind and cn_number(behind["rank"]):
            rank = int(cn_number(behind["rank"])) + 1
            found.put("market_rank", Quantity(rank, rank, None, True, 0, 0, "位"), rank)
            prepared = prepared.replace(behind.group(), " " * len(behind.group()), 1)
            continue
        match = _RANK.search(clause) or (_BARE_RANK.search(clause) if asked == "market_rank" else None)
        if match is None or re.match(r"\s*[批档年次条个]", clause[match.end():]):
            continue
        rank = cn_number(match["rank"])
        world, home = match.groupdict().get("world"), match.groupdict().get("home")
        if not rank or not (world or home or asked == "market_rank"):
            continue
        if home:  # every firm ahead at home is ahead in the world too
            found.put("market_rank", Quantity(rank, rank, None, True, 0, 0, "位"), int(rank))
        elif match["which"] == "前":
            found.put("market_rank", Quantity(rank, 1, rank, True, 0, 0, "位"), int(rank))
        else:
            found.put("market_rank", None, int(rank))
        prepared = prepared.replace(match.group(), " " * len(match.group()), 1)
    return prepared


def _without_spending(clause: str) -> str:
    """A clause that spends money on something ("设备加软件投了3200万") says what was bought, not the trade."""
    if not re.search(r"\d|[一二两三四五六七八九十百千]+[万亿]", clause):
        return clause
    for word in _longest_first(vocabulary()["labels"]["digital_investment"]):
        clause = clause.replace(word, " ")
    return clause


_CLAUSE_END = re.compile(r"[，,。；;！!？?\n]")  # what ends a clause of a firm's message
_SHARE_OF_REVENUE = re.compile(r"占(?:全年|年|当年)?(?:营业|主营业务?|销售)?(?:收入|营收|销售额|销售)")
_PLANS = re.compile(r"准备|打算|计划|拟|想要?|将来|以后")


@functools.lru_cache(maxsize=1)
def _industry_words() -> dict[str, tuple[str, ...]]:
    """The built-in industry words plus those in kb/rules/facts.yaml."""
    table = {name: tuple(words) for name, words in INDUSTRY_WORDS.items()}
    for name, words in (vocabulary().get("industry_words") or {}).items():
        table[name] = table.get(name, ()) + tuple(words)
    return table


def _first_said(text: str, table: dict[str, list[str]]) -> str | None:
    """The value whose word appears in a clause that does not deny it ("不是个体户"), longest word first."""
    best: tuple[int, str] | None = None
    for value, words in table.items():
        for word in _longest_first(words):
            for m in re.finditer(re.escape(word), text):
                if re.search(r"(?:不是|并非|没有|非)\s*$", text[max(0, m.start() - 3):m.start()]):
                    continue
                if best is None or len(word) > best[0]:
                    best = (len(word), value)
    return best[1] if best else None


_HELD = re.compile(r"已|拿到|拿了|拿的|评上|评了|获得|获评|通过|认定|入库|证书|是|有|属于|挂牌")
# A title wanted or asked about ("高企研发占比要求多少"), not held.
_INTENT = re.compile(r"想|申请|申报|准备|打算|能不能|能否|可不可以|能评|能报|吗|有没有|是不是|算不算|有戏|够不够|条件|要求|标准|门槛|多少|"
                     r"几个点|怎么|如何|什么|啥|\?")
_LAPSED = re.compile(r"过期|到期了|已到期|已经到期|[去前]年到期|失效|被取消|撤销|没通过|没评上|没去复审|没复审|未复审|摘牌")
_PENDING = re.compile(r"在等|等结果|公示中|还没下来|还没批|在审|评审中|正在|申请中|申报中|在申请|在申报|准备中|"
                      r"还没报|没报过|没去报|还没申报|没申报|未申报|还没申请|没申请|未申请")
_DENIED = re.compile(r"(?:没有|没|无|不是|未|不再|并非|非)\S{0,3}$")


def _title_word_at(clause: str, word: str) -> int:
    """Where a title's word stands in the clause, not counting it where it names a place or a product (高新区)."""
    at = clause.find(word)
    not_before = TITLE_WORD_NOT_BEFORE.get(word)
    while at >= 0 and not_before is not None and not_before.match(clause, at + len(word)):
        at = clause.find(word, at + 1)
    return at


def _certifications(text: str) -> set[str]:
    """Titles the firm holds: not denied, not lapsed, and not merely wanted ("想申请专精特新")."""
    found: set[str] = set()
    for sentence in re.split(r"[。；;！!\n]", text):
        lapsed = _LAPSED.search(sentence)
        for comma_clause in re.split(r"[，,]", sentence):
            # A wish or a question ("科小还有戏吗", "想问高新、专精特新有没有戏") is judged on the whole clause,
            # before a list or "和/还有" split it.
            if _INTENT.search(comma_clause) and not _HELD.search(_INTENT.sub("", comma_clause)):
                continue
            for clause in re.split(r"、|和|与|及|还有", comma_clause):
                if re.match(r"\s*(?:没有|没|无|不是|未|不再)", clause) or lapsed:
                    continue
                if _INTENT.search(clause) and not _HELD.search(_INTENT.sub("", clause)) or _PENDING.search(clause):
                    continue
                for standard, words in CERTIFICATION_WORDS.items():
                    for word in words:
                        at = _title_word_at(clause, word)
                        if at >= 0 and not _DENIED.search(clause[:at]):  # "我们不是高企"
                            found.add(standard)
                            break
    if re.search(r"(?:高新|高企|国高)\S{0,2}和\S{0,4}都有|都有", text):  # "国高和专精特新都有"
        for part in re.split(r"和|与|、", re.sub(r"都有.*", "", text)):
            for standard, words in CERTIFICATION_WORDS.items():
                if any(word in part for word in words) or (standard == "高新技术企业" and "高新" in part):
                    found.add(standard)
    return found


def _without_places(text: str) -> str:
    region = find_region(text)
    if isinstance(region, RegionMatch):
        return text[:region.start] + "　" + text[region.end:]
    return text


_CORRECTED = re.compile(r"[的啊呀吧]?\s*[，,。]?\s*(?:不对|不是|说错了|搞错了|记错了|应该是|更正)")


def _region(raw: str, found: _Found) -> None:
    region = find_region(raw)
    while isinstance(region, RegionMatch) and (
            raw[max(0, region.start - 2):region.start] == "不是" or _CORRECTED.match(raw, region.end)):
        # "不是遂昌是云和", "余杭，不对，是临平": the county taken back gives way to the one said after it
        blanked = raw[:region.start] + "　" * (region.end - region.start) + raw[region.end:]
        if not isinstance(find_region(blanked), RegionMatch):
            break
        raw, region = blanked, find_region(blanked)
    if isinstance(region, RegionMatch):
        found.put("region", None, region.full_name)
        return
    for place, county in sorted(vocabulary()["places"].items(), key=lambda p: len(p[0]), reverse=True):
        if place in raw and county in REGIONS:
            found.put("region", None, county)
            return
    city = next((c for c in _cities() if c in raw or c[:-1] in raw), None)
    if city:
        found.put("region", None, city)  # a city: a county is asked only when a rule needs it
    elif any(place in _without_owners(raw) for place in ELSEWHERE):
        found.put("region", None, OUTSIDE)
    elif isinstance(region, str):
        found.problems["region"] = region


def _without_owners(text: str) -> str:
    """The text without the words naming a foreign owner ("控股股东在香港"): where the owner is, not the firm."""
    for word in _foreign_owner_words():
        text = text.replace(word, " ")
    return text


@functools.lru_cache(maxsize=1)
def _foreign_owner_words() -> tuple[str, ...]:
    return tuple(sorted(OWNERSHIP_WORDS["外资"], key=len, reverse=True))


@functools.lru_cache(maxsize=1)
def _cities() -> tuple[str, ...]:
    return tuple(dict.fromkeys(city_of(full) for full in REGIONS))


def _figures(clause: str, today: dt.date, asked: str | None, found: _Found, last_label: str | None,
             alone: bool) -> str | None:
    """Read the figures of one clause; returns the label the next clause inherits."""
    vocab = vocabulary()
    founded = _founded(clause, today)
    if founded is not None:
        found.put("founded_year", founded[1], founded[0])
    figures = [q for q in quantities(clause) if q.unit not in ("年", "月")]
    if founded is not None:
        figures = [q for q in figures if not re.search(r"成立|注册|开了|年", clause[q.end:q.end + 2])]
        if re.search(r"成立|注册|开了|创办|开的公司|就有了|开始做", clause):
            figures = [q for q in figures if q.unit in ("万", "%", "人")
                       or re.match(r"\s*(?:员工|职工|工人|名|位)", clause[q.end:])]
    labels = _label_spans(clause)
    # Last year's figure first; a forecast, or a year before last ("前年研发一千一百五十万"), never replaces it.
    priority = 2 if any(w in clause for w in vocab["last_year_words"]) else (
        0 if any(w in clause for w in (*vocab["forecast_words"], *vocab.get("earlier_year_words", ()))) else 1)
    said_loss = any(w in clause for w in vocab["loss_words"])
    loss = said_loss or found.loss_said and last_label == "taxable_income"
    found.loss_said = said_loss and not figures
    margin = re.search(r"利润率|净利率|毛利率", clause)
    ratio_clause = _is_ratio_clause(clause)
    per_head = "人均" in clause
    # "其中出口一千万", "其中研发5人": a part of a figure already given, not the figure itself.
    part = clause.lstrip().startswith("其中")
    # "近三年研发投入合计900万": a total over several years is not last year's figure.
    several_years = re.search(r"近[两二三四五]年|这几年|历年", clause) and re.search(r"合计|累计|一共|总共|加起来", clause)
    used_label = last_label
    carried_labels = [name for _, _, name in labels if name in MONEY_FIELDS or name == "employees"]
    if not figures and carried_labels:
        # "净利（按所得额算）四十来万", "人数说错了，是两百": the label, then the figure in a later clause
        used_label = carried_labels[-1]
    # "人数应该是180，不是210": a figure right after 不是 is the one taken back.
    figures = [q for q in figures if not re.search(r"不是\s*$", clause[max(0, q.start - 3):q.start])]
    # "外加派遣工9人": more people on top of the head count already given.
    extra_staff = re.match(r"\s*(?:另外|另有|还有|外加|加上)", clause) and "employees" in found.facts
    for q in figures:
        name = _label_for(q, labels, clause)
        if extra_staff and (q.unit == "人" or q.unit in ("个", "") and re.search(r"派遣|临时工|外包|工人|员工", clause)):
            found.put("employees", None, int(found.facts["employees"] + q.value), found.priority.get("employees", 1))
            continue
        if q.unit == "人" and name == "tech_staff_ratio":
            found.tech_staff = q.value
            continue
        if part and (name in found.facts or q.unit == "人" and "employees" in found.facts or name is None):
            continue
        if q.unit == "%" and name == "tech_staff_ratio":
            found.put("tech_staff_ratio", _scaled_q(q, 0.01), round(q.value / 100, 8), priority)
            used_label = "tech_staff_ratio"
            continue
        if several_years and name in ("rd_expense", "revenue", "taxable_income") and q.unit != "%":
            continue
        if q.unit == "%":
            if margin:
                found.margin = q
                continue
            # A share in a later clause continues the R&D figure unless the clause names what else it is a share
            # of ("研发投入600万，占营收8%"; not "…，出口收入占比六成": there 收入 is the part, not the whole).
            of_revenue = _SHARE_OF_REVENUE.search(clause)
            if ratio_clause or "研发" in clause or name in ("rd_expense", "rd_ratio") or (
                    (name is None or of_revenue) and last_label in ("rd_expense", "rd_ratio")) or asked == "rd_ratio":
                found.put("rd_ratio", _scaled_q(q, 0.01), round(q.value / 100, 8), priority)
                used_label = "rd_ratio"
            continue
        if q.unit == "人" or name == "employees" and q.unit == "":
            if q.negative:
                found.problems["employees"] = "人数不能是负数，请核对后再告诉我"
            elif (q.value == int(q.value) or q.approximate) and q.value >= 0:  # "五六个": about 5
                found.put("employees", q, int(q.value), priority)
                used_label = "employees"
            continue
        if name is None:
            name = last_label if last_label in MONEY_FIELDS or last_label == "employees" else None
        if name is None and asked in FIELDS and FIELDS[asked].kind in ("money", "count", "ratio") and alone and not any(
                w in clause for w in vocab["other_money_words"]):
            name = asked  # a bare figure answers the question just asked, unless it names some other money
        if name is None:
            continue
        if per_head and name == "revenue":
            found.facts.setdefault("_per_head_revenue", q.value)
            continue
        if name == "employees":
            if q.unit == "万":
                continue  # a contract price in 万 answers no head count, though one was asked
            found.put("employees", q, int(q.value), priority)
            used_label = name
            continue
        if name == "rd_ratio" or asked == "rd_ratio" and q.unit == "":
            found.put("rd_ratio", _scaled_q(q, 0.01), round(q.value / 100, 8), priority)
            continue
        if FIELDS[name].kind != "money":
            continue
        if q.unit != "万" and not alone and not _money_said_bare(clause, q, labels):
            continue  # a money figure without 万/亿/元 inside a longer message is some other number ("2.0级")
        value = -q.value if (q.negative or (loss and name == "taxable_income")) else q.value
        if value < 0 and name != "taxable_income":
            found.problems[name] = f"{FIELDS[name].label}不能是负数，请核对后再告诉我"
            continue
        if name == "taxable_income" and value < 0:
            q = Quantity(value, -q.high if q.high is not None else None, -q.low if q.low is not None else None,
                         q.approximate, q.start, q.end, q.unit, True)
        found.put(name, q, round(value, 6), priority)
        used_label = name
    if loss and "taxable_income" not in found.facts and not figures:
        found.put("taxable_income", Quantity(0.0, None, 0.0, True, 0, 0, "万"), 0.0)
    per_head = found.facts.pop("_per_head_revenue", None)
    if per_head is not None and "employees" in found.facts:
        found.put("revenue", None, round(per_head * found.facts["employees"], 6))
    elif per_head is not None:
        found.facts["_per_head_revenue"] = per_head
    if used_label == "employees":  # only a label said without its figure carries over ("人数说错了，是两百")
        return used_label if not figures else None
    return used_label if used_label in MONEY_FIELDS or used_label in ("rd_ratio",) else None


# "两千八", "一百五": a head and the next place's digit with the unit left out, as firms say 万元 amounts.
_SHORTHAND = re.compile(r"[一二两三四五六七八九][千百][一二两三四五六七八九]")


def _money_said_bare(clause: str, q: Quantity, labels: list[tuple[int, int, str]]) -> bool:
    """Whether a figure without 万/亿/元 is still a money amount.

    Said in the 两千八 shorthand, or right after its money label in Chinese numerals ("营收三千二",
    "资产是四千八"); never a level like "2.0级".
    """
    written = clause[q.start:q.end]
    if _SHORTHAND.fullmatch(written):
        return True
    chinese = not re.search(r"\d", written)
    right_after = any(name in MONEY_FIELDS and 0 <= q.start - end <= 2 and re.fullmatch(r"[是有约近]?", clause[end:q.start])
                      for _, end, name in labels)
    return chinese and right_after


def _approx(q: Quantity, value: float) -> Quantity:
    return Quantity(value, value * 0.9, value * 1.1, True, q.start, q.end, "万")


def _scaled_q(q: Quantity, scale: float) -> Quantity:
    return Quantity(q.value * scale, scaled(q.low, scale), scaled(q.high, scale), q.approximate, q.start, q.end,
                    q.unit, q.negative)


def _label_for(q: Quantity, labels: list[tuple[int, int, str]], clause: str) -> str | None:
    """The label nearest before the figure, else the nearest after it; R&D figures stated as ratios aside."""
    before = [s for s in labels if s[1] <= q.start]
    after = [s for s in labels if s[0] >= q.end]
    if before:
        name = before[-1][2]
    elif after:
        name = after[0][2]
    else:
        return None
    if name == "employees" and q.unit not in ("人", ""):
        others = [s[2] for s in before[::-1] + after if s[2] != "employees"]
        return others[0] if others else None
    return name


def _founded(clause: str, today: dt.date) -> tuple[int, Quantity | None] | None:
    """The founding year a clause states: "2013年成立", "成立八年了", "去年刚成立", "九几年就有了"."""
    text = _NOT_FOUNDING.sub("", digit_runs(clause))
    # "公司有十年了": how long the firm has existed, said without a founding verb.
    if not re.search(r"成立|注册|创办|创立|开办|开了|办了|[办建开]的|开业|就有了|开始做|办厂|建厂|开厂|[干做]这行|入行|"
                     r"(?:公司|厂子?|企业|店)(?:已经|都|也)?有[^，,。]{0,4}年了", text):
        owned = re.search(r"(?:厂|公司|企业)(?:是|是在)?\s*((?:19|20)\d{2})\s*年的", text) or re.search(
            r"((?:19|20)\d{2})\s*年的(?:厂|公司|企业|老厂)", text)
        return (int(owned.group(1)), None) if owned else None
    if re.search(r"前年", text) and re.search(r"成立|注册|开的|办的|开业", text):
        return today.year - 2, None
    if re.search(r"去年", text) and re.search(r"成立|注册|开的|办的|开业", text):
        return today.year - 1, None
    if re.search(r"今年", text) and re.search(r"成立|注册|开的|办的|开业", text):
        return today.year, None
    full = re.search(r"(?<!\d)((?:19|20)\d{2})\s*年?", text)
    if full and re.search(r"(?:19|20)\d{2}\s*年", text):
        return int(full.group(1)), None
    short = re.search(r"(?<![\d.])(\d{2})\s*年(?=[^\d]{0,3}(?:成立|注册|创办|开办|办|开|建|就有|起家))", text)
    if short:  # "零六年开的厂": a two-digit year, this century unless that would be in the future
        year = 2000 + int(short.group(1))
        return (year if year <= today.year else year - 100), None
    decade = re.search(r"([零〇九八七]|[0-9])几年", clause)
    if decade:
        digit = {"零": 0, "〇": 0, "九": 9, "八": 8, "七": 7}.get(decade.group(1), None)
        if digit is None:
            digit = int(decade.group(1))
        start = (2000 if digit == 0 else 1900 + digit * 10)
        return start + 5, Quantity(start + 5, start, start + 9, True, 0, 0, "年")
    months = re.search(rf"([\d{NUMERAL_CHARS}十]+)\s*个(?:多)?月", clause)
    if months and (count := cn_number(months.group(1))) is not None and count < 12:
        # "注册才七个月": this year, or last year when that many months reach back past January
        return (today.year if count < today.month else today.year - 1), None
    ago = re.search(rf"([\d.{NUMERAL_CHARS}十]+)\s*(多|来)?\s*年", clause)
    if ago:
        years = cn_number(ago.group(1))
        if years is not None and years < 200:
            nearly = re.search(r"快|将近|近", clause[:ago.start()])
            over = ago.group(2) or re.search(r"多", clause[ago.end():ago.end() + 1])
            year = int(today.year - years)
            if nearly:
                return year + 1, Quantity(year + 1, year + 1, year + 2, True, 0, 0, "年")
            if over and ago.group(2) != "来" and place_step(ago.group(1)) >= 10:  # "二十多年": 21–29 years, founded 1997–2005 in 2026
                step = place_step(ago.group(1))
                return year - 1, Quantity(year - 1, year - step + 1, year - 1, True, 0, 0, "年")
            if over:
                return year, Quantity(year, year - 1, year, True, 0, 0, "年")
            return year, None
    return None
