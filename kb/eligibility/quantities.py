"""Figures in a firm's words, each with the range its wording allows.

"八千多万" is 8000–9000, "不到两千万" at most 2000, "两三千万" 2000–3000 (about 2500), "三十来个" about 30
(±10%). Amounts come out in 万元 when a 万/亿/元 is written, with the unit that was written otherwise.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from kb.eligibility.numbers import cn_number, normalise
from kb.eligibility.wording import vocabulary


@dataclass(frozen=True)
class Quantity:
    """A figure as written: its point value, the range its wording allows, where it sits, its unit."""

    value: float
    low: float | None
    high: float | None
    approximate: bool
    start: int
    end: int
    unit: str  # "万" (money in 万元 already), "元", "人", "%", "年", "月", "" (bare)
    negative: bool = False


NUMERAL_CHARS = "零〇○一二两三四五六七八九"
EPSILON = 1e-6  # "多/出头/不到" make a bound strict
UNDER_POINT = 0.95  # "不到X": the point value stands just under X, inside the range the wording allows
_NUMERAL = rf"(?:\d+(?:\.\d+)?|[{NUMERAL_CHARS}十百千])(?:[\d.{NUMERAL_CHARS}十百千万亿点])*"
_PAIR = re.compile(r"([一二两三四五六七八九])([二两三四五六七八九])([十百千]?)")
_FEW = re.compile(r"(大)?几([十百千]?)")
_HEADED_PAIR = re.compile(r"([一二两三四五六七八九]+[百千])([一二两三四五六七八九])([二三四五六七八九])([十百]?)")


def prepare(text: str) -> str:
    """Text with the colloquial figure forms (两个多亿, 一个半亿, 三个点, 百分之五, 一成五) written plainly."""
    text = normalise(text)
    text = re.sub(r"(?<=\d)\s+(?=[万亿])", "", text)                 # "0.8 亿"
    text = re.sub(r"个多(?=[万亿])", "多", text)                      # 两个多亿
    text = re.sub(r"(?<=[一二两三四五六七八九十\d])亿多(?![万千百十\d一二两三四五六七八九])", "多亿", text)  # 两亿多
    text = re.sub(r"(?<![\d一二两三四五六七八九十])个把(?=[万亿])", "一", text)  # 个把亿
    text = re.sub(rf"([{NUMERAL_CHARS}\d]+)个半(?=[万亿])", lambda m: f"{_as_number(m.group(1))}.5", text)  # 一个半亿
    text = re.sub(r"([\d.]+|[一二两三四五六七八九十]+)个半点", lambda m: f"{_as_number(m.group(1))}.5%", text)  # 三个半点
    text = re.sub(r"([\d.]+|[一二两三四五六七八九十]+)个多点", lambda m: f"{_as_number(m.group(1))}多%", text)  # 三个多点
    text = re.sub(r"([\d.]+|[一二两三四五六七八九十]+)个点", lambda m: f"{_as_number(m.group(1))}%", text)  # 三个点
    # Shorthand of chat: 3kw = 3千万, 300w = 300万 (k 千, w 万)
    text = re.sub(r"(\d+(?:\.\d+)?)\s*[kK][wW](?![a-zA-Z])", lambda m: f"{m.group(1)}千万", text)
    text = re.sub(r"(\d+(?:\.\d+)?)\s*[wW](?![a-zA-Z])", lambda m: f"{m.group(1)}万", text)
    text = re.sub(r"百分之([\d.一二两三四五六七八九十点零〇]+)", lambda m: f"{_as_number(m.group(1))}%", text)
    text = re.sub(r"(?<=[占的])一半", "50%", text)  # 占收入的一半
    text = re.sub(r"(?<=[占的约概是有近比例多入收额])([一二两三四五六七八九])成([一二三四五六七八九](?![十百千万亿]))?(?![立功本员果交绩])",
                  lambda m: f"{cn_number(m.group(1)) * 10 + (cn_number(m.group(2)) if m.group(2) else 0):g}%",
                  text)  # 占收入的一成 → 10%, 一成五 → 15%
    text = re.sub(r"千分之([\d.一二两三四五六七八九十点零〇]+)", lambda m: f"{_as_number(m.group(1), 0.1)}%", text)
    return text


def _as_number(text: str, scale: float = 1.0) -> str:
    value = cn_number(text)
    if value is None:
        return text
    value *= scale
    return f"{value:g}"


def place_step(text: str) -> float:
    """The step of a number's last written place: 八千 → 1000, 一千一百 → 100, 300 → 100, 25 → 1."""
    text = text.rstrip("万亿")
    if text and text[-1] in "十百千":
        return {"十": 10, "百": 100, "千": 1000}[text[-1]]
    digits = re.sub(r"\D", "", text.split(".")[0])
    if digits and "." not in text:
        stripped = digits.rstrip("0")
        return float(10 ** (len(digits) - len(stripped))) if stripped else 1.0
    return 1.0


