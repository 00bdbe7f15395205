"""Read-only glances at the database without the ORM: what ``monitor health`` needs, cheap to start.

A health check runs every few minutes from a timer; importing SQLModel, Alembic and the store for two small
queries cost it most of a second. SQLite (the default) is read with the standard library's sqlite3, opened
read-only; other databases with SQLAlchemy Core only. The tables are the store's (``source_health``,
``alert_outbox``); their schema is the migrations'.
"""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from monitor.errors import StoreError
from monitor.store.engine import BUSY_TIMEOUT_S, schema_mismatch, sqlite_file

_VERSION = "SELECT version_num FROM alembic_version"
_HEALTH = "SELECT source, problem, last_error, last_run FROM source_health"
_VERSIONS = Path(__file__).resolve().parent / "migrations" / "versions"
_REVISION = re.compile(r"""^(down_revision|revision)\s*(?::[^=]*)?=\s*(?:['"]([^'"]+)['"]|None)""", re.M)
_OUTBOX = "SELECT channel, state, COUNT(*) FROM alert_outbox GROUP BY channel, state"


@dataclass(frozen=True, slots=True)
class HealthGlance:
    """What ``monitor health`` asks of a source's stored health (see :func:`monitor.health.is_unwell`)."""

    source: str
    problem: str | None
    last_error: str | None
    last_run: datetime | None


@dataclass(frozen=True, slots=True)
class Glance:
    healths: dict[str, HealthGlance]
    outbox: dict[str, dict[str, int]]  # per channel, rows per state


def glance(url: str) -> Glance:
    """Source health and outbox counts from the database at ``url``.

    Raises StoreError when the database is missing or unreadable (not yet created: `monitor db upgrade`)."""
    database = sqlite_file(url)
    if database is not None:
        where = str(database)
        version, health_rows, outbox_rows = _sqlite(database)
    else:
        from monitor.store.engine import describe

        where = describe(url)
        version, health_rows, outbox_rows = _other(url, where)
    mismatch = schema_mismatch(where, version, schema_head())
    if mismatch is not None:
        raise mismatch
    healths = {str(r[0]): HealthGlance(str(r[0]), r[1], r[2], _utc(r[3])) for r in health_rows}
    outbox: dict[str, dict[str, int]] = {}
    for channel, state, number in outbox_rows:
        outbox.setdefault(str(channel), {})[str(state)] = int(number)
    return Glance(healths, outbox)


def schema_head() -> str | None:
    """The newest migration's revision, read from the migration files without Alembic (the chain is linear: the
    one revision no other names as its down_revision). tests/test_cli_startup.py checks it against Alembic."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in _VERSIONS.glob("*.py"):
        for kind, value in _REVISION.findall(path.read_text(encoding="utf-8")):
            if value:
                (revisions if kind == "revision" else parents).add(value)
    heads = sorted(revisions - parents)
    return heads[0] if len(heads) == 1 else None


def _sqlite(database: Any) -> tuple[str | None, list[Any], list[Any]]:
    if not database.exists():
        raise StoreError(f"no database at {database} (the daemon creates it; or run `monitor db upgrade`)")
    try:
        connection = sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=BUSY_TIMEOUT_S)
    except sqlite3.Error as exc:
        raise StoreError(f"cannot open the database {database}: {exc}") from None
    try:
        version = connection.execute(_VERSION).fetchone()
        return (version[0] if version else None, connection.execute(_HEALTH).fetchall(),
                connection.execute(_OUTBOX).fetchall())
    except sqlite3.Error as exc:
        raise StoreError(f"cannot read the database {database}: {exc} (run `monitor db upgrade`?)") from None
    finally:
        connection.close()


def _other(url: str, where: str) -> tuple[str | None, list[Any], list[Any]]:
    from sqlalchemy import create_engine, text
    from sqlalchemy.exc import SQLAlchemyError


    try:
        engine = create_engine(url, pool_size=1, max_overflow=0)
    except (SQLAlchemyError, ValueError) as exc:
        raise StoreError(f"storage url: not usable: {type(exc).__name__}") from None
    try:
        with engine.connect() as connection:
            version = connection.execute(text(_VERSION)).scalar()
            return (version, list(connection.execute(text(_HEALTH)).all()),
                    list(connection.execute(text(_OUTBOX)).all()))
    except SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        raise StoreError(f"cannot read the database {where}: {reason}") from None
    finally:
        engine.dispose()


def _utc(value: Any) -> datetime | None:
    """SQLite hands timestamps back as naive text; they were written as UTC."""
    if value is None:
        return None
    when = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)
