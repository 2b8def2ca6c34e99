"""Without its action server the bot apologises in Chinese, and conversations outlive a restart."""

from __future__ import annotations

import pytest
import yaml

from bot.services import ServiceGroup, free_port, rasa_service
from bot.settings import PROJECT_ROOT

from .conftest import Chat, server_settings

pytestmark = pytest.mark.conversation


@pytest.fixture(scope="module")
def rasa_alone(trained_model, tmp_path_factory):
    """A Rasa server whose action endpoint points at a port where nothing listens."""
    settings = server_settings(tmp_path_factory.mktemp("alone"))
    nothing_there = f"http://127.0.0.1:{free_port()}/webhook"
    group = ServiceGroup([rasa_service(settings, trained_model, action_url=nothing_there)], settings.var_dir / "log")
    group.start()
    yield Chat(settings), group
    group.stop()


def apology() -> str:
    domain = yaml.safe_load((PROJECT_ROOT / "domain.yml").read_text(encoding="utf-8"))
    return domain["responses"]["utter_service_unavailable"][0]["text"]


def test_a_question_needing_the_action_server_gets_the_apology_not_silence(rasa_alone):
    chat, _ = rasa_alone
    assert chat.texts("firm-down", "首台套奖励多少") == [apology()]


def test_replies_that_need_no_action_server_still_work(rasa_alone):
    chat, _ = rasa_alone
    assert "惠企政策助手" in chat.texts("firm-down-greet", "你好")[0]


def test_a_conversation_survives_a_restart_of_the_rasa_server(rasa_alone):
    chat, group = rasa_alone
    chat.texts("firm-restart", "你好")
    group.stop()
    group.start()
    said = [e.get("text") for e in chat.tracker_events("firm-restart") if e["event"] == "user"]
    assert said == ["你好"]
    chat.texts("firm-restart", "谢谢")
    said = [e.get("text") for e in chat.tracker_events("firm-restart") if e["event"] == "user"]
    assert said == ["你好", "谢谢"]
