"""The chat page and the embeddable widget in headless Chromium, against the real servers.

One Node/Playwright run (widget/test/browser.mjs) drives Debian's Chromium
through every scenario and reports each as JSON; each test here asserts one.
Screenshots are kept under var/test-artifacts/.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
import requests

from bot.settings import PROJECT_ROOT
from tests.conversation.conftest import assistant, trained_model  # noqa: F401  (fixtures; conversation_kb is in tests/conftest.py)

pytestmark = pytest.mark.conversation

CHROMIUM = Path(os.environ.get("HUIQI_CHROMIUM", "/usr/bin/chromium"))
WIDGET = PROJECT_ROOT / "widget"
ARTIFACTS = PROJECT_ROOT / "var" / "test-artifacts"


@pytest.fixture(scope="module")
def browser_run(assistant) -> dict:  # noqa: F811
    missing = [str(p) for p in (CHROMIUM, WIDGET / "dist" / "huiqi-widget.js", WIDGET / "node_modules" / "playwright-core")
               if not p.exists()]
    if missing or not shutil.which("node"):
        pytest.fail(f"browser tests need {', '.join(missing) or 'node'}: run `make test` (it installs Chromium and builds the widget)")
    settings = assistant.settings
    env = {**os.environ, "HUIQI_WEB_URL": settings.web_url, "HUIQI_RASA_URL": settings.rasa_url,
           "HUIQI_ARTIFACTS": str(ARTIFACTS), "HUIQI_CHROMIUM": str(CHROMIUM)}
    run = subprocess.run(["node", str(WIDGET / "test" / "browser.mjs")], cwd=PROJECT_ROOT, env=env,
                         capture_output=True, text=True, timeout=600)
    lines = run.stdout.strip().splitlines()
    assert run.returncode == 0 and lines, f"browser run failed ({run.returncode}):\n{run.stderr[-3000:]}"
    results = json.loads(lines[-1])
    (ARTIFACTS / "browser-results.json").write_text(json.dumps(results, ensure_ascii=False, indent=2))
    return results


def passed(results: dict, name: str) -> dict:
    outcome = results["scenarios"].get(name)
    assert outcome is not None, f"scenario {name} did not run"
    assert outcome["ok"], f"scenario {name} failed:\n{outcome.get('error')}"
    return outcome["detail"]


def test_page_names_the_assistant_what_it_knows_and_example_questions(browser_run):
    detail = passed(browser_run, "page")
    assert detail["documentTitle"] == "惠企政策助手"
    assert detail["lang"] == "zh-CN"
    assert "双尖双领怎么申报" in detail["chips"]


def test_input_is_limited_to_500_characters_with_a_visible_counter(browser_run):
    assert passed(browser_run, "input_limit")["accepted"] == 500


def test_a_typed_question_is_answered_with_a_timestamp_and_focus_stays_in_the_input(browser_run):
    answer = " ".join(passed(browser_run, "ask")["answer"])
    assert "双尖双领" in answer or "研发" in answer


def test_typing_indicator_shows_while_the_bot_answers(browser_run):
    assert passed(browser_run, "typing_indicator")["seen"]


def test_a_quick_reply_button_sends_its_question_and_gets_an_answer(browser_run):
    detail = passed(browser_run, "quick_reply")
    assert detail["clicked"] in detail["buttons"]


def test_after_a_reload_the_history_is_shown_and_the_conversation_continues(browser_run, assistant):  # noqa: F811
    detail = passed(browser_run, "reload")
    # Rasa saw every turn, before and after the reload, as one conversation.
    said = [e["text"] for e in assistant.tracker_events(detail["sessionId"]) if e["event"] == "user"]
    assert said[:1] == ["双尖双领怎么申报"]
    before_reload = said.index("你好")
    after_reload = len(said) - 1 - said[::-1].index("民营经济32条是什么")
    assert before_reload < after_reload


def test_history_comes_back_from_the_web_app_when_the_browser_kept_only_the_session_and_its_key(browser_run):
    assert passed(browser_run, "history_from_web_app")["restored"] > 0


def test_a_stored_session_id_without_its_key_starts_a_fresh_conversation_and_shows_no_history(browser_run):
    detail = passed(browser_run, "session_without_key")
    assert detail["newSession"] != detail["oldSession"] and detail["shown"] == 0


def test_html_in_a_message_is_shown_as_text_and_never_runs(browser_run):
    detail = passed(browser_run, "xss")
    assert detail["userText"] == "<img src=x onerror=alert(1)>"
    assert detail["planted"]["flag"] is False
    assert detail["dialogs"] == []


def test_the_page_raises_no_script_errors(browser_run):
    passed(browser_run, "no_page_errors")


def test_on_a_390x844_phone_the_widget_fills_the_screen_and_the_input_stays_visible(browser_run):
    passed(browser_run, "phone")
    shot = ARTIFACTS / "chat-390x844.png"
    assert shot.stat().st_size > 10_000


def test_one_script_tag_embeds_the_widget_on_another_site(browser_run):
    detail = passed(browser_run, "embed")
    assert detail["title"] == "企业服务咨询"
    assert detail["buttons"]


def test_the_widget_shows_the_server_going_away_and_reconnects_to_the_same_conversation(browser_run):
    detail = passed(browser_run, "reconnect")
    assert "连接中断" in detail["offline"]["banner"]


def test_widget_script_is_served_and_other_paths_are_not(assistant):  # noqa: F811
    web = assistant.settings.web_url
    script = requests.get(f"{web}/widget/huiqi-widget.js", timeout=10)
    assert script.status_code == 200
    assert script.headers["Content-Type"].startswith("text/javascript")
    for path in ("/widget/..%2Fpackage.json", "/widget/nope.js", "/widget/%2e%2e%2fsrc%2fwidget.js"):
        assert requests.get(web + path, timeout=10).status_code == 404, path


def test_chat_page_points_the_widget_at_rasa_and_forbids_foreign_scripts(assistant):  # noqa: F811
    page = requests.get(assistant.settings.web_url + "/", timeout=10)
    assert f'data-server-url="{assistant.settings.rasa_url}"' in page.text
    policy = page.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy
    assert assistant.settings.rasa_url.replace("http", "ws", 1) in policy
