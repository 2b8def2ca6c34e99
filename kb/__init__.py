"""The policy knowledge base: a plain library with no Rasa import and no import of bot/ or actions/.

Subpackages, each module one job (ARCHITECTURE.md draws them):

- `kb.store` — storage: SQLAlchemy models, the engine and the one session factory (`kb.store.db.sessions`),
  the Alembic schema, validation of curated YAML, the seed loader, queries and the exporter;
- `kb.answering` — a question parsed once, ranked over answer units of one snapshot per KB revision, a reply
  composed as named lines;
- `kb.eligibility` — firm facts and their parsing, the rulebook (groups, categories), the three-valued engine,
  one verdict service for chat, API and DingTalk, the firm registry and 政策找企业 matching;
- `kb.admin` — every change through one path: import (YAML, JSON, xlsx) validated into one transaction with
  a revision, rollback, admin tokens, the staff digest.

Shared at the top: `paths` (where files are), `families` (kb/rules/families.yaml), `errors`, `format`, `text`,
`terms`, `currency`. Layers import one way: store ← answering, eligibility ← admin.
"""
