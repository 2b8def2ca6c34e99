"""Storage: the SQLAlchemy models, engine and sessions, schema migrations, the seed loader, queries and the exporter."""
