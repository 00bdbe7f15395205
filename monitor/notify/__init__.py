"""Notification: matches into the outbox, outbox to Slack and email, digests.

:class:`AlertService` is the one entry point: the pipeline calls ``on_article`` for every new or revised article;
the daemon builds it with ``from_settings`` (which refuses an invalid rule file), calls ``recover`` once at start,
then ``deliver`` and ``flush_digests`` on a schedule; ``monitor status`` shows ``status``.
"""

from monitor.notify.delivery import ChannelReport, Deliverer, Sender, backoff, senders_from_settings
from monitor.notify.digest import flush_digests
from monitor.notify.enqueue import enqueue_matches, message_id, period_end
from monitor.notify.service import AlertService, load_rule_file

__all__ = [
    "AlertService", "ChannelReport", "Deliverer", "Sender", "backoff", "enqueue_matches", "flush_digests",
    "load_rule_file", "message_id", "period_end", "senders_from_settings",
]
