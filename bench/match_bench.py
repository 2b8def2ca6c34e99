"""政策找企业 benchmark: a changed measure over 10,000 registered firms, and a whole re-match after a rollback.

A fresh SQLite knowledge base in a temporary directory: the seed, then `--firms` synthetic firms with facts
drawn over Zhejiang's counties, the industries, ownerships, head counts, revenues, R&D ratios, founding
years and titles (about a third of each firm's facts left out, as registry rows are), inserted directly.
Then, through the admin import path (kb.admin.importer / kb.admin.revisions, so the after-commit hook runs as in
production):

1. one import adding `--measures` synthetic measures, each a seed rule plus its own head-count ceiling
   (distinct rules, judged separately);
2. `--repeats` imports each changing one measure's rule (1 × firms);
3. an import changing every synthetic rule, then a rollback to step 1's revision (measures × firms).

For each, the matching itself (judging every firm and storing the results in one transaction, timed around
kb.eligibility.matches.match_registry) and the whole change (validate, write, revision, commit, matching).

    .venv/bin/python bench/match_bench.py                    # writes bench/results/match.json
    .venv/bin/python bench/match_bench.py --update-readme    # also the table in bench/README.md
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script from anywhere: import the project's kb package

from bench.readme import replace_block  # noqa: E402
from kb.admin.importer import apply_import, validate_import  # noqa: E402
from kb.admin.revisions import rollback  # noqa: E402
from kb.eligibility import matches  # noqa: E402
from kb.eligibility.firms import CREDIT_CODE_CHARS, check_digit  # noqa: E402
from kb.eligibility.profile import CERTIFICATIONS, INDUSTRIES, OWNERSHIPS  # noqa: E402
from kb.eligibility.regions import REGIONS  # noqa: E402
from kb.eligibility.service import measures_with_rules  # noqa: E402
from kb.store.db import close_all  # noqa: E402
from kb.store.loader import load_seed, read_seed, seed_files  # noqa: E402
from kb.store.models import Firm  # noqa: E402
from kb.store.schema import open_database  # noqa: E402

RESULTS = Path(__file__).with_name("results") / "match.json"
ONE_MEASURE_TARGET_S = 1.0
ALL_MEASURES_TARGET_S = 60.0


def synthetic_firms(count: int, rng: random.Random) -> list[dict[str, Any]]:
    regions = sorted(REGIONS)
    firms, codes = [], set()
    while len(firms) < count:
        first17 = "91330" + "".join(rng.choice(CREDIT_CODE_CHARS) for _ in range(12))
        code = first17 + check_digit(first17)
        if code in codes:
            continue
        codes.add(code)
        revenue = round(rng.lognormvariate(8, 1.5), 1)  # 万元: a few hundred to several 亿
        facts = {
            "region": rng.choice(regions), "industry": rng.choice(INDUSTRIES), "ownership": rng.choice(OWNERSHIPS),
            "employees": int(rng.lognormvariate(4, 1.2)) + 1, "revenue": revenue,
            "rd_ratio": round(rng.uniform(0, 0.12), 4), "founded_year": rng.randint(1990, 2025),
            "total_assets": round(revenue * rng.uniform(0.5, 2), 1), "taxable_income": round(revenue * 0.05, 1),
            "certifications": sorted(rng.sample(CERTIFICATIONS, rng.choice((0, 0, 1, 2)))),
        }
        for name in list(facts):  # registry rows are incomplete: leave about a third of the facts out
            if rng.random() < 0.33:
                del facts[name]
        firms.append({"credit_code": code, "name": f"基准测试企业{len(firms) + 1:05d}", "facts": facts, "origin": "admin"})
    return firms


def synthetic_measures(seed_rules: list, count: int, ceiling_offset: int) -> list[dict[str, Any]]:
    return [{
        "id": f"bench-match-{n:03d}", "document": "pe32-2023", "title": f"基准测试措施{n:03d}",
        "summary": "基准测试用措施。", "benefits": [{"what": "测试补助", "amount": 10 + n, "unit": "万元"}],
        "keywords": [], "sources": [f"https://example.org/bench-match-{n:03d}"],
        "rule": {"all": [seed_rules[n % len(seed_rules)],
                         {"field": "employees", "op": "le", "value": 100 + n + ceiling_offset}]},
    } for n in range(count)]


class Timer:
    """Wraps kb.eligibility.matches.match_registry to time each matching pass (judge + store)."""

    def __init__(self) -> None:
        self.seconds: list[float] = []
        self.original = matches.match_registry

    def __enter__(self) -> Timer:
        def timed(*args, **kwargs):
            started = time.perf_counter()
            try:
                return self.original(*args, **kwargs)
            finally:
                self.seconds.append(time.perf_counter() - started)

        matches.match_registry = timed
        return self

    def __exit__(self, *exc) -> None:
        matches.match_registry = self.original


def change(sessions, records: list[dict[str, Any]], name: str) -> tuple[float, Any]:
    plan = validate_import({"measures": records}, name)
    started = time.perf_counter()
    with sessions.begin() as session:
        result = apply_import(session, plan, author="bench")
    return time.perf_counter() - started, result


def run(firm_count: int, measure_count: int, repeats: int) -> dict[str, Any]:
    rng = random.Random(20)
    with tempfile.TemporaryDirectory() as scratch:
        sessions = open_database(f"sqlite:///{scratch}/kb.sqlite3")
        with sessions.begin() as session:
            load_seed(session, read_seed(seed_files()))
            session.execute(Firm.__table__.insert(), synthetic_firms(firm_count, rng))
        with sessions() as session:
            seed_rules = [m.rule for m in measures_with_rules(session=session)]

        with Timer() as timer:
            added_s, added = change(sessions, synthetic_measures(seed_rules, measure_count, 0), "bench-add")
        assert [s.status for s in added.matches] == ["done"] * measure_count, added.matches[:3]
        add_match_s = timer.seconds[0]

        one_total, one_match = [], []
        for repeat in range(1, repeats + 1):
            record = synthetic_measures(seed_rules, 1, repeat * 7)[0]
            with Timer() as timer:
                total, result = change(sessions, [record], f"bench-one-{repeat}")
            assert len(result.matches) == 1 and result.matches[0].firms == firm_count
            one_total.append(total)
            one_match.append(timer.seconds[0])
        counts = result.matches[0].counts

        change(sessions, synthetic_measures(seed_rules, measure_count, 1000), "bench-all")
        started = time.perf_counter()
        with Timer() as timer, sessions.begin() as session:
            back = rollback(session, added.revision_id, author="bench")
        rollback_s = time.perf_counter() - started
        assert len(back.matches) == measure_count
        with sessions() as session:
            rows = matches.count_rows(session=session)
        close_all()
    return {
        "when": dt.datetime.now().isoformat(timespec="seconds"), "machine": platform.machine(),
        "cpus": os.cpu_count(), "python": platform.python_version(), "firms": firm_count, "measures": measure_count,
        "one_measure": {"match_s_median": statistics.median(one_match), "match_s_max": max(one_match),
                        "change_s_median": statistics.median(one_total), "repeats": repeats, "counts": counts},
        "import_measures": {"match_s": add_match_s, "change_s": added_s},
        "rollback_measures": {"match_s": timer.seconds[0], "change_s": rollback_s},
        "rows_stored": rows,
    }


def table(result: dict[str, Any]) -> str:
    one, imported, back = result["one_measure"], result["import_measures"], result["rollback_measures"]
    firms, measures = f"{result['firms']:,}", result["measures"]
    ok = {True: "yes", False: "**no**"}
    counts = "，".join(f"{k} {v:,}" for k, v in one["counts"].items())
    return "\n".join([
        f"Run {result['when']} on {result['machine']}, {result['cpus']} CPUs, Python {result['python']}; "
        f"SQLite in a temporary directory.",
        "",
        "| change | firms × measures | matching: judge + store (s) | whole change incl. matching (s) | target | met |",
        "| --- | --- | --- | --- | --- | --- |",
        f"| one rule changed (median of {one['repeats']}; max {one['match_s_max']:.2f} s) | {firms} × 1 | "
        f"{one['match_s_median']:.2f} | {one['change_s_median']:.2f} | ≤ {ONE_MEASURE_TARGET_S:g} s matching | "
        f"{ok[one['match_s_median'] <= ONE_MEASURE_TARGET_S]} |",
        f"| import of {measures} measures with rules | {firms} × {measures} | {imported['match_s']:.1f} | "
        f"{imported['change_s']:.1f} | — | — |",
        f"| rollback restoring {measures} rules (whole re-match) | {firms} × {measures} | {back['match_s']:.1f} | "
        f"{back['change_s']:.1f} | ≤ {ALL_MEASURES_TARGET_S:g} s | {ok[back['change_s'] <= ALL_MEASURES_TARGET_S]} |",
        "",
        f"One measure's verdicts over the synthetic registry: {counts}. "
        f"Rows kept in `firm_matches` at the end: {result['rows_stored']:,} (each measure's latest results only).",
    ])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--firms", type=int, default=10_000)
    parser.add_argument("--measures", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--update-readme", action="store_true")
    args = parser.parse_args(argv)
    result = run(args.firms, args.measures, args.repeats)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    text = table(result)
    print(text)
    if args.update_readme:
        replace_block("match-results", text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
