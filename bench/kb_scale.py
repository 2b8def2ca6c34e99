"""Knowledge-base hot paths at 100, 1,000 and 10,000 measures: eligibility, retrieval and index build.

Synthetic catalogues are made from the real seed: each synthetic measure copies a seed measure under a
new id, with its title and keywords lightly varied (so retrieval sees distinct texts) and its own copy
of the rule (a catalogue read from the database holds one rule object per measure).

- **Eligibility.** One firm (p01 of bench/eligibility_profiles.yaml) against every measure with a rule:
  `kb.eligibility.evaluate_all` with the whole profile and `next_question` with what the firm says first,
  median of N calls on a catalogue held between calls (as a service holding the current revision does);
  plus the first call on a catalogue never seen before ("cold"), and a catalogue whose thresholds are
  nudged per copy so that no two rules are the same ("varied", the worst case for any caching).
- **Retrieval.** The answer path's parse and rank (`kb.answering`: `parse_question`, then `rank(…, limit=5)`)
  over the fact, definition, contact and how-to questions of bench/questions.yaml, on a snapshot of the
  synthetic catalogue; each question's median over a few calls, then the median and p95 over the questions.
  Also the snapshot build time (units and index), which each new knowledge-base revision costs.

Targets (issue 10, reported, not asserted): eligibility ≤ 20 ms and retrieval ≤ 10 ms at 10,000 measures.

    .venv/bin/python bench/kb_scale.py --save-as after --update-readme
    .venv/bin/python bench/kb_scale.py --quick          # fewer runs, prints the table only
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import datetime as dt
import gc
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))  # run as a script from anywhere: import the project's kb package
sys.path.insert(0, str(HERE))

from eligibility_bench import load_profiles  # noqa: E402

from bench.readme import replace_block  # noqa: E402
from kb.answering.question import parse_question  # noqa: E402
from kb.answering.retrieval import rank  # noqa: E402
from kb.answering.snapshot import Snapshot  # noqa: E402
from kb.answering.vocabulary import vocabulary  # noqa: E402
from kb.eligibility import evaluate_all, next_question  # noqa: E402
from kb.paths import SEED_DIR  # noqa: E402
from kb.store.loader import read_seed, seed_files  # noqa: E402
from kb.text import question_in  # noqa: E402

RESULTS = HERE / "results" / "kb_scale.json"
QUESTIONS = HERE / "questions.yaml"
ON = dt.date(2025, 6, 1)
SCALES = (100, 1_000, 10_000)
TARGET_ELIGIBILITY_MS = 20.0
TARGET_RETRIEVAL_MS = 10.0
RETRIEVAL_KINDS = {"fact", "definition", "contact", "apply", "list"}
# Words that vary a copy's title and keywords, so that copies are not one text repeated.
VARIANTS = ("试点", "专项", "延续", "实施细则", "补充", "升级版", "第二批", "县级配套", "市级", "区级", "示范", "加力")


# --- synthetic catalogues --------------------------------------------------------------------------


def seed() -> tuple[dict[str, dict], dict[str, dict]]:
    data = read_seed(seed_files(SEED_DIR))
    return data.documents, data.measures


def _nudge(rule: Any, step: int) -> Any:
    """Copy a rule with every numeric threshold moved a little, so that copies differ."""
    if isinstance(rule, list):
        return [_nudge(item, step) for item in rule]
    if not isinstance(rule, Mapping):
        return rule
    nudged = {key: _nudge(value, step) for key, value in rule.items()}
    if "field" in rule:
        value = rule.get("value")

        def move(number: Any) -> Any:
            if isinstance(number, bool) or not isinstance(number, (int, float)):
                return number
            if isinstance(number, int):
                return number + step % 3 if rule["field"] != "founded_year" else number
            return min(1.0, number * (1 + step / 100_000)) if number <= 1 else number * (1 + step / 100_000)

        if isinstance(value, list):
            nudged["value"] = [move(v) for v in value]
        else:
            nudged["value"] = move(value)
    return nudged


def rule_catalogue(rules: list[tuple[str, Mapping]], count: int, *, varied: bool = False) -> list[tuple[str, Any]]:
    """`count` (id, rule) pairs copied from the seed's rules, each with its own rule object."""
    return [(f"{rules[i % len(rules)][0]}~{i}",
             _nudge(rules[i % len(rules)][1], i) if varied else copy.deepcopy(rules[i % len(rules)][1]))
            for i in range(count)]


