"""English fact phrasings rewritten in the Chinese the fact reader understands.

"sales last year roughly 80 million yuan" → "销售额去年大约8000万元"; "our plant is in Suichang, Lishui"
→ "our plant is in遂昌,丽水" (spaces next to Chinese dropped, so they do not end a clause). Words come from kb/rules/facts.yaml (`english`), places from the county table
by their pinyin. What is not recognised stays as it is and is ignored by the reader.
"""

from __future__ import annotations

import functools
import re

from pypinyin import lazy_pinyin

from kb.eligibility.regions import COUNTIES_BY_CITY, short_name
from kb.eligibility.wording import vocabulary

_LATIN = re.compile(r"[A-Za-z]")
# 50 million → 5000万; 1.2 billion → 12亿; 300k → 30万; the currency word after it says 元.
_SCALES = {"million": 100, "mn": 100, "m": 100, "billion": 100_000, "bn": 100_000, "thousand": 0.1, "k": 0.1}
_FIGURE = re.compile(r"(\d+(?:\.\d+)?)\s*(million|mn|m|billion|bn|thousand|k)\b", re.IGNORECASE)
_CURRENCY = re.compile(r"\b(?:rmb|cny|yuan)\b|¥", re.IGNORECASE)
_FOUNDED = re.compile(r"\b(?:founded|established|set up|registered|incorporated)\s+(?:in\s+)?((?:19|20)\d{2})\b",
                      re.IGNORECASE)
_SPACE_BY_CJK = re.compile(r"(?<=[\u4e00-\u9fff])\s+|\s+(?=[\u4e00-\u9fff])")


@functools.lru_cache(maxsize=1)
def _places() -> dict[str, str]:
    """Pinyin of every city and county name ("dongtou", "wenzhou") → the Chinese short name."""
    names = set(COUNTIES_BY_CITY)
    for counties in COUNTIES_BY_CITY.values():
        names.update(counties)
    table: dict[str, str] = {}
    for name in names:
        short = short_name(name)
        table.setdefault("".join(lazy_pinyin(short)), short)
    return table


@functools.lru_cache(maxsize=1)
def _words() -> list[tuple[re.Pattern[str], str]]:
    pairs = sorted(vocabulary().get("english", {}).items(), key=lambda p: len(p[0]), reverse=True)
    return [(re.compile(rf"(?<![a-z]){re.escape(word)}(?![a-z])", re.IGNORECASE), chinese) for word, chinese in pairs]


def _figure(match: re.Match[str]) -> str:
    value = float(match.group(1)) * _SCALES[match.group(2).lower()]
    return f"{value / 10_000:g}亿" if value >= 10_000 else f"{value:g}万"


def to_chinese(text: str) -> str:
    """The text with English fact words, figures and place names in Chinese; Chinese text is returned as is."""
    if not _LATIN.search(text):
        return text
    text = _FOUNDED.sub(r"\1年成立", text)
    text = re.sub(r"\b((?:19|20)\d{2})-(?:founded|established)\b", r"\1年成立 ", text, flags=re.IGNORECASE)
    text = re.sub(r"(\d+(?:\.\d+)?)\s*(?:percent|pct)\b", r"\1%", text, flags=re.IGNORECASE)
    text = re.sub(r"(\d+(?:\.\d+)?)\s*yi\b", r"\1亿", text, flags=re.IGNORECASE)  # pinyin typed for 亿
    text = _FIGURE.sub(_figure, text)
    text = _CURRENCY.sub("元", text)
    text = re.sub(r"(?<!\d)\.|\.(?!\d)", "。", text)  # a full stop ends a sentence; 1.5 keeps its point
    places = _places()
    text = re.sub(r"[A-Za-z]+", lambda m: places.get(m.group().lower(), m.group()), text)
    for pattern, chinese in _words():
        text = pattern.sub(chinese, text)
    return _SPACE_BY_CJK.sub("", text)  # a space between Chinese words would end a clause
