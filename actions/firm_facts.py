"""Firm facts outside the eligibility dialogue: a message that only describes the firm, and facts kept from questions.

"我们是景宁做机械零件的民企" asks nothing: it starts (or continues) the eligibility dialogue. "我们在景宁，能申报数字化
车间吗" is a question, answered as one, and its facts are kept so the dialogue that may follow never asks them again.
"""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet

from actions.common import today
from kb.answering.vocabulary import vocabulary
from kb.eligibility import service as eligibility
from kb.eligibility.parsing import extract

NOT_DESCRIBING = frozenset({"certifications", "entity_type", "digital_project"})


def describes_firm(text: str) -> bool:
    """A message that gives firm facts and asks nothing ("五十来号人，开票三千多万", "we employ 45 people")."""
    words = vocabulary()
    if words.asks(text):
        return False
    # A title or the word 公司 in a question ("科技型中小企业入库要几年") says what it is about, not who asks.
    facts = [name for name in extract(text, today=today()).facts if name not in NOT_DESCRIBING]
    return bool(facts) and (words.speaks_of_itself(text) or len(facts) >= 2)


def kept_facts(tracker: Tracker, text: str) -> list[dict[str, Any]]:
    """Slot events keeping the facts a firm gives of itself inside a question; none if it does not speak of itself."""
    if not vocabulary().speaks_of_itself(text):
        return []
    extraction = extract(text, today=today())
    if not extraction.facts:
        return []
    facts = {**(tracker.get_slot("firm_facts") or {}), **eligibility.jsonable_facts(extraction.facts)}
    ranges = {name: bounds for name, bounds in (tracker.get_slot("fact_ranges") or {}).items()
              if name not in extraction.facts}
    ranges.update({name: list(bounds) for name, bounds in extraction.ranges.items() if name in extraction.facts})
    return [SlotSet("firm_facts", facts), SlotSet("fact_ranges", ranges)]
