"""Eligibility benchmark: questions the dialogue asks against a fixed form, and the engine's speed.

For every profile in bench/eligibility_profiles.yaml the dialogue starts from the facts the firm puts in its
first message, then asks `kb.eligibility.next_question` until it returns None. An oracle answers from the
profile; a fact the profile lacks is answered “不知道” and excluded from further questions. The fixed form
it is compared with asks every field any rule refers to (through categories too).

Timing (time.perf_counter, median of many runs): one firm against every seed rule (evaluate_all), choosing
the next question, and the whole dialogue; then the same against 100 / 1,000 / 10,000 synthetic measures
made by copying the real rules under new ids.

    .venv/bin/python bench/eligibility_bench.py                    # writes bench/results/eligibility.json
    .venv/bin/python bench/eligibility_bench.py --quick            # fewer timing runs
    .venv/bin/python bench/eligibility_bench.py --update-readme    # also refresh the table in bench/README.md
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script from anywhere: import the project's kb package

from bench.readme import replace_block  # noqa: E402
from kb.eligibility import Status, evaluate_all, next_question  # noqa: E402
from kb.eligibility.profile import FIELDS  # noqa: E402
from kb.eligibility.rulebook import Rulebook, default_rulebook  # noqa: E402
from kb.paths import SEED_DIR  # noqa: E402
from kb.store.loader import read_seed, seed_files  # noqa: E402

PROFILES = Path(__file__).with_name("eligibility_profiles.yaml")
RESULTS = Path(__file__).with_name("results") / "eligibility.json"
ON = dt.date(2025, 6, 1)  # the day the dialogue runs: measures whose valid_to has passed are left out
DERIVED = {"rd_ratio"}  # follows from rd_expense and revenue (kb.eligibility.profile.derive); a careful form would not ask it
SCALES = (100, 1_000, 10_000)
PROFILE_KEYS = {"id", "note", "first", "facts"}

Rules = list[tuple[str, Mapping[str, Any]]]


class ProfileError(Exception):
    """A malformed profile, named by file, profile and key."""


# --- inputs ----------------------------------------------------------------------------------------


def load_profiles(path: Path = PROFILES) -> list[dict[str, Any]]:
    """Read the profiles; raise ProfileError naming the profile and key of the first problem."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(data, list):
        raise ProfileError(f"{path.name}: should be a list of profiles")
    seen: set[str] = set()
    for index, profile in enumerate(data):
        where = f"{path.name} → {profile.get('id', f'profile {index + 1}') if isinstance(profile, dict) else index + 1}"
        if not isinstance(profile, dict):
            raise ProfileError(f"{where}: should be a mapping")
        extra = sorted(set(profile) - PROFILE_KEYS)
        if extra or not {"id", "first", "facts"} <= set(profile):
            raise ProfileError(f"{where}: keys should be {sorted(PROFILE_KEYS)} (id, first, facts required)")
        if profile["id"] in seen:
            raise ProfileError(f"{where}.id: used twice")
        seen.add(profile["id"])
        for name in profile["facts"]:
            if name not in FIELDS:
                raise ProfileError(f"{where}.facts.{name}: not a field of kb.eligibility.profile.FIELDS")
        for name in profile["first"]:
            if name not in profile["facts"]:
                raise ProfileError(f"{where}.first: {name} is not among the profile's facts")
        if "certifications" in profile["facts"]:
            profile["facts"]["certifications"] = frozenset(profile["facts"]["certifications"])
    return data


def seed_rules(on: dt.date | None = None) -> Rules:
    """(measure id, rule) for every seed measure with a rule; with `on`, only those still in force that day.

    "In force" follows kb.eligibility.service.rules_in_force: valid_to not yet passed.
    """
    measures = read_seed(seed_files(SEED_DIR)).measures
    return [(measure_id, item["rule"]) for measure_id, item in sorted(measures.items())
            if item["rule"] and (on is None or item["valid_to"] is None or item["valid_to"] >= on)]



def rule_fields(rule: Mapping[str, Any], book: Rulebook) -> Iterator[str]:
    """Every field a rule can ask about, following categories into their own rules."""
    if "field" in rule:
        yield rule["field"]
    for key in ("all", "any"):
        for child in rule.get(key, ()):
            yield from rule_fields(child, book)
    if "not" in rule:
        yield from rule_fields(rule["not"], book)
    if "category" in rule:
        yield from rule_fields(book.categories[rule["category"]].rule, book)


