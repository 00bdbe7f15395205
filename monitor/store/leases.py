"""Leases in the database: how several ``monitor run`` processes on one PostgreSQL share the work.

Three tables:

- ``monitor_processes``: one row per running daemon (host, pid, started, last_seen), its heartbeat. A process whose
  ``last_seen`` is older than the lease time is dead to the others.
- ``leases``: a named lease (``group:<host>`` for the sources of one host family, ``leader`` for the work one process
  does for all) with its holder and a deadline (``expires_at``). The holder renews the deadline on every heartbeat;
  a holder that dies (SIGKILL, power off, network cut) stops renewing, and once the deadline has passed any process
  may take the lease. ``free_after`` keeps a host's delay between requests across a hand-over.
- ``source_schedule``: when each source is next due (``next_due``), so a source is polled once per interval across
  all processes: a run is *claimed* by moving ``next_due`` forward in one conditional UPDATE.

Why lease rows with a deadline rather than advisory locks held on a session: a session lock lives as long as one
TCP connection, so it is lost silently when PostgreSQL restarts or a pooler recycles the connection (and the holder
keeps working as if it still held it), and a half-open connection after a network cut keeps it for as long as the
kernel's keepalive takes (hours by default). A deadline in a row is explicit: it survives a database restart, it
expires after a bound we choose whatever the network does, and the holder knows from its own clock when its claim
has lapsed, so it stops before anyone else may start.

Every deadline is reckoned by the database server's clock (``clock_timestamp()`` on PostgreSQL), never the hosts':
processes on several machines with skewed clocks agree on who holds what. (SQLite, one process, uses the local clock.)
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Column, DateTime, Text, delete, or_, text, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, SQLModel, col, select

from monitor.store.engine import database_errors, describe

LEADER = "leader"


def _when(nullable: bool = True) -> Column[datetime]:
    return Column(DateTime(timezone=True), nullable=nullable)


class MonitorProcess(SQLModel, table=True):
    """A running daemon and its heartbeat."""

    __tablename__ = "monitor_processes"

    id: str = Field(sa_column=Column(Text, primary_key=True))  # "<host>:<pid>:<random>", unique per start
    host: str = Field(max_length=255)
    pid: int
    started: datetime = Field(sa_column=_when(nullable=False))
    last_seen: datetime = Field(sa_column=_when(nullable=False))


class Lease(SQLModel, table=True):
    __tablename__ = "leases"

    name: str = Field(sa_column=Column(Text, primary_key=True))
    holder: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    acquired_at: datetime | None = Field(default=None, sa_column=_when())
    expires_at: datetime | None = Field(default=None, sa_column=_when())
    free_after: datetime | None = Field(default=None, sa_column=_when())  # no request to its hosts before this


class SourceSchedule(SQLModel, table=True):
    __tablename__ = "source_schedule"

    source: str = Field(sa_column=Column(Text, primary_key=True))
    next_due: datetime = Field(sa_column=_when(nullable=False))
    last_started: datetime | None = Field(default=None, sa_column=_when())
    last_by: str | None = Field(default=None, sa_column=Column(Text, nullable=True))  # the process that ran it


@dataclass(frozen=True, slots=True)
class ProcessRow:
    id: str
    host: str
    pid: int
    started: datetime
    last_seen: datetime


@dataclass(frozen=True, slots=True)
class Claim:
    """The answer to "may I run this source now?": ``claimed``, and when it is next due (database time) and what the
    database's clock said, so the caller can turn the due time into its own clock."""

    claimed: bool
    next_due: datetime
    db_now: datetime


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class LeaseStore:
    """The lease tables' operations, each one short transaction. Errors come out as StoreError."""

    def __init__(self, engine: Engine, process_id: str) -> None:
        self.engine = engine
        self.process_id = process_id
        self.where = describe(engine.url)
        self._postgres = engine.dialect.name == "postgresql"

    @contextmanager
    def _begin(self, what: str) -> Iterator[Connection]:
        with database_errors(self.where, what), self.engine.begin() as connection:
            yield connection

    def _now(self, connection: Connection) -> datetime:
        if self._postgres:
            return _utc(connection.execute(text("SELECT clock_timestamp()")).scalar_one())
        # SQLite keeps one daemon per database (lock.py) on the database's own host: no second process's clock to
        # agree with, and no server clock to ask (SQLite's CURRENT_TIMESTAMP is this host's clock, in whole seconds).
        return datetime.now(UTC)

    def now(self) -> datetime:
        with self._begin("read the clock") as connection:
            return self._now(connection)

    # --- processes ----------------------------------------------------------------------------------------------

    def register(self, host: str, pid: int) -> None:
        table = MonitorProcess.__table__  # type: ignore[attr-defined]
        with self._begin("register the process") as connection:
            now = self._now(connection)
            connection.execute(table.insert().values(id=self.process_id, host=host, pid=pid, started=now,
                                                     last_seen=now))

    def heartbeat(self, ttl: float) -> tuple[datetime, set[str]]:
        """Say we are alive and renew every lease we hold; returns the database's time and the leases still ours.

        A lease whose deadline passed before this renewal is not renewed (another process may have it already)."""
        with self._begin("heartbeat") as connection:
            now = self._now(connection)
            seen = connection.execute(update(MonitorProcess).where(col(MonitorProcess.id) == self.process_id)
                                      .values(last_seen=now))
            if seen.rowcount == 0:
                # Pruned as dead after a long stall (or a database restored from backup): come back.
                connection.execute(MonitorProcess.__table__.insert().values(  # type: ignore[attr-defined]
                    id=self.process_id, host=self.process_id.split(":")[0],
                    pid=int(self.process_id.split(":")[1]), started=now, last_seen=now))
            connection.execute(update(Lease).where(col(Lease.holder) == self.process_id,
                                                   col(Lease.expires_at) > now)
                               .values(expires_at=now + timedelta(seconds=ttl)))
            held = connection.execute(select(Lease.name).where(col(Lease.holder) == self.process_id,
                                                               col(Lease.expires_at) > now)).scalars().all()
            return now, set(held)

    def processes(self) -> list[ProcessRow]:
        with self._begin("list processes") as connection:
            rows = connection.execute(select(MonitorProcess).order_by(col(MonitorProcess.started))).all()
        return [ProcessRow(r.id, r.host, r.pid, _utc(r.started), _utc(r.last_seen)) for r in rows]

    def live_processes(self, ttl: float) -> list[str]:
        """Ids of the processes seen within ``ttl`` seconds (by the database's clock)."""
        with self._begin("list live processes") as connection:
            now = self._now(connection)
            return list(connection.execute(
                select(MonitorProcess.id).where(col(MonitorProcess.last_seen) > now - timedelta(seconds=ttl))
                .order_by(col(MonitorProcess.id))).scalars().all())

    def prune_processes(self, older_than: float) -> int:
        """Forget processes not seen for ``older_than`` seconds (the leader does it now and then)."""
        with self._begin("forget dead processes") as connection:
            now = self._now(connection)
            result = connection.execute(delete(MonitorProcess).where(
                col(MonitorProcess.last_seen) < now - timedelta(seconds=older_than)))
            return int(result.rowcount)

    def unregister(self, free_after: float = 0.0) -> None:
        """A clean stop: hand every lease back at once (others need not wait for the deadline) and leave."""
        with self._begin("unregister the process") as connection:
            now = self._now(connection)
            connection.execute(update(Lease).where(col(Lease.holder) == self.process_id).values(
                holder=None, expires_at=None, free_after=now + timedelta(seconds=free_after)))
            connection.execute(delete(MonitorProcess).where(col(MonitorProcess.id) == self.process_id))

    # --- leases ---------------------------------------------------------------------------------------------------

    def try_take(self, name: str, ttl: float) -> bool:
        """Take a lease nobody holds (never held, handed back, or its holder's deadline passed)."""
        table = Lease.__table__  # type: ignore[attr-defined]
        with self._begin(f"take lease {name}") as connection:
            now = self._now(connection)
            result = connection.execute(
                update(Lease).where(col(Lease.name) == name,
                                    or_(col(Lease.holder).is_(None), col(Lease.expires_at) <= now,
                                        col(Lease.holder) == self.process_id),
                                    or_(col(Lease.free_after).is_(None), col(Lease.free_after) <= now))
                .values(holder=self.process_id, acquired_at=now, expires_at=now + timedelta(seconds=ttl)))
            if result.rowcount == 1:
                return True
            exists = connection.execute(select(Lease.name).where(col(Lease.name) == name)).first()
        if exists is not None:
            return False
        try:
            with self._begin(f"take lease {name}") as connection:
                now = self._now(connection)
                connection.execute(table.insert().values(name=name, holder=self.process_id, acquired_at=now,
                                                         expires_at=now + timedelta(seconds=ttl)))
            return True
        except IntegrityError:  # another process created it first: it is theirs
            return False

    def release(self, name: str, free_after: float = 0.0) -> None:
        """Hand a lease back; its hosts get no request from the next holder before ``free_after`` seconds."""
        with self._begin(f"release lease {name}") as connection:
            now = self._now(connection)
            connection.execute(update(Lease).where(col(Lease.name) == name, col(Lease.holder) == self.process_id)
                               .values(holder=None, expires_at=None,
                                       free_after=now + timedelta(seconds=free_after)))

    def holders(self) -> dict[str, str]:
        """Lease name -> holding process, for leases whose deadline has not passed."""
        with self._begin("read leases") as connection:
            now = self._now(connection)
            return {name: holder for name, holder in connection.execute(
                select(Lease.name, Lease.holder).where(col(Lease.holder).is_not(None), col(Lease.expires_at) > now))
                if holder is not None}

    # --- the schedule -----------------------------------------------------------------------------------------------

    def claim_run(self, source: str, interval: float, slack: float = 0.0) -> Claim:
        """Claim a run of ``source`` if it is due (within ``slack`` seconds): its next due time moves ``interval``
        seconds past now, in the same statement that checks it, so two processes never both claim one run."""
        table = SourceSchedule.__table__  # type: ignore[attr-defined]
        with self._begin(f"claim a run of {source}") as connection:
            now = self._now(connection)
            due = now + timedelta(seconds=interval)
            result = connection.execute(
                update(SourceSchedule).where(col(SourceSchedule.source) == source,
                                             col(SourceSchedule.next_due) <= now + timedelta(seconds=slack))
                .values(next_due=due, last_started=now, last_by=self.process_id))
            if result.rowcount == 1:
                return Claim(True, due, now)
            current = connection.execute(select(SourceSchedule.next_due).where(
                col(SourceSchedule.source) == source)).scalar()
        if current is not None:
            return Claim(False, _utc(current), now)
        try:
            with self._begin(f"claim a run of {source}") as connection:
                connection.execute(table.insert().values(source=source, next_due=due, last_started=now,
                                                         last_by=self.process_id))
            return Claim(True, due, now)
        except IntegrityError:
            return self.claim_run(source, interval, slack)


def daemon_running(engine: Engine, ttl: float) -> bool:
    """Whether any daemon has been seen within ``ttl`` seconds (``monitor health`` on PostgreSQL)."""
    return bool(LeaseStore(engine, "").live_processes(ttl))
