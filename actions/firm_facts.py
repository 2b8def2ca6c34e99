"""Firm facts outside the eligibility dialogue: a message that only describes the firm, and facts kept from questions.

"我们是景宁做机械零件的民企" asks nothing: it starts (or continues) the eligibility dialogue. "我们在景宁，能申报数字化
车间吗" is a question, answered as one, and its facts are kept so the dialogue that may follow never asks them again.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet

from kb.answering.vocabulary import vocabulary
from kb.eligibility import service as eligibility
from kb.eligibility.profile import Extraction

NOT_DESCRIBING = frozenset({"certifications", "entity_type", "digital_project"})


def describes_firm(text: str, facts: Iterable[str]) -> bool:
    """A message that gives firm facts (`facts`, as read from it) and asks nothing ("五十来号人，开票三千多万")."""
    words = vocabulary()
    if words.asks(text):
        return False
    # A title or the word 公司 in a question ("科技型中小企业入库要几年") says what it is about, not who asks.
    stated = [name for name in facts if name not in NOT_DESCRIBING]
    return bool(stated) and (words.speaks_of_itself(text) or len(stated) >= 2)


def with_facts(facts: dict[str, Any], ranges: dict[str, Any], found: Mapping[str, Any],
               found_ranges: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The firm's facts and their ranges with `found` given again.

    A restated fact replaces the old one (with its range if hedged) and moves to the end, so the order says which
    fact was said last (corrections rely on it).
    """
    facts = {name: value for name, value in facts.items() if name not in found}
    facts.update(eligibility.jsonable_facts(found))
    ranges = {name: bounds for name, bounds in ranges.items() if name not in found}
    ranges.update({name: list(bounds) for name, bounds in found_ranges.items() if name in found})
    return facts, ranges


def kept_facts(tracker: Tracker, text: str, extraction: Extraction) -> list[dict[str, Any]]:
    """Slot events keeping the facts a firm gives of itself inside a question; none if it does not speak of itself."""
    if not extraction.facts or not vocabulary().speaks_of_itself(text):
        return []
    facts, ranges = with_facts(tracker.get_slot("firm_facts") or {}, tracker.get_slot("fact_ranges") or {},
                               extraction.facts, extraction.ranges)
    return [SlotSet("firm_facts", facts), SlotSet("fact_ranges", ranges)]
