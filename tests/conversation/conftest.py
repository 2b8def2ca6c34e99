"""Real servers for conversation tests: a trained model, the action server and Rasa on free loopback ports."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests

from bot.services import Service, ServiceGroup, action_service, free_port, rasa_service, web_service
from bot.settings import Settings, load_settings
from bot.training import ensure_model

pytestmark = pytest.mark.conversation


@pytest.fixture(scope="session")
def trained_model() -> Path:
    """Trained once per change of config, domain or data; reused from models/ or ~/.cache/huiqi otherwise."""
    return ensure_model(load_settings(), quiet=True)


def server_settings(var_dir: Path) -> Settings:
    defaults = load_settings()
    return Settings(
        host="127.0.0.1", rasa_port=free_port(), actions_port=free_port(), web_port=free_port(),
        model_dir=defaults.model_dir, cache_dir=defaults.cache_dir,
        tracker_db=var_dir / "tracker.sqlite3", var_dir=var_dir, db_url=defaults.db_url,
    )


def with_kb(service: Service, kb_url: str) -> Service:
    service.env["HUIQI_DB_URL"] = kb_url
    return service


class Chat:
    """Talks to a Rasa server through its REST channel, as the curl in the README does."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def send(self, sender: str, text: str) -> list[dict]:
        reply = requests.post(f"{self.settings.rasa_url}/webhooks/rest/webhook",
                              json={"sender": sender, "message": text}, timeout=60)
        reply.raise_for_status()
        return reply.json()

    def texts(self, sender: str, text: str) -> list[str]:
        return [m.get("text", "") for m in self.send(sender, text)]

    def reply(self, sender: str, text: str) -> str:
        """The bot's messages to one message, as one text, a line each."""
        return "\n".join(self.texts(sender, text))

    def tracker_events(self, sender: str) -> list[dict]:
        """Read the conversation through Rasa's HTTP API, which needs the token."""
        reply = requests.get(f"{self.settings.rasa_url}/conversations/{sender}/tracker",
                             params={"token": self.settings.rasa_token}, timeout=30)
        reply.raise_for_status()
        return reply.json()["events"]


@pytest.fixture(scope="session")
def assistant(trained_model, conversation_kb, tmp_path_factory):
    """The whole assistant as `make run` starts it: action server, Rasa server, web app."""
    settings = server_settings(tmp_path_factory.mktemp("assistant"))
    services = [
        with_kb(action_service(settings), conversation_kb),
        rasa_service(settings, trained_model),
        with_kb(web_service(settings), conversation_kb),
    ]
    with ServiceGroup(services, settings.var_dir / "log"):
        yield Chat(settings)
