"""Digests: entries buffered per channel until their period ends, then one message per channel and period."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime, timedelta
from itertools import groupby

from monitor.clock import utc_now
from monitor.notify.content import encode_digest
from monitor.notify.enqueue import DEFAULT_DOMAIN, message_id
from monitor.store.outbox import FIRST, AlertKind, AlertOutbox, Outbox, OutboxItem, OutboxState

DIGEST_RULE = "digest"


def flush_digests(outbox: Outbox, now: datetime | None = None, domain: str = DEFAULT_DOMAIN,
                  periods: Mapping[str, int] | None = None) -> list[OutboxItem]:
    """Queue one digest message per channel for every period that has ended; returns the digests queued.

    ``periods``: each rule's digest period in seconds, so the message says which time it covers (without it, from
    the first entry on). Safe to call as often as one likes, and again after a crash: a period's digest row is
    unique.
    """
    now = now or utc_now()
    queued: list[OutboxItem] = []
    for (channel, end), group in groupby(outbox.due_buffered(now), key=lambda i: (i.channel, i.next_attempt_at)):
        entries = list(group)
        lengths = [periods[e.rule] for e in entries if periods and e.rule in periods]
        start = end - timedelta(seconds=max(lengths)) if lengths else min(e.created_at for e in entries)
        payload = encode_digest([json.loads(e.payload) for e in entries], start, end)
        story = end.isoformat()
        digest = outbox.store_digest(AlertOutbox(
            rule=DIGEST_RULE, story_key=story, channel=channel, version=FIRST, kind=AlertKind.DIGEST,
            payload=payload, state=OutboxState.QUEUED, created_at=now, next_attempt_at=now,
            message_id=message_id(DIGEST_RULE, story, channel, FIRST, domain),
        ), [e.id for e in entries])
        if digest is not None:
            queued.append(digest)
    return queued
