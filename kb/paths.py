"""Where the knowledge base's files are: the project root, the curated seed, the rule data, the default database."""

from __future__ import annotations

from pathlib import Path

KB_DIR = Path(__file__).resolve().parent
PROJECT_ROOT = KB_DIR.parent
SEED_DIR = KB_DIR / "seed"  # the curated policy data (kb/seed/*.yaml)
RULES_DIR = KB_DIR / "rules"  # groups, categories, facts, vocabulary and families (kb/rules/*.yaml)
DEFAULT_DB_PATH = PROJECT_ROOT / "var" / "kb.sqlite3"
