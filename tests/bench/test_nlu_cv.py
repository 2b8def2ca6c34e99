"""bench/nlu_cv.py reads Rasa's cross-validation output right and tabulates repeated runs."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("nlu_cv", ROOT / "bench" / "nlu_cv.py")
nlu_cv = importlib.util.module_from_spec(_spec)
sys.modules["nlu_cv"] = nlu_cv
_spec.loader.exec_module(nlu_cv)

# The tail of `rasa test nlu --cross-validation` as Rasa 3.6 logs it: train scores, then test scores,
# intents first, then each entity extractor.
RASA_LOG = """\
2026-11-26 18:07:24 INFO     rasa.model_testing  - Intent evaluation results
2026-11-26 18:07:24 INFO     rasa.nlu.test  - train Accuracy: 1.000 (0.000)
2026-11-26 18:07:24 INFO     rasa.nlu.test  - train F1-score: 1.000 (0.000)
2026-11-26 18:07:24 INFO     rasa.nlu.test  - test Accuracy: 0.961 (0.005)
2026-11-26 18:07:24 INFO     rasa.nlu.test  - test F1-score: 0.958 (0.006)
2026-11-26 18:07:24 INFO     rasa.nlu.test  - test Precision: 0.962 (0.005)
2026-11-26 18:07:24 INFO     rasa.model_testing  - Entity evaluation results
2026-11-26 18:07:24 INFO     rasa.nlu.test  - Entity extractor: CRFEntityExtractor
2026-11-26 18:07:24 INFO     rasa.nlu.test  - train F1-score: 0.998 (0.001)
2026-11-26 18:07:24 INFO     rasa.nlu.test  - test F1-score: 0.984 (0.004)
"""


def test_the_test_scores_are_read_for_intents_and_entities_not_the_train_scores():
    scores = nlu_cv._scores(RASA_LOG)
    assert scores["intent"]["F1-score"] == [0.958, 0.006]
    assert scores["intent"]["Accuracy"] == [0.961, 0.005]
    assert scores["entity"]["F1-score"] == [0.984, 0.004]


def test_a_log_without_intent_scores_is_an_error():
    with pytest.raises(SystemExit, match="intent F1"):
        nlu_cv._scores("Intent evaluation results\nnothing else")


def run(folds: int, f1: float, sd: float) -> dict:
    return {"folds": folds, "seconds": 80.0, "examples": 3392, "intents": 15, "weakest": [["skip", 0.91]],
            "intent": {"F1-score": [f1, sd], "Accuracy": [f1, sd]}, "entity": {"F1-score": [0.98, 0.01]}}


def test_repeated_runs_are_one_row_per_fold_count_with_their_mean_and_range():
    table = nlu_cv.markdown_table([run(5, 0.96, 0.004), run(5, 0.97, 0.006), run(3, 0.94, 0.01)], "2026-11-26 18:00")
    rows = [line for line in table.splitlines() if line.startswith("| 5 ") or line.startswith("| 3 ")]
    assert len(rows) == 2
    assert "**0.965**" in rows[0] and "0.960–0.970" in rows[0] and "| 2 |" in rows[0] and "0.005" in rows[0]
    assert "**0.940**" in rows[1] and "| 1 |" in rows[1]
