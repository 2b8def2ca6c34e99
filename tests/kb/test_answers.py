"""What retrieval answers beyond the top measure.

Typos, yearly lists, the figure asked for, facts kept in a document's structure or a measure's note,
and how a figure changed over the years.
"""

from __future__ import annotations

import datetime as dt

import pytest

from kb import service
from kb.search import public_note_sentences, tokenize

TODAY = dt.date(2026, 11, 26)


def _top(session, question: str, edition: str | None = None, family: str | None = None) -> str | None:
    ranked = service.ranked_measures(question, session=session, edition=edition, family=family, today=TODAY)
    return ranked[0][1].id if ranked else None


def test_a_homophone_typed_for_a_known_word_is_put_right(seeded):
    with seeded() as session:
        index = service.measure_index(session=session)
        assert index.correct("手台套国际的奖多少钱").startswith("首台套")
        assert index.correct("双尖双岭自筹要多少").startswith("双尖双领")
        # Words the knowledge base does not know are left alone, even with a confusable character.
        assert index.correct("手机平板能补吗") == "手机平板能补吗"
        assert _top(session, "手台套国际的奖多少钱") in ("e84-2025-first-set", "e84-2024-first-set")


def test_a_framework_named_by_its_numbers_is_one_word():
    assert "1+3+5" in tokenize("32条说的1+3+5是什么意思")
    assert "8+4" in tokenize("8+4政策")


def test_english_around_a_chinese_question_does_not_count_against_the_match(seeded):
    with seeded() as session:
        assert _top(session, "high-tech enterprise 高企 R&D ratio requirement") == "fc-gaoqi"
        assert _top(session, "asdfgh") is None


@pytest.mark.parametrize(("question", "edition", "measure_id"), [
    # A yearly list is named by the year it covers, and published with the next edition.
    ("2024年度首台套名单一共多少项", "2024", "e84-2025-first-set"),
    ("2023年度首台套名单多少项", "2023", "e84-2024-first-set"),
    # A year the measure itself mentions, outside its edition.
    ("亲清直通政企恳谈2024年一季度开了多少场", "2024", "pe32-service"),
    ("2024年度开始对企业自筹有什么新要求", "2024", "sjsl-self-funding"),
    # The edition named still wins where it has the answer.
    ("2024年8加4省财政安排多少钱", "2024", "e84-2024-overview"),
])
def test_a_year_picks_the_edition_or_the_measure_that_names_it(seeded, question, edition, measure_id):
    with seeded() as session:
        assert _top(session, question, edition=edition) == measure_id


def test_a_family_narrows_only_while_it_answers_as_well(seeded):
    with seeded() as session:
        assert _top(session, "2027年高新技术企业要达到多少家", edition="2027", family="firm_category") \
            == "pe32-sgdw-targets"
        assert _top(session, "什么是小型微利企业", family="firm_category") == "fc-xxwl"


def test_the_figure_asked_for_comes_first(seeded):
    with seeded() as session:
        answer = service.answer_measure("2024年综合交通强省领域省级预算多少", session=session, today=TODAY)
        assert answer.measure_id == "e84-2024-budget"
        assert answer.key_figure.startswith("综合交通强省领域：115.18亿元")
        assert service.answer_measure("首台套奖励钱下来后多久拨给企业", session=session,
                                      today=TODAY).measure_id == "e84-2025-first-set"


def _fact(session, question: str, measure_id: str | None = None):
    measure = service.queries.get_measure(measure_id, session=session) if measure_id else None
    shown = " ".join(filter(None, [measure.title, measure.summary])) if measure else ""
    return service.relevant_fact(question, session=session, shown=shown, measure=measure, today=TODAY)


def test_a_line_of_the_measures_note_answers_what_its_summary_does_not(seeded):
    with seeded() as session:
        fact = _fact(session, "2024年底浙江有多少家国家级小巨人", "fc-xjr")
        assert fact.kind == "note" and "1801家" in fact.text
        fact = _fact(session, "评上省级专精特新省里奖多少", "fc-zjtx")
        assert "市县" in fact.text
        # The summary answers already: no extra line.
        assert _fact(session, "首台套奖励多少", "e84-2025-first-set") is None


def test_notes_for_editors_are_never_shown():
    note = "valid_from取2024年度第一批通知日期；此后年度是否调整比例，未见新口径。来源为繁体转码转载。2024年底浙江“小巨人”1801家。"
    assert public_note_sentences(note) == ["2024年底浙江“小巨人”1801家。"]


def test_a_documents_structure_answers_with_its_own_words_and_dates(seeded):
    with seeded() as session:
        fact = _fact(session, "2026年8+4发布会是哪天")
        assert fact.title.endswith("发布会") and fact.text == "2026年2月26日"
        fact = _fact(session, "32条1+N里的N文件有哪些")
        assert "浙自然资规〔2024〕11号" in fact.text and "pe32-" not in fact.text
        fact = _fact(session, "三个到位是指哪三个到位", "pe32-sgdw-targets")
        assert fact.kind == "list" and "职责履行到位" in fact.text


def test_a_gap_the_sources_leave_is_said_to_be_missing(seeded):
    with seeded() as session:
        fact = _fact(session, "什么算民间投资项目", "fc-41fund")
        assert fact.kind == "unknown" and "民间投资项目" in fact.text and "尚未找到" in fact.title


@pytest.mark.parametrize(("question", "expected"), [
    ("尖兵领雁申报平台这几年换过吗", ["科技攻关在线", "科技大脑", "科技管理平台"]),
    ("山区26县后来怎么调整的", ["平阳", "洞头", "嵊泗"]),
    ("双尖双领2026年跟以前比有什么变化", ["300项", "400项"]),
])
def test_a_recorded_history_answers_how_something_changed(seeded, question, expected):
    with seeded() as session:
        _, lines = service.changes_over_editions(question, session=session, today=TODAY, recorded_only=True)
    text = "\n".join(f"{line.year} {line.figure}" for line in lines)
    assert len(lines) >= 2 and all(word in text for word in expected), text


def test_two_editions_compared_list_what_their_chains_and_funds_say(seeded):
    with seeded() as session:
        lines = service.editions_compared("2026版8+4和2025版比有什么变化", "eight_plus_four",
                                          session=session, today=TODAY)
        assert service.editions_compared("2026年三个80%跟2025年比", "eight_plus_four",
                                         session=session, today=TODAY) == []  # it has a topic of its own
    text = "\n".join(f"{line.year} {line.figure}" for line in lines)
    assert "2025年" in text and "2026年" in text and "10%" in text and "1042.8亿元" in text
