"""The words questions use for what the knowledge base holds, read from kb/rules/vocabulary.yaml."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

VOCABULARY_FILE = Path(__file__).resolve().parent.parent / "rules" / "vocabulary.yaml"


@dataclass(frozen=True)
class Label:
    """What a field or structure entry is called in replies, and the words questions use for it."""

    label: str
    aliases: tuple[str, ...]
    kind: str = "fact"  # the kind of answer it is: date, department, figure, channel, … (kb.answering.units)
    is_list: bool = False


@dataclass(frozen=True)
class Qualifiers:
    """Words that set sibling figures apart.

    Each member with its words, the member an unmarked label belongs to, and the region group whose counties
    name the first member (the counties never in it, the default).
    """

    members: tuple[tuple[str, tuple[str, ...]], ...]
    default: str | None = None
    region_group: str | None = None

    def named_in(self, text: str) -> frozenset[str]:
        """The members a text names by one of their words."""
        return frozenset(member for member, words in self.members if any(word in text for word in words))

    def of_label(self, label: str) -> frozenset[str]:
        """The members a figure's label is for: those it names, else the default."""
        named = self.named_in(label)
        return named or frozenset({self.default} if self.default else ())


@dataclass(frozen=True)
class Vocabulary:
    """The words of vocabulary.yaml: cue words by kind of answer, field labels, the glossary, colloquial terms."""

    wanted: dict[str, tuple[str, ...]]
    measure_fields: dict[str, Label]
    document_fields: dict[str, Label]
    structure_labels: dict[str, Label]
    glossary: tuple[tuple[str, str], ...]  # English → Chinese, longest English first
    colloquial: dict[str, str]
    colloquial_phrases: tuple[tuple[str, str], ...] = ()  # longest first
    firm_context: tuple[str, ...] = ()  # words that make a question about a firm and its support
    department_short_names: tuple[tuple[str, str], ...] = ()  # full name → the short form readers use
    together: tuple[str, ...] = ()  # asking for two benefits at once ("能一起拿吗", "可以叠加吗")
    exclusive: tuple[str, ...] = ()  # a rule that only one of them is had ("只能选一项", "不得重复享受")
    open_eligibility: tuple[str, ...] = ()  # "能享受什么": starts the full eligibility dialogue
    general_lines: tuple[str, ...] = ()  # "政务服务热线是多少": the line anyone can call, whatever else is named
    asking: tuple[str, ...] = ()  # marks the clause that asks ("…能评专精特新吗")
    handoff_words: tuple[str, ...] = ()  # a message asking for a person has one of these
    self_words: tuple[str, ...] = ()  # a firm speaking of itself ("我司…")
    question_words: tuple[str, ...] = ()  # a message with one of these asks something
    qualifiers: tuple[Qualifiers, ...] = ()  # words that set a measure's sibling figures apart
    list_nouns: tuple[str, ...] = ()  # nouns naming a list: "…清单是啥" asks for its items
    personal_topics: tuple[str, ...] = ()  # a person's own affairs (落户, 首套房): out of scope …
    firm_words: tuple[str, ...] = ()  # … unless a firm is spoken of too

    def about_a_person_only(self, text: str, known=lambda word: False) -> bool:
        """Whether a question is about a person's own affairs (落户, 首套房) and speaks of no firm.

        A word the knowledge base itself uses (`known`) is no sign: a measure speaks of it.
        """
        return any(w in text and not known(w) for w in self.personal_topics) and \
            not any(w in text for w in self.firm_words)

    def speaks_of_itself(self, text: str) -> bool:
        """Whether the firm speaks of itself ("我们是…", "our revenue…"), so the facts in it are its own."""
        return _says_any(text.lower(), self.self_words)

    def asks(self, text: str) -> bool:
        """Whether a message asks something, rather than only telling ("四十来号人，开票两千万出头")."""
        lowered = text.lower()
        if re.search(r"([\u4e00-\u9fff])[不没]\1", lowered):  # 包不包, 算不算, 有没有: the yes/no question form
            return True
        if re.search(r"(?<![\d十百千万一二两三四五六七八九零大])几", lowered):  # 交几次, not 二十几个人
            return True
        return _says_any(lowered, self.question_words)

    def asks_for_a_person(self, text: str) -> bool:
        """Whether a message asks for a person, not a question the classifier mistook for a hand-off."""
        lowered = text.lower()
        return any(word in lowered for word in self.handoff_words)

    def with_short_names(self, text: str) -> str:
        """Each full department name followed by its short form: 浙江省科学技术厅（省科技厅）."""
        for full, short in self.department_short_names:
            if full in text and f"{full}（" not in text:
                text = text.replace(full, f"{full}（{short}）")
        return text

    def plain(self, text: str) -> str:
        """The text with firms' phrases for a document term replaced by the term (自己要出 → 自筹)."""
        for phrase, term in self.colloquial_phrases:
            text = text.replace(phrase, term)
        return text

    def cue_words(self) -> frozenset[str]:
        """Every word that says what kind of answer is wanted (not what it is about)."""
        return frozenset(word for words in self.wanted.values() for word in words)