def seed_records() -> tuple[list[Any], list[Any]]:
    """The seed's documents and measures as the answer path reads them (kb.answering.snapshot records)."""
    import tempfile

    from kb.answering.snapshot import document_record, measure_record
    from kb.store import queries
    from kb.store.db import close_all, sessions
    from kb.store.loader import seed_database

    with tempfile.TemporaryDirectory(prefix="huiqi-scale-") as tmp:
        url = f"sqlite:///{tmp}/kb.sqlite3"
        seed_database(url)
        with sessions(url)() as session:
            documents = [document_record(d) for d in queries.all_documents(session=session)]
            measures = [measure_record(m) for m in queries.all_measures(session=session)]
        close_all()
    return documents, measures


def measure_catalogue(measures: list[Any], count: int) -> list[Any]:
    """`count` measure records: the seed's copied with varied titles and keywords."""
    items = sorted(measures, key=lambda m: m.id)
    catalogue = []
    for i in range(count):
        base = items[i % len(items)]
        round_ = i // len(items)
        if not round_:
            catalogue.append(base)
            continue
        variant = VARIANTS[(i + round_) % len(VARIANTS)]
        extra = f"{VARIANTS[(i * 7 + round_) % len(VARIANTS)]}{base.keywords[0] if base.keywords else ''}"
        catalogue.append(dataclasses.replace(base, id=f"{base.id}~{round_}", title=f"{base.title}{variant}",
                                             keywords=(*base.keywords, extra)))
    return catalogue


def retrieval_questions() -> list[str]:
    data = yaml.safe_load(QUESTIONS.read_text(encoding="utf-8"))
    return [question_in(q["text"]) for q in data["questions"] if q.get("kind") in RETRIEVAL_KINDS]


# --- timing ----------------------------------------------------------------------------------------


def median_ms(action: Callable[[], Any], runs: int) -> float:
    """Median wall time of `runs` calls after one warm-up, in ms; the collector paused while timing."""
    action()
    times = []
    gc.disable()
    try:
        for _ in range(runs):
            start = time.perf_counter()
            action()
            times.append(time.perf_counter() - start)
    finally:
        gc.enable()
    return statistics.median(times) * 1000


def once_ms(action: Callable[[], Any]) -> float:
    start = time.perf_counter()
    action()
    return (time.perf_counter() - start) * 1000


def calibration_ms() -> float:
    """Time a fixed pure-Python loop like the rest, to show how loaded the shared machine was; compare it between runs."""
    return median_ms(lambda: sum(i * i for i in range(100_000)), 20)


