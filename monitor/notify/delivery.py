"""Delivery: one worker per channel takes due rows from the outbox, sends each, and records the outcome.

A channel that hangs or fails only holds up its own queue: every channel runs in its own thread and every send has
its own timeout. Failures wait with exponential backoff (or as long as Slack's Retry-After says), and after
``max_attempts`` tries, or on a permanent refusal, a row goes dead until ``monitor alerts retry``. A configuration
error of the channel (login refused, untrusted certificate, invalid webhook URL) kills the alert at once and stops
the channel for ``backoff_max`` seconds: every other alert would only repeat it (and a mail server would count
every failed login).

A database outage ends a round with :class:`StoreError`. Rows the round had claimed stay ``sending`` in the
database; the next round that reaches the database records what was sent and queues the rest again, so the outbox
mends itself without a restart.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy.engine import Engine

from monitor.clock import Clock, utc_now
from monitor.errors import ChannelConfigError, DeliveryError, StoreError
from monitor.settings import AlertsSettings, DeliverySettings, EmailChannel, SlackChannel
from monitor.store.outbox import Outbox, OutboxItem

log = logging.getLogger(__name__)


class Sender(Protocol):
    def send(self, item: OutboxItem) -> str | None:
        """Deliver one alert; return the provider's id if any, raise :class:`DeliveryError` on failure."""
        ...


@dataclass(slots=True)
class ChannelReport:
    sent: int = 0
    retrying: int = 0
    dead: int = 0
    rate_limited: bool = False  # the provider said 429: nothing more until its Retry-After
    paused: bool = False  # a transient failure (429, 5xx, timeout): the rest of the queue waits with it
    halted: str | None = None  # a configuration error stopped the channel: why
    errors: list[str] = field(default_factory=list)


def backoff(attempts: int, settings: DeliverySettings) -> float:
    return float(min(settings.backoff_max, settings.backoff_base * 2 ** max(0, attempts - 1)))


def senders_from_settings(alerts: AlertsSettings, clock: Clock = utc_now) -> dict[str, Sender]:
    """A sender per configured channel; ``clock`` dates the emails."""
    from monitor.notify.email import EmailSender
    from monitor.notify.slack import SlackSender

    senders: dict[str, Sender] = {}
    for name, channel in alerts.channels.items():
        if isinstance(channel, SlackChannel):
            senders[name] = SlackSender(channel.webhook_url_env, alerts.delivery.timeout)
        elif isinstance(channel, EmailChannel):
            senders[name] = EmailSender(channel, alerts.delivery.timeout, clock)
    return senders


