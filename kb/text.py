"""Text as firms type it, made comparable: full-width forms, traditional characters, stray whitespace.

Used by the NLU pipeline (before tokenizing) and by retrieval, so both see the same text.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata

import zhconv

# Long pastes are cut to this many characters before NLU; the question inside is found by `question_in`.
MAX_NLU_CHARS = 1000
_CONTROL = re.compile(r"[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u200b-\u200f\ufeff]")
_SPACES = re.compile(r"[ \t\u3000]+")
_SENTENCE_END = re.compile(r"(?<=[。！？?!；;\n])")
_QUESTION_MARKERS = ("？", "?", "吗", "么", "多少", "怎么", "如何", "哪些", "是否", "能否", "可以", "几")
# A request is a question too, even without a question mark: "麻烦说一下最新的标准".
_REQUEST_MARKERS = ("请问", "想问", "问一下", "问下", "麻烦", "请说", "请讲", "请介绍", "说一下", "讲一下", "帮忙")
# How much of the sentence before the question is kept: it usually names what the question is about.
_CONTEXT_CHARS = 60


def normalize(text: str) -> str:
    """NFKC (full-width digits and letters to half-width), traditional → simplified, tidy spaces."""
    text = unicodedata.normalize("NFKC", text or "")
    text = _CONTROL.sub("", text)
    text = zhconv.convert(text, "zh-cn")
    return _SPACES.sub(" ", text).strip()


def _asks(sentence: str) -> bool:
    return any(marker in sentence for marker in _QUESTION_MARKERS + _REQUEST_MARKERS)


def question_in(text: str, limit: int = 120) -> str:
    """The question inside a long paste (a forwarded notice, a story, then the question).

    The last run of sentences that ask or request something, after the end of the sentence before
    them, which usually names the topic ("顾客老问换新补贴的事。…现在提高了？…麻烦说一下最新的标准").
    A paste with no asking sentence gives its last sentence. Short texts are returned whole.
    """
    text = normalize(text)
    if len(text) <= limit:
        return text
    sentences = [s.strip() for s in _SENTENCE_END.split(text) if s.strip()]
    asking = [i for i, sentence in enumerate(sentences) if _asks(sentence)]
    if not asking:
        return (sentences or [text])[-1][-limit:]
    last = asking[-1]
    first = last
    while first - 1 in asking:
        first -= 1
    context = sentences[first - 1][-_CONTEXT_CHARS:] if first else ""
    return (context + "".join(sentences[first:last + 1]))[-2 * limit:]


_FOUR_DIGIT_YEAR = re.compile(r"(20\d{2})\s*(?:年|版)?")
_TWO_DIGIT_YEAR = re.compile(r"(?<!\d)(\d{2})\s*年")
_RELATIVE_YEARS = {"今年": 0, "本年": 0, "本年度": 0, "去年": -1, "上年": -1, "前年": -2, "明年": 1}


def edition_year(text: str, *, today: dt.date) -> int | None:
    """The edition year a question names: 2025, 2025版, 23年, 今年, 去年 (resolved against today)."""
    text = normalize(text)
    match = _FOUR_DIGIT_YEAR.search(text)
    if match:  # a year written out wins over 去年 in the same question ("去年完成得咋样？2023年实际…")
        return int(match.group(1))
    for word, offset in _RELATIVE_YEARS.items():
        if word in text:
            return today.year + offset
    match = _TWO_DIGIT_YEAR.search(text)
    if match and 15 <= int(match.group(1)) <= today.year % 100 + 1:
        return 2000 + int(match.group(1))
    return None


# Provinces and big cities outside Zhejiang that firms ask about; the assistant only knows Zhejiang.
_OTHER_REGIONS = (
    "北京", "上海", "天津", "重庆", "江苏", "广东", "山东", "福建", "安徽", "江西", "湖南", "湖北", "河南", "河北",
    "四川", "陕西", "辽宁", "吉林", "黑龙江", "云南", "贵州", "广西", "海南", "山西", "内蒙古", "新疆", "西藏",
    "宁夏", "青海", "甘肃", "深圳", "广州", "苏州", "南京", "厦门", "合肥", "成都", "武汉", "西安", "香港", "澳门",
)


def other_region(text: str) -> str | None:
    """A place outside Zhejiang the question is about, unless it also names Zhejiang."""
    text = normalize(text)
    if "浙江" in text or "浙" in text[:2]:
        return None
    return next((region for region in _OTHER_REGIONS if region in text), None)


_CN_NUMERALS = {"一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_ARTICLE = re.compile(r"第\s*(\d+|[一二两三四五六七八九十]+)\s*条")


def _chinese_number(text: str) -> int:
    if "十" not in text:
        return _CN_NUMERALS.get(text, 0)
    tens, _, units = text.partition("十")
    return (_CN_NUMERALS.get(tens, 1) if tens else 1) * 10 + (_CN_NUMERALS.get(units, 0) if units else 0)


_COUNT_OF_ARTICLES = re.compile(r"(?<!第)([一二两三四五六七八九]?十[一二三四五六七八九]?)(?=条)")


_YEAR_DIGITS = {"〇": "0", "零": "0", "一": "1", "二": "2", "两": "2", "三": "3", "四": "4", "五": "5", "六": "6",
                "七": "7", "八": "8", "九": "9"}
_CHINESE_YEAR = re.compile(r"([二两][〇零一二三四五六七八九]{3})(?=\s*年)")


def arabic_years(text: str) -> str:
    """"二〇二五年", "二零二四年" as 2025年, 2024年."""
    return _CHINESE_YEAR.sub(lambda m: "".join(_YEAR_DIGITS[c] for c in m.group(1)), text)


def arabic_article_counts(text: str) -> str:
    """"三十二条", "十八条" as documents are named (32条, 18条); 第十五条 (one article) is left alone."""
    return _COUNT_OF_ARTICLES.sub(lambda m: str(_chinese_number(m.group(1))), text)


def article_number(text: str) -> int | None:
    """The article a question names: 第3条, 第十五条, 第 2 条."""
    match = _ARTICLE.search(normalize(text))
    if not match:
        return None
    value = match.group(1)
    number = int(value) if value.isdigit() else _chinese_number(value)
    return number or None
