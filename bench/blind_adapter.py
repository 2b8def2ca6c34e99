"""How bench/score_blind.py asks the assistant's own parser for the facts in one phrasing.

The blind phrase set names facts in its own keys; bench/score_blind.py maps them to the assistant's field
names. This module is the one place that knows the parser's API, so a rebuilt parser changes only this.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from kb.eligibility.parsing import extract
from kb.eligibility.profile import FIELDS, Parsed, broad_types, close_certifications, derive, parse

TODAY = dt.date(2026, 12, 2)


def read_facts(text: str, *, asked: str | None = None) -> dict[str, Any]:
    """Our field → value for every fact the parser reads from the text (as the chat reads a reply)."""
    facts = dict(extract(text, today=TODAY, asked=asked if asked in FIELDS else None).facts)
    if asked in FIELDS and asked not in facts:
        parsed = parse(asked, text, today=TODAY)
        if isinstance(parsed, Parsed):
            facts[asked] = parsed.value
    facts = derive(facts)  # what the engine judges with: the R&D ratio from R&D expense and revenue
    if facts.get("certifications") is not None:
        facts["certifications"] = certifications_closed(facts["certifications"])
    return facts


def read_bounds(text: str, *, asked: str | None = None) -> dict[str, tuple]:
    """Our field → (low, high) for each hedged figure the parser reads (None: open on that side)."""
    return dict(extract(text, today=TODAY, asked=asked if asked in FIELDS else None).ranges)


def outside_zhejiang(place: Any) -> bool:
    """A place the writer names that lies outside Zhejiang (江苏省苏州市, 上海市浦东新区)."""
    from kb.eligibility.regions import find_region

    text = str(place or "")
    return bool(text) and "浙江" not in text and extract(text, today=TODAY).facts.get("region") == "浙江省外" and \
        not hasattr(find_region(text), "full_name")


def certifications_closed(names) -> list[str]:
    """Certifications with what they imply (a 小巨人 is a 专精特新中小企业), so both sides compare alike."""
    return sorted(close_certifications(frozenset(names)))


def certifications_named(names) -> list[str]:
    """A writer's titles in our names ("省级专精特新企业" is our 专精特新中小企业), closed like ours."""
    ours: set[str] = set()
    for name in names:
        read = extract(f"我们是{name}", today=TODAY).facts.get("certifications")
        ours |= set(read) if read else {str(name)}
    return certifications_closed(ours)


def same_division(got: Any, want: Any) -> bool:
    """The writer names a product or trade finer than a GB/T division (竹制品, 模具) that the parser puts in `got`."""
    if got is None or want is None:
        return False
    return extract(f"我们是做{want}的", today=TODAY).facts.get("industry") == got


def same_entity_type(got: Any, want: Any) -> bool:
    """The type the writer names, or a finer one of it: "有限公司" read as 有限责任公司 is the 企业 a writer wrote."""
    return got is not None and want in broad_types(got)


def industry_within(got: Any, want: Any) -> bool:
    """The writer names a sector (制造业, 工业) and the parser a division inside it (纺织 is 制造业, GB/T 4754)."""
    from kb.eligibility.rulebook import default_rulebook

    book = default_rulebook()
    if got is None or book.group(str(want)) is None:
        return False
    return str(got) in book.members(str(want), TODAY)
