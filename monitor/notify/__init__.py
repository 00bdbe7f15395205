"""Notification: matches into the outbox, outbox to Slack and email, digests.

The pipeline calls :func:`enqueue_matches` after matching an article; the daemon calls
:meth:`Deliverer.recover` once at start, then :meth:`Deliverer.deliver` and :func:`flush_digests` on a schedule.
"""

from monitor.notify.delivery import ChannelReport, Deliverer, Sender, backoff, senders_from_settings
from monitor.notify.digest import flush_digests
from monitor.notify.enqueue import enqueue_matches, message_id, period_end

__all__ = [
    "ChannelReport", "Deliverer", "Sender", "backoff", "enqueue_matches", "flush_digests", "message_id",
    "period_end", "senders_from_settings",
]
