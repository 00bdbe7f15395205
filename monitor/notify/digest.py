"""Digests: entries buffered per channel until their period ends, then one message per channel and period."""

from __future__ import annotations

import json
from datetime import datetime
from itertools import groupby

from sqlalchemy.engine import Engine

from monitor.notify.enqueue import DEFAULT_DOMAIN, message_id
from monitor.store.outbox import (
    FIRST,
    AlertKind,
    AlertOutbox,
    OutboxItem,
    OutboxState,
    due_buffered,
    now_utc,
    store_digest,
)

DIGEST_RULE = "digest"


def flush_digests(engine: Engine, now: datetime | None = None, domain: str = DEFAULT_DOMAIN) -> list[OutboxItem]:
    """Queue one digest message per channel for every period that has ended; returns the digests queued.

    Safe to call as often as one likes, and again after a crash: a period's digest row is unique.
    """
    now = now or now_utc()
    queued: list[OutboxItem] = []
    for (channel, end), group in groupby(due_buffered(engine, now), key=lambda i: (i.channel, i.next_attempt_at)):
        entries = list(group)
        payload = json.dumps([json.loads(e.payload) for e in entries], ensure_ascii=False)
        story = end.isoformat()
        digest = store_digest(engine, AlertOutbox(
            rule=DIGEST_RULE, story_key=story, channel=channel, version=FIRST, kind=AlertKind.DIGEST,
            payload=payload, state=OutboxState.QUEUED, created_at=now, next_attempt_at=now,
            message_id=message_id(DIGEST_RULE, story, channel, FIRST, domain),
        ), [e.id for e in entries])
        if digest is not None:
            queued.append(digest)
    return queued
