"""When to try again: the back-off between attempts and the server's ``Retry-After``."""

from __future__ import annotations

import email.utils
import random
from datetime import UTC, datetime

from monitor.settings import HttpSettings


def retry_after(value: str | None) -> float | None:
    """Retry-After as seconds: a number, or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    # Real time, not the injected clock (monitor.clock): the server's date is a real time, and the wait it gives is
    # counted on the client's monotonic clock from this moment on.
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def backoff_wait(settings: HttpSettings, attempt: int, rng: random.Random, asked: float | None) -> float:
    """Seconds before attempt ``attempt + 1``: exponential with jitter, capped, never shorter than the server asked."""
    wait: float = min(settings.backoff_max, settings.backoff_base * 2**attempt) * rng.uniform(0.5, 1.0)
    return wait if asked is None else max(wait, asked)
