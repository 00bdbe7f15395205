"""Alembic environment: the engine comes from :func:`monitor.store.migrate.alembic_config`, the metadata from
every table module of ``monitor.store`` (the outbox included)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import text

from monitor.store.metadata import include_name, metadata

# Two processes starting on a fresh PostgreSQL database (daemon and a backfill) must not both create the tables:
# the second waits for the first's transaction, then finds the schema current. ("monitor-migrate" as a bigint.)
_MIGRATION_LOCK = 0x6D6F6E6D6967

target_metadata = metadata()


def run_migrations_online() -> None:
    engine = context.config.attributes["engine"]
    with engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        # SQLite: each migration in a transaction of its own, with its alembic_version stamp (the engine makes
        # SQLite's DDL transactional, see monitor/store/engine.py), so a crash leaves whole migrations only.
        context.configure(connection=connection, target_metadata=target_metadata, include_name=include_name,
                          render_as_batch=sqlite,
                          transactional_ddl=True, transaction_per_migration=sqlite)
        with context.begin_transaction():
            if connection.dialect.name == "postgresql":
                connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK})
            context.run_migrations()
        connection.commit()


run_migrations_online()
