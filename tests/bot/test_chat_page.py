"""The chat page's HTML and headers, without a server."""

from __future__ import annotations

import pytest

from bot import chat_page


def test_page_names_the_assistant_the_three_policy_families_and_four_example_questions():
    html = chat_page.render_page("http://127.0.0.1:5005")
    assert "<title>惠企政策助手</title>" in html
    for family in ("“8+4”", "民营经济32条", "“双尖双领”"):
        assert family in html
    assert 'data-examples="双尖双领怎么申报|首台套奖励多少|民营经济32条是什么|小型微利企业标准"' in html
    assert '<html lang="zh-CN">' in html


def test_page_hands_the_rasa_url_to_the_widget_escaped():
    html = chat_page.render_page('http://x"><script>alert(1)</script>')
    assert "<script>alert(1)</script>" not in html
    assert 'data-server-url="http://x&quot;&gt;&lt;script&gt;' in html


@pytest.mark.parametrize(("env", "expected"), [
    ({}, "http://127.0.0.1:5005"),
    ({"HUIQI_RASA_URL": "http://127.0.0.1:6006/"}, "http://127.0.0.1:6006"),
    ({"HUIQI_RASA_URL": "http://127.0.0.1:6006", "HUIQI_RASA_PUBLIC_URL": "https://chat.example.cn"},
     "https://chat.example.cn"),
])
def test_browsers_are_sent_to_the_public_rasa_url_when_one_is_set(monkeypatch, env, expected):
    for name in ("HUIQI_RASA_URL", "HUIQI_RASA_PUBLIC_URL"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert chat_page.rasa_public_url() == expected


def test_content_security_policy_allows_scripts_only_from_the_app_and_sockets_only_to_rasa():
    policy = chat_page.content_security_policy("https://chat.example.cn")
    assert "script-src 'self'" in policy
    assert "connect-src 'self' https://chat.example.cn wss://chat.example.cn" in policy
    assert "'unsafe-eval'" not in policy
    assert "object-src 'none'" in policy
