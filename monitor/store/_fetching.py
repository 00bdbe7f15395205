"""What the fetching remembers: feeds' conditional-GET validators (``feed_state``), the fetch log, and the state of
article pages not (yet) archived (``page_state``: their language, their failures and retries)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, update
from sqlmodel import col, select

from monitor.store._base import StoreBase, as_utc
from monitor.store.tables import FETCH_LOG, FeedState, FetchLog, PageState
from monitor.validators import Validators

_INSERT_FETCH_LOG = FETCH_LOG.insert()


class Fetching(StoreBase):
    """Feeds, the fetch log and page state."""

    # --- feeds and fetches --------------------------------------------------------------------------------------------

    def validators(self) -> DatabaseValidators:
        """The HTTP client's conditional-GET state, kept in ``feed_state``."""
        return DatabaseValidators(self)

    def get_validators(self, url: str) -> Validators | None:
        with self._session("read feed state") as session:
            row = session.get(FeedState, url)
            if row is None or not (row.etag or row.last_modified):
                return None
            return Validators(row.etag, row.last_modified)

    def put_validators(self, url: str, validators: Validators) -> None:
        self._upsert_feed(url, {"etag": validators.etag, "last_modified": validators.last_modified})

    def _upsert_feed(self, url: str, values: dict[str, Any]) -> None:
        with self._session("write feed state") as session:
            stmt = self._insert(FeedState.__table__).values(url=url, **values)  # type: ignore[attr-defined]
            session.execute(stmt.on_conflict_do_update(index_elements=["url"], set_=values))
            session.commit()

    def log_fetch(self, url: str, at: datetime, outcome: str, *, status: int | None = None, error: str | None = None,
                  article_key: str | None = None, duration_ms: int | None = None) -> None:
        with self._connection("write the fetch log", write=True) as connection:  # once per page: no ORM session
            connection.execute(_INSERT_FETCH_LOG, {
                "url": url, "fetched_at": at, "outcome": outcome, "status": status,
                "error": error[:2000] if error else None, "article_key": article_key, "duration_ms": duration_ms})

    def prune_fetch_log(self, before: datetime) -> int:
        with self._session("prune the fetch log") as session:
            result = session.execute(delete(FetchLog).where(col(FetchLog.fetched_at) < before))
            session.commit()
            return int(result.rowcount)  # type: ignore[attr-defined]

    # --- article pages not (yet) archived ------------------------------------------------------------------------

    def page_state(self, url: str) -> PageState | None:
        with self._session("read a page's state") as session:
            row = session.get(PageState, url)
            return _page_utc(row) if row else None

    def page_failed(self, url: str, site: str, at: datetime, error: str, *, attempts: int,
                    first_delay: float) -> PageState:
        """Count a failed attempt at an article page and schedule the next: ``first_delay`` seconds after the first
        failure, three times as long after each further one; after ``attempts`` failures the page is given up."""
        with self._session("record a failed page") as session:
            row = session.get(PageState, url) or PageState(url=url, site=site)
            row.failures += 1
            row.last_failure = at
            row.last_error = error[:2000]
            if row.failures >= attempts:
                row.next_attempt, row.given_up = None, at
            else:
                row.next_attempt = at + timedelta(seconds=first_delay * 3 ** (row.failures - 1))
            session.add(row)
            session.commit()
            return _page_utc(row)

    def page_succeeded(self, url: str) -> None:
        """A page tried again was archived (or read): its failures are forgotten."""
        with self._session("record a page that answered") as session:
            session.execute(update(PageState).where(col(PageState.url) == url).values(
                failures=0, last_error=None, next_attempt=None, given_up=None))
            session.commit()

    def page_language(self, url: str, site: str, language: str) -> None:
        """Remember the language a page turned out to be in (so a source that does not keep it never fetches it
        again)."""
        with self._session("record a page's language") as session:
            stmt = self._insert(PageState.__table__).values(  # type: ignore[attr-defined]
                url=url, site=site, language=language, failures=0)
            session.execute(stmt.on_conflict_do_update(index_elements=["url"], set_={"language": language}))
            session.commit()

    def pages_to_retry(self, site: str, now: datetime, limit: int) -> list[str]:
        """Failed pages of ``site`` whose next attempt is due, the longest waiting first."""
        with self._session("find failed pages to retry") as session:
            return list(session.exec(
                select(PageState.url).where(col(PageState.next_attempt) <= now, col(PageState.site) == site)
                .order_by(col(PageState.next_attempt)).limit(limit)).all())


class DatabaseValidators:
    """:class:`monitor.http.ValidatorStore` on the ``feed_state`` table."""

    def __init__(self, store: Fetching) -> None:
        self._store = store

    def get(self, url: str) -> Validators | None:
        return self._store.get_validators(url)

    def put(self, url: str, validators: Validators) -> None:
        self._store.put_validators(url, validators)


def _page_utc(row: PageState) -> PageState:
    values = row.model_dump()
    for name in ("last_failure", "next_attempt", "given_up"):
        values[name] = as_utc(values[name])
    return PageState.model_validate(values)