def form_fields(rules: Rules, book: Rulebook) -> list[str]:
    """Return the fields a fixed form would ask: all fields any rule refers to, in registry order."""
    used = {name for _, rule in rules for name in rule_fields(rule, book)}
    return [name for name in FIELDS if name in used]


# --- the dialogue ----------------------------------------------------------------------------------


def oracle(profile: Mapping[str, Any], field_name: str) -> Any:
    """Answer one question as the firm would, from its profile; None means “不知道”."""
    facts = profile["facts"]
    if field_name == "rd_ratio" and "rd_ratio" not in facts:
        # A firm that knows its R&D spend and revenue can say the ratio.
        if facts.get("rd_expense") is not None and facts.get("revenue"):
            return round(facts["rd_expense"] / facts["revenue"], 6)
        return None
    return facts.get(field_name)


def simulate(profile: Mapping[str, Any], rules: Rules, on: dt.date) -> dict[str, Any]:
    """Run the dialogue for one firm; return what was asked and whether the answer matches the full profile."""
    facts = {name: profile["facts"][name] for name in profile["first"]}
    excluded: set[str] = set()
    asked: list[str] = []
    while (field := next_question(rules, facts, on=on, exclude=excluded)) is not None:
        asked.append(field.name)
        if len(asked) > len(FIELDS):
            raise RuntimeError(f"{profile['id']}: asked more questions than there are fields: {asked}")
        answer = oracle(profile, field.name)
        if answer is None:
            excluded.add(field.name)
        else:
            facts[field.name] = answer
    final = [v.status for v in evaluate_all(rules, facts, on=on)]
    everything = dict(profile["facts"])
    if "rd_ratio" not in everything and oracle(profile, "rd_ratio") is not None:
        everything["rd_ratio"] = oracle(profile, "rd_ratio")
    full = [v.status for v in evaluate_all(rules, everything, on=on)]
    return {
        "id": profile["id"], "note": profile.get("note", ""), "volunteered": list(profile["first"]),
        "asked": asked, "questions": len(asked), "answered_unknown": sorted(excluded),
        "eligible": final.count(Status.ELIGIBLE), "not_eligible": final.count(Status.NOT_ELIGIBLE),
        "unknown": final.count(Status.UNKNOWN),
        "same_as_full_profile": final == full,  # stopping early never changed a verdict
    }


# --- timing ----------------------------------------------------------------------------------------


def median_seconds(action: Callable[[], Any], runs: int) -> float:
    """Median wall time of `runs` calls (after one warm-up call)."""
    action()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def synthetic(rules: Rules, count: int) -> Rules:
    """`count` measures made by copying the real rules under new ids."""
    return [(f"{rules[i % len(rules)][0]}#{i}", rules[i % len(rules)][1]) for i in range(count)]


