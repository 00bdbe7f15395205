"""Delivery: one worker per channel takes due rows from the outbox, sends each, and records the outcome.

A channel that hangs or fails only holds up its own queue: every channel runs in its own thread and every send has
its own timeout. Failures wait with exponential backoff (or as long as Slack's Retry-After says), and after
``max_attempts`` tries, or on a permanent refusal, a row goes dead until ``monitor alerts retry``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy.engine import Engine

from monitor.errors import DeliveryError
from monitor.settings import AlertsSettings, DeliverySettings, EmailChannel, SlackChannel
from monitor.store import outbox
from monitor.store.outbox import OutboxItem

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
    errors: list[str] = field(default_factory=list)


def backoff(attempts: int, settings: DeliverySettings) -> float:
    return float(min(settings.backoff_max, settings.backoff_base * 2 ** max(0, attempts - 1)))


def senders_from_settings(alerts: AlertsSettings) -> dict[str, Sender]:
    from monitor.notify.email import EmailSender
    from monitor.notify.slack import SlackSender

    senders: dict[str, Sender] = {}
    for name, channel in alerts.channels.items():
        if isinstance(channel, SlackChannel):
            senders[name] = SlackSender(channel.webhook_url_env, alerts.delivery.timeout)
        elif isinstance(channel, EmailChannel):
            senders[name] = EmailSender(channel, alerts.delivery.timeout)
    return senders


class Deliverer:
    """Call :meth:`recover` once when the daemon starts, then :meth:`deliver` (all channels) on a schedule."""

    def __init__(self, engine: Engine, senders: Mapping[str, Sender], settings: DeliverySettings,
                 clock: Callable[[], datetime] = outbox.now_utc, batch: int = 50) -> None:
        self.engine = engine
        self.senders = dict(senders)
        self.settings = settings
        self.clock = clock
        self.batch = batch

    def recover(self) -> int:
        """Requeue rows a crash left in ``sending``. Their fate is unknown: resending them is the one duplicate
        the outbox allows (at-least-once), rather than risking a lost alert."""
        count = outbox.recover_interrupted(self.engine, self.clock())
        if count:
            log.warning("outbox: %d alert(s) interrupted while sending are queued again", count)
        return count

    def deliver(self) -> dict[str, ChannelReport]:
        """One round over every channel, in parallel; returns when every channel's round is over.

        A round on a failing channel costs at most one timeout (the channel then pauses), but a daemon that wants
        no channel ever to wait for another's round schedules :meth:`deliver_channel` as one job per channel.
        """
        if not self.senders:
            return {}
        with ThreadPoolExecutor(max_workers=len(self.senders), thread_name_prefix="deliver") as pool:
            futures = {name: pool.submit(self.deliver_channel, name) for name in self.senders}
            return {name: future.result() for name, future in futures.items()}

    def deliver_channel(self, channel: str) -> ChannelReport:
        report = ChannelReport()
        sender = self.senders[channel]
        while True:
            items = outbox.claim_due(self.engine, channel, self.clock(), self.batch)
            if not items:
                return report
            for index, item in enumerate(items):
                self._send_one(sender, item, report)
                if report.paused:
                    # The provider is rate limiting or failing: rather than walk the batch into one timeout after
                    # another, hand back what we claimed, uncounted, to wait as long as the failed one.
                    retry_at = outbox.find_by_id(self.engine, item.id)
                    for rest in items[index + 1:]:
                        outbox.release(self.engine, rest.id, retry_at.next_attempt_at if retry_at else self.clock())
                    return report
            if len(items) < self.batch:
                return report

    def _after(self, seconds: float) -> datetime:
        return self.clock() + timedelta(seconds=seconds)

    def _send_one(self, sender: Sender, item: OutboxItem, report: ChannelReport) -> None:
        try:
            provider_id = sender.send(item)
        except DeliveryError as exc:
            self._failed(item, exc, report)
            return
        except Exception as exc:  # a bug in formatting must not stop the worker or lose the row
            log.exception("outbox: unexpected error sending alert %d on %s", item.id, item.channel)
            self._failed(item, DeliveryError(f"{type(exc).__name__}: {exc}"), report)
            return
        outbox.mark_sent(self.engine, item.id, self.clock(), provider_id)
        report.sent += 1

    def _failed(self, item: OutboxItem, exc: DeliveryError, report: ChannelReport) -> None:
        message = str(exc)
        report.errors.append(message)
        if exc.permanent or item.attempts >= self.settings.max_attempts:
            outbox.mark_failed(self.engine, item.id, message, None)
            report.dead += 1
            log.error("outbox: alert %d on %s is dead after %d attempt(s): %s", item.id, item.channel,
                      item.attempts, message)
            return
        if exc.retry_after is not None:
            delay = exc.retry_after
            report.rate_limited = True
        else:
            delay = backoff(item.attempts, self.settings)
        report.paused = True
        outbox.mark_failed(self.engine, item.id, message, self._after(delay))
        report.retrying += 1
        log.warning("outbox: alert %d on %s failed (attempt %d), retry in %.0fs: %s", item.id, item.channel,
                    item.attempts, delay, message)
