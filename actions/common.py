"""What every action needs: the knowledge base's sessions, today, and the latest message as the tracker holds it."""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from typing import Any

from rasa_sdk import Tracker
from sqlalchemy.orm import sessionmaker

from kb import service
from kb.db import make_engine, make_sessionmaker
from kb.text import edition_year

STAFF_ROLES = ("staff", "admin")


@lru_cache(maxsize=1)
def sessions() -> sessionmaker:
    """One engine per action-server process, made on first use (never at import)."""
    return make_sessionmaker(make_engine())


def today() -> dt.date:
    return dt.date.today()


def message_text(tracker: Tracker) -> str:
    return tracker.latest_message.get("text") or ""


def intent_name(tracker: Tracker) -> str:
    return (tracker.latest_message.get("intent") or {}).get("name") or ""


def family_in_message(tracker: Tracker) -> str | None:
    """The family named in this message only; an earlier one must not narrow a new question.

    The extractor sometimes tags a fragment ("5+4", "+") as a family; only the families the
    knowledge base knows count.
    """
    return next((v for v in tracker.get_latest_entity_values("policy_family") if v in service.FAMILY_NAMES), None)


def edition_in_message(tracker: Tracker) -> str | None:
    year = edition_year(message_text(tracker), today=today())
    return str(year) if year else None


def is_staff(tracker: Tracker) -> bool:
    # Only the DingTalk connector sets a role; socket.io metadata is written by the browser, so a role there is forged.
    metadata = tracker.latest_message.get("metadata") or {}
    return tracker.get_latest_input_channel() == "dingtalk" and metadata.get("role") in STAFF_ROLES


def line(domain: dict[str, Any], response: str, **values: Any) -> str:
    """One line of a composite reply, worded by the domain response of that name."""
    return domain["responses"][response][0]["text"].format(**values)


def log_unanswered(tracker: Tracker, kind: str) -> None:
    with sessions().begin() as session:
        service.log_question(message_text(tracker), session=session, kind=kind,
                             channel=tracker.get_latest_input_channel() or "", sender=tracker.sender_id)
