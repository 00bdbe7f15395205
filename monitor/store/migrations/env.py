"""Alembic environment: the engine comes from :func:`monitor.store.migrate.alembic_config`, the metadata from
every table module of ``monitor.store`` (the outbox included)."""

from __future__ import annotations

from alembic import context

from monitor.store.metadata import metadata

target_metadata = metadata()


def run_migrations_online() -> None:
    engine = context.config.attributes["engine"]
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=target_metadata,
                          render_as_batch=connection.dialect.name == "sqlite")
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()


run_migrations_online()
