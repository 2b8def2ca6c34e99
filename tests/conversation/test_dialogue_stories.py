"""The dialogue paths, checked by Rasa's own story test against the trained model."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.conversation

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def test_the_test_stories_are_predicted_without_a_single_error(trained_model, tmp_path):
    result = subprocess.run(
        [str(Path(sys.executable).with_name("rasa")), "test", "core", "--model", str(trained_model),
         "--stories", "tests/stories", "--out", str(tmp_path), "--fail-on-prediction-errors"],
        cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=900,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "SQLALCHEMY_SILENCE_UBER_WARNING": "1"},
    )
    failed = (tmp_path / "failed_test_stories.yml")
    details = failed.read_text(encoding="utf-8") if failed.exists() else result.stdout[-3000:]
    assert result.returncode == 0, details
