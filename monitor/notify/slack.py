"""Slack incoming webhooks: a Block Kit message per alert, and the sender that posts it.

Article text is escaped (``&``, ``<``, ``>``), which is all Slack needs to treat it as text: without ``<`` no
``<!channel>``, ``<!here>``, ``<@U123>`` or ``<http://...|link>`` can be formed, and ``link_names`` stays off so a
bare "@channel" in an article is just words.
"""

from __future__ import annotations

from typing import Any

import httpx

from monitor.errors import ChannelConfigError, DeliveryError
from monitor.model import Match
from monitor.notify.content import AlertContent, content_of, matched_words, shown_period, shown_time
from monitor.rules.highlight import mark
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
    terms = escape(matched_words(match))
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
    title = f"Digest: {len(content.matches)} matches"
    blocks: list[dict[str, Any]] = [{"type": "header", "text": {"type": "plain_text", "text": title}}]
    if content.period:
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": shown_period(content.period)}]})
    for match in shown:
        lines = [f"*{_link(match)}*",
                 f"{escape(match.site)} · {shown_time(match.published)} · rule *{escape(match.rule)}*"
                 + (f" · matched: {escape(matched_words(match))}" if match.terms else "")]
        snippet = _snippet(match)
        if snippet:
            lines.append(snippet)
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(lines)}})
    if len(content.matches) > len(shown):
        blocks.append({"type": "context", "elements": [
            {"type": "mrkdwn", "text": f"and {len(content.matches) - len(shown)} more"}]})
    period = f" ({shown_period(content.period)})" if content.period else ""
    return {"text": title + period, "blocks": blocks, "unfurl_links": False}


class SlackSender:
    """Posts to the webhook URL held in an environment variable. Errors become :class:`DeliveryError`: 429 carries
    Retry-After, 5xx and timeouts are transient, other 4xx permanent; a missing or invalid URL and a hook Slack no
    longer knows (403, 404, 410) are the channel's configuration (:class:`ChannelConfigError`)."""

    def __init__(self, webhook_url_env: str, timeout: float, client: httpx.Client | None = None) -> None:
        self.webhook_url_env = webhook_url_env
        self.timeout = timeout
        self.client = client

    def send(self, item: OutboxItem) -> str | None:
        where = f"Slack webhook (${self.webhook_url_env})"
        url = secret(self.webhook_url_env)
        if not url:
            raise ChannelConfigError(f"{where}: the environment variable is not set")
        try:
            parsed = httpx.URL(url)
        except httpx.InvalidURL as exc:
            raise ChannelConfigError(f"{where}: not a valid URL: {exc}") from None
        if parsed.scheme not in ("http", "https") or not parsed.host:
            # The URL is a secret: say what is wrong with it, never what it is.
            raise ChannelConfigError(f"{where}: not an http(s) URL with a host")
        payload = slack_payload(content_of(item))
        client = self.client or httpx.Client(timeout=self.timeout)
        try:
            response = client.post(parsed, json=payload, timeout=self.timeout)
        except httpx.TimeoutException:
            raise DeliveryError(f"{where}: no answer within {self.timeout:g}s") from None
        except httpx.HTTPError as exc:
            raise DeliveryError(f"{where}: {type(exc).__name__}: {exc}") from None
        finally:
            if self.client is None:
                client.close()
        if response.status_code == 200:
            return None
        detail = response.text[:200].strip()
        if response.status_code == 429:
            raise DeliveryError(f"{where}: 429 rate limited {detail}".strip(),
                                retry_after=_retry_after(response.headers.get("Retry-After")))
        if response.status_code in (403, 404, 410):
            raise ChannelConfigError(f"{where}: HTTP {response.status_code} {detail}".strip())
        permanent = 400 <= response.status_code < 500
        raise DeliveryError(f"{where}: HTTP {response.status_code} {detail}".strip(), permanent=permanent)


def _retry_after(value: str | None) -> float:
    try:
        return max(1.0, float(value)) if value else 30.0
    except ValueError:
        return 30.0
