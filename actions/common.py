"""What every action needs: the knowledge base's sessions, today, and the latest message as the tracker holds it."""

from __future__ import annotations

import datetime as dt
from typing import Any

from rasa_sdk import Tracker

from kb.answering.respond import log_question
from kb.store.db import sessions  # the one session factory of the process
from kb.store.models import STAFF_ROLES


def today() -> dt.date:
    """Today's date where the action server runs."""
    return dt.date.today()


def message_text(tracker: Tracker) -> str:
    """The latest message's text, or ""."""
    return tracker.latest_message.get("text") or ""


def intent_name(tracker: Tracker) -> str:
    """The latest message's intent name, or ""."""
    return (tracker.latest_message.get("intent") or {}).get("name") or ""


def is_staff(tracker: Tracker) -> bool:
    # Only the DingTalk connector sets a role; socket.io metadata is written by the browser, so a role there is forged.
    """Whether the sender is a service-team member, as only the DingTalk channel can say."""
    metadata = tracker.latest_message.get("metadata") or {}
    return tracker.get_latest_input_channel() == "dingtalk" and metadata.get("role") in STAFF_ROLES


def line(domain: dict[str, Any], response: str, **values: Any) -> str:
    """One line of a composite reply, worded by the domain response of that name."""
    return domain["responses"][response][0]["text"].format(**values)


def log_unanswered(tracker: Tracker, kind: str) -> None:
    """Record the latest message as unanswered (or a hand-off) for the staff digest."""
    with sessions().begin() as session:
        log_question(message_text(tracker), session=session, kind=kind,
                     channel=tracker.get_latest_input_channel() or "", sender=tracker.sender_id)
