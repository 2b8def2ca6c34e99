"""Staff-only notes: uttered for DingTalk staff and admins, never for the public or a forged role."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import yaml
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import update

from actions import answer as answer_actions
from actions import common
from kb.models import Measure
from kb.service import answer_measure

DOMAIN = yaml.safe_load((Path(__file__).resolve().parents[2] / "domain.yml").read_text(encoding="utf-8"))
QUESTION = "首台套奖励多少"


@pytest.fixture(autouse=True)
def knowledge_base(seeded, db_url, monkeypatch):
    """The seed, with a staff-only note on the measure that answers QUESTION (test data, not a real contact)."""
    monkeypatch.setenv("HUIQI_DB_URL", db_url)
    common.sessions.cache_clear()
    with seeded.begin() as session:
        measure_id = answer_measure(QUESTION, session=session).measure_id
        session.execute(update(Measure).where(Measure.id == measure_id)
                        .values(internal_note="测试备注", internal_contact="测试联系人"))
    yield seeded
    common.sessions.cache_clear()


def staff_note(role: str | None, channel: str = "dingtalk") -> list[dict]:
    metadata = {"channel": "dingtalk", "role": role} if role else {}
    message = {"text": QUESTION, "intent": {"name": "ask_measure", "confidence": 0.99}, "entities": [],
               "metadata": metadata}
    events = [{"event": "user", "text": QUESTION, "input_channel": channel, "parse_data": message,
               "metadata": metadata}]
    tracker = Tracker("staff-test", {}, message, events, False, None, {}, "action_listen")
    dispatcher = CollectingDispatcher()
    asyncio.run(answer_actions.ActionAnswerMeasure().run(dispatcher, tracker, DOMAIN))
    return [m for m in dispatcher.messages if m["response"] in ("utter_measure_staff_note", "utter_measure_staff_contact")]


@pytest.mark.parametrize("role", ["staff", "admin"])
def test_dingtalk_staff_get_the_internal_note_and_contact(role):
    note, contact = staff_note(role)
    assert note["internal_note"] == "测试备注" and contact["internal_contact"] == "测试联系人"


@pytest.mark.parametrize(("role", "channel"), [
    ("public", "dingtalk"), (None, "dingtalk"), (None, "rest"),
    ("admin", "socketio"),  # the browser writes socket.io metadata: a claimed role there is not believed
])
def test_anyone_else_gets_no_staff_note(role, channel):
    assert staff_note(role, channel) == []
