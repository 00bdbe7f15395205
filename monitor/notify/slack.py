"""Slack incoming webhooks: a Block Kit message per alert, and the sender that posts it.

Article text is escaped (``&``, ``<``, ``>``), which is all Slack needs to treat it as text: without ``<`` no
``<!channel>``, ``<!here>``, ``<@U123>`` or ``<http://...|link>`` can be formed, and ``link_names`` stays off so a
bare "@channel" in an article is just words.
"""

from __future__ import annotations

from typing import Any

import httpx

from monitor.errors import DeliveryError
from monitor.model import Match
from monitor.notify.content import AlertContent, content_of, shown_time
from monitor.rules.highlight import explain, mark
from monitor.settings import secret
from monitor.store.outbox import OutboxItem

MAX_DIGEST_ENTRIES = 40  # Slack allows 50 blocks per message


def escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _link(match: Match) -> str:
    # Neither the URL nor the label may close the link early or start another.
    url = escape(match.url).replace("|", "%7C")
    return f"<{url}|{escape(match.headline).replace('|', '¦')}>" if url else escape(match.headline)


def _snippet(match: Match) -> str:
    # Highlight with bold; the snippet is article text, so it is escaped first (mark escapes every piece).
    text = mark(match.snippet, match.highlights, "*", "*", escape)
    return "> " + text if text else ""


def slack_payload(content: AlertContent) -> dict[str, Any]:
    if content.is_digest:
        return _digest_payload(content)
    match = content.matches[0]
    label = content.label
    terms = ", ".join(sorted({escape(explain(t)) for t in match.terms}))
    about = f"{escape(match.site)} · {shown_time(match.published)}"
    about += " · source health" if content.is_operations else f" · rule *{escape(match.rule)}* · matched: {terms}"
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": f"*{label}:* *{_link(match)}*"}},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": about}]},
    ]
    if match.snippet:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": _snippet(match)}})
    return {
        "text": f"{label}: {escape(match.headline)} ({escape(match.site)}, rule {escape(match.rule)})",
        "blocks": blocks,
        "unfurl_links": False,
        "unfurl_media": False,
    }


def _digest_payload(content: AlertContent) -> dict[str, Any]:
    shown = content.matches[:MAX_DIGEST_ENTRIES]
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": f"Digest: {len(content.matches)} matches"}},
    ]
    for match in shown:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text":
            f"*{_link(match)}*\n{escape(match.site)} · {shown_time(match.published)} · rule *{escape(match.rule)}*"}})
    if len(content.matches) > len(shown):
        blocks.append({"type": "context", "elements": [
            {"type": "mrkdwn", "text": f"and {len(content.matches) - len(shown)} more"}]})
    return {"text": f"Digest: {len(content.matches)} matches", "blocks": blocks, "unfurl_links": False}


class SlackSender:
    """Posts to the webhook URL held in an environment variable. Errors become :class:`DeliveryError`:
    429 carries Retry-After, other 4xx are permanent (bad URL, revoked hook), 5xx and timeouts are transient."""

    def __init__(self, webhook_url_env: str, timeout: float, client: httpx.Client | None = None) -> None:
        self.webhook_url_env = webhook_url_env
        self.timeout = timeout
        self.client = client

    def send(self, item: OutboxItem) -> str | None:
        url = secret(self.webhook_url_env)
        if not url:
            raise DeliveryError(f"slack: environment variable {self.webhook_url_env} is not set")
        payload = slack_payload(content_of(item))
        client = self.client or httpx.Client(timeout=self.timeout)
        try:
            response = client.post(url, json=payload, timeout=self.timeout)
        except httpx.TimeoutException:
            raise DeliveryError(f"slack: no answer within {self.timeout:g}s") from None
        except httpx.HTTPError as exc:
            raise DeliveryError(f"slack: {type(exc).__name__}: {exc}") from None
        finally:
            if self.client is None:
                client.close()
        if response.status_code == 200:
            return None
        detail = response.text[:200].strip()
        if response.status_code == 429:
            raise DeliveryError(f"slack: 429 rate limited {detail}".strip(),
                                retry_after=_retry_after(response.headers.get("Retry-After")))
        permanent = 400 <= response.status_code < 500
        raise DeliveryError(f"slack: HTTP {response.status_code} {detail}".strip(), permanent=permanent)


def _retry_after(value: str | None) -> float:
    try:
        return max(1.0, float(value)) if value else 30.0
    except ValueError:
        return 30.0