def eligibility_row(rules: list[tuple[str, Mapping]], firm: dict, count: int, quick: bool) -> dict[str, Any]:
    full = dict(firm["facts"])
    first = {name: firm["facts"][name] for name in firm["first"]}
    runs = max(3, (10 if quick else 60) * 1000 // count)
    held = rule_catalogue(rules, count)
    varied = rule_catalogue(rules, count, varied=True)
    fresh = [rule_catalogue(rules, count) for _ in range(3)]
    return {
        "measures": count, "runs": runs,
        "evaluate_all_ms": median_ms(lambda: evaluate_all(held, full, on=ON), runs),
        "next_question_ms": median_ms(lambda: next_question(held, first, on=ON), runs),
        "evaluate_all_cold_ms": statistics.median(once_ms(lambda c=c: evaluate_all(c, full, on=ON)) for c in fresh),
        "evaluate_all_varied_ms": median_ms(lambda: evaluate_all(varied, full, on=ON), max(3, runs // 3)),
        "next_question_varied_ms": median_ms(lambda: next_question(varied, first, on=ON), max(3, runs // 3)),
    }


def retrieval_row(records: tuple[list[Any], list[Any]], questions: list[str], count: int, quick: bool) -> dict[str, Any]:
    documents, measures = records
    catalogue = measure_catalogue(measures, count)
    words = vocabulary()
    # The first build in this process teaches jieba the terms; a rebuild is what a new revision costs.
    build_ms = once_ms(lambda: Snapshot(0, documents, catalogue, words))
    rebuild_ms = median_ms(lambda: Snapshot(0, documents, catalogue, words), 1 if count >= 10_000 or quick else 3)
    snap = Snapshot(0, documents, catalogue, words)

    def search(text: str) -> list:
        return rank(parse_question(text, snapshot=snap, today=ON), snap, today=ON, limit=5)

    per_question = [median_ms(lambda q=q: search(q), 3 if quick else 7) for q in questions]
    per_question.sort()
    return {
        "measures": count, "questions": len(questions),
        "build_ms": build_ms, "rebuild_ms": rebuild_ms,
        "search_median_ms": statistics.median(per_question),
        "search_p95_ms": per_question[min(len(per_question) - 1, int(0.95 * len(per_question)))],
        "search_max_ms": per_question[-1],
    }


def run(quick: bool = False) -> dict[str, Any]:
    documents, measures = seed()
    records = seed_records()
    rules = [(mid, item["rule"]) for mid, item in sorted(measures.items()) if item["rule"]]
    firm = next(p for p in load_profiles() if p["id"] == "p01")
    questions = retrieval_questions()
    before = calibration_ms()
    result = {
        "run_at": dt.datetime.now().isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}",
        "load_average": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
        "date": ON.isoformat(), "firm": firm["id"], "seed_rules": len(rules), "seed_measures": len(measures),
        "eligibility": [eligibility_row(rules, firm, count, quick) for count in SCALES],
        "retrieval": [retrieval_row(records, questions, count, quick) for count in SCALES],
    }
    result["calibration_ms"] = [before, calibration_ms()]
    return result


# --- report ----------------------------------------------------------------------------------------


def _ms(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{value:.2f}" if value < 10 else f"{value:,.0f}" if value >= 100 else f"{value:.1f}"


def markdown(saved: dict[str, Any]) -> str:
    runs = saved["runs"]
    labels = [label for label in ("before", "after") if label in runs] + [
        label for label in runs if label not in ("before", "after")]
    lines = []
    for label in labels:
        r = runs[label]
        lines.append(f"- **{label}**: run {r['run_at']} on {r['machine']}, load average {r['load_average']:.1f}; "
                     f"firm {r['firm']}, {r['seed_rules']} seed rules / {r['seed_measures']} seed measures copied"
                     + (f"; calibration loop {' → '.join(_ms(c) for c in r['calibration_ms'])} ms"
                        if "calibration_ms" in r else "") + ".")
    lines += ["", "Eligibility for one firm (ms, median; target ≤ 20 ms at 10,000):", "",
              "| measures | " + " | ".join(
                  f"{label}: evaluate all | {label}: next question" for label in labels) + f" | {labels[-1]}: cold / varied rules |",
              "| --- |" + " --- | --- |" * len(labels) + " --- |"]
    for i, count in enumerate(SCALES):
        cells = []
        for label in labels:
            row = runs[label]["eligibility"][i]
            cells += [_ms(row["evaluate_all_ms"]), _ms(row["next_question_ms"])]
        last = runs[labels[-1]]["eligibility"][i]
        extra = (f"{_ms(last['evaluate_all_cold_ms'])} / {_ms(last['evaluate_all_varied_ms'])} "
                 f"(next question {_ms(last['next_question_varied_ms'])})")
        lines.append(f"| {count:,} | " + " | ".join(cells) + f" | {extra} |")
    lines += ["", "Retrieval top-5 (ms; median and p95 over the questions; target ≤ 10 ms at 10,000) and index build:", "",
              "| measures | " + " | ".join(
                  f"{label}: search median | {label}: p95 | {label}: build" for label in labels) + " |",
              "| --- |" + " --- | --- | --- |" * len(labels)]
    for i, count in enumerate(SCALES):
        cells = []
        for label in labels:
            row = runs[label]["retrieval"][i]
            cells += [_ms(row["search_median_ms"]), _ms(row["search_p95_ms"]), _ms(row["rebuild_ms"])]
        lines.append(f"| {count:,} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def update_readme(table: str) -> None:
    replace_block("kb-scale-results", table)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer timing runs")
    parser.add_argument("--save-as", metavar="LABEL", help="keep this run in the results file under LABEL (before, after)")
    parser.add_argument("--out", type=Path, default=RESULTS, help="results file")
    parser.add_argument("--update-readme", action="store_true", help="refresh the table in bench/README.md")
    args = parser.parse_args(argv)
    result = run(quick=args.quick)
    saved = json.loads(args.out.read_text(encoding="utf-8")) if args.out.exists() else {"benchmark": "kb_scale", "runs": {}}
    if args.save_as:
        saved["runs"][args.save_as] = result
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(saved, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    table = markdown(saved if args.save_as else {"runs": {**saved["runs"], "this run": result}})
    if args.update_readme:
        update_readme(table)
    print(table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
