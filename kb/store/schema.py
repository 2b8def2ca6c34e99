"""The knowledge base schema, versioned with Alembic (kb/store/migrations/).

Every process that opens the knowledge base calls `create_schema`, which
upgrades the database to the newest migration. It is run from code, so no
alembic.ini is needed at run time. Databases made by `create_all` before
migrations existed carry no `alembic_version`; the first migration adopts them
(creates what is missing, keeps what is there).

A new migration after a change to kb/store/models.py:
    .venv/bin/python -m kb.store.schema revision -m "what changed"
"""

from __future__ import annotations

import argparse
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import sessionmaker

from kb.store.db import engine_of, make_engine, sessions

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
# Any fixed number: several servers starting at once on one PostgreSQL upgrade one after another.
_PG_LOCK_ID = 0x48554951


def alembic_config(connection: Connection | None = None) -> Config:
    """Alembic's configuration for kb/store/migrations, on a connection when given."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    """The newest migration's revision id."""
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(engine: Engine) -> str | None:
    """The migration a database is at, or None for one never migrated."""
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def create_schema(engine: Engine) -> None:
    """Upgrade the database to the newest migration; existing data is kept."""
    if current_revision(engine) == head_revision():
        return  # the common case, without taking a lock
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": _PG_LOCK_ID})
        command.upgrade(alembic_config(connection), "head")


def open_database(url: str | None = None) -> sessionmaker:
    """The process's session factory for a database (default: `HUIQI_DB_URL`), its schema upgraded first."""
    factory = sessions(url)
    create_schema(engine_of(factory))
    return factory


def main(argv: list[str] | None = None) -> int:
    """Write a new migration by comparing kb/store/models.py with a database upgraded to head."""
    parser = argparse.ArgumentParser(prog="python -m kb.store.schema")
    commands = parser.add_subparsers(dest="command", required=True)
    revision = commands.add_parser("revision", help="autogenerate a migration from kb/store/models.py")
    revision.add_argument("-m", "--message", required=True)
    commands.add_parser("upgrade", help="upgrade $HUIQI_DB_URL to head")
    args = parser.parse_args(argv)

    if args.command == "upgrade":
        open_database()
        return 0
    import tempfile

    # Autogenerate against a scratch SQLite database at head, never against live data.
    with tempfile.TemporaryDirectory() as scratch:
        engine = make_engine(f"sqlite:///{scratch}/kb.sqlite3")
        create_schema(engine)
        with engine.begin() as connection:
            command.revision(alembic_config(connection), message=args.message, autogenerate=True)
        engine.dispose()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
