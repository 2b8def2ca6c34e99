import datetime as dt

import pytest

from kb.format import format_amount, format_benefit, format_date, format_number, format_period


@pytest.mark.parametrize(
    ("amount", "unit", "expected"),
    [
        (1042.8, "亿元", "1042.8亿元"),
        (200, "万元", "200万元"),
        (200.0, "万元", "200万元"),
        (80, "%", "80%"),
        (0.5, "%以上", "0.5%以上"),
        (1200, "元", "1200元"),
        (None, "万元", ""),
    ],
)
def test_amounts_are_written_as_chinese_readers_write_them(amount, unit, expected):
    assert format_amount(amount, unit) == expected


def test_large_and_small_numbers_never_use_scientific_notation():
    assert format_number(1e9) == "1000000000"
    assert format_number(0.0001) == "0.0001"


def test_dates_are_written_in_chinese():
    assert format_date(dt.date(2026, 2, 26)) == "2026年2月26日"
    assert format_date(None) == ""


def test_a_period_names_its_ends():
    assert format_period(dt.date(2023, 8, 25), dt.date(2027, 12, 31)) == "2023年8月25日至2027年12月31日"
    assert format_period(dt.date(2023, 8, 25), None) == "2023年8月25日起"


def test_a_benefit_without_a_figure_is_just_its_name():
    assert format_benefit({"what": "免征增值税", "amount": None, "unit": None}) == "免征增值税"
    assert format_benefit({"what": "国际首台（套）奖励", "amount": 200, "unit": "万元"}) == "国际首台（套）奖励：200万元"
