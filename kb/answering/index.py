"""BM25F over answer units: a unit's label and aliases weigh more than its body text.

Term frequencies of the two fields are kept apart, so the weight of the label is a parameter of each
search (chosen by cross-validation, kb.answering.retrieval.PARAMETERS) rather than fixed at build time.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from kb.answering.tokens import add_terms, correct_homophones, tokenize
from kb.answering.units import Unit
from kb.answering.vocabulary import Vocabulary

_CHINESE_NUMBER = re.compile(r"[零〇一二两三四五六七八九十百千万亿几多余来半]+")  # 八千万: a value, not a topic
_CUT: dict[str, tuple[str, ...]] = {}
_CUT_LIMIT = 500_000


def cut(text: str, colloquial) -> tuple[str, ...]:
    """`tokenize`, once per process for each text.

    A text repeated across units (a measure's title, a document's names), unchanged since the last revision, or a
    cue word seen in an earlier question is cut only the first time.
    """
    found = _CUT.get(text)
    if found is None:
        if len(_CUT) > _CUT_LIMIT:
            _CUT.clear()
        found = _CUT[text] = tuple(tokenize(text, colloquial))
    return found


@dataclass(frozen=True)
class Scores:
    """Every unit's score for one question, and the share of the question's evidence it matches."""

    score: np.ndarray
    coverage: np.ndarray
    tokens: tuple[str, ...]


class UnitIndex:
    """An immutable index over the units of one knowledge-base revision."""

    k1 = 1.5
    b = 0.75

    def __init__(self, units: Sequence[Unit], words: Vocabulary) -> None:
        """Index the units (measure and document names added to the tokenizer): each token's frequencies and idf."""
        self.units = list(units)
        self.colloquial = words.colloquial
        add_terms(term for u in self.units if u.kind in ("measure", "overview") for term in (u.label, *u.aliases))
        def tokens(text: str) -> tuple[str, ...]:
            return cut(text, self.colloquial)

        label_counts, body_counts, label_lengths = [], [], []
        for unit in self.units:
            label = Counter(tokens(unit.label))
            # Aliases are other ways to ask for the same thing: they match, but do not make the label longer.
            label_lengths.append(sum(label.values()))
            for alias in unit.aliases:
                label.update(set(tokens(alias)) - set(label))
            label_counts.append(label)
            body = Counter()
            for part in unit.body:
                body.update(tokens(part))
            body_counts.append(body)
        self.label_length = np.array(label_lengths, dtype=np.float64)
        self.body_length = np.array([sum(c.values()) for c in body_counts], dtype=np.float64)
        frequency: Counter = Counter()
        for label, body in zip(label_counts, body_counts, strict=True):
            frequency.update(set(label) | set(body))
        total = max(len(self.units), 1)
        self.idf = {t: math.log(1 + (total - n + 0.5) / (n + 0.5)) for t, n in frequency.items()}
        # A word the index has never seen weighs as much as its rarest word: evidence nothing here matches.
        self.rarest = max(self.idf.values(), default=1.0)
        postings: dict[str, tuple[list[int], list[float], list[float]]] = {}
        for position, (label, body) in enumerate(zip(label_counts, body_counts, strict=True)):
            for token in set(label) | set(body):
                entry = postings.setdefault(token, ([], [], []))
                entry[0].append(position)
                entry[1].append(label.get(token, 0))
                entry[2].append(body.get(token, 0))
        self.postings = {t: (np.array(p, dtype=np.intp), np.array(lt, dtype=np.float64), np.array(bt, dtype=np.float64))
                         for t, (p, lt, bt) in postings.items()}

    def known(self, token: str) -> bool:
        """Whether the token occurs in some unit."""
        return token in self.idf

    def correct(self, text: str) -> str:
        """The text with typed homophones put right where only the corrected pair is known (手台套 → 首台套)."""
        return correct_homophones(text, self.known)

    def weight(self, token: str, *, unknown: float = 1.0) -> float:
        """How much a question token counts as evidence of what it is about.

        Its idf; an unknown word (English function words are stopwords already), `unknown` × the rarest idf:
        "写Python代码" is about something the knowledge base does not hold; a number, nothing (a value).
        """
        if token in self.idf:
            return self.idf[token]
        return 0.0 if any(ch.isdigit() for ch in token) or _CHINESE_NUMBER.fullmatch(token) else unknown * self.rarest

    def tokenize(self, text: str) -> tuple[str, ...]:
        """The text in the index's tokens."""
        return cut(text, self.colloquial)

    def score(self, tokens: Iterable[str], *, label_weight: float, evidence: Iterable[str] | None = None,
              cue_tokens: Iterable[str] = (), cue_label_weight: float | None = None, unknown: float = 1.0) -> Scores:
        """BM25F scores of every unit, and coverage: the share of the `evidence` tokens' weight each unit has.

        `evidence` (default: all tokens) leaves out words that say what kind of answer is wanted rather
        than what it is about, so that coverage tells whether the knowledge base knows the topic. A label
        says what a unit is: a word asking for that ("截止", "文号") counts `cue_label_weight` there, a
        word of the topic `label_weight`.
        """
        cues = set(cue_tokens)
        tokens = tuple(dict.fromkeys(tokens))
        evidence = set(tokens if evidence is None else evidence)
        n = len(self.units)
        score = np.zeros(n)
        coverage = np.zeros(n)
        length = label_weight * self.label_length + self.body_length  # field lengths at the topic's weight
        average = float(length.mean()) if n else 1.0
        norm = self.k1 * (1 - self.b + self.b * length / (average or 1.0))
        for token in tokens:
            posting = self.postings.get(token)
            if posting is None:
                continue
            positions, label_tf, body_tf = posting
            weight = cue_label_weight if token in cues and cue_label_weight is not None else label_weight
            tf = weight * label_tf + body_tf
            score[positions] += self.idf[token] * tf * (self.k1 + 1) / (tf + norm[positions])
            if token in evidence:
                coverage[positions] += self.idf[token]
        total = sum(self.weight(t, unknown=unknown) for t in evidence) or 1.0
        return Scores(score, coverage / total, tokens)
