"""The alert outbox: every alert is a row before it is sent, and the row's unique key is what makes "at most one
alert per rule, story and channel" hold across sites, revisions and restarts.

One table, ``alert_outbox``. A row's ``state`` walks::

    buffered ──(digest flush)──► digested          (a match waiting for its channel's digest)
    queued ──claim──► sending ──► sent
       ▲                 │ └────► dead ──(monitor alerts retry)──► queued
       └──── failure ────┘        (after max_attempts, or a permanent refusal)

``sending`` left behind by a crash is put back to ``queued`` by :meth:`Outbox.recover_interrupted` when the sender
starts, and by the delivery loop when it regains the database after an outage cut a round short: that is the one
place a duplicate can come from (sent, then the crash came before "sent" was recorded).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from sqlalchemy import Column, DateTime, Text, UniqueConstraint, func, or_, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, Session, SQLModel, col, select

from monitor.store.engine import database_errors, describe


class OutboxState(StrEnum):
    BUFFERED = "buffered"
    DIGESTED = "digested"
    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    DEAD = "dead"


class AlertKind(StrEnum):
    NEW = "new"
    UPDATE = "update"
    DIGEST = "digest"


FIRST = ""  # ``version`` of the first ("new") alert of a rule, story and channel


class AlertOutbox(SQLModel, table=True):
    __tablename__ = "alert_outbox"
    __table_args__ = (UniqueConstraint("rule", "story_key", "channel", "version", name="uq_alert_outbox_once"),)

    id: int | None = Field(default=None, primary_key=True)
    rule: str = Field(max_length=200)  # digests: "digest:<period seconds>"
    story_key: str = Field(max_length=400)  # the store's story id (or the article key); digests: the period's end
    channel: str = Field(max_length=100, index=True)
    version: str = Field(default=FIRST, max_length=200)  # FIRST, or the revision an update announces
    kind: str = Field(max_length=10)
    article_key: str = Field(default="", max_length=400)
    payload: str = Field(sa_column=Column(Text, nullable=False))  # JSON: one Match, or a list of them (digest)
    state: str = Field(max_length=10, index=True)
    attempts: int = 0
    created_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    next_attempt_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False, index=True))
    claimed_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    claimed_by: str | None = Field(default=None, sa_column=Column(Text))  # the process sending it (monitor_processes)
    sent_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    last_error: str | None = Field(default=None, sa_column=Column(Text))
    provider_id: str | None = Field(default=None, max_length=400)  # what the provider answered (SMTP queue id, ...)
    message_id: str = Field(max_length=400)  # our email Message-ID, fixed at enqueue so a resend keeps it
    thread_id: str | None = Field(default=None, max_length=400)  # Message-ID of the first alert (In-Reply-To)
    digest_id: int | None = Field(default=None, index=True)  # buffered rows: the digest row that carried them


@dataclass(frozen=True, slots=True)
class OutboxItem:
    """A detached copy of a row, safe to hand to a sender thread."""

    id: int
    rule: str
    story_key: str
    channel: str
    version: str
    kind: str
    article_key: str
    payload: str
    state: str
    attempts: int
    created_at: datetime
    next_attempt_at: datetime
    last_error: str | None
    message_id: str
    thread_id: str | None
    sent_at: datetime | None = None
    provider_id: str | None = None


def _utc(value: datetime | None) -> datetime | None:
    # SQLite hands back naive datetimes; everything stored is UTC.
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _added(session: Session, row: AlertOutbox) -> bool:
    """Add ``row`` to the session's transaction; False, and the transaction rolled back, when a row with the same
    unique key (rule, story, channel and version; a digest's channel and period) is there already."""
    session.add(row)
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        return False
    return True


def _item(row: AlertOutbox) -> OutboxItem:
    assert row.id is not None
    created, due = _utc(row.created_at), _utc(row.next_attempt_at)
    assert created is not None and due is not None
    return OutboxItem(
        id=row.id, rule=row.rule, story_key=row.story_key, channel=row.channel, version=row.version, kind=row.kind,
        article_key=row.article_key, payload=row.payload, state=row.state, attempts=row.attempts, created_at=created,
        next_attempt_at=due, last_error=row.last_error, message_id=row.message_id, thread_id=row.thread_id,
        sent_at=_utc(row.sent_at), provider_id=row.provider_id,
    )


def create_outbox_tables(engine: Engine) -> None:
    """Create the outbox table alone, for tests; a real database gets it from the store's migrations."""
    SQLModel.metadata.create_all(engine, tables=[AlertOutbox.__table__])  # type: ignore[attr-defined]


class Outbox:
    """The outbox table's operations, one short transaction each, so the delivery workers (one thread per channel)
    never hold a transaction while talking to Slack or a mail server.

    Database trouble comes out as :class:`~monitor.errors.StoreError`, translated as the store's is.
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.where = describe(engine.url)

    @contextmanager
    def _session(self, what: str) -> Iterator[Session]:
        with database_errors(self.where, f"alert outbox: {what}"), Session(self.engine) as session:
            yield session

    def enqueue(self, row: AlertOutbox) -> OutboxItem | None:
        """Store an alert; None when one with the same rule, story, channel and version already exists."""
        with self._session("queue an alert") as session:
            if not _added(session, row):
                return None
            session.commit()
            session.refresh(row)
            return _item(row)

    def find(self, rule: str, story_key: str, channel: str, version: str = FIRST) -> OutboxItem | None:
        with self._session("look up an alert") as session:
            row = session.exec(
                select(AlertOutbox).where(AlertOutbox.rule == rule, AlertOutbox.story_key == story_key,
                                          AlertOutbox.channel == channel, AlertOutbox.version == version)
            ).first()
            return _item(row) if row else None

    def find_by_id(self, row_id: int) -> OutboxItem | None:
        with self._session("look up an alert") as session:
            row = session.get(AlertOutbox, row_id)
            return _item(row) if row else None

    def claim_due(self, channel: str, now: datetime, limit: int = 50, *,
                  claimer: str | None = None) -> list[OutboxItem]:
        """Move due queued rows of one channel to ``sending`` and return them; a row another worker took is skipped.

        One transaction: either every claim is made and returned, or none is (a claim the caller never heard of
        would stay ``sending`` while the database is back). On PostgreSQL the rows are selected ``FOR UPDATE SKIP
        LOCKED``: several daemons claiming at once each get other rows instead of waiting for one another (the
        conditional update below keeps any engine from taking a row twice). ``claimer``: the process claiming, so
        that what a dead process left ``sending`` can be told from what a live one is sending."""
        with self._session("claim due alerts") as session:
            ids = session.exec(
                select(AlertOutbox.id).where(AlertOutbox.channel == channel,
                                             AlertOutbox.state == OutboxState.QUEUED,
                                             col(AlertOutbox.next_attempt_at) <= now)
                .order_by(col(AlertOutbox.next_attempt_at), col(AlertOutbox.id)).limit(limit)
                .with_for_update(skip_locked=True)
            ).all()
            taken: list[int] = []
            for row_id in ids:
                result = session.execute(
                    update(AlertOutbox)
                    .where(col(AlertOutbox.id) == row_id, col(AlertOutbox.state) == OutboxState.QUEUED)
                    .values(state=OutboxState.SENDING, claimed_at=now, claimed_by=claimer,
                            attempts=AlertOutbox.attempts + 1)
                )
                if result.rowcount == 1:  # type: ignore[attr-defined]
                    assert row_id is not None
                    taken.append(row_id)
            session.commit()
            if not taken:
                return []
            found = session.exec(select(AlertOutbox).where(col(AlertOutbox.id).in_(taken))).all()
            by_id = {row.id: _item(row) for row in found}
            return [by_id[row_id] for row_id in taken if row_id in by_id]

    def mark_sent(self, row_id: int, now: datetime, provider_id: str | None = None) -> None:
        with self._session("record a sent alert") as session:
            session.execute(
                update(AlertOutbox).where(col(AlertOutbox.id) == row_id)
                .values(state=OutboxState.SENT, sent_at=now, provider_id=provider_id, last_error=None)
            )
            session.commit()

    def mark_failed(self, row_id: int, error: str, retry_at: datetime | None) -> None:
        """Back to ``queued`` until ``retry_at``, or ``dead`` when ``retry_at`` is None."""
        values = {"state": OutboxState.DEAD, "last_error": error[:2000]} if retry_at is None else {
            "state": OutboxState.QUEUED, "last_error": error[:2000], "next_attempt_at": retry_at}
        with self._session("record a failed alert") as session:
            session.execute(update(AlertOutbox).where(col(AlertOutbox.id) == row_id).values(**values))
            session.commit()

    def release(self, row_ids: Sequence[int], retry_at: datetime) -> None:
        """Hand back claimed rows that were not tried (their channel is paused), without counting an attempt."""
        if not row_ids:
            return
        with self._session("hand back claimed alerts") as session:
            session.execute(
                update(AlertOutbox)
                .where(col(AlertOutbox.id).in_(list(row_ids)), col(AlertOutbox.state) == OutboxState.SENDING)
                .values(state=OutboxState.QUEUED, next_attempt_at=retry_at, attempts=AlertOutbox.attempts - 1)
            )
            session.commit()

    def recover_interrupted(self, now: datetime, *, claimed_until: datetime | None = None,
                            channel: str | None = None, claimer: str | None = None) -> int:
        """Put ``sending`` rows back in the queue: all of them (a crash left them), or those of one channel claimed
        at or before a time (a database outage cut their round short); with ``claimer``, only that process's."""
        with self._session("queue interrupted alerts again") as session:
            stmt = update(AlertOutbox).where(col(AlertOutbox.state) == OutboxState.SENDING)
            if claimer is not None:
                stmt = stmt.where(col(AlertOutbox.claimed_by) == claimer)
            if claimed_until is not None:
                stmt = stmt.where(col(AlertOutbox.claimed_at) <= claimed_until)
            if channel is not None:
                stmt = stmt.where(col(AlertOutbox.channel) == channel)
            result = session.execute(stmt.values(state=OutboxState.QUEUED, next_attempt_at=now))
            session.commit()
            return int(result.rowcount)  # type: ignore[attr-defined]

    def requeue_abandoned(self, now: datetime, live: Sequence[str]) -> int:
        """Put back in the queue the ``sending`` rows of processes that are no longer alive (several daemons share
        the outbox: a starting daemon must not requeue what a running one is sending). Rows with no claimer were
        left by a daemon of a version before claims were recorded: abandoned too."""
        with self._session("queue abandoned alerts again") as session:
            stmt = update(AlertOutbox).where(col(AlertOutbox.state) == OutboxState.SENDING)
            claimer = col(AlertOutbox.claimed_by)
            gone = claimer.not_in(list(live)) if live else claimer.is_not(None)
            result = session.execute(stmt.where(or_(claimer.is_(None), gone))
                                     .values(state=OutboxState.QUEUED, next_attempt_at=now))
            session.commit()
            return int(result.rowcount)  # type: ignore[attr-defined]

    def retry_dead(self, now: datetime, ids: Iterable[int] | None = None, channel: str | None = None) -> int:
        """Dead letters back to the queue with a fresh count of attempts; returns how many."""
        with self._session("queue dead alerts again") as session:
            stmt = update(AlertOutbox).where(col(AlertOutbox.state) == OutboxState.DEAD)
            if ids is not None:
                stmt = stmt.where(col(AlertOutbox.id).in_(list(ids)))
            if channel is not None:
                stmt = stmt.where(col(AlertOutbox.channel) == channel)
            result = session.execute(stmt.values(state=OutboxState.QUEUED, attempts=0, next_attempt_at=now))
            session.commit()
            return int(result.rowcount)  # type: ignore[attr-defined]

    def rows(self, states: Sequence[str] | None = None, limit: int = 200) -> list[OutboxItem]:
        with self._session("list alerts") as session:
            stmt = select(AlertOutbox).order_by(col(AlertOutbox.id))
            if states:
                stmt = stmt.where(col(AlertOutbox.state).in_(list(states)))
            return [_item(r) for r in session.exec(stmt.limit(limit)).all()]

    def newest(self, *, channel: str | None = None, state: str | None = None, limit: int = 200) -> list[OutboxItem]:
        """The latest rows first, optionally of one channel and state (the web's alerts page)."""
        with self._session("list alerts") as session:
            stmt = select(AlertOutbox).order_by(col(AlertOutbox.id).desc()).limit(limit)
            if channel:
                stmt = stmt.where(AlertOutbox.channel == channel)
            if state:
                stmt = stmt.where(AlertOutbox.state == state)
            return [_item(r) for r in session.exec(stmt).all()]

    def of_article(self, article_key: str, limit: int = 100) -> list[OutboxItem]:
        """The rows (alerts and updates) an article caused, oldest first. Digests carry many articles: not these."""
        with self._session("list an article's alerts") as session:
            return [_item(r) for r in session.exec(
                select(AlertOutbox).where(AlertOutbox.article_key == article_key).order_by(col(AlertOutbox.id))
                .limit(limit)).all()]

    def status_counts(self) -> dict[str, dict[str, int]]:
        """Per channel, how many rows are in each state: what ``monitor status`` shows (dead letters, backlog)."""
        counts: dict[str, dict[str, int]] = {}
        with self._session("count alerts") as session:
            for channel, state, number in session.exec(
                select(AlertOutbox.channel, AlertOutbox.state, func.count()).group_by(
                    col(AlertOutbox.channel), col(AlertOutbox.state))
            ).all():
                counts.setdefault(channel, {})[state] = int(number)
        return counts

    def last_errors(self, states: Sequence[str]) -> dict[str, str]:
        """Per channel, the error of its most recently failed row in one of ``states`` (for health reports)."""
        found: dict[str, str] = {}
        with self._session("read delivery errors") as session:
            for channel, error in session.exec(
                select(AlertOutbox.channel, AlertOutbox.last_error)
                .where(col(AlertOutbox.state).in_(list(states)), col(AlertOutbox.last_error).is_not(None))
                .order_by(col(AlertOutbox.id).desc())
            ).all():
                if error is not None:
                    found.setdefault(channel, error)
        return found

    def due_buffered(self, now: datetime) -> list[OutboxItem]:
        """Digest entries whose period has ended (``next_attempt_at`` holds the end of their period)."""
        with self._session("read digest entries") as session:
            return [_item(r) for r in session.exec(
                select(AlertOutbox).where(AlertOutbox.state == OutboxState.BUFFERED,
                                          col(AlertOutbox.next_attempt_at) <= now)
                .order_by(col(AlertOutbox.channel), col(AlertOutbox.next_attempt_at), col(AlertOutbox.id))
            ).all()]

    def store_digest(self, digest: AlertOutbox, entry_ids: Sequence[int]) -> OutboxItem | None:
        """In one transaction: queue the digest message and mark its entries as carried by it.

        The digest row is unique per channel and period, so a second flush of the same period adds nothing.
        """
        with self._session("queue a digest") as session:
            if not _added(session, digest):
                return None
            session.execute(
                update(AlertOutbox).where(col(AlertOutbox.id).in_(list(entry_ids)),
                                          col(AlertOutbox.state) == OutboxState.BUFFERED)
                .values(state=OutboxState.DIGESTED, digest_id=digest.id)
            )
            session.commit()
            session.refresh(digest)
            return _item(digest)

