"""What an alert says, independent of the channel: the matches an outbox row carries, and the pieces every
message shows (headline, link, site, time, rule, snippet)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from monitor.model import Match
from monitor.rules.highlight import explain
from monitor.rules.ruleset import RESERVED_NAME
from monitor.store.outbox import AlertKind, OutboxItem

#: The rule name of source-health messages (no article: a title and a text for the operators).
OPERATIONS_RULE = RESERVED_NAME


@dataclass(frozen=True, slots=True)
class AlertContent:
    kind: str  # AlertKind value
    rule: str
    matches: tuple[Match, ...]
    message_id: str
    thread_id: str | None
    period: tuple[datetime, datetime] | None = None  # a digest: the time its matches were collected in

    @property
    def is_update(self) -> bool:
        return self.kind == AlertKind.UPDATE

    @property
    def is_digest(self) -> bool:
        return self.kind == AlertKind.DIGEST

    @property
    def is_operations(self) -> bool:
        return self.rule == OPERATIONS_RULE

    @property
    def label(self) -> str:
        """What the message is, first in every channel."""
        if self.is_operations:
            return "Operations"
        return "Updated" if self.is_update else "New"

    @property
    def subject(self) -> str:
        if self.is_digest:
            rules = ", ".join(sorted({m.rule for m in self.matches}))
            period = f", {shown_period(self.period)}" if self.period else ""
            return f"[monitor] digest: {len(self.matches)} matches ({rules}){period}"
        match = self.matches[0]
        prefix = "Re: " if self.is_update else ""
        # One line, whatever the headline holds: a header must not be split or extended by article text.
        return " ".join(f"{prefix}[monitor] {match.rule}: {match.headline}".split())


def content_of(item: OutboxItem) -> AlertContent:
    data = json.loads(item.payload)
    period = None
    if isinstance(data, dict) and "matches" in data:  # a digest with its period
        period = (datetime.fromisoformat(data["from"]), datetime.fromisoformat(data["until"]))
        data = data["matches"]
    entries = data if isinstance(data, list) else [data]
    return AlertContent(item.kind, item.rule, tuple(Match.from_json(e) for e in entries), item.message_id,
                        item.thread_id, period)


def encode_matches(matches: list[Match] | Match) -> str:
    if isinstance(matches, Match):
        return json.dumps(matches.to_json(), ensure_ascii=False)
    return json.dumps([m.to_json() for m in matches], ensure_ascii=False)


def encode_digest(entries: list[object], start: datetime, end: datetime) -> str:
    """A digest's payload: the matches (as their rows hold them) and the period they were collected in."""
    return json.dumps({"from": start.isoformat(), "until": end.isoformat(), "matches": entries}, ensure_ascii=False)


def shown_period(period: tuple[datetime, datetime]) -> str:
    start, end = period
    if start.date() == end.date():
        return f"{start:%Y-%m-%d %H:%M}–{end:%H:%M} UTC"
    return f"{start:%Y-%m-%d %H:%M} – {end:%Y-%m-%d %H:%M} UTC"


def digest_intro(content: AlertContent) -> str:
    """A digest's first line: how many matches, of which rules, over which period."""
    rules = ", ".join(sorted({m.rule for m in content.matches}))
    count = f"{len(content.matches)} match{'es' if len(content.matches) != 1 else ''}"
    period = f", {shown_period(content.period)}" if content.period else ""
    return f"Digest: {count} ({rules}){period}"


def matched_words(match: Match) -> str:
    """The words found, each with the query word it answered where they differ ("Лаврова ← ~Lavrov")."""
    return ", ".join(sorted({explain(t) for t in match.terms}))


def shown_time(published: datetime | None) -> str:
    return published.strftime("%Y-%m-%d %H:%M UTC") if published else "time unknown"
