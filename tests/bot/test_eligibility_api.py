"""POST /api/eligibility on the real web app: structured facts or a firm's own words, same engine as the chat."""

from __future__ import annotations

import pytest
import requests

from bot.services import ServiceGroup, web_service
from tests.conversation.conftest import server_settings, with_kb


@pytest.fixture(scope="module")
def web(conversation_kb, tmp_path_factory):
    settings = server_settings(tmp_path_factory.mktemp("web"))
    with ServiceGroup([with_kb(web_service(settings), conversation_kb)], settings.var_dir / "log"):
        yield f"{settings.web_url}/api/eligibility"


def test_a_firm_description_is_parsed_and_judged(web):
    text = "我们是丽水遂昌的民营金属制品厂，85个人，营收6800万，能享受什么？"
    reply = requests.post(web, json={"text": text, "date": "2026-11-26"}, timeout=30).json()
    assert reply["facts"] == {"region": "丽水市遂昌县", "ownership": "民营", "industry": "金属制品",
                              "employees": 85, "revenue": 6800.0, "entity_type": "企业"}
    statuses = {v["status"] for v in reply["verdicts"]}
    assert reply["verdicts"] and statuses <= {"eligible", "likely", "unknown", "not_eligible"}
    assert reply["scope"] == "all"
    mountain = [v for v in reply["verdicts"] if v["measure_id"] == "sjsl-self-funding-mountain"]
    # The address meets the floor's condition; leading a project is what the firm still has to confirm.
    assert mountain and mountain[0]["status"] == "likely" and mountain[0]["met"][0]["explanation"]
    assert any("牵头" in item for item in mountain[0]["to_confirm"])
    assert reply["next_question"]["field"] in {"taxable_income", "total_assets", "certifications", "rd_expense",
                                               "digital_investment", "founded_year", "rd_ratio"}


def test_structured_facts_decide_a_single_category(web):
    body = {"facts": {"employees": 85, "taxable_income": 280, "total_assets": 4000, "industry": "家具制造"},
            "scope": "category:小型微利企业", "date": "2026-11-26"}
    reply = requests.post(web, json=body, timeout=30).json()
    verdict = reply["verdicts"][0]
    assert verdict["status"] == "eligible" and reply["next_question"] is None
    body["facts"]["total_assets"] = 5000.01
    verdict = requests.post(web, json=body, timeout=30).json()["verdicts"][0]
    assert verdict["status"] == "not_eligible"
    assert "5000万元" in verdict["failed"][0]["explanation"]


def test_the_next_question_is_the_missing_deciding_fact(web):
    body = {"facts": {"employees": 85, "industry": "家具制造"}, "scope": "category:小型微利企业", "date": "2026-11-26"}
    reply = requests.post(web, json=body, timeout=30).json()
    assert reply["verdicts"][0]["status"] == "unknown"
    assert reply["next_question"]["field"] in ("taxable_income", "total_assets")
    assert reply["next_question"]["question"]


@pytest.mark.parametrize(
    "body",
    [None, [], {"facts": {}, "text": "x"}, {"facts": "85人"}, {"facts": {"staff": 85}}, {"text": 5},
     {"text": "x" * 5001}, {"text": "x", "scope": "everything"}, {"facts": {"employees": "85人"}},
     {"text": "x", "date": "2026年"}, {"facts": {"employees": -3}}, {"facts": {"revenue": 1e12}},
     {"facts": {"rd_ratio": 4.5}}, {"facts": {"entity_type": "公司"}}],
)
def test_bad_requests_get_a_clear_chinese_error(web, body):
    reply = requests.post(web, json=body, timeout=30) if body is not None else requests.post(web, data="{", timeout=30)
    assert reply.status_code == 400
    assert reply.json()["error"]


@pytest.mark.parametrize("facts, field", [({"employees": -3}, "employees"), ({"staff": 5}, "staff"),
                                          ({"revenue": 5000, "rd_ratio": 4.5}, "rd_ratio")])
def test_a_bad_fact_is_named_in_the_error(facts, field):
    from bot.api import check_facts

    assert check_facts(facts)[0] == field


def test_a_held_certification_is_a_fact_not_the_focus(web):
    text = "我们在湖州德清做电机，210人，去年营收一亿三，已经拿到国家高新了"
    reply = requests.post(web, json={"text": text, "date": "2026-11-26"}, timeout=30).json()
    assert reply["scope"] == "all" and reply["focus"] == "all"
    assert len(reply["verdicts"]) > 5
