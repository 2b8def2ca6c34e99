"""Eligibility cases written as YAML (tests/kb/eligibility_cases/*.yaml), collected as pytest items.

Each file is a list of cases, in the manner of OpenFisca's YAML tests:

    - name: 应纳税所得额正好300万元的企业仍是小型微利企业     # a sentence
      date: 2025-01-01                                      # evaluation date (picks group versions)
      facts: {taxable_income: 300, employees: 120, total_assets: 4000}   # engine units: 万元, fractions
      category: 小型微利企业            # or  rule: {all: [...]}  or  measure: pe32-01 (a seed measure's rule)
      status: eligible                  # eligible | likely | not_eligible | unknown
      met: [taxable_income, employees, total_assets]      # optional: fields of the conditions met
      failed: []                                          # optional
      unknown: []                                         # optional: fields still undecided
      explanations: [员工人数不超过300人]                  # optional: sentences that must appear
      note: 说明（可选）

A case with an unknown key, or without a required one, fails collection naming the file and case;
a case that fails says file → case → what differed.
"""

from __future__ import annotations

import datetime as dt
import functools
from pathlib import Path
from typing import Any

import pytest
import yaml

CASES_DIR = Path(__file__).parent / "eligibility_cases"
CASE_KEYS = {"name", "date", "facts", "rule", "category", "measure", "status", "met", "failed", "unknown",
             "explanations", "note"}
SUBJECTS = ("rule", "category", "measure")  # what a case judges: exactly one of these
REQUIRED = {"name", "date", "facts", "status"}
STATUSES = ("eligible", "likely", "not_eligible", "unknown")


class CaseFileError(Exception):
    """A malformed case file, located by file and case."""


def read_cases(path: Path) -> list[dict[str, Any]]:
    """Read and check the cases of one file; raise CaseFileError naming the file, case and key."""
    where = path.name
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        raise CaseFileError(f"{where}: not valid YAML: {error}") from error
    if not isinstance(data, list):
        raise CaseFileError(f"{where}: should be a list of cases")
    names: set[str] = set()
    for index, case in enumerate(data):
        label = f"{where} → case {index + 1}"
        if not isinstance(case, dict):
            raise CaseFileError(f"{label}: should be a mapping")
        label = f"{where} → {case.get('name', f'case {index + 1}')}"
        unknown = sorted(set(case) - CASE_KEYS)
        if unknown:
            raise CaseFileError(f"{label}: unknown key(s) {unknown}; allowed: {sorted(CASE_KEYS)}")
        missing = sorted(REQUIRED - set(case))
        if missing:
            raise CaseFileError(f"{label}: missing key(s) {missing}")
        if sum(key in case for key in SUBJECTS) != 1:
            raise CaseFileError(f"{label}: give exactly one of {', '.join(SUBJECTS)}")
        if "measure" in case and not seed_rules().get(case["measure"]):
            problem = "has no rule" if case["measure"] in seed_rules() else "is not a measure"
            raise CaseFileError(f"{label}.measure: {case['measure']!r} {problem} in kb/seed")
        if case["status"] not in STATUSES:
            raise CaseFileError(f"{label}.status: {case['status']!r} is not one of {STATUSES}")
        if not isinstance(case["date"], dt.date):
            raise CaseFileError(f"{label}.date: {case['date']!r} is not a date (YYYY-MM-DD)")
        if not isinstance(case["facts"], dict):
            raise CaseFileError(f"{label}.facts: should be a mapping of field → value")
        if case["name"] in names:
            raise CaseFileError(f"{label}: the name is used twice in this file")
        names.add(case["name"])
    return data


@functools.lru_cache(maxsize=1)
def seed_rules() -> dict[str, Any]:
    """Return the rule of every measure in the shipped seed (kb/seed/*.yaml) by id; None where it has none."""
    from kb.paths import SEED_DIR
    from kb.store.loader import read_seed, seed_files

    return {measure_id: item["rule"] for measure_id, item in read_seed(seed_files(SEED_DIR)).measures.items()}


@pytest.fixture
def case_reader():
    return read_cases


def pytest_collect_file(parent: pytest.Collector, file_path: Path):
    if file_path.suffix == ".yaml" and file_path.parent == CASES_DIR:
        return CaseFile.from_parent(parent, path=file_path)
    return None


class CaseFile(pytest.File):
    def collect(self):
        try:
            cases = read_cases(self.path)
        except CaseFileError as error:
            raise self.CollectError(str(error)) from error
        for case in cases:
            yield CaseItem.from_parent(self, name=case["name"], case=case)


class CaseMismatch(Exception):
    pass


class CaseItem(pytest.Item):
    def __init__(self, *, case: dict[str, Any], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.case = case

    def runtest(self) -> None:
        from kb.eligibility import evaluate

        case = self.case
        if "measure" in case:
            rule = seed_rules()[case["measure"]]
        else:
            rule = case["rule"] if "rule" in case else {"category": case["category"]}
        facts = {name: set(value) if name == "certifications" else value for name, value in case["facts"].items()}
        verdict = evaluate(rule, facts, on=case["date"], measure_id=case.get("measure"))
        differences = []
        if verdict.status.value != case["status"]:
            differences.append(f"status: expected {case['status']}, got {verdict.status.value}")
        for key, findings in (("met", verdict.met), ("failed", verdict.failed), ("unknown", verdict.undecided)):
            if key in case:
                got = sorted({f.field for f in findings if not f.unencoded})  # to_confirm is checked apart
                if got != sorted(set(case[key] or [])):
                    differences.append(f"{key} fields: expected {sorted(set(case[key] or []))}, got {got}")
        sentences = [f.explanation for f in (*verdict.met, *verdict.failed, *verdict.undecided)]
        for sentence in case.get("explanations") or []:
            if sentence not in sentences:
                differences.append(f"explanation “{sentence}” missing; got {sentences}")
        if differences:
            raise CaseMismatch("\n".join(differences))

    def repr_failure(self, excinfo, style=None):
        if isinstance(excinfo.value, CaseMismatch):
            return f"{self.path.name} → {self.name}\n  " + str(excinfo.value).replace("\n", "\n  ")
        return super().repr_failure(excinfo, style)

    def reportinfo(self):
        return self.path, None, f"{self.path.name} → {self.name}"
