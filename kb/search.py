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
from collections import Counter
from dataclasses import dataclass
from typing import Iterable

import jieba

from kb.models import Measure

jieba.setLogLevel(logging.WARNING)

# A token worth indexing has a Chinese character, letter or digit; "8+4", "三个80%" and "415X" stay whole.
_TOKEN = re.compile(r"[\u4e00-\u9fffA-Za-z0-9][\u4e00-\u9fffA-Za-z0-9+%.]*")
_CJK = re.compile(r"[\u4e00-\u9fff]")
# Question scaffolding that says nothing about which measure is meant.
_STOPWORDS = frozenset(
    "的 了 吗 呢 啊 吧 么 是 有 在 和 与 及 或 我 我们 你 你们 企业 公司 请问 一下 什么 怎么 怎样 如何 哪些 多少 能 可以 "
    "政策 措施 规定 关于 这个 那个 问 想 知道 享受 申请 申报 支持 条 里 中 对 给 要 会 呀 哪里 几 方面 有没有 是不是 "
    "具体 大概 一些 相关 情况 现在 今年 目前 怎么报 怎么办 咋报 咋办 办理 流程 哪儿".split()
)
_lock = threading.Lock()


def tokenize(text: str) -> list[str]:
    """jieba search-mode words plus the character bigrams inside longer words, stopwords dropped.

    Bigrams let "首台（套）" meet "首台套" and a compound jieba does not know meet its parts;
    they are taken inside words only, since bigrams across word boundaries are mostly noise.
    """
    tokens = []
    for word in jieba.lcut_for_search(text.lower()):
        if word in _STOPWORDS or not _TOKEN.fullmatch(word):
            continue
        if len(word) == 1 and _CJK.match(word):
            continue
        tokens.append(word)
        if len(word) >= 3:
            tokens.extend(word[i : i + 2] for i in range(len(word) - 1) if _CJK.match(word[i]) and _CJK.match(word[i + 1]))
    return tokens


def add_terms(terms: Iterable[str]) -> None:
    """Teach jieba the knowledge base's own terms so they stay whole words."""
    for term in terms:
        if term and len(term) >= 2:
            jieba.add_word(term, freq=20000)


def measure_text(measure: Measure) -> list[tuple[str, int]]:
    """The fields retrieval reads, each with its weight (titles and aliases count more)."""
    document = measure.document
    names = " ".join(filter(None, [document.short_name, *(document.aliases or [])]))
    return [
        (measure.title, 3),
        (" ".join(measure.keywords or []), 3),
        (measure.aspect or "", 1),
        (names, 1),
        (measure.summary, 1),
        (" ".join(b["what"] for b in measure.benefits or []), 1),
    ]


@dataclass(frozen=True)
class Hit:
    measure_id: str
    score: float
    matched: tuple[str, ...]
    coverage: float  # share of the question's evidence (idf-weighted) that this measure matches


class MeasureIndex:
    """An immutable BM25 index; build a new one when the knowledge base changes."""

    k1 = 1.5
    b = 0.75

    def __init__(self, measures: Iterable[Measure]) -> None:
        measures = list(measures)
        add_terms(term for m in measures for term in [m.title, *(m.keywords or [])])
        self.ids: list[str] = []
        self.families: dict[str, str] = {}
        self.editions: dict[str, str] = {}
        self.term_counts: list[Counter] = []
        for measure in measures:
            counts: Counter = Counter()
            for text, weight in measure_text(measure):
                for token in tokenize(text):
                    counts[token] += weight
            self.ids.append(measure.id)
            self.families[measure.id] = measure.document.family
            self.editions[measure.id] = measure.document.edition
            self.term_counts.append(counts)
        self.lengths = [sum(c.values()) for c in self.term_counts]
        self.average_length = (sum(self.lengths) / len(self.lengths)) if self.lengths else 1.0
        frequency: Counter = Counter()
        for counts in self.term_counts:
            frequency.update(counts.keys())
        total = len(self.ids)
        self.idf = {t: math.log(1 + (total - n + 0.5) / (n + 0.5)) for t, n in frequency.items()}

    def search(self, query: str, *, family: str | None = None, edition: str | None = None, limit: int = 5) -> list[Hit]:
        query_tokens = set(tokenize(query))
        # Words the index has never seen weigh as much as its rarest word: they are evidence we cannot match.
        rarest = max(self.idf.values(), default=1.0)
        query_weight = sum(self.idf.get(t, rarest) for t in query_tokens) or 1.0
        hits = []
        for position, measure_id in enumerate(self.ids):
            if family and self.families[measure_id] != family:
                continue
            if edition and self.editions[measure_id] != edition:
                continue
            counts = self.term_counts[position]
            norm = self.k1 * (1 - self.b + self.b * self.lengths[position] / self.average_length)
            score = 0.0
            matched = []
            for token in query_tokens:
                tf = counts.get(token)
                if tf:
                    score += self.idf[token] * tf * (self.k1 + 1) / (tf + norm)
                    matched.append(token)
            if score > 0:
                coverage = sum(self.idf[t] for t in matched) / query_weight
                hits.append(Hit(measure_id, score, tuple(sorted(matched)), coverage))
        hits.sort(key=lambda h: (-h.score, h.measure_id))
        return hits[:limit]


_cache: dict[str, tuple[int, MeasureIndex]] = {}


def index_for_revision(revision_id: int, load_measures) -> MeasureIndex:
    """The index for this revision, built once per process and per revision."""
    with _lock:
        cached = _cache.get("measures")
        if cached and cached[0] == revision_id:
            return cached[1]
        index = MeasureIndex(load_measures())
        _cache["measures"] = (revision_id, index)
        return index
