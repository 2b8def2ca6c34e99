"""The action-response check with its schema compiled once accepts and rejects exactly what Rasa's own does."""

from __future__ import annotations

import pytest
from jsonschema import ValidationError, validate
from rasa.core.actions.action import RemoteAction

from bot import rasa_patches, rasa_server

PAYLOADS = [
    {"events": [], "responses": []},
    {"events": [{"event": "slot", "name": "answer_context", "value": {"topic": ["首台套"]}}],
     "responses": [{"text": "首台（套）产品最高奖励200万元", "buttons": [{"title": "怎么申报", "payload": "/x"}]}]},
    {"events": [{"event": "followup", "name": "action_listen"}, {"event": "reset_slots"}]},
    {"events": [{"event": 5}]},
    {"events": [{"event": "no_such_event"}]},
    {"events": "slot"},
    {"responses": [["not", "an", "object"]]},
    {"responses": "text"},
]


def rasa_original(result) -> str | None:
    try:
        validate(result, RemoteAction.action_response_format_spec())
    except ValidationError as error:
        return error.message
    return None


def test_the_rasa_server_start_installs_the_patch_before_rasa_runs(monkeypatch):
    import rasa.__main__

    seen = []
    monkeypatch.setattr(RemoteAction, "_validate_action_result", RemoteAction._validate_action_result)
    monkeypatch.setattr(rasa.__main__, "main", lambda: seen.append(RemoteAction._validate_action_result))
    monkeypatch.setattr("sys.argv", ["bot.rasa_server"])
    monkeypatch.setenv("HUIQI_RASA_TOKEN", "test-token")
    rasa_server.main(["--enable-api"])
    assert seen == [rasa_patches._validate_action_result]


@pytest.fixture(autouse=True)
def patched():
    rasa_patches.install()


@pytest.mark.parametrize("payload", PAYLOADS)
def test_same_verdict_and_message_as_rasa(payload):
    action = RemoteAction.__new__(RemoteAction)  # the check uses no instance state
    expected = rasa_original(payload)
    if expected is None:
        assert action._validate_action_result(payload) is True
    else:
        with pytest.raises(ValidationError) as raised:
            action._validate_action_result(payload)
        assert raised.value.message.startswith(expected + ". Failed to validate Action server response")


def test_the_sqlite_tracker_store_keeps_conversations_with_a_write_ahead_log(tmp_path):
    import asyncio

    from rasa.core.tracker_store import SQLTrackerStore
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.events import UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker

    path = tmp_path / "tracker.sqlite3"
    store = SQLTrackerStore(Domain.empty(), dialect="sqlite", db=str(path))
    tracker = DialogueStateTracker("firm-1", [])
    tracker.update(UserUttered("首台套奖励多少"))
    asyncio.run(store.save(tracker))
    with store.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL
    store.engine.dispose()

    reopened = SQLTrackerStore(Domain.empty(), dialect="sqlite", db=str(path))
    retrieved = asyncio.run(reopened.retrieve("firm-1"))
    assert [e.text for e in retrieved.events if isinstance(e, UserUttered)] == ["首台套奖励多少"]
    reopened.engine.dispose()
