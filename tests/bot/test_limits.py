"""Input limits: the sliding-window rate limiter and the ranges of firm facts."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.limits import RateLimiter
from kb.eligibility.fact_bounds import BOUNDS, out_of_range
from kb.eligibility.profile import FIELDS


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_key_gets_its_limit_within_the_window_and_more_once_it_has_passed():
    clock = Clock()
    limiter = RateLimiter(2, 60, clock=clock)
    assert [limiter.allow("a") for _ in range(3)] == [True, True, False]
    assert limiter.allow("b")  # another key is not affected
    clock.now += 59
    assert not limiter.allow("a") and limiter.retry_after("a") == 1
    clock.now += 1
    assert limiter.allow("a")


def test_failures_counted_with_hit_block_the_key_until_the_window_passes():
    clock = Clock()
    limiter = RateLimiter(3, 300, clock=clock)
    for _ in range(3):
        assert not limiter.blocked("10.0.0.9")
        limiter.hit("10.0.0.9")
    assert limiter.blocked("10.0.0.9") and limiter.retry_after("10.0.0.9") == 300
    clock.now += 300
    assert not limiter.blocked("10.0.0.9")


def test_the_limiter_remembers_a_bounded_number_of_keys():
    limiter = RateLimiter(1, 60, max_keys=100)
    for n in range(1000):
        limiter.allow(f"sender-{n}")
    assert len(limiter._events) == 100
    assert limiter.allow("sender-0")  # forgotten, so allowed again; memory stays bounded


def test_every_bounded_fact_is_a_numeric_field_of_the_profile():
    assert set(BOUNDS) <= set(FIELDS)
    assert {FIELDS[name].kind for name in BOUNDS} <= {"money", "count", "ratio", "year"}
    assert {name for name, f in FIELDS.items() if f.kind in ("money", "count", "ratio", "year")} == set(BOUNDS)


@pytest.mark.parametrize(("facts", "field"), [
    ({"employees": -5}, "employees"),
    ({"revenue": 1e308}, "revenue"),
    ({"revenue": float("nan")}, "revenue"),
    ({"revenue": float("inf")}, "revenue"),
    ({"employees": True}, "employees"),
    ({"rd_ratio": 35}, "rd_ratio"),
    ({"founded_year": 2030}, "founded_year"),
    ({"employees": 85, "total_assets": -1}, "total_assets"),
])
def test_a_fact_out_of_its_range_is_named(facts, field):
    problem = out_of_range(facts, today=dt.date(2026, 12, 3))
    assert problem is not None and problem.field == field and f"facts.{field}" in problem.message


def test_facts_of_a_real_firm_are_in_range():
    facts = {"employees": 85, "revenue": 6800, "total_assets": 4000, "rd_ratio": 0.035, "taxable_income": -20,
             "founded_year": 2026, "region": "遂昌县", "certifications": ["高新技术企业"]}
    assert out_of_range(facts, today=dt.date(2026, 12, 3)) is None
