"""From matches to outbox rows: the decision "new alert, update, digest entry, or nothing" per rule and channel.

The story key is the pipeline's to give: the store's story id links the same story on several sites, so the
unique (rule, story, channel) row stops a second "new" alert; without a story id the article key is used.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime

from monitor.clock import utc_now
from monitor.model import Match
from monitor.notify.content import encode_matches
from monitor.rules.ruleset import Rule
from monitor.store.outbox import FIRST, AlertKind, AlertOutbox, Outbox, OutboxItem, OutboxState

DEFAULT_DOMAIN = "monitor.invalid"


def message_id(rule: str, story_key: str, channel: str, version: str, domain: str = DEFAULT_DOMAIN) -> str:
    """Fixed per alert, so a resend after a crash carries the same Message-ID (mail clients drop the twin)."""
    digest = hashlib.sha256("\x1f".join((rule, story_key, channel, version)).encode()).hexdigest()[:32]
    return f"<{digest}@{domain}>"


def period_end(now: datetime, seconds: int) -> datetime:
    """End of the digest period that holds ``now`` (periods are aligned on the epoch, in UTC)."""
    stamp = int(now.timestamp())
    return datetime.fromtimestamp(stamp - stamp % seconds + seconds, UTC)


def enqueue_matches(outbox: Outbox, matches: Sequence[Match], rules: Mapping[str, Rule], *, story_key: str,
                    revision: str | None = None, now: datetime | None = None, domain: str = DEFAULT_DOMAIN
                    ) -> list[OutboxItem]:
    """Store the alerts these matches call for and return the rows created (nothing is sent here).

    ``revision`` is None for an article seen for the first time, and an id of the new version (content hash,
    revision number) when a known article changed. A rule alerts once per story and channel; on a revision it
    sends an update only when the rule says ``updates = true`` (and a rule that only now matches sends a "new").
    """
    now = now or utc_now()
    created: list[OutboxItem] = []
    for match in matches:
        rule = rules.get(match.rule)
        if rule is None:
            continue
        payload = encode_matches(match)
        for channel in rule.channels:
            digest = rule.mode == "digest"
            state = OutboxState.BUFFERED if digest else OutboxState.QUEUED
            due = period_end(now, rule.period) if digest else now
            first = outbox.enqueue(AlertOutbox(
                rule=rule.name, story_key=story_key, channel=channel, version=FIRST, kind=AlertKind.NEW,
                article_key=match.article_key, payload=payload, state=state, created_at=now, next_attempt_at=due,
                message_id=message_id(rule.name, story_key, channel, FIRST, domain),
            ))
            if first is not None:
                created.append(first)
                continue
            if not (revision and rule.updates):
                continue
            original = outbox.find(rule.name, story_key, channel)
            update = outbox.enqueue(AlertOutbox(
                rule=rule.name, story_key=story_key, channel=channel, version=revision, kind=AlertKind.UPDATE,
                article_key=match.article_key, payload=payload, state=state, created_at=now,
                next_attempt_at=due, message_id=message_id(rule.name, story_key, channel, revision, domain),
                thread_id=original.message_id if original else None,
            ))
            if update is not None:
                created.append(update)
    return created