def _says_any(lowered: str, words: tuple[str, ...]) -> bool:
    """Whether lower-cased text has one of the words, an English one only as a whole word ("us", not "business")."""
    return any(re.search(rf"(?<![a-z]){re.escape(word)}(?![a-z])", lowered) for word in words)


def _label(entry: dict) -> Label:
    kind = "list" if entry.get("list") else str(entry.get("kind") or "fact")
    return Label(str(entry["label"]), tuple(str(a) for a in entry.get("aliases") or ()), kind, bool(entry.get("list")))


def read_vocabulary(path: Path = VOCABULARY_FILE) -> Vocabulary:
    """The vocabulary as read from a YAML file (the project's by default), glossary and phrases longest first."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    glossary = sorted(((str(en).lower(), str(zh)) for en, zh in data.get("glossary") or ()), key=lambda p: -len(p[0]))
    return Vocabulary(
        wanted={kind: tuple(str(w).lower() for w in words) for kind, words in (data.get("wanted") or {}).items()},
        measure_fields={name: _label(entry) for name, entry in (data.get("measure_fields") or {}).items()},
        document_fields={name: _label(entry) for name, entry in (data.get("document_fields") or {}).items()},
        structure_labels={key: _label(entry) for key, entry in (data.get("structure_labels") or {}).items()},
        glossary=tuple(glossary),
        colloquial={str(k): str(v) for k, v in (data.get("colloquial") or {}).items()},
        colloquial_phrases=tuple(sorted(((str(k), str(v)) for k, v in (data.get("colloquial_phrases") or {}).items()),
                                        key=lambda p: -len(p[0]))),
        firm_context=tuple(str(w) for w in data.get("firm_context") or ()),
        together=tuple(str(w) for w in data.get("together") or ()),
        exclusive=tuple(str(w) for w in data.get("exclusive") or ()),
        department_short_names=tuple((str(k), str(v)) for k, v in (data.get("department_short_names") or {}).items()),
        open_eligibility=tuple(str(w) for w in data.get("open_eligibility") or ()),
        general_lines=tuple(str(w) for w in data.get("general_lines") or ()),
        asking=tuple(str(w) for w in data.get("asking") or ()),
        handoff_words=tuple(str(w).lower() for w in data.get("handoff_words") or ()),
        self_words=tuple(str(w).lower() for w in data.get("self_words") or ()),
        question_words=tuple(str(w).lower() for w in data.get("question_words") or ()),
        qualifiers=tuple(_qualifiers(entry) for entry in data.get("qualifiers") or ()),
        list_nouns=tuple(str(w) for w in data.get("list_nouns") or ()),
        personal_topics=tuple(str(w) for w in data.get("personal_topics") or ()),
        firm_words=tuple(str(w) for w in data.get("firm_words") or ()),
    )


def _qualifiers(entry: dict) -> Qualifiers:
    members = tuple((str(name), tuple(sorted((str(w) for w in words), key=len, reverse=True)))
                    for name, words in entry["members"].items())
    default = entry.get("default")
    if default is not None and default not in dict(members):
        raise ValueError(f"qualifiers: default {default!r} is not one of the members {[m for m, _ in members]}")
    return Qualifiers(members, default, entry.get("region_group"))


@lru_cache(maxsize=1)
def vocabulary() -> Vocabulary:
    """The project's vocabulary, read once per process."""
    return read_vocabulary()