def timings(rules: Rules, profiles: list[dict[str, Any]], on: dt.date, quick: bool) -> dict[str, Any]:
    firm = next(p for p in profiles if p["id"] == "p01")  # the example firm
    full = dict(firm["facts"])
    first = {name: firm["facts"][name] for name in firm["first"]}
    runs = 20 if quick else 200
    result: dict[str, Any] = {
        "firm": firm["id"],
        "real": {
            "measures": len(rules), "runs": runs,
            "evaluate_all_ms": median_seconds(lambda: evaluate_all(rules, full, on=on), runs) * 1000,
            "next_question_ms": median_seconds(lambda: next_question(rules, first, on=on), runs) * 1000,
            "dialogue_ms": median_seconds(lambda: simulate(firm, rules, on), max(5, runs // 10)) * 1000,
        },
        "synthetic": [],
    }
    for count in SCALES:
        copies = synthetic(rules, count)
        scale_runs = max(3, (5 if quick else 50) * 100 // count)
        result["synthetic"].append({
            "measures": count, "runs": scale_runs,
            "evaluate_all_ms": median_seconds(lambda copies=copies: evaluate_all(copies, full, on=on), scale_runs) * 1000,
            "next_question_ms": median_seconds(lambda copies=copies: next_question(copies, first, on=on), scale_runs) * 1000,
        })
    return result


# --- report ----------------------------------------------------------------------------------------


def summary(runs: list[dict[str, Any]], form: list[str]) -> dict[str, Any]:
    counts = [r["questions"] for r in runs]
    direct = [name for name in form if name not in DERIVED]
    return {
        "profiles": len(runs),
        "form_fields": len(form),
        "form": form,
        "form_fields_without_derived": len(direct),
        "questions_mean": round(statistics.mean(counts), 2),
        "questions_median": statistics.median(counts),
        "questions_max": max(counts),
        "questions_min": min(counts),
        "facts_used_mean": round(statistics.mean(len(r["volunteered"]) + r["questions"] for r in runs), 2),
        "mean_over_form": round(statistics.mean(counts) / len(form), 3),
        "mean_over_form_without_derived": round(statistics.mean(counts) / len(direct), 3),
        "facts_used_mean_over_form": round(statistics.mean(len(r["volunteered"]) + r["questions"] for r in runs)
                                           / len(form), 3),
        "all_match_full_profile": all(r["same_as_full_profile"] for r in runs),
    }


def markdown(results: dict[str, Any]) -> str:
    """Render this benchmark's README tables."""
    lines = [
        f"Run {results['run_at']} on {results['machine']}; evaluation date {results['date']}.",
        "",
        "| measures | profiles | fixed form (fields) | questions: mean | median | max | mean ÷ form "
        "| facts used (given + asked): mean | verdicts same as with the full profile |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for label, key in (("in force", "in_force"), ("all with a rule", "all")):
        s = results[key]["summary"]
        lines.append(
            f"| {label} ({results[key]['measures']}) | {s['profiles']} | {s['form_fields']} | {s['questions_mean']} | "
            f"{s['questions_median']} | {s['questions_max']} | {s['mean_over_form']:.0%} | "
            f"{s['facts_used_mean']} | {'yes' if s['all_match_full_profile'] else 'NO'} |")
    s = results["in_force"]["summary"]
    lines += [
        "",
        f"The form's {s['form_fields']} fields include the R&D ratio, which follows from R&D spend and revenue; "
        f"against the {s['form_fields_without_derived']} fields a careful form would ask, the dialogue's mean is "
        f"{s['mean_over_form_without_derived']:.0%}. Counting what the firm said in its first message too, it uses "
        f"{s['facts_used_mean_over_form']:.0%} of the form's fields on average.",
    ]
    t = results["timing"]
    lines += [
        "",
        f"Engine time for one firm ({t['firm']}), median of many runs:",
        "",
        "| measures | evaluate all (ms) | choose next question (ms) |",
        "| --- | --- | --- |",
        f"| {t['real']['measures']} (the seed) | {t['real']['evaluate_all_ms']:.2f} | {t['real']['next_question_ms']:.2f} |",
    ]
    for row in t["synthetic"]:
        lines.append(f"| {row['measures']:,} (copies) | {row['evaluate_all_ms']:.1f} | {row['next_question_ms']:.1f} |")
    lines.append(f"\nA whole dialogue for {t['firm']} at the seed's size: {t['real']['dialogue_ms']:.1f} ms.")
    return "\n".join(lines)


def update_readme(table: str) -> None:
    replace_block("eligibility-results", table)


def run(quick: bool = False) -> dict[str, Any]:
    book = default_rulebook()
    profiles = load_profiles()
    results: dict[str, Any] = {
        "benchmark": "eligibility",
        "run_at": dt.datetime.now().isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}",
        "date": ON.isoformat(),
    }
    for key, rules in (("in_force", seed_rules(ON)), ("all", seed_rules())):
        runs = [simulate(profile, rules, ON) for profile in profiles]
        form = form_fields(rules, book)
        results[key] = {"measures": len(rules), "measure_ids": [m for m, _ in rules],
                        "summary": summary(runs, form), "profiles": runs}
    results["timing"] = timings(seed_rules(), profiles, ON, quick)
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer timing runs")
    parser.add_argument("--out", type=Path, default=RESULTS, help=f"results file (default {RESULTS.relative_to(ROOT)})")
    parser.add_argument("--update-readme", action="store_true", help="refresh the results table in bench/README.md")
    args = parser.parse_args(argv)
    results = run(quick=args.quick)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    table = markdown(results)
    if args.update_readme:
        update_readme(table)
    print(table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
