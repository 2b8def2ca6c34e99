"""Training time: from scratch (an empty Rasa cache) and again with Rasa's cache, for our bot and the bare bot.

Three runs of `rasa train` on our project, into a temporary output directory (models/ is not touched):

- scratch:      an empty RASA_CACHE_DIRECTORY, so every graph component trains;
- cached:       the same inputs again with the cache the first run filled (what `make run` costs after a
                model file was deleted, or on another checkout of the same data);
- one example:  one NLU example added, so the NLU components retrain and what does not depend on
                NLU data comes from the cache (the usual edit while writing training data).

The bare `rasa init` bot is trained from scratch in the same run as the yardstick. Writes
bench/results/training.json and, with --update-readme, the table in bench/README.md.

    .venv/bin/python bench/training_bench.py --update-readme     # ~8 min on 2 cores
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.harness import VENV_BIN, ensure_baseline  # noqa: E402
from bench.serve_bench import update_readme  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "training.json"
EXTRA_EXAMPLE = """
- intent: greet
  examples: |
    - 基准测试加的一句问候
"""


def train(project: Path, out: Path, cache: Path) -> float:
    env = {**os.environ, "RASA_CACHE_DIRECTORY": str(cache), "TF_CPP_MIN_LOG_LEVEL": "2",
           "RASA_TELEMETRY_ENABLED": "false"}
    started = time.perf_counter()
    subprocess.run([str(VENV_BIN / "rasa"), "train", "--config", "config.yml", "--domain", "domain.yml",
                    "--data", "data", "--out", str(out), "--force"],
                   cwd=project, env=env, check=True, stdin=subprocess.DEVNULL,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return round(time.perf_counter() - started, 1)


def copy_project(destination: Path) -> None:
    """What training reads, so our data stays untouched (bot/ and kb/ are importable from the venv)."""
    for name in ("config.yml", "domain.yml"):
        shutil.copy2(ROOT / name, destination / name)
    for name in ("data", "jieba_dict"):
        shutil.copytree(ROOT / name, destination / name, ignore=shutil.ignore_patterns("__pycache__"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--update-readme", action="store_true")
    args = parser.parse_args(argv)

    result = {
        "run_at": dt.datetime.now().isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}",
        "load_average_at_start": round(os.getloadavg()[0], 2),
    }
    with tempfile.TemporaryDirectory(prefix="huiqi-train-") as tmp:
        tmp_path = Path(tmp)
        project = tmp_path / "project"
        project.mkdir()
        copy_project(project)
        cache, out = tmp_path / "rasa-cache", tmp_path / "models"
        print("Training our bot from scratch…", file=sys.stderr, flush=True)
        result["ours_scratch_s"] = train(project, out, cache)
        print("Training our bot again with the cache…", file=sys.stderr, flush=True)
        result["ours_cached_s"] = train(project, out, cache)
        with (project / "data" / "nlu" / "bench_extra.yml").open("w", encoding="utf-8") as extra:
            extra.write('version: "3.1"\nnlu:' + EXTRA_EXAMPLE)
        print("Training our bot with one NLU example added…", file=sys.stderr, flush=True)
        result["ours_one_example_s"] = train(project, out, cache)

        baseline = ensure_baseline()
        print("Training the bare bot from scratch…", file=sys.stderr, flush=True)
        result["bare_scratch_s"] = train(baseline, tmp_path / "bare-models", tmp_path / "bare-cache")
    result["load_average_at_end"] = round(os.getloadavg()[0], 2)
    result["scratch_ratio_to_bare"] = round(result["ours_scratch_s"] / result["bare_scratch_s"], 2)

    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    report = "\n".join([
        f"Run {result['run_at']} on {result['machine']}; load average {result['load_average_at_start']} → "
        f"{result['load_average_at_end']}.", "",
        "| training | seconds |", "| --- | --- |",
        f"| ours, from scratch (empty Rasa cache; target ≤ 180) | {result['ours_scratch_s']} |",
        f"| ours, same inputs with Rasa's cache | {result['ours_cached_s']} |",
        f"| ours, one NLU example added, with the cache | {result['ours_one_example_s']} |",
        f"| bare `rasa init` bot, from scratch | {result['bare_scratch_s']} |",
    ])
    print(report)
    if args.update_readme:
        update_readme(report, marker="training-results")
    print(f"\nResults written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
