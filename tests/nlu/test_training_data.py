"""The NLU training data is consistent with the tokenizer, the domain and the knowledge base."""

from __future__ import annotations

import re
from pathlib import Path

import jieba
import pytest
import yaml

PROJECT_ROOT = Path(__file__).resolve().parents[2]
ANNOTATION = re.compile(r"\[([^\]]+)\]\((\w+)\)|\[([^\]]+)\]\{[^}]*\}")


def examples() -> list[tuple[str, str, str]]:
    found = []
    for path in sorted((PROJECT_ROOT / "data" / "nlu").glob("*.yml")):
        for block in yaml.safe_load(path.read_text(encoding="utf-8"))["nlu"]:
            if "intent" not in block:
                continue
            for line in block["examples"].splitlines():
                line = line.strip()
                if line.startswith("- "):
                    found.append((path.name, block["intent"], line[2:]))
    return found


def plain_and_spans(annotated: str) -> tuple[str, list[tuple[int, int, str]]]:
    plain, spans, position = "", [], 0
    for match in ANNOTATION.finditer(annotated):
        plain += annotated[position:match.start()]
        value = match.group(1) or match.group(3)
        spans.append((len(plain), len(plain) + len(value), value))
        plain += value
        position = match.end()
    return plain + annotated[position:], spans


@pytest.fixture(scope="module")
def tokenizer() -> jieba.Tokenizer:
    # The same dictionary JiebaTokenizer loads (config.yml: dictionary_path: jieba_dict).
    tokenizer = jieba.Tokenizer()
    for path in sorted((PROJECT_ROOT / "jieba_dict").glob("*")):
        tokenizer.load_userdict(str(path))
    return tokenizer


def test_every_annotated_entity_falls_on_jieba_token_boundaries(tokenizer):
    misaligned = []
    for file, intent, annotated in examples():
        text, spans = plain_and_spans(annotated)
        starts = {start for _, start, _ in tokenizer.tokenize(text)}
        ends = {end for _, _, end in tokenizer.tokenize(text)}
        for start, end, value in spans:
            if start not in starts or end not in ends:
                tokens = [word for word, _, _ in tokenizer.tokenize(text)]
                misaligned.append(f"{file} ({intent}): [{value}] in {text!r} → {tokens}")
    assert not misaligned, "Rasa drops these entities silently:\n" + "\n".join(misaligned)


def test_every_intent_has_enough_examples_and_no_example_is_in_two_intents():
    by_intent: dict[str, set[str]] = {}
    owners: dict[str, str] = {}
    clashes = []
    for _, intent, annotated in examples():
        text, _ = plain_and_spans(annotated)
        by_intent.setdefault(intent, set()).add(text)
        if owners.setdefault(text, intent) != intent:
            clashes.append(f"{text!r}: {owners[text]} and {intent}")
    assert not clashes
    thin = {intent: len(texts) for intent, texts in by_intent.items() if len(texts) < 10}
    assert not thin, f"intents with fewer than 10 examples: {thin}"


def test_every_intent_in_the_data_is_in_the_domain():
    domain = yaml.safe_load((PROJECT_ROOT / "domain.yml").read_text(encoding="utf-8"))
    assert {intent for _, intent, _ in examples()} <= set(domain["intents"])


def test_the_generated_dictionary_matches_the_seed(seed_data):
    from kb.terms import seed_dictionary_text

    expected = seed_dictionary_text(seed_data.documents.values(), seed_data.measures.values(),
                                    hand_kept_file=PROJECT_ROOT / "jieba_dict" / "policy_terms.txt")
    actual = (PROJECT_ROOT / "jieba_dict" / "kb_terms.txt").read_text(encoding="utf-8")
    assert actual == expected, "the seed changed: run `huiqi nlu dict` and retrain"


def test_no_word_is_in_two_jieba_dictionaries():
    # Rasa loads the folder in directory order and jieba keeps the last frequency it read, so a word
    # listed twice would tokenize differently from machine to machine.
    from kb.terms import dictionary_words

    seen: dict[str, str] = {}
    twice = []
    for path in sorted((PROJECT_ROOT / "jieba_dict").glob("*.txt")):
        for word in dictionary_words(path):
            if word in seen:
                twice.append(f"{word}: {seen[word]} and {path.name}")
            seen[word] = path.name
    assert not twice
