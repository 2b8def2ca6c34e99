"""Measures that admins import are answered by the running bot at the next message, without retraining."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import requests

from bot.services import ServiceGroup, action_service, rasa_service, web_service
from kb.admin.tokens import create_token
from kb.store.db import make_engine, make_sessionmaker
from kb.store.loader import load_seed, read_seed, seed_files
from kb.store.schema import create_schema
from tests.conversation.conftest import Chat, server_settings, with_kb

pytestmark = pytest.mark.conversation

PROJECT_ROOT = Path(__file__).resolve().parents[2]

CLI_MEASURE = """
measures:
  - id: admin-live-warehouse
    document: pe32-2023
    title: 跨境电商海外仓建设补助
    summary: 对新建公共海外仓的企业给予一次性建设补助。
    benefits:
      - {what: 海外仓建设补助, amount: 150, unit: 万元}
    department: 省商务厅
    keywords: [海外仓, 跨境电商海外仓]
    sources: [https://example.org/admin-live-warehouse]
"""

API_MEASURE = """
measures:
  - id: admin-live-cold-chain
    document: pe32-2023
    title: 冷链物流冷库建设补助
    summary: 对新建冷链物流冷库的企业给予补助。
    benefits:
      - {what: 冷库建设补助, amount: 80, unit: 万元}
    department: 省发展改革委
    keywords: [冷链物流, 冷库]
    sources: [https://example.org/admin-live-cold-chain]
"""


@pytest.fixture(scope="module")
def live(trained_model, tmp_path_factory):
    """Start the whole assistant over a knowledge base of its own, so imports here reach no other module."""
    directory = tmp_path_factory.mktemp("admin-live")
    kb_url = f"sqlite:///{directory / 'kb.sqlite3'}"
    engine = make_engine(kb_url)
    create_schema(engine)
    with make_sessionmaker(engine).begin() as session:
        load_seed(session, read_seed(seed_files()))
        token = create_token("测试编辑", "editor", session=session)
    engine.dispose()
    settings = server_settings(directory)
    services = [with_kb(action_service(settings), kb_url), rasa_service(settings, trained_model),
                with_kb(web_service(settings), kb_url)]
    group = ServiceGroup(services, settings.var_dir / "log")
    group.start(timeout=420)  # a loaded 2-core machine can take minutes to load TensorFlow and the model
    try:
        yield Chat(settings), kb_url, token
    finally:
        group.stop()


def reply(chat: Chat, sender: str, text: str) -> str:
    return "\n".join(chat.texts(sender, text))


def test_a_measure_imported_through_the_cli_is_answered_at_the_next_message(live, tmp_path):
    chat, kb_url, _ = live
    assert "150万元" not in reply(chat, "admin-live-cli", "跨境电商海外仓补助多少")
    path = tmp_path / "warehouse.yaml"
    path.write_text(textwrap.dedent(CLI_MEASURE), encoding="utf-8")
    result = subprocess.run([str(Path(sys.executable).with_name("huiqi")), "kb", "import", str(path), "--author", "王芳"],
                            cwd=PROJECT_ROOT, env={**os.environ, "HUIQI_DB_URL": kb_url},
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "新增 1" in result.stdout
    answer = reply(chat, "admin-live-cli", "跨境电商海外仓补助多少")
    assert "150万元" in answer and "省商务厅" in answer


def test_a_measure_imported_through_the_api_is_answered_at_the_next_message(live):
    chat, _, token = live
    assert "80万元" not in reply(chat, "admin-live-api", "冷链物流冷库建设补助多少")
    web = chat.settings.web_url
    imported = requests.post(f"{web}/api/admin/import", headers={"Authorization": f"Bearer {token}"},
                             files={"file": ("cold.yaml", textwrap.dedent(API_MEASURE).encode())}, timeout=60)
    assert imported.status_code == 200, imported.text
    assert imported.json()["diff"]["measures"]["added"] == ["admin-live-cold-chain"]
    answer = reply(chat, "admin-live-api", "冷链物流冷库建设补助多少")
    assert "80万元" in answer and "省发展改革委" in answer
