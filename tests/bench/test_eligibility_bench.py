"""The eligibility benchmark's profiles are valid firm facts and its simulated dialogue behaves as the bot should.

No timings are asserted here; bench/eligibility_bench.py measures them.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from kb.eligibility import evaluate_all
from kb.eligibility.regions import REGIONS
from kb.eligibility.rulebook import default_rulebook

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("eligibility_bench", ROOT / "bench" / "eligibility_bench.py")
eb = importlib.util.module_from_spec(_spec)
sys.modules["eligibility_bench"] = eb
_spec.loader.exec_module(eb)

PROFILES = eb.load_profiles()
RULES = eb.seed_rules(eb.ON)


def test_there_are_at_least_30_profiles_across_regions_industries_and_sizes():
    assert len(PROFILES) >= 30
    assert len({p["facts"]["region"].split("市")[0] for p in PROFILES}) >= 10  # cities
    assert len({p["facts"]["industry"] for p in PROFILES}) >= 15
    sizes = [p["facts"]["employees"] for p in PROFILES]
    assert min(sizes) < 50 and max(sizes) > 1000


@pytest.mark.parametrize("profile", PROFILES, ids=[p["id"] for p in PROFILES])
def test_every_profile_is_a_set_of_facts_the_engine_accepts(profile):
    assert profile["facts"]["region"] in REGIONS
    evaluate_all(RULES, profile["facts"], on=eb.ON)  # raises FactsError on a value of the wrong kind


@pytest.mark.parametrize("profile", PROFILES, ids=[p["id"] for p in PROFILES])
def test_the_dialogue_ends_with_the_verdicts_the_full_profile_gives(profile):
    run = eb.simulate(profile, RULES, eb.ON)
    assert run["same_as_full_profile"]
    assert not set(run["asked"]) & set(run["volunteered"])  # never asks what the firm already said
    assert len(run["asked"]) == len(set(run["asked"]))       # never asks twice


def test_a_fact_the_firm_does_not_know_is_asked_once_and_then_left_out():
    p34 = next(p for p in PROFILES if p["id"] == "p34")  # does not know its taxable income
    run = eb.simulate(p34, RULES, eb.ON)
    assert run["asked"].count("taxable_income") == 1
    assert "taxable_income" in run["answered_unknown"]
    assert run["unknown"] > 0


def test_the_issue_example_firm_is_asked_only_what_decides_something():
    p01 = next(p for p in PROFILES if p["id"] == "p01")
    run = eb.simulate(p01, RULES, eb.ON)
    # 85 people and 6800万 revenue are volunteered; no equity question: its only use needs revenue under 1000万
    # or a 专精特新 firm under 5000万.
    assert "equity_financing_2yr" not in run["asked"]
    assert "rd_ratio" not in run["asked"]  # derived from R&D spend and revenue


def test_the_fixed_form_lists_every_field_the_rules_use_through_categories():
    form = eb.form_fields(RULES, default_rulebook())
    assert {"taxable_income", "total_assets", "rd_ratio", "ownership", "digital_investment"} <= set(form)
    assert "founded_year" not in form


def test_synthetic_measures_copy_the_real_rules_under_new_ids():
    copies = eb.synthetic(RULES, 100)
    assert len(copies) == len({measure_id for measure_id, _ in copies}) == 100
    assert copies[len(RULES)][1] is RULES[0][1]


def test_a_profile_with_an_unknown_fact_is_rejected_by_name(tmp_path: Path):
    bad = tmp_path / "profiles.yaml"
    bad.write_text("- {id: x1, first: [region], facts: {region: 杭州市滨江区, salary: 3}}\n", encoding="utf-8")
    with pytest.raises(eb.ProfileError, match=r"profiles.yaml → x1.facts.salary"):
        eb.load_profiles(bad)
