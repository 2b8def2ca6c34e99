"""Administration: imports (YAML, JSON, xlsx) validated into one transaction, revisions and rollback, admin tokens, the digest."""