def _big_unit(text: str) -> float:
    """The multiplier of 万/亿 written inside or right after the figure (1 when none)."""
    if text.endswith("亿"):
        return 1e8
    if text.endswith("万"):
        return 1e4
    return 1.0


def quantities(text: str) -> list[Quantity]:
    """Every figure in a prepared text, with its hedge and unit."""
    found: list[Quantity] = []
    vocab = vocabulary()["hedges"]
    pattern = re.compile(
        rf"(?P<few>大?几[十百千]|(?<![\d{NUMERAL_CHARS}十百千])几(?=[万亿])|[{NUMERAL_CHARS}\d十百千]*[零十百千]几)"
        rf"(?=[十百千万亿个人名位号年%元块]|$)"
        rf"|(?P<num>{_NUMERAL})")
    for match in pattern.finditer(text):
        start, end = match.span()
        core = match.group()
        if match.group("few"):
            low, high = _few_range(core)
            if low is None:
                continue
            value, approximate = low, True
        else:
            pair = _PAIR.fullmatch(re.sub(r"[万亿]+$", "", core)) if len(core) >= 2 else None
            headed = _HEADED_PAIR.fullmatch(re.sub(r"[万亿]+$", "", core)) if len(core) >= 4 else None
            number = cn_number(core)
            # 两三千万; 三五十人 (the idiom skips one: 30–50)
            if pair and 0 < (cn_number(pair.group(2)) or 0) - (cn_number(pair.group(1)) or 0) <= 2:
                unit = {"十": 10, "百": 100, "千": 1000, "": 1}[pair.group(3)] * _big_unit(core)
                low, high = cn_number(pair.group(1)) * unit, cn_number(pair.group(2)) * unit
                value, approximate = (low + high) / 2, True  # "七八十万": about 75万, between 70 and 80
            elif headed and (cn_number(headed.group(3)) or 0) - (cn_number(headed.group(2)) or 0) == 1:
                # 一百五六十万 → 150–160万: a written head, then two neighbouring digits of the next place
                head = cn_number(headed.group(1)) or 0
                place = {"十": 10, "百": 100, "千": 1000}.get(headed.group(4)) or place_step(headed.group(1)) / 10
                scale = _big_unit(core)
                low = (head + cn_number(headed.group(2)) * place) * scale
                high = (head + cn_number(headed.group(3)) * place) * scale
                value, approximate = (low + high) / 2, True
            elif number is None:
                continue
            else:
                value, low, high, approximate = number, None, None, False
        tail = text[end:end + 6]
        # 多/余/来 right after the numeral, then an optional 万/亿 that scales it.
        hedge = re.match(r"(多|余|来)?(个(?=[万亿]))?([万亿])?", tail)
        after = hedge.group(1) if hedge else None
        scale_word = hedge.group(3) if hedge else None
        if hedge and hedge.group(0):
            end += len(hedge.group(0))
        scale = 1.0
        if scale_word:
            scale = 1e8 if scale_word == "亿" else 1e4
        elif not match.group("few"):
            pass
        written_big = scale_word or "万" in core or "亿" in core
        if after in ("多", "余"):  # "300多" is more than 300 and less than 400
            step = place_step(core)
            low, high, approximate = value + EPSILON * max(value, 1), value + step - EPSILON * max(value, 1), True
        elif after == "来":  # "一千九百来万": about 1900, within the last written place (never 2000)
            step = place_step(core)
            low, high = max(value * 0.9, value - step), min(value * 1.1, value + step - EPSILON * max(value, 1))
            approximate = True
        value, low, high = value * scale, scaled(low, scale), scaled(high, scale)
        rest = text[end:end + 4]
        unit = ""
        unit_match = re.match(r"\s*(万元|元|块钱|块|%|人|个人|名|位|号人|号|个月|月|个|年)", rest)
        if written_big and unit_match and unit_match.group(1) in ("人", "个人", "名", "位", "号人"):
            unit = "人"  # "1.3万人": a head count, not money
            end += len(unit_match.group(0))
        elif written_big:
            unit = "万"
            value, low, high = value / 1e4, scaled(low, 1e-4), scaled(high, 1e-4)
            if unit_match and unit_match.group(1) in ("元", "块", "块钱", "万元"):
                end += len(unit_match.group(0))
        elif unit_match:
            word = unit_match.group(1)
            unit = {"万元": "万", "元": "元", "块钱": "元", "块": "元", "%": "%", "年": "年", "个月": "月",
                    "月": "月"}.get(word, "人")
            if unit == "元":
                value, low, high = value / 1e4, scaled(low, 1e-4), scaled(high, 1e-4)
                unit = "万"
            end += len(unit_match.group(0))
        before = text[max(0, start - 4):start]
        after_text = text[end:end + 4]
        negative = bool(re.search(r"-\s*$", text[max(0, start - 2):start]))
        if any(before.endswith(w) for w in ("不超过", "未超过", "没超过")) or any(
                after_text.startswith(w) for w in ("以内", "以下", "之内")):
            low, high, approximate = None, value, True
        elif any(before.endswith(w) for w in ("不低于", "不少于", "超过", "多于", "起码", "至少")) or any(
                after_text.startswith(w) for w in ("以上", "开外")):  # before "低于": "不低于3%" is at least 3%
            low, high, approximate = value, None, True
        elif any(before.endswith(w) for w in vocab["at_most"]) or any(
                after_text.startswith(w) for w in ("不到", "不足", "没到")):  # "不到两千万", "两百人不到"
            # Below the figure, and usually close to it: 0.95 of it stands for the point ("不到80人" → 76).
            low, high, approximate = None, value - EPSILON * max(value, 1), True
            value *= UNDER_POINT
        elif any(before.endswith(w) for w in vocab["nearly"]):
            low, high, approximate = value * 0.9, value - EPSILON * max(value, 1), True
        elif any(after_text.startswith(w) for w in vocab["just_over"]):
            low, high, approximate = value + EPSILON * max(value, 1), value * 1.1, True
        elif any(w in before for w in vocab["approximate"]) or any(after_text.startswith(w) for w in ("左右", "上下")):
            approximate = True
        if approximate and low is None and high is None:
            low, high = value * 0.9, value * 1.1
        if len(core) == 1 and core in NUMERAL_CHARS and not unit and not after and not match.group("few"):
            continue  # "一般", "一家", "一共": a lone numeral character is a word, not a figure
        found.append(Quantity(value, low, high, approximate, start, end, unit, negative))
    return found


def scaled(value: float | None, scale: float) -> float | None:
    """A bound times a scale; an open bound stays open."""
    return None if value is None else value * scale


def _few_range(core: str) -> tuple[float | None, float | None]:
    """"十几" → 11–19, "三百零几" → 301–309, "几十" → 20–99, "大几千" → 5000–9999, "几" → 2–9."""
    if core.startswith("大几"):
        unit = {"十": 10, "百": 100, "千": 1000}.get(core[2:3], 1)
        return 5 * unit, 10 * unit - 1
    if core.startswith("几"):
        unit = {"十": 10, "百": 100, "千": 1000}.get(core[1:2], 1)
        return 2 * unit, 10 * unit - 1
    prefix = core[:-1]
    base = cn_number(prefix.rstrip("零")) if prefix.rstrip("零") else 0
    if base is None:
        return None, None
    if prefix.endswith(("零", "十")):
        return base + 1, base + 9
    step = place_step(prefix) / 10
    return base + step, base + 9 * step
