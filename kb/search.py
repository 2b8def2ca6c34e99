"""Retrieval over measures: BM25 over jieba tokens plus Chinese character bigrams.

Which measure a question is about is decided here, not by the NLU, so measures
added to the knowledge base are found without retraining. The index is rebuilt
only when the knowledge base's revision changes.
"""

from __future__ import annotations

import logging
import math
import re
import threading
import weakref
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import jieba
import numpy as np

from kb.models import Measure

jieba.setLogLevel(logging.WARNING)

# A token worth indexing has a Chinese character, letter or digit; "8+4", "三个80%" and "415X" stay whole.
_TOKEN = re.compile(r"[\u4e00-\u9fffA-Za-z0-9][\u4e00-\u9fffA-Za-z0-9+%.]*")
_CJK = re.compile(r"[\u4e00-\u9fff]")
# Question scaffolding that says nothing about which measure is meant.
_STOPWORDS = frozenset(
    "的 了 吗 呢 啊 吧 么 是 有 在 和 与 及 或 我 我们 你 你们 企业 公司 请问 一下 什么 怎么 怎样 如何 哪些 多少 能 可以 "
    "政策 措施 规定 关于 这个 那个 问 想 知道 享受 申请 申报 支持 条 里 中 对 给 要 会 呀 哪里 几 方面 有没有 是不是 "
    "具体 大概 一些 相关 情况 现在 今年 目前 怎么报 怎么办 咋报 咋办 办理 流程 哪儿 "
    # How firms phrase "which / how much / what does it mean": never evidence for one measure.
    "哪个 哪家 哪天 这块 那块 部门 多少钱 少钱 一共 总共 到底 啥 是啥 咋 咋样 怎么样 意思 啥意思 时候 什么时候".split()
)
_PLUS_NAME = re.compile(r"(?<![0-9a-z+])[0-9a-z]{1,2}(?:\+[0-9a-z]{1,2})+(?![0-9a-z+])")
# Single characters that stand for a whole word in questions (奖 → 奖励); other single characters are dropped.
_SHORT_WORDS = {"奖": "奖励", "补": "补贴"}
# Colloquial words firms use for the documents' own words.
_COLLOQUIAL = {"省里": "省级", "评上": "认定", "评为": "认定"}
_lock = threading.Lock()


def english(token: str) -> bool:
    """A token of ASCII letters only: English around a Chinese question ("apply", "company")."""
    return token.isascii() and token.isalpha()


def tokenize(text: str) -> list[str]:
    """Cut text into jieba search-mode words plus the character bigrams inside longer words, stopwords dropped.

    Bigrams let "首台（套）" meet "首台套" and a compound jieba does not know meet its parts;
    they are taken inside words only, since bigrams across word boundaries are mostly noise.
    """
    text = text.lower()
    # "1+3+5", "1+n", "4+1": a framework named by its numbers is one word, whether jieba knows it or not.
    tokens = _PLUS_NAME.findall(text)
    for word in jieba.lcut_for_search(_PLUS_NAME.sub(" ", text)):
        word = _COLLOQUIAL.get(word, word)
        if word in _STOPWORDS or not _TOKEN.fullmatch(word):
            continue
        if len(word) == 1 and _CJK.match(word):
            if word in _SHORT_WORDS:  # "省里奖多少钱": 奖 alone means 奖励
                tokens.append(_SHORT_WORDS[word])
            continue
        tokens.append(word)
        if len(word) >= 3:
            tokens.extend(word[i : i + 2] for i in range(len(word) - 1) if _CJK.match(word[i]) and _CJK.match(word[i + 1]))
    return tokens


_taught: set[str] = set()  # terms already given to jieba in this process
_taught_lock = threading.Lock()


def add_terms(terms: Iterable[str]) -> None:
    """Teach jieba the knowledge base's own terms so they stay whole words.

    Each term is added once per process: jieba.add_word costs a dictionary update per call (and
    re-adding grows jieba's total frequency), so a rebuild only adds the terms it has not seen.
    """
    with _taught_lock:
        for term in terms:
            if term and len(term) >= 2 and term not in _taught:
                jieba.add_word(term, freq=20000)
                _taught.add(term)


