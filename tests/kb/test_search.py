"""Retrieval decides which measure a question is about, from the knowledge base alone."""

from __future__ import annotations

import datetime as dt

import pytest

from kb import service
from kb.models import Measure


@pytest.mark.parametrize(
    ("question", "measure_id"),
    [
        ("首台套奖励多少", "e84-2025-first-set"),
        ("国内首台（套）装备能拿多少奖励？", "e84-2025-first-set"),
        ("双尖双领企业自筹比例要多少", "sjsl-self-funding"),
        ("电动自行车以旧换新补贴多少", "e84-2025-trade-in"),
        ("民营企业提高容积率扩建厂房要补土地款吗", "pe32-03"),
        ("六税两费减半吗", "tr-six-taxes-two-fees"),
        ("国际科技合作项目最多补助多少", "sjsl-2025-cooperation"),
    ],
)
def test_a_question_finds_the_measure_it_is_about(seeded, question, measure_id):
    with seeded() as session:
        answer = service.answer_measure(question, session=session)
    assert answer is not None and answer.measure_id == measure_id, answer


def test_an_answer_carries_its_figure_department_and_source(seeded):
    with seeded() as session:
        answer = service.answer_measure("首台套奖励多少", session=session)
    assert "200万元" in answer.key_figure
    assert answer.department
    assert answer.document.startswith("《") and answer.source_url.startswith("http")


@pytest.mark.parametrize("question", ["", "   ", "asdfgh", "😀😀", "的的的了吗"])
def test_a_question_with_nothing_to_match_gets_no_answer(seeded, question):
    with seeded() as session:
        assert service.answer_measure(question, session=session) is None


def test_a_family_filter_keeps_answers_inside_the_family(seeded):
    with seeded() as session:
        hits = service.search_measures("比重", session=session, family="private_economy_32", limit=10)
        assert hits
        assert all(session.get(Measure, h.measure_id).document.family == "private_economy_32" for h in hits)


def test_a_new_measure_is_found_at_once_without_retraining(seeded):
    with seeded() as session:
        assert service.answer_measure("跨境电商海外仓补助多少", session=session) is None
    with seeded.begin() as session:
        from kb.models import Revision, Source

        session.add(Measure(id="test-warehouse", document_id="e84-2026", title="跨境电商海外仓补助",
                            summary="测试用措施。", keywords=["海外仓", "跨境电商"], origin="admin",
                            sources=[Source(url="https://example.org/warehouse")]))
        session.add(Revision(author="test", action="import", changes={"added": ["test-warehouse"]}))
    with seeded() as session:
        answer = service.answer_measure("跨境电商海外仓补助多少", session=session)
    assert answer is not None and answer.measure_id == "test-warehouse"


def test_families_are_recognised_by_their_names_and_aliases(seeded):
    with seeded() as session:
        assert service.detect_family("民营经济32条是什么", session=session) == "private_economy_32"
        assert service.detect_family("8加4是啥", session=session) == "eight_plus_four"
        assert service.detect_family("尖兵领雁怎么报", session=session) == "shuangjian_shuangling"
        assert service.detect_family("今天天气怎么样", session=session) is None


def test_a_document_alias_added_by_an_admin_is_recognised_at_the_next_question(seeded):
    from kb.models import Document, Revision

    with seeded() as session:
        assert service.detect_family("浙里八条是什么", session=session) is None  # read and cached
    with seeded.begin() as session:
        document = session.get(Document, "e84-2026")
        document.aliases = [*(document.aliases or []), "浙里八条"]
        session.add(Revision(author="test", action="import", changes={"changed": ["e84-2026"]}))
    with seeded() as session:
        assert service.detect_family("浙里八条是什么", session=session) == "eight_plus_four"


def test_the_32_measures_are_described_by_their_own_document(seeded):
    with seeded() as session:
        answer = service.describe_family("private_economy_32", session=session, today=dt.date(2026, 11, 26),
                                         question="民营经济32条是什么")
    assert answer.title == "《浙江省促进民营经济高质量发展若干措施》"
    assert answer.published == "2023年8月25日"


def test_a_question_without_a_year_gets_the_edition_in_force(seeded):
    with seeded() as session:
        now = service.describe_family("eight_plus_four", session=session, today=dt.date(2026, 11, 26), question="8+4是什么")
        before = service.describe_family("eight_plus_four", session=session, today=dt.date(2025, 6, 1), question="8+4是什么")
    assert now.edition == "2026" and "浙政发〔2026〕6号" == now.doc_number
    assert before.edition == "2025"
