"""Numbers as firms write them: Chinese, Arabic or mixed ("两千万", "1.2亿", "一百二", "二〇一五")."""

from __future__ import annotations

import re
import unicodedata

import zhconv

from kb.format import format_number

_CN_DIGITS = {"零": 0, "〇": 0, "○": 0, "一": 1, "壹": 1, "二": 2, "贰": 2, "两": 2, "俩": 2, "三": 3, "叁": 3,
              "四": 4, "肆": 4, "五": 5, "伍": 5, "六": 6, "陆": 6, "七": 7, "柒": 7, "八": 8, "捌": 8, "九": 9,
              "玖": 9}
_CN_SMALL = {"十": 10, "拾": 10, "百": 100, "佰": 100, "千": 1000, "仟": 1000}
_CN_BIG = {"万": 10_000, "亿": 100_000_000}
CN_NUMERALS = "".join(_CN_DIGITS) + "".join(_CN_SMALL)
NUMBER = rf"(?:\d+(?:\.\d+)?|[{CN_NUMERALS}])[\d.{CN_NUMERALS}万亿点]*"


def normalise(text: str) -> str:
    """Simplified, half-width text with 1,200 / 300w / 1.2个亿 / ¥ amounts written the one way the readers expect."""
    text = zhconv.convert(unicodedata.normalize("NFKC", str(text)).strip(), "zh-cn")  # 營收兩億 → 营收两亿
    text = text.replace("木有", "没有")                                  # 木有: 没有 as firms type it
    text = re.sub(r"¥\s*([\d,]+(?:\.\d+)?)(?![\d,.]*\s*[万亿wW])", r"\1元", text)  # ¥12,500,000 is 元
    text = re.sub(r"(?<=\d),(?=\d{3})", "", text)                     # 1,200万
    text = re.sub(rf"(?<=[\d{CN_NUMERALS}])\s*个\s*(?=[亿万])", "", text)      # 1.2个亿
    text = re.sub(r"(?<=\d)\s*[wW](?![a-zA-Z])", "万", text)           # 300w
    return text


def digit_runs(text: str) -> str:
    """Digit-by-digit numerals ("二〇一五", "零五") become Arabic digits."""
    plain = "零〇○一二三四五六七八九"
    return re.sub(f"[{plain}]{{2,}}", lambda m: "".join(str(_CN_DIGITS[c]) for c in m.group()), text)


def _decimal_points(text: str) -> str:
    """"三点五" → "3.5"; "1点2" → "1.2"."""
    def replace(match: re.Match[str]) -> str:
        whole = cn_number(match.group(1))
        if whole is None:
            return match.group()
        decimals = "".join(str(_CN_DIGITS.get(c, c)) for c in match.group(2))
        return f"{format_number(whole)}.{decimals}"
    return re.sub(rf"([\d{CN_NUMERALS}]+)点([\d零〇一二三四五六七八九]+)", replace, text)


def cn_number(text: str) -> float | None:
    """Read a number written in Chinese, Arabic or mixed: "两千万", "1.2亿", "一百二", "3千万"; None if not one."""
    text = _decimal_points(digit_runs(text))
    tokens = re.findall(r"\d+(?:\.\d+)?|.", text)
    total = section = 0.0
    number: float | None = None
    last_unit: int | None = None
    colloquial = False  # "一亿二" = 1.2亿, "两千五" = 2500: a lone digit after a unit counts in the next unit down
    seen_digit = False
    for token in tokens:
        if re.fullmatch(r"\d+(?:\.\d+)?", token) or token in _CN_DIGITS:
            if number is not None:
                return None
            arabic = token not in _CN_DIGITS
            number = float(token) if arabic else float(_CN_DIGITS[token])
            colloquial = not arabic and last_unit is not None and last_unit != 10
            seen_digit = True
        elif token in _CN_SMALL:
            section += (1 if number is None else number) * _CN_SMALL[token]
            number, last_unit, seen_digit = None, _CN_SMALL[token], True
        elif token in _CN_BIG:
            if not seen_digit:
                return None
            amount = section + (number or 0)
            if token == "亿":
                total = (total + amount) * _CN_BIG[token]
            else:
                total += amount * _CN_BIG[token]
            section, number, last_unit = 0.0, None, _CN_BIG[token]
        else:
            return None
    if not seen_digit:
        return None
    if number is not None:
        section += number * (last_unit / 10 if colloquial and last_unit else 1)
    return total + section