def measure_text(measure: Measure) -> list[tuple[str, int]]:
    """Return the fields retrieval reads, each with its weight (titles and aliases count more)."""
    document = measure.document
    names = " ".join(filter(None, [document.short_name, *(document.aliases or [])]))
    return [
        (measure.title, 3),
        (" ".join(measure.keywords or []), 3),
        (measure.aspect or "", 1),
        (names, 1),
        (measure.summary, 1),
        (" ".join(b["what"] for b in measure.benefits or []), 1),
        # Notes hold facts asked about too (a count at a date, "奖励由市县定"); the reply shows the matching part.
        (" ".join(public_note_sentences(measure.note)), 1),
    ]


_ID_LIKE = re.compile(r"[A-Za-z0-9]+(?:-[A-Za-z0-9]+)+")
# Note sentences about the record itself (which field was left empty, how good the source is) are for
# editors, not firms: a field name or a word about the source's quality marks them.
_EDITORIAL = re.compile(r"[a-z_]{4,}|转码|镜像|转载|机翻|数据集|未逐字|推定|未核实|未填|不填|据此|[（(](?:high|medium|low)[）)]")


def public_note_sentences(note: str | None) -> list[str]:
    """The sentences of a measure's note that state a fact a firm may ask about (ids left as they are)."""
    sentences = (s.strip() for s in re.split(r"(?<=。)", note or ""))
    return [s for s in sentences if s and not _EDITORIAL.search(_ID_LIKE.sub("", s))]


# Characters firms type for one another with a pinyin input method (手台套 for 首台套, 双尖双岭 for 双尖双领).
# A character is replaced only where the knowledge base knows the corrected pair of characters and not the typed one.
_CONFUSABLE_GROUPS = (
    "首手守", "领岭令", "雁燕艳", "尖坚间", "双霜", "台抬", "套淘", "企启", "策册侧", "补卜", "贴帖", "精经晶",
    "专砖", "民名", "链连", "规归", "融容荣", "资姿", "惠汇", "奖将", "励历厉", "认任", "申伸", "营赢", "技计", "研严",
    "费废", "额鹅", "级及极", "审婶", "核合", "巨具", "冠贯", "岛倒", "县现", "亩母", "税说", "担单", "贷带",
)
CONFUSABLE = {c: group.replace(c, "") for group in _CONFUSABLE_GROUPS for c in group}
_YEAR = re.compile(r"20\d\d")


@dataclass(frozen=True)
class Hit:
    measure_id: str
    score: float
    matched: tuple[str, ...]
    coverage: float  # share of the question's evidence (idf-weighted) that this measure matches


