"""The long-lived objects one monitor process works with, built once from the settings and handed to whoever needs
them (the daemon, backfill, the CLI): dependency injection instead of module globals.

The HTTP client keeps its ETag/Last-Modified in the database (``feed_state``), so a restarted daemon asks "changed
since?" from its first poll.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from monitor.archive import Archive
from monitor.http import HttpClient
from monitor.notify import AlertService
from monitor.settings import Settings
from monitor.sites import SiteRegistry, default_registry
from monitor.store import Store


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Services:
    settings: Settings
    store: Store
    archive: Archive
    client: HttpClient
    registry: SiteRegistry
    alerts: AlertService | None  # None: alerts muted (backfill without --alerts)
    clock: Callable[[], datetime] = field(default=utc_now)

    @classmethod
    def open(cls, settings: Settings, *, alerts: bool = True, client: HttpClient | None = None,
             clock: Callable[[], datetime] = utc_now, sleep: Callable[[float], None] = time.sleep) -> Services:
        """Open the store (migrating it), the archive and the HTTP client; load and check the rules.

        ``sleep`` is the HTTP client's wait between requests and retries (the daemon's is cut short by a stop).

        Raises StoreError, ArchiveError or RuleFileError (an invalid rule file: the daemon does not start).
        """
        store = Store.open(settings.storage)
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

    def __enter__(self) -> Services:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
