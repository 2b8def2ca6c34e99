"""Creating the schema. Versioned migrations are the scale issue's work (see README)."""

from __future__ import annotations

from sqlalchemy.engine import Engine

from kb.models import Base


def create_schema(engine: Engine) -> None:
    """Create missing tables; existing data is left alone."""
    Base.metadata.create_all(engine)
