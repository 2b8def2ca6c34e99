"""The answer path's weights and thresholds, chosen by k-fold cross-validation over the development set.

Each fold's weights are fitted on the other folds by coordinate descent over the grid below (one value
at a time, the others held, keeping a change only when it passes more questions), then scored on the
held-out fold; conversations stay in one fold. The cross-validated score is the share of held-out
questions passed; the weights in use (kb.answering.retrieval.PARAMETERS) are the fit on all folds.
Scoring is offline (bench/answer_eval.py); each setting is evaluated once and shared by every fold.

    .venv/bin/python bench/answer_cv.py                  # 5 folds; prints the fit and the CV score
    .venv/bin/python bench/answer_cv.py --update-readme  # and writes the table in bench/README.md
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import hashlib
import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import answer_eval as ae  # noqa: E402
from kb.answering.retrieval import PARAMETERS, Parameters  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "answer_cv.json"
GRID: dict[str, tuple[float, ...]] = {
    "label_weight": (0.5, 1.0, 2.0),
    "cue_label_weight": (2.0, 4.0, 8.0),
    "coverage_power": (0.5, 1.0, 2.0),
    "preferred": (1.2, 1.6, 2.5),
    "named": (1.0, 1.3, 1.6, 2.5),
    "dated": (1.0, 1.3, 1.6),
    "superseded": (0.7, 0.85, 1.0),
    "outline": (0.4, 0.6, 0.8),
    "note": (0.5, 0.7, 1.0),
    "unknown_weight": (0.25, 0.5, 1.0, 1.5),
    "min_coverage": (0.0, 0.05, 0.1, 0.2, 0.25, 0.3),
    "min_coverage_out_of_scope": (0.2, 0.3, 0.4, 0.5),
    "off_topic_word": (6.0, 6.5, 7.0, 8.0, 99.0),
    "unknown_words_per_known": (0.5, 1.0, 1.5, 2.0, 99.0),  # 99: only a question whose words are all unknown
}


def fold_of(group: str, folds: int) -> int:
    """A conversation's fold, the same on every run (a hash of its id, not Python's salted one)."""
    return int(hashlib.sha256(group.encode()).hexdigest(), 16) % folds


class Evaluations:
    """Which items each setting passes, evaluated once per setting."""

    def __init__(self, items: list[ae.Item], replayer: ae.Replayer) -> None:
        self.items = items
        self.replayer = replayer
        self.cache: dict[Parameters, list[bool | None]] = {}

    def passes(self, params: Parameters) -> list[bool | None]:
        """Per item: passed, failed, or None when the eligibility dialogue answers it (not simulated)."""
        if params not in self.cache:
            results = ae.evaluate(self.items, self.replayer, params)
            self.cache[params] = [r["passed"] if r["simulated"] else None for r in results]
        return self.cache[params]

    def score(self, params: Parameters, chosen: set[int]) -> tuple[int, int]:
        outcome = [p for i, p in enumerate(self.passes(params)) if i in chosen and p is not None]
        return sum(outcome), len(outcome)


def fit(evaluations: Evaluations, chosen: set[int], start: Parameters = PARAMETERS, passes: int = 1) -> Parameters:
    """Coordinate descent over GRID on the chosen items, from `start`."""
    best = start
    best_score = evaluations.score(best, chosen)[0]
    for _ in range(passes):
        for name, values in GRID.items():
            for value in values:
                trial = dataclasses.replace(best, **{name: value})
                score = evaluations.score(trial, chosen)[0]
                if score > best_score:
                    best, best_score = trial, score
    return best


def cross_validate(evaluations: Evaluations, folds: int, passes: int) -> dict:
    groups = [fold_of(item.group, folds) for item in evaluations.items]
    held_out_passed = held_out_total = 0
    per_fold = []
    for k in range(folds):
        train = {i for i, g in enumerate(groups) if g != k}
        test = {i for i, g in enumerate(groups) if g == k}
        params = fit(evaluations, train, passes=passes)
        passed, total = evaluations.score(params, test)
        held_out_passed += passed
        held_out_total += total
        per_fold.append({"fold": k, "passed": passed, "total": total, "params": dataclasses.asdict(params)})
        print(f"  fold {k}: {passed}/{total} held out", file=sys.stderr, flush=True)
    everything = set(range(len(evaluations.items)))
    final = fit(evaluations, everything, passes=passes)
    passed, total = evaluations.score(final, everything)
    default_passed, _ = evaluations.score(PARAMETERS, everything)
    return {
        "folds": folds, "passes": passes,
        "cv": {"passed": held_out_passed, "total": held_out_total,
               "rate": round(held_out_passed / held_out_total, 4) if held_out_total else 0.0},
        "fit_on_all": {"passed": passed, "total": total, "params": dataclasses.asdict(final)},
        "in_use": {"passed": default_passed, "total": total, "params": dataclasses.asdict(PARAMETERS)},
        "per_fold": per_fold, "settings_evaluated": len(evaluations.cache),
    }


def table(report: dict) -> str:
    cv, fitted, in_use = report["cv"], report["fit_on_all"], report["in_use"]
    names = list(GRID)
    lines = [f"Run {report['started']} ({report['items']} dev-set items, {report['folds']} folds, "
             f"{report['settings_evaluated']} settings evaluated):", "",
             f"- cross-validated (each fold fitted on the others, scored held out): **{cv['passed']}/{cv['total']} "
             f"({cv['rate'] * 100:.1f}%)**",
             f"- fitted on every fold: {fitted['passed']}/{fitted['total']}; weights in use: "
             f"{in_use['passed']}/{in_use['total']}", "",
             "| weight | " + " | ".join(names) + " |", "| --- | " + " | ".join("---" for _ in names) + " |",
             "| fitted | " + " | ".join(str(fitted["params"][n]) for n in names) + " |",
             "| in use | " + " | ".join(str(in_use["params"][n]) for n in names) + " |"]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Cross-validate the answer path's weights over the dev set.")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--passes", type=int, default=1, help="coordinate-descent passes per fit")
    parser.add_argument("--update-readme", action="store_true")
    args = parser.parse_args(argv)
    items = ae.dev_items()
    parses = ae.intents(t for item in items for t in (*item.history, item.text))
    with tempfile.TemporaryDirectory(prefix="huiqi-cv-") as tmp:
        evaluations = Evaluations(items, ae.Replayer(ae.seeded_db(Path(tmp)), parses))
        report = cross_validate(evaluations, args.folds, args.passes)
    report["started"] = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    report["items"] = len(items)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(table(report))
    if args.update_readme:
        from bench.readme import replace_block

        replace_block("answer-cv-results", table(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
