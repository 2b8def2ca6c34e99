"""The eligibility rules written on the seed measures (kb/seed/*.yaml `rule:`): sound, cited, and covered by cases.

What each rule decides is tested case by case in tests/kb/eligibility_cases/measures_*.yaml (key `measure:`).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml

from kb.eligibility.profile import FIELDS
from kb.eligibility.rulebook import check_rule, default_rulebook
from kb.paths import SEED_DIR
from kb.store.loader import read_seed, seed_files

CASES_DIR = Path(__file__).parent / "eligibility_cases"
SEED = read_seed(seed_files(SEED_DIR))
RULES = {measure_id: item["rule"] for measure_id, item in SEED.measures.items() if item["rule"]}


def conditions(node: Mapping[str, Any], negated: bool = False) -> Iterator[tuple[Mapping[str, Any], bool]]:
    """Every condition of a rule, with whether it sits under a `not`."""
    if "field" in node:
        yield node, negated
    for key in ("all", "any"):
        for child in node.get(key, ()):
            yield from conditions(child, negated)
    if "not" in node:
        yield from conditions(node["not"], not negated)


def categories_used(node: Mapping[str, Any]) -> Iterator[str]:
    if "category" in node:
        yield node["category"]
    for key in ("all", "any"):
        for child in node.get(key, ()):
            yield from categories_used(child)
    if "not" in node:
        yield from categories_used(node["not"])


def test_the_seed_has_rules_for_the_firm_facing_measures():
    expected = {"pe32-01", "pe32-03", "sjsl-self-funding-mountain", "fc-xxwl", "fc-gaoqi", "fc-zjtx", "fc-xjr",
                "fc-gsgy", "e84-2025-first-set", "e84-2025-smart-factory", "tr-individual-halving",
                "tr-six-taxes-two-fees", "tr-rd-super-deduction"}
    assert expected <= set(RULES)


def test_allocation_ratios_and_self_funding_requirements_are_not_verdicts():
    # "三个70%/80%" are shares of funds and land a province steers, not a benefit a firm enjoys; the 80% self-funding
    # rule is a requirement. Only the lower floor for 山区海岛县 firms is a verdict of its own.
    for measure_id in ("e84-2024-three-70", "e84-2025-three-80", "e84-2026-three-80", "pe32-02", "pe32-energy",
                       "pe32-three-70", "sjsl-self-funding"):
        assert measure_id not in RULES


@pytest.mark.parametrize("measure_id", sorted(RULES))
def test_every_seed_rule_passes_the_rule_check(measure_id):
    assert check_rule(RULES[measure_id], path=measure_id) == []


@pytest.mark.parametrize("measure_id", sorted(RULES))
def test_seed_rules_refer_only_to_registry_fields_known_groups_and_categories(measure_id):
    book = default_rulebook()
    for condition, _ in conditions(RULES[measure_id]):
        assert condition["field"] in FIELDS
        if condition["op"] == "in_group":
            assert book.group(condition["value"]) is not None
    assert set(categories_used(RULES[measure_id])) <= set(book.categories)


@pytest.mark.parametrize("measure_id", sorted(RULES))
def test_every_condition_of_a_seed_rule_cites_its_clause_and_says_itself_in_chinese(measure_id):
    for condition, negated in conditions(RULES[measure_id]):
        assert condition.get("ref"), f"{measure_id}: {condition['field']} has no ref"
        # Under a `not` the engine words the negation itself ("不位于山区海岛25县").
        assert negated or condition.get("explain"), f"{measure_id}: {condition['field']} has no explain"


def test_outline_only_measures_have_no_rule():
    assert [m for m, item in SEED.measures.items() if item["outline_only"] and item["rule"]] == []


def test_every_seed_rule_has_cases_on_both_sides():
    statuses: dict[str, set[str]] = {}
    for path in CASES_DIR.glob("*.yaml"):
        for case in yaml.safe_load(path.read_text(encoding="utf-8")):
            if "measure" in case:
                # A rule with official conditions it does not encode is at best "likely": that is its positive side.
                status = "eligible" if case["status"] == "likely" else case["status"]
                statuses.setdefault(case["measure"], set()).add(status)
    missing = {m: sorted({"eligible", "not_eligible"} - statuses.get(m, set())) for m in RULES}
    assert {m: sides for m, sides in missing.items() if sides} == {}


def test_a_case_naming_a_measure_that_does_not_exist_is_rejected(tmp_path: Path, case_reader):
    bad = tmp_path / "bad.yaml"
    bad.write_text("- {name: 例子, date: 2025-01-01, facts: {}, measure: pe32-99, status: eligible}\n", encoding="utf-8")
    with pytest.raises(Exception, match=r"bad.yaml → 例子.measure: 'pe32-99' is not a measure in kb/seed"):
        case_reader(bad)


def test_a_case_naming_a_measure_without_a_rule_is_rejected(tmp_path: Path, case_reader):
    bad = tmp_path / "bad.yaml"
    bad.write_text("- {name: 例子, date: 2025-01-01, facts: {}, measure: pe32-finance, status: eligible}\n",
                   encoding="utf-8")
    with pytest.raises(Exception, match=r"'pe32-finance' has no rule in kb/seed"):
        case_reader(bad)


def test_a_case_may_not_name_both_a_measure_and_a_rule(tmp_path: Path, case_reader):
    bad = tmp_path / "bad.yaml"
    bad.write_text("- {name: 例子, date: 2025-01-01, facts: {}, measure: pe32-01, category: 小型微利企业, "
                   "status: eligible}\n", encoding="utf-8")
    with pytest.raises(Exception, match=r"give exactly one of rule, category, measure"):
        case_reader(bad)