class MeasureIndex:
    """An immutable BM25 index; build a new one when the knowledge base changes.

    Postings list, per token, the measures that have it with their BM25 term weight worked out at
    build time, so a question touches only the measures sharing one of its tokens. Scores are summed
    in the same order as a scan of every measure would, so they are the same floats.
    """

    k1 = 1.5
    b = 0.75

    def __init__(self, measures: Iterable[Measure]) -> None:
        measures = list(measures)
        add_terms(term for m in measures for term in [m.title, *(m.keywords or [])])
        self.ids: list[str] = []
        self.families: list[str] = []
        self.editions: list[str] = []
        self.term_counts: list[Counter] = []
        tokens_of: dict[str, list[str]] = {}  # a text repeated across measures (a document's names) is cut once
        for measure in measures:
            counts: Counter = Counter()
            for text, weight in measure_text(measure):
                tokens = tokens_of.get(text)
                if tokens is None:
                    tokens = tokens_of[text] = tokenize(text)
                for token in tokens:
                    counts[token] += weight
            self.ids.append(measure.id)
            self.families.append(measure.document.family)
            self.editions.append(measure.document.edition)
            self.term_counts.append(counts)
        self.lengths = [sum(c.values()) for c in self.term_counts]
        self.average_length = (sum(self.lengths) / len(self.lengths)) if self.lengths else 1.0
        frequency: Counter = Counter()
        for counts in self.term_counts:
            frequency.update(counts.keys())
        total = len(self.ids)
        self.idf = {t: math.log(1 + (total - n + 0.5) / (n + 0.5)) for t, n in frequency.items()}
        # Words the index has never seen weigh as much as its rarest word: they are evidence we cannot match.
        self.rarest = max(self.idf.values(), default=1.0)
        postings: dict[str, tuple[list[int], list[float]]] = {}
        k1, b, average = self.k1, self.b, self.average_length
        for position, counts in enumerate(self.term_counts):
            norm = k1 * (1 - b + b * self.lengths[position] / average)
            for token, tf in counts.items():
                posting = postings.get(token)
                if posting is None:
                    posting = postings[token] = ([], [])
                posting[0].append(position)
                posting[1].append(self.idf[token] * tf * (k1 + 1) / (tf + norm))
        # As arrays, a question's scores are summed in C: a common word can be in every measure.
        self.postings = {token: (np.array(positions, dtype=np.intp), np.array(weights, dtype=np.float64))
                         for token, (positions, weights) in postings.items()}
        self.family_codes, self.edition_codes = _codes(self.families), _codes(self.editions)
        self.position = {measure_id: position for position, measure_id in enumerate(self.ids)}
        # Years a measure's own words mention ("2024年度名单", "2024年底"); its document's names do not count.
        self.years_mentioned = {m.id: frozenset(_YEAR.findall(" ".join(
            [m.title, *(m.keywords or []), m.summary, *(b["what"] for b in m.benefits or []),
             *public_note_sentences(m.note)]))) for m in measures}

    def correct(self, text: str) -> str:
        """The text with typed homophones put right where only the corrected pair is known (手台套 → 首台套)."""
        chars = list(text)
        for i, char in enumerate(chars):
            for alternative in CONFUSABLE.get(char, ""):
                pairs = [(chars[i - 1] + char, chars[i - 1] + alternative)] if i and _CJK.match(chars[i - 1]) else []
                if i + 1 < len(chars) and _CJK.match(chars[i + 1]):
                    pairs.append((char + chars[i + 1], alternative + chars[i + 1]))
                if any(typed not in self.idf and fixed in self.idf for typed, fixed in pairs):
                    chars[i] = alternative
                    break
        return "".join(chars)

    def mentions_year(self, measure_id: str, year: str) -> bool:
        return year in self.years_mentioned.get(measure_id, ())

    def has_token(self, measure_id: str, token: str) -> bool:
        position = self.position.get(measure_id)
        return position is not None and token in self.term_counts[position]

    def search(self, query: str, *, family: str | None = None, edition: str | None = None, limit: int = 5) -> list[Hit]:
        query_tokens = set(tokenize(query))
        # An unknown Latin word ("company", "apply") is English around a Chinese question, not missing evidence.
        query_weight = sum(self.idf.get(t, 0.0 if english(t) else self.rarest) for t in query_tokens) or 1.0
        scores = np.zeros(len(self.ids))
        for token in query_tokens:  # a set's order, as the scan summed it: float64 adds, the same floats
            posting = self.postings.get(token)
            if posting is not None:
                scores[posting[0]] += posting[1]  # positions within one posting are distinct
        candidates = np.flatnonzero(scores)  # every term weight is positive, so matched means non-zero
        for wanted, (codes, column) in ((family, self.family_codes), (edition, self.edition_codes)):
            if wanted:
                candidates = candidates[column[candidates] == codes.get(wanted, -1)]
        if 0 <= limit < len(candidates):
            # Keep every measure scoring at least the limit-th best, so ties at the edge go by id below.
            chosen = scores[candidates]
            candidates = candidates[chosen >= np.partition(chosen, len(chosen) - limit)[len(chosen) - limit]] \
                if limit else candidates[:0]
        best = sorted((-float(scores[p]), self.ids[p], p) for p in candidates.tolist())[:limit]
        hits = []
        for negative, measure_id, position in best:
            counts = self.term_counts[position]
            matched = [t for t in query_tokens if t in counts]
            coverage = sum(self.idf[t] for t in matched) / query_weight
            hits.append(Hit(measure_id, -negative, tuple(sorted(matched)), coverage))
        return hits


def _codes(values: list[str]) -> tuple[dict[str, int], np.ndarray]:
    """Each distinct value as a small integer, and the column of codes by position."""
    codes: dict[str, int] = {}
    return codes, np.array([codes.setdefault(value, len(codes)) for value in values], dtype=np.intp)


# Per database engine: two knowledge bases in one process (tests, a staging copy) never share an index.
_cache: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def index_for_revision(owner: Any, revision_id: int, load_measures) -> MeasureIndex:
    """Return the index for this database (`owner`, its engine) at this revision, built once per process."""
    with _lock:
        cached = _cache.get(owner)
        if cached and cached[0] == revision_id:
            return cached[1]
        index = MeasureIndex(load_measures())
        _cache[owner] = (revision_id, index)
        return index
