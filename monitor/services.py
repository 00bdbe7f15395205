"""The long-lived objects one monitor process works with, built once from the settings and handed to whoever needs
them: dependency injection instead of module globals.

- :class:`Services`: the pipeline's set (store, archive, HTTP client, site registry, alert service, clock), for the
  daemon and backfill. The HTTP client keeps its ETag/Last-Modified in the database (``feed_state``), so a restarted
  daemon asks "changed since?" from its first poll.
- :class:`Opened`: what one CLI command needs, each part opened on first use and all closed together; every command
  opens what it uses through it (``with Opened.from_config() as opened: opened.store ...``), the daemon's and
  backfill's :class:`Services` included. Its parts are imported when first used, so a light command (``parse``)
  pays for no database or HTTP library at start-up.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING

from monitor._closing import Closing
from monitor.clock import Clock, utc_now
from monitor.settings import Settings

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from monitor.archive import Archive
    from monitor.http import HttpClient
    from monitor.notify import AlertService
    from monitor.sites import SiteRegistry
    from monitor.store import Store
    from monitor.store.glance import Glance
    from monitor.store.outbox import Outbox


@dataclass
class Services(Closing):
    settings: Settings
    store: Store
    archive: Archive
    client: HttpClient
    registry: SiteRegistry
    alerts: AlertService | None  # None: alerts muted (backfill without --alerts)
    clock: Clock = field(default=utc_now)  # every "now" of the pipeline, the daemon and the alerts (monitor.clock)

    @classmethod
    def open(cls, settings: Settings, *, alerts: bool = True, client: HttpClient | None = None,
             clock: Clock = utc_now, sleep: Callable[[float], None] = time.sleep) -> Services:
        """Open the store (migrating it), the archive and the HTTP client; load and check the rules.

        ``sleep`` is the HTTP client's wait between requests and retries (the daemon's is cut short by a stop).

        Raises StoreError, ArchiveError or RuleFileError (an invalid rule file: the daemon does not start).
        """
        from monitor.archive import Archive
        from monitor.http import HttpClient
        from monitor.notify import AlertService
        from monitor.sites import default_registry
        from monitor.store import Store

        store = Store.open(settings.storage, clock=clock)
        try:
            archive = Archive.from_settings(settings.storage)
            service = None
            if alerts:
                service = AlertService.from_settings(store.engine, settings.alerts, clock=clock)
        except BaseException:
            store.close()
            raise
        http = client or HttpClient(settings.http, validators=store.validators(), sleep=sleep)
        return cls(settings=settings, store=store, archive=archive, client=http,
                   registry=default_registry(settings.pangea_hosts), alerts=service, clock=clock)

    def close(self) -> None:
        self.client.close()
        self.store.close()


class Opened(Closing):
    """The services one command needs, from one :class:`Settings`: each opened on first use, all closed by
    :meth:`close` (or ``with``).

    ``upgrade``: the store brings the schema up to date (commands that write, and ``db upgrade``); False: it checks
    it (commands that only read). ``existing``: the database must exist already (``monitor web``): a missing SQLite
    file is a StoreError naming it, not a new empty database. ``clock``: the command's "now" (monitor.clock), handed
    to the :class:`Services` of :meth:`pipeline` too.
    """

    def __init__(self, settings: Settings, *, upgrade: bool = True, existing: bool = False,
                 clock: Clock = utc_now) -> None:
        self.settings = settings
        self.clock = clock
        self._upgrade = upgrade
        self._existing = existing
        self._closers: list[Callable[[], None]] = []

    @classmethod
    def from_config(cls, *, upgrade: bool = True, existing: bool = False, clock: Clock = utc_now) -> Opened:
        """From the configuration file and environment (``MONITOR_CONFIG``, ``MONITOR_*``); ConfigError if bad."""
        from monitor.settings import load_settings

        return cls(load_settings(), upgrade=upgrade, existing=existing, clock=clock)

    @cached_property
    def registry(self) -> SiteRegistry:
        """The site families, with the Pangea services the operator added."""
        from monitor.sites import default_registry

        return default_registry(self.settings.pangea_hosts)

    @cached_property
    def archive(self) -> Archive:
        from monitor.archive import Archive

        return Archive.from_settings(self.settings.storage)

    @cached_property
    def store(self) -> Store:
        from monitor.store import Store

        if not self.settings.storage.url and not self._existing:
            # The SQLite file lives in the archive root: the archive's own checks say best what is wrong with it.
            self.archive  # noqa: B018
        if self._existing:
            store = open_existing_store(self.settings)
        else:
            store = Store.open(self.settings.storage, upgrade=self._upgrade)
        self._closers.append(store.close)
        return store

    @cached_property
    def reader(self) -> Reader:
        """The database for a command that only selects, through SQLAlchemy Core (``rules test``): its schema
        checked as :attr:`store` checks it (``upgrade`` aside), without importing the store's ORM, Alembic and table
        models, which cost such a command most of its start-up."""
        from monitor.store.engine import database_url, make_engine

        if not self.settings.storage.url:
            self.archive  # noqa: B018  (as for the store: the archive's own checks say best what is wrong)
        engine = make_engine(database_url(self.settings.storage))
        self._closers.append(engine.dispose)
        check_schema(engine)
        return Reader(engine)

    @cached_property
    def outbox(self) -> Outbox:
        return self.store.outbox

    @cached_property
    def client(self) -> HttpClient:
        """The polite HTTP client with the daemon's validators (ETag, Last-Modified) from the database."""
        from monitor.http import HttpClient

        client = HttpClient(self.settings.http, validators=self.store.validators())
        self._closers.append(client.close)
        return client

    @cached_property
    def detached_client(self) -> HttpClient:
        """An HTTP client whose validators live in memory only: what ``discover`` and ``fetch`` read must not turn
        into 304s that hide entries from the daemon's next poll."""
        from monitor.http import HttpClient

        client = HttpClient(self.settings.http)
        self._closers.append(client.close)
        return client

    def glance(self) -> Glance:
        """Source health and outbox counts read without the ORM (``monitor health``: its start-up time)."""
        from monitor.store.engine import database_url
        from monitor.store.glance import glance

        return glance(database_url(self.settings.storage))

    def daemon_running(self) -> bool:
        """PostgreSQL: whether some daemon's heartbeat is younger than ``[daemon] lease_ttl`` (``monitor health``;
        several daemons share the database, so no lock tells)."""
        from monitor.store.engine import database_url, make_engine
        from monitor.store.leases import daemon_running

        engine = make_engine(database_url(self.settings.storage))
        try:
            return daemon_running(engine, self.settings.daemon.lease_ttl)
        finally:
            engine.dispose()

    def pipeline(self, *, alerts: bool = True, detached: bool = False,
                 sleep: Callable[[float], None] = time.sleep) -> Services:
        """The pipeline's :class:`Services` (the daemon, backfill) on these settings. ``detached``: with an HTTP
        client of its own validators (backfill, see monitor.backfill); ``sleep``: the client's waits."""
        from monitor.http import HttpClient

        client = HttpClient(self.settings.http, sleep=sleep) if detached else None
        try:
            services = Services.open(self.settings, alerts=alerts, client=client, clock=self.clock, sleep=sleep)
        except BaseException:
            if client is not None:
                client.close()
            raise
        self._closers.append(services.close)
        return services

    def close(self) -> None:
        while self._closers:
            self._closers.pop()()


