"""Read-only glances at the database without the ORM: what ``monitor health`` needs, cheap to start.

A health check runs every few minutes from a timer; importing SQLModel, Alembic and the store for two small
queries cost it most of a second. SQLite (the default) is read with the standard library's sqlite3, opened
read-only; other databases with SQLAlchemy Core only. The tables are the store's (``source_health``,
``alert_outbox``); their schema is the migrations'.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from monitor.errors import StoreError
from monitor.store.engine import BUSY_TIMEOUT_S, sqlite_file

_HEALTH = "SELECT source, problem, last_error, last_run FROM source_health"
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
        health_rows, outbox_rows = _sqlite(database)
    else:
        health_rows, outbox_rows = _other(url)
    healths = {str(r[0]): HealthGlance(str(r[0]), r[1], r[2], _utc(r[3])) for r in health_rows}
    outbox: dict[str, dict[str, int]] = {}
    for channel, state, number in outbox_rows:
        outbox.setdefault(str(channel), {})[str(state)] = int(number)
    return Glance(healths, outbox)


def _sqlite(database: Any) -> tuple[list[Any], list[Any]]:
    if not database.exists():
        raise StoreError(f"no database at {database} (the daemon creates it; or run `monitor db upgrade`)")
    try:
        connection = sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=BUSY_TIMEOUT_S)
    except sqlite3.Error as exc:
        raise StoreError(f"cannot open the database {database}: {exc}") from None
    try:
        return connection.execute(_HEALTH).fetchall(), connection.execute(_OUTBOX).fetchall()
    except sqlite3.Error as exc:
        raise StoreError(f"cannot read the database {database}: {exc} (run `monitor db upgrade`?)") from None
    finally:
        connection.close()


def _other(url: str) -> tuple[list[Any], list[Any]]:
    from sqlalchemy import create_engine, text
    from sqlalchemy.exc import SQLAlchemyError

    from monitor.store.engine import describe

    where = describe(url)

    try:
        engine = create_engine(url, pool_size=1, max_overflow=0)
    except (SQLAlchemyError, ValueError) as exc:
        raise StoreError(f"storage url: not usable: {type(exc).__name__}") from None
    try:
        with engine.connect() as connection:
            return (list(connection.execute(text(_HEALTH)).all()), list(connection.execute(text(_OUTBOX)).all()))
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