class Deliverer:
    """Call :meth:`recover` once when the daemon starts, then :meth:`deliver_channel` per channel (or
    :meth:`deliver`, all channels) on a schedule and whenever an alert is queued."""

    def __init__(self, engine: Engine, senders: Mapping[str, Sender], settings: DeliverySettings,
                 clock: Clock = utc_now, batch: int = 50) -> None:
        self.outbox = Outbox(engine)
        self.senders = dict(senders)
        self.settings = settings
        self.clock = clock
        self.batch = batch
        # The process claiming rows, when several daemons share the outbox (the daemon sets it): rows this process
        # left ``sending`` are told from those of others, so it requeues only its own after an outage.
        self.claimer: str | None = None
        self._guard = threading.Lock()  # the dicts below, shared by the channels' threads
        self._lost: dict[str, datetime] = {}  # channel -> when a round of it lost the database
        self._unrecorded: dict[str, dict[int, tuple[datetime, str | None]]] = {}  # sent, "sent" not yet written
        self._halted: dict[str, tuple[datetime, str]] = {}  # channel -> (until, why) after a configuration error

    def recover(self) -> int:
        """Requeue rows a crash left in ``sending``. Their fate is unknown: resending them is the one duplicate
        the outbox allows (at-least-once), rather than risking a lost alert."""
        count = self.outbox.recover_interrupted(self.clock())
        if count:
            log.warning("outbox: %d alert(s) interrupted while sending are queued again", count)
        return count

    def deliver(self) -> dict[str, ChannelReport]:
        """One round over every channel, in parallel; returns when every channel's round is over. A channel whose
        round could not reach the database reports that as its error."""
        if not self.senders:
            return {}
        with ThreadPoolExecutor(max_workers=len(self.senders), thread_name_prefix="deliver") as pool:
            futures = {name: pool.submit(self.deliver_channel, name) for name in self.senders}
            reports: dict[str, ChannelReport] = {}
            for name, future in futures.items():
                try:
                    reports[name] = future.result()
                except StoreError as exc:
                    reports[name] = ChannelReport(errors=[str(exc)])
            return reports

    def deliver_channel(self, channel: str) -> ChannelReport:
        """One round of one channel. Raises StoreError when the database fails during the round (what it had
        claimed is mended by the next round that reaches the database)."""
        report = ChannelReport()
        with self._guard:
            halted = self._halted.get(channel)
        if halted is not None:
            until, why = halted
            if self.clock() < until:
                report.halted = why
                return report
            with self._guard:
                self._halted.pop(channel, None)
        try:
            self._regain(channel)
            self._round(channel, report)
        except StoreError:
            with self._guard:
                self._lost.setdefault(channel, self.clock())
            raise
        return report

    def _regain(self, channel: str) -> None:
        """After a round lost the database: record what it sent, queue again what it left ``sending``."""
        with self._guard:
            lost = self._lost.get(channel)
            unrecorded = dict(self._unrecorded.get(channel, {}))
        if lost is None:
            return
        for row_id, (sent_at, provider_id) in unrecorded.items():
            self.outbox.mark_sent(row_id, sent_at, provider_id)
            with self._guard:
                self._unrecorded[channel].pop(row_id, None)
        count = self.outbox.recover_interrupted(self.clock(), claimed_until=lost, channel=channel,
                                                 claimer=self.claimer)
        with self._guard:
            self._lost.pop(channel, None)
        log.log(logging.WARNING if unrecorded or count else logging.INFO,
                "outbox: channel %s reaches the database again: %d sent alert(s) recorded, %d interrupted alert(s) "
                "queued again", channel, len(unrecorded), count)

    def _round(self, channel: str, report: ChannelReport) -> None:
        sender = self.senders[channel]
        while True:
            items = self.outbox.claim_due(channel, self.clock(), self.batch, claimer=self.claimer)
            if not items:
                return
            for index, item in enumerate(items):
                resume_at = self._send_one(sender, item, report)
                if resume_at is not None:
                    # Rate limited, failing or misconfigured: rather than walk the batch into one timeout (or one
                    # refused login) after another, hand back what we claimed, uncounted, to wait with it.
                    self.outbox.release([rest.id for rest in items[index + 1:]], resume_at)
                    return
            if len(items) < self.batch:
                return

    def _after(self, seconds: float) -> datetime:
        return self.clock() + timedelta(seconds=seconds)

    def _send_one(self, sender: Sender, item: OutboxItem, report: ChannelReport) -> datetime | None:
        """Send one claimed row and record the outcome; returns when the channel may go on, if it must pause."""
        try:
            provider_id = sender.send(item)
        except DeliveryError as exc:
            return self._failed(item, exc, report)
        except Exception as exc:  # a bug in formatting must not stop the worker or lose the row
            log.exception("outbox: unexpected error sending alert %d on %s", item.id, item.channel)
            return self._failed(item, DeliveryError(f"{type(exc).__name__}: {exc}"), report)
        sent_at = self.clock()
        try:
            self.outbox.mark_sent(item.id, sent_at, provider_id)
        except StoreError:
            # Sent: remember it, so that the round that regains the database records it instead of resending it.
            with self._guard:
                self._unrecorded.setdefault(item.channel, {})[item.id] = (sent_at, provider_id)
            raise
        report.sent += 1
        return None

    def _failed(self, item: OutboxItem, exc: DeliveryError, report: ChannelReport) -> datetime | None:
        message = str(exc)
        report.errors.append(message)
        if isinstance(exc, ChannelConfigError):
            self.outbox.mark_failed(item.id, message, None)
            report.dead += 1
            report.halted = message
            pause = self.settings.backoff_max
            with self._guard:
                self._halted[item.channel] = (self._after(pause), message)
            log.error("outbox: channel %s stopped for %.0fs by a configuration error (alert %d is dead, the rest "
                      "wait): %s", item.channel, pause, item.id, message)
            # The queue stays due: once the configuration is fixed and the daemon restarted, it goes out at once.
            return self.clock()
        if exc.permanent or item.attempts >= self.settings.max_attempts:
            self.outbox.mark_failed(item.id, message, None)
            report.dead += 1
            log.error("outbox: alert %d on %s is dead after %d attempt(s): %s", item.id, item.channel,
                      item.attempts, message)
            return None
        if exc.retry_after is not None:
            delay = exc.retry_after
            report.rate_limited = True
        else:
            delay = backoff(item.attempts, self.settings)
        report.paused = True
        resume_at = self._after(delay)
        self.outbox.mark_failed(item.id, message, resume_at)
        report.retrying += 1
        log.warning("outbox: alert %d on %s failed (attempt %d), retry in %.0fs: %s", item.id, item.channel,
                    item.attempts, delay, message)
        return resume_at
