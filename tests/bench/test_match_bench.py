"""The 政策找企业 benchmark runs the real import path at a small size and reports what it measured.

No timings are asserted here; bench/match_bench.py measures them at 10,000 firms.
"""

from __future__ import annotations

import random

from bench import match_bench
from kb.eligibility.firms import is_valid_credit_code


def test_synthetic_firms_have_valid_distinct_codes_and_incomplete_facts():
    firms = match_bench.synthetic_firms(300, random.Random())
    assert len({f["credit_code"] for f in firms}) == 300
    assert all(is_valid_credit_code(f["credit_code"]) for f in firms)
    assert 0 < sum(len(f["facts"]) for f in firms) < 300 * 10  # about a third of the facts left out


def test_a_small_run_matches_every_firm_for_every_measure_and_writes_a_table():
    result = match_bench.run(150, 4, 2)
    assert result["rows_stored"] == 150 * 4
    assert sum(result["one_measure"]["counts"].values()) == 150
    table = match_bench.table(result)
    assert "| 150 × 1 |" in table and "| 150 × 4 |" in table
