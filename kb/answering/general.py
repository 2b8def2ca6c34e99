"""How common a word is in general Chinese: the idf of jieba's own corpus table, shipped with jieba."""

from __future__ import annotations

from functools import lru_cache

from jieba.analyse.tfidf import DEFAULT_IDF, IDFLoader


@lru_cache(maxsize=1)
def _table() -> dict[str, float]:
    return IDFLoader(DEFAULT_IDF).get_idf()[0]


def general_idf(word: str) -> float:
    """The word's idf over jieba's general corpus; 0 for a word the table lacks (typos, new terms)."""
    return _table().get(word, 0.0)
