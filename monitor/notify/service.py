"""The alerting facade the pipeline and the daemon call: rules loaded and compiled once, matches into the outbox,
delivery rounds, digest flushes, operations messages and the counts ``monitor status`` shows."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

from sqlalchemy.engine import Engine

from monitor.clock import Clock, utc_now
from monitor.errors import RuleFileError
from monitor.model import Article, Match
from monitor.notify.content import OPERATIONS_RULE, encode_matches
from monitor.notify.delivery import ChannelReport, Deliverer, Sender, senders_from_settings
from monitor.notify.digest import flush_digests
from monitor.notify.enqueue import DEFAULT_DOMAIN, enqueue_matches, message_id
from monitor.rules import Matcher, Rule, parse_rules
from monitor.settings import AlertsSettings, EmailChannel
from monitor.store.outbox import FIRST, AlertKind, AlertOutbox, Outbox, OutboxItem, OutboxState

#: Told the channel of every alert queued for sending now (not a digest entry), after it is stored.
QueuedListener = Callable[[str], None]


def load_rule_file(path: Path, channels: Mapping[str, object] | None = None) -> list[Rule]:
    """Read and validate a rule file; any error refuses the whole file (:class:`RuleFileError`, all errors)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise RuleFileError(str(path), [f"cannot read: {exc.strerror or exc}"]) from None
    return parse_rules(text, str(path), channels=set(channels) if channels else None)


class AlertService:
    def __init__(self, engine: Engine, alerts: AlertsSettings, rules: list[Rule],
                 senders: Mapping[str, Sender] | None = None, clock: Clock = utc_now) -> None:
        self.engine = engine
        self.outbox = Outbox(engine)
        self.alerts = alerts
        self.rules = {r.name: r for r in rules}
        self.matcher = Matcher(rules)
        self.clock = clock
        self.domain = next((c.sender.rpartition("@")[2] for c in alerts.channels.values()
                            if isinstance(c, EmailChannel) and "@" in c.sender), DEFAULT_DOMAIN)
        self.deliverer = Deliverer(engine, senders if senders is not None else senders_from_settings(alerts, clock),
                                   alerts.delivery, clock)
        self._listeners: list[QueuedListener] = []

    def on_queued(self, listener: QueuedListener) -> None:
        """Call ``listener(channel)`` whenever an alert is queued for sending (the daemon wakes that channel's
        sender, so an alert does not wait for the delivery timer)."""
        self._listeners.append(listener)

    def _queued(self, items: list[OutboxItem]) -> None:
        for channel in sorted({i.channel for i in items if i.state == OutboxState.QUEUED}):
            for listener in self._listeners:
                listener(channel)

    @classmethod
    def from_settings(cls, engine: Engine, alerts: AlertsSettings, rules_file: Path | None = None,
                      clock: Clock = utc_now) -> AlertService:
        """The daemon's constructor: refuses to start (RuleFileError) on an invalid rule file."""
        rules = load_rule_file(rules_file or alerts.rules_file, alerts.channels or None)
        return cls(engine, alerts, rules, clock=clock)

    def on_article(self, article: Article, *, story_key: str | None = None, revision: str | None = None
                   ) -> tuple[list[Match], list[OutboxItem]]:
        """Match one new or revised article and store the alerts it calls for (nothing is sent here).

        ``story_key``: the store's story key, so the same story on another site alerts once (default: the
        article key). ``revision``: None for a new article, an id of the new text for a revision.
        """
        matches = self.matcher.match(article)
        if not matches:
            return [], []
        created = enqueue_matches(self.outbox, matches, self.rules, story_key=story_key or article.key,
                                  revision=revision, now=self.clock(), domain=self.domain)
        self._queued(created)
        return matches, created

    def recover(self) -> int:
        """Once at daemon start: alerts a crash left half-sent go back to the queue."""
        return self.deliverer.recover()

    def deliver(self) -> dict[str, ChannelReport]:
        """One delivery round, every channel in parallel (schedule it every few seconds)."""
        return self.deliverer.deliver()

    @property
    def channels(self) -> list[str]:
        return sorted(self.deliverer.senders)

    def deliver_channel(self, channel: str) -> ChannelReport:
        """One channel's round: schedule one job per channel so that no channel waits for another."""
        return self.deliverer.deliver_channel(channel)

    def flush_digests(self) -> list[OutboxItem]:
        """Queue the digests of periods that have ended (schedule it every minute or so)."""
        periods = {name: rule.period for name, rule in self.rules.items() if rule.mode == "digest"}
        queued = flush_digests(self.outbox, self.clock(), self.domain, periods)
        self._queued(queued)
        return queued

    def operations(self, title: str, text: str, key: str) -> OutboxItem | None:
        """A source-health message to the operations channel, at most once per ``key`` (None: no channel or sent)."""
        channel = self.alerts.operations_channel
        if not channel:
            return None
        now = self.clock()
        match = Match(rule=OPERATIONS_RULE, article_key="", url="", headline=title, site="monitor", published=now,
                      terms=(), snippet=text)
        item = self.outbox.enqueue(AlertOutbox(
            rule=OPERATIONS_RULE, story_key=key, channel=channel, version=FIRST, kind=AlertKind.NEW,
            payload=encode_matches(match), state=OutboxState.QUEUED, created_at=now, next_attempt_at=now,
            message_id=message_id(OPERATIONS_RULE, key, channel, FIRST, self.domain),
        ))
        if item is not None:
            self._queued([item])
        return item

    def status(self) -> dict[str, dict[str, int]]:
        """Per channel, rows per state: backlog (queued, sending, buffered) and dead letters."""
        return self.outbox.status_counts()

    def dead_reasons(self) -> dict[str, str]:
        """Per channel with dead letters, the error of the latest: what ``monitor health`` says went wrong."""
        return self.outbox.last_errors([OutboxState.DEAD])
