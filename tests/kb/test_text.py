"""The question inside a paste, and the year a question names."""

from __future__ import annotations

import datetime as dt

from kb.text import edition_year, question_in

TODAY = dt.date(2026, 11, 26)


def test_a_short_question_is_read_whole():
    assert question_in("首台套奖励多少？") == "首台套奖励多少?"


def test_a_paste_gives_its_asking_sentences_with_the_end_of_the_sentence_before():
    paste = ("你好，我在杭州开电动车店，顾客老问换新补贴的事。他们说之前交旧车换新车只补20%，最多500块，现在好像提高了？"
             "还有手机、平板能不能也补，多少钱以下的能补？麻烦说一下最新的标准，我好给顾客解释。")
    assert len(paste) > 80
    question = question_in(paste, limit=80)
    # The request without a question mark is part of the question, and the topic (换新补贴) comes with it.
    assert question.endswith("麻烦说一下最新的标准,我好给顾客解释。")
    assert "换新补贴" in question and "手机" in question


def test_a_paste_that_asks_nothing_gives_its_last_sentence():
    paste = "转发通知。" * 30 + "具体要求见附件。"
    assert question_in(paste) == "具体要求见附件。"


def test_a_year_written_out_wins_over_a_relative_one():
    assert edition_year("三个70%去年完成得咋样？2023年实际比例是多少", today=TODAY) == 2023
    assert edition_year("去年的首台套奖励", today=TODAY) == 2025
    assert edition_year("23年的8+4", today=TODAY) == 2023
