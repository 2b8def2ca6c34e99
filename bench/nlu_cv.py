"""Cross-validate the NLU: `rasa test nlu --cross-validation` over data/nlu with config.yml.

Runs Rasa's own cross-validation for each requested number of folds (5, Rasa's default, unless told),
several times: Rasa shuffles the folds without a seed, so one run's F1 moves by about ±0.01 from run to
run. Keeps the reports of the first run in bench/results/nlu_cv/ and writes every run's intent and entity
F1 (mean and sd over its folds) and the weakest intents to bench/results/nlu_cv/summary.json.

    .venv/bin/python bench/nlu_cv.py --repeats 1          # 5 folds once, about 80 s on 2 cores
    .venv/bin/python bench/nlu_cv.py --folds 5 3 --repeats 3 --update-readme
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script from any directory
    sys.path.insert(0, str(ROOT))

RESULTS = ROOT / "bench" / "results" / "nlu_cv"
REPORTS = ("intent_report.json", "intent_errors.json", "CRFEntityExtractor_report.json",
           "intent_confusion_matrix.png")
# Rasa logs the cross-validated means as "test F1-score: 0.958 (0.008)", first for intents, then per extractor.
_SCORE = re.compile(r"test (Accuracy|F1-score|Precision): ([0-9.]+) \(([0-9.]+)\)")
_SECTION = re.compile(r"Intent evaluation results|Entity evaluation results")


def cross_validate(folds: int, out: Path) -> dict:
    command = [str(ROOT / ".venv" / "bin" / "rasa"), "test", "nlu", "--nlu", "data/nlu", "--config", "config.yml",
               "--cross-validation", "--folds", str(folds), "--out", str(out)]
    started = time.monotonic()
    run = subprocess.run(command, cwd=ROOT, capture_output=True, text=True,
                         env={**os.environ, "RASA_TELEMETRY_ENABLED": "false"})
    seconds = time.monotonic() - started
    if run.returncode != 0:
        sys.stderr.write(run.stdout[-3000:] + run.stderr[-3000:])
        raise SystemExit(f"rasa test nlu failed (exit {run.returncode})")
    return {"folds": folds, "seconds": round(seconds, 1), **_scores(run.stdout + run.stderr), **_report(out)}


def _scores(log: str) -> dict:
    """The intent and entity test scores (mean, sd over folds) from Rasa's log."""
    sections: dict[str, dict] = {}
    current = None
    for line in log.splitlines():
        section = _SECTION.search(line)
        if section:
            current = "intent" if section.group(0).startswith("Intent") else "entity"
            continue
        score = _SCORE.search(line)
        if current and score:
            sections.setdefault(current, {}).setdefault(score.group(1), [float(score.group(2)), float(score.group(3))])
    if "F1-score" not in sections.get("intent", {}):
        raise SystemExit("no cross-validated intent F1 in Rasa's output")
    return {"intent": sections["intent"], "entity": sections.get("entity", {})}


def _report(out: Path) -> dict:
    report = json.loads((out / "intent_report.json").read_text(encoding="utf-8"))
    intents = {name: r for name, r in report.items() if isinstance(r, dict) and "support" in r and
               name not in ("macro avg", "weighted avg", "micro avg")}
    weakest = sorted(intents.items(), key=lambda item: item[1]["f1-score"])[:5]
    return {"examples": sum(r["support"] for r in intents.values()), "intents": len(intents),
            "weakest": [[name, round(r["f1-score"], 3)] for name, r in weakest]}


def _mean(values: list[float]) -> float:
    return sum(values) / len(values)


def markdown_table(runs: list[dict], started: str) -> str:
    """One row per fold count: the mean over its repeated runs, their range and the spread over folds."""
    lines = [f"Run {started}:", "",
             "| folds | runs | examples | intent F1, mean of runs | range over runs | sd over folds | accuracy "
             "| entity F1 | weakest intents (first run) | time per run |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for folds in dict.fromkeys(r["folds"] for r in runs):
        same = [r for r in runs if r["folds"] == folds]
        f1 = [r["intent"]["F1-score"][0] for r in same]
        entity = [r["entity"]["F1-score"][0] for r in same if "F1-score" in r["entity"]]
        weakest = ", ".join(f"{name} {value:.2f}" for name, value in same[0]["weakest"])
        lines.append(
            f"| {folds} | {len(same)} | {same[0]['examples']:,} | **{_mean(f1):.3f}** | {min(f1):.3f}–{max(f1):.3f} | "
            f"{_mean([r['intent']['F1-score'][1] for r in same]):.3f} | "
            f"{_mean([r['intent']['Accuracy'][0] for r in same]):.3f} | "
            f"{f'{_mean(entity):.3f}' if entity else '—'} | {weakest} | {_mean([r['seconds'] for r in same]):.0f} s |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Cross-validate the NLU with Rasa and keep the reports.")
    parser.add_argument("--folds", type=int, nargs="+", default=[5], help="fold counts to run (default: 5)")
    parser.add_argument("--repeats", type=int, default=3, help="runs per fold count (default: 3)")
    parser.add_argument("--update-readme", action="store_true", help="refresh the table in bench/README.md")
    args = parser.parse_args(argv)
    if any(f < 2 for f in args.folds) or args.repeats < 1:
        parser.error("--folds must be at least 2 and --repeats at least 1")

    started = dt.datetime.now().strftime("%Y-%m-%d %H:%M")
    runs = []
    for index, folds in enumerate(folds for folds in args.folds for _ in range(args.repeats)):
        with tempfile.TemporaryDirectory(prefix="huiqi-nlu-cv-") as out:
            runs.append(cross_validate(folds, Path(out)))
            if index == 0:  # the reports of the first run are kept
                RESULTS.mkdir(parents=True, exist_ok=True)
                for name in REPORTS:
                    if (Path(out) / name).exists():
                        shutil.copy(Path(out) / name, RESULTS / name)
        r = runs[-1]
        print(f"{folds} folds: intent F1 {r['intent']['F1-score'][0]:.3f} ± {r['intent']['F1-score'][1]:.3f}, "
              f"{r['examples']} examples, {r['seconds']:.0f} s", flush=True)
    (RESULTS / "summary.json").write_text(
        json.dumps({"started": started, "runs": runs}, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    (RESULTS / "summary.txt").unlink(missing_ok=True)  # replaced by summary.json
    if args.update_readme:
        from bench.readme import replace_block

        replace_block("nlu-cv-results", markdown_table(runs, started))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