@dataclass(frozen=True, slots=True)
class Reader:
    """A database opened for selects only: what the search needs of a store (:class:`monitor.search.Database`)."""

    engine: Engine


def check_schema(engine: Engine) -> None:
    """StoreError unless the database's schema is at the newest migration, as :func:`monitor.store.migrate.check`
    says it, but read without Alembic (whose import alone outlasts a light command)."""
    from sqlalchemy import inspect, text
    from sqlalchemy.exc import SQLAlchemyError

    from monitor.errors import StoreError
    from monitor.store.engine import describe, schema_mismatch
    from monitor.store.glance import schema_head

    try:
        with engine.connect() as connection:
            current = (connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
                       if inspect(connection).has_table("alembic_version") else None)
    except SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        raise StoreError(f"database {describe(engine.url)}: {reason}") from None
    error = schema_mismatch(describe(engine.url), current, schema_head())
    if error is not None:
        raise error


def open_existing_store(settings: Settings) -> Store:
    """The archive's database for reading, or StoreError in one line: missing, unreachable or not migrated. A
    missing SQLite file is not created."""
    from pathlib import Path

    from sqlalchemy.engine import make_url

    from monitor.errors import StoreError
    from monitor.store import Store, database_url, describe

    url = make_url(database_url(settings.storage))
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:" \
            and not Path(url.database).exists():
        raise StoreError(f"no database at {url.database}: run `monitor db upgrade` and the daemon (or "
                         "`monitor demo --dir DIR`) first")
    try:
        return Store.open(settings.storage, upgrade=False)
    except StoreError:
        raise
    except Exception as exc:  # a driver error before the store could translate it
        raise StoreError(f"database {describe(url)}: {type(exc).__name__}: {exc}") from None
