"""Schema migrations with alembic, shipped inside the package (``monitor/store/migrations``), so an installed monitor
can upgrade its database without the source tree. The app upgrades on start; ``monitor db upgrade`` does it alone."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from monitor.errors import StoreError
from monitor.store.engine import describe

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config


def head_revision() -> str | None:
    return ScriptDirectory(str(MIGRATIONS)).get_current_head()


def current_revision(engine: Engine) -> str | None:
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    except SQLAlchemyError as exc:
        raise StoreError(f"database {describe(engine.url)}: {_reason(exc)}") from None


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to ``revision`` (idempotent)."""
    try:
        command.upgrade(alembic_config(engine), revision)
    except SQLAlchemyError as exc:
        raise StoreError(f"database {describe(engine.url)}: upgrade failed: {_reason(exc)}") from None


def check(engine: Engine) -> None:
    """Raise StoreError unless the schema is at the head revision."""
    current, head = current_revision(engine), head_revision()
    if current != head:
        raise StoreError(
            f"database {describe(engine.url)} is at schema {current or 'none'}, this monitor needs {head}: "
            "run `monitor db upgrade`"
        )


def _reason(exc: SQLAlchemyError) -> str:
    orig = getattr(exc, "orig", None)
    return str(orig or exc).strip().splitlines()[0]
