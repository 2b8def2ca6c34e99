"""The development question set is well formed and true to the seed; the scorer checks replies as documented."""

from __future__ import annotations

import datetime as dt
import importlib.util
import json
import re
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml

from kb.format import format_benefit, format_date

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("score_questions", ROOT / "bench" / "score_questions.py")
sq = importlib.util.module_from_spec(_spec)
sys.modules["score_questions"] = sq  # dataclasses look their module up by name
_spec.loader.exec_module(sq)


def question(**overrides) -> sq.Question:
    values = dict(id="q1", text="首台套奖励多少", family="eight_plus_four", kind="fact",
                  expect=(("200万元",), ("省经信厅", "经信厅")))
    values.update(overrides)
    return sq.Question(**values)


def seed_text() -> str:
    """Return the seed as written, plus every amount and date as the bot formats them (200万元, 2026年2月26日)."""
    parts = []
    for path in sorted((ROOT / "kb" / "seed").glob("*.yaml")):
        raw = path.read_text(encoding="utf-8")
        parts.append(raw)
        data = yaml.safe_load(raw)
        for item in data.get("documents", []) + data.get("measures", []):
            parts += [format_benefit(b) for b in item.get("benefits") or [] if b.get("amount") is not None]
            parts += [format_date(item[k]) for k in ("published", "valid_from", "valid_to")
                      if isinstance(item.get(k), dt.date)]
    return sq.normalize("\n".join(parts))


def test_the_question_set_has_at_least_180_questions_covering_every_family_and_kind():
    questions = sq.load_questions()
    assert len(questions) >= 180
    assert {q.family for q in questions} == set(sq.FAMILIES)
    assert set(sq.KINDS) - set(sq.BLIND_KINDS) <= {q.kind for q in questions}
    for family in sq.FAMILIES[:-1]:
        assert sum(q.family == family for q in questions) >= 20, family


def test_every_expected_figure_is_in_the_seed():
    text = seed_text()
    wrong = [f"{q.id}: {alt}" for q in sq.load_questions() if q.family != "none"
             for group in q.expect for alt in group if re.search(r"\d", alt) and sq.normalize(alt) not in text]
    assert wrong == []


def test_a_reply_passes_only_when_every_group_has_one_of_its_alternatives():
    q = question()
    assert sq.check(q, "国际首台（套）奖励200万元。主管部门：省经信厅、省财政厅") == ([], [])
    missing, _ = sq.check(q, "国际首台（套）奖励200万元。")
    assert missing == [["省经信厅", "经信厅"]]


def test_full_width_digits_case_and_spaces_in_a_reply_still_match():
    q = question(expect=(("80%",), ("pm.kjt.zj.gov.cn",)))
    assert sq.check(q, "比重不低于８０％，平台 PM.kjt.zj.gov.cn") == ([], [])


def test_a_must_not_substring_fails_the_question():
    q = question(expect=(("1023.6亿元",),), must_not=("1006.8亿元",))
    assert sq.check(q, "2024年1023.6亿元，2023年1006.8亿元") == ([], ["1006.8亿元"])


def test_button_titles_count_as_part_of_the_reply():
    messages = [{"text": "您想问的是："}, {"buttons": [{"title": "首台（套）装备认定奖励", "payload": "/x"}]}]
    assert "首台（套）装备认定奖励" in sq.reply_text(messages)


def test_an_unknown_key_is_rejected_naming_the_item_and_the_key(tmp_path):
    path = tmp_path / "q.yaml"
    path.write_text("questions:\n  - {id: a1, text: 你好, kind: chitchat, expect: [[您好]], answer: x}\n",
                    encoding="utf-8")
    with pytest.raises(sq.QuestionFileError, match=r"item 1 \(a1\).*unknown key\(s\) answer"):
        sq.load_questions(path)


def test_an_unknown_kind_and_a_duplicate_id_are_rejected(tmp_path):
    path = tmp_path / "q.yaml"
    path.write_text("questions:\n  - {id: a1, text: 你好, kind: smalltalk, expect: [[您好]]}\n", encoding="utf-8")
    with pytest.raises(sq.QuestionFileError, match="key kind: 'smalltalk'"):
        sq.load_questions(path)
    path.write_text("questions:\n  - {id: a1, text: 你好, kind: chitchat, expect: [[您好]]}\n"
                    "  - {id: a1, text: 谢谢, kind: chitchat, expect: [[不客气]]}\n", encoding="utf-8")
    with pytest.raises(sq.QuestionFileError, match="duplicate id a1"):
        sq.load_questions(path)


def test_a_server_that_is_not_on_loopback_is_refused():
    with pytest.raises(SystemExit, match="loopback"):
        sq.require_loopback("http://10.0.0.5:5005")
    assert sq.require_loopback("http://127.0.0.1:5005/") == "http://127.0.0.1:5005"


def test_questions_sharing_a_sender_form_one_conversation_in_file_order():
    qs = [question(id="a", sender="s"), question(id="b"), question(id="c", sender="s")]
    groups = sq.conversations(qs, "run")
    assert [[q.id for q, _ in group] for group in groups] == [["a", "c"], ["b"]]
    assert groups[0][0][1] == groups[0][1][1] == "bench-run-s"


class _FakeRasa(BaseHTTPRequestHandler):
    """Answers like the REST channel: remembers each sender's messages and replies with canned texts."""

    said: dict[str, list[str]] = {}

    def do_POST(self):  # noqa: N802 (http.server's name)
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        history = self.said.setdefault(body["sender"], [])
        history.append(body["message"])
        if body["message"] == "找哪个部门":
            reply = [{"text": "主管部门：省经信厅" if len(history) > 1 else "您问的是哪项政策？"}]
        else:
            reply = [{"text": "国际首台（套）200万元"}]
        data = json.dumps(reply).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture
def fake_rasa():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _FakeRasa)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_a_run_scores_each_question_and_sends_earlier_turns_first(fake_rasa):
    qs = [
        question(id="fact", expect=(("200万元",),)),
        question(id="missing", expect=(("200万元",), ("30日",))),
        question(id="follow-up", text="找哪个部门", kind="contact", turns=("首台套奖励多少",), expect=(("经信厅",),)),
        question(id="alone", text="找哪个部门", kind="contact", expect=(("经信厅",),)),
    ]
    results = sq.run(fake_rasa, qs, timeout=5, workers=2, progress=False)
    assert [(r.id, r.passed) for r in results] == [
        ("fact", True), ("missing", False), ("follow-up", True), ("alone", False)]
    assert results[1].missing == [["30日"]]
    summary = sq.summarize(results)
    assert summary["overall"] == {"passed": 2, "total": 4, "rate": 0.5}
    assert summary["by_kind"]["contact"] == {"passed": 1, "total": 2, "rate": 0.5}
    table = sq.markdown_table(summary, {"started": "2026-11-26T16:00:00", "questions": 4, "seconds": 3.0})
    assert "| **overall** | **2/4 (50.0%)** |" in table and "| contact | 1/2 (50%) |" in table


def test_a_server_that_does_not_answer_fails_the_question_with_the_error():
    results = sq.run("http://127.0.0.1:9", [question()], timeout=2, workers=1, progress=False)
    assert not results[0].passed and results[0].error
