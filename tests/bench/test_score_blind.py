"""The blind-round scorer: reply markers, repeated questions in dialogues, verdict folding, phrase values."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from bench import score_blind as sb
from bench import score_questions as sq
from kb.eligibility.profile import FIELDS


def probe(*groups: tuple[str, ...]) -> sq.Question:
    return sq.Question(id="x", text="x", family="none", kind="out_of_scope", expect=tuple(groups))


def test_a_reply_marker_passes_on_the_assistants_own_wording_and_not_otherwise():
    refusal = "这个问题不在我的范围内。我只回答浙江惠企政策。"
    assert sq.check(probe(("@out_of_scope",)), refusal) == ([], [])
    missing, _ = sq.check(probe(("@out_of_scope",)), "首台（套）奖励200万元")
    assert missing == [["@out_of_scope"]]
    assert sq.check(probe(("@not_published", "2027年版")), "2027年版尚未发布") == ([], [])


def test_the_fact_a_reply_asks_for_is_told_by_the_assistants_question():
    question = FIELDS["revenue"].question
    assert sb.asked_fields(f"好的。{question}") == {"revenue"}
    assert sb.asked_fields("根据您提供的情况：营收6800万元") == set()


class _ScriptedRasa(BaseHTTPRequestHandler):
    """Replies with the next line of a script per sender, like the REST channel."""

    script: list[str] = []
    turn: dict[str, int] = {}

    def do_POST(self):  # noqa: N802 (http.server's name)
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        index = self.turn.get(body["sender"], 0)
        self.turn[body["sender"]] = index + 1
        data = json.dumps([{"text": self.script[index]}], ensure_ascii=False).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture
def scripted_rasa():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _ScriptedRasa)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_a_dialogue_turn_fails_when_the_bot_asks_again_for_a_fact_already_given(scripted_rasa):
    _ScriptedRasa.script = [FIELDS["employees"].question, FIELDS["employees"].question, "可以享受：小型微利企业"]
    _ScriptedRasa.turn = {}
    turns = [
        sb.Turn("我们能享受什么", (), (), ()),
        sb.Turn("我们五十个人，营收三千万", (), (), ("employees", "revenue")),
        sb.Turn("在丽水龙泉", (("小型微利",),), (), ("region",)),
    ]
    results = sb.run_dialogue(scripted_rasa, "d1", turns, "run", timeout=5)
    assert [r.passed for r in results] == [True, False, True]
    assert results[1].asked_again == ["employees"]


def test_a_verdict_folds_likely_and_unknown_into_undecided_and_takes_the_first_mapped_measure():
    verdicts = [{"measure_id": "m2", "status": "likely"}, {"measure_id": "m3", "status": "not_eligible"}]
    assert sb.our_verdict(verdicts, ["m1", "m2", "m3"]) == "undecided"
    assert sb.our_verdict(verdicts, ["m3"]) == "not_eligible"
    assert sb.our_verdict(verdicts, ["m9"]) is None


def test_a_phrase_range_accepts_a_value_inside_it_or_the_same_range():
    assert sb._within(4800, {"max": 5000}) and not sb._within(5200, {"max": 5000})
    assert sb._within({"max": 5000}, {"max": 5000})
    assert not sb._within(None, {"max": 5000})
    assert sb.phrase_expectations({"field": "revenue_wan", "value": 3200}) == {"revenue": ("value", 3200)}
    assert sb.phrase_expectations({"values": {"employees": 60, "region": "绍兴市柯桥区"}}) == {
        "employees": ("value", 60), "region": ("value", "绍兴市柯桥区")}


def test_phrases_are_scored_through_the_assistants_parser():
    scores = sb.score_phrases([
        {"id": "a", "text": "营收6800万", "field": "revenue_wan", "value": 6800},
        {"id": "b", "text": "我们85个人", "field": "employees", "value": 90},
    ])
    assert scores["phrases"] == {"passed": 1, "total": 2}
    assert scores["results"][1]["wrong"] == {"employees": {"want": 90, "got": 85}}


def test_a_hedged_figure_is_right_when_the_writers_value_is_the_bound_the_parser_read():
    scores = sb.score_phrases([
        {"id": "a", "text": "员工不到八十人", "field": "employees", "value": 80, "approx": True},
        {"id": "b", "text": "员工不到八十人", "field": "employees", "value": 80},           # not marked approximate
        {"id": "c", "text": "员工不到八十人", "field": "employees", "value": 60, "approx": True},
    ])
    assert [r["right"] for r in scores["results"]] == [True, False, False]


def test_recording_a_round_adds_one_row_per_round_and_commit(tmp_path, monkeypatch):
    readme = tmp_path / "README.md"
    readme.write_text("x\n<!-- blind-rounds:start -->\n| round | … |\n<!-- blind-rounds:end -->\ny\n", encoding="utf-8")
    monkeypatch.setattr("bench.readme.README", readme)
    scores = {"meta": {"started": "2026-12-02T19:00:00", "commit": "abc1234", "note": "main before"},
              "questions": {"overall": {"passed": 90, "total": 120}}}
    sb.record("round-1", scores)
    sb.record("round-1", scores)
    text = readme.read_text(encoding="utf-8")
    assert text.count("| round-1 | 2026-12-02 | `abc1234` | 90/120 (75.0%) |") == 1
    assert text.startswith("x\n") and text.endswith("y\n")


def test_a_place_written_with_or_without_its_city_is_the_same_place():
    assert sb._same_place("温州市洞头区", "洞头区") and sb._same_place("宁波市", "宁波")
    assert not sb._same_place("温州市洞头区", "平阳县") and not sb._same_place(None, "洞头区")
    # Written without its suffixes, or with the city run in: still that place; a different county is not.
    assert sb._same_place("衢州市开化县", "衢州开化") and sb._same_place("丽水市云和县", "云和")
    assert sb._same_place("丽水市景宁畲族自治县", "景宁县")
    assert not sb._same_place("绍兴市上虞区", "虞城") and not sb._same_place("金华市东阳市", "义乌")
    # The assistant's name for any place outside Zhejiang is right only for a place the writer puts there.
    assert sb._same_place("浙江省外", "安徽省合肥市") and not sb._same_place("浙江省外", "杭州市滨江区")


def test_an_entity_type_finer_than_the_one_written_is_the_same_type():
    from bench.blind_adapter import same_entity_type

    assert same_entity_type("股份有限公司", "企业") and same_entity_type("个体工商户", "个体工商户")
    assert not same_entity_type("企业", "有限责任公司") and not same_entity_type("分公司", "企业")
    assert not same_entity_type(None, "企业")


def test_a_division_inside_the_sector_the_writer_names_is_that_sector():
    from bench.blind_adapter import industry_within

    assert industry_within("纺织", "制造业") and industry_within("金属制品", "工业")
    assert not industry_within("批发零售", "制造业") and not industry_within("纺织", "纺织品")
