"""Email over SMTP: a multipart text + HTML message per alert, with a stable Message-ID and, for an update,
In-Reply-To/References pointing at the first alert so mail clients thread the story."""

from __future__ import annotations

import html
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import format_datetime

from monitor.errors import DeliveryError
from monitor.model import Match
from monitor.notify.content import AlertContent, content_of, shown_time
from monitor.rules.highlight import explain, mark
from monitor.settings import EmailChannel, secret
from monitor.store.outbox import OutboxItem


def _text_entry(match: Match) -> str:
    lines = [match.headline, match.url, f"{match.site} · {shown_time(match.published)} · rule {match.rule}"]
    if match.terms:
        lines.append("matched: " + ", ".join(sorted({explain(t) for t in match.terms})))
    if match.snippet:
        lines.append("")
        lines.append(mark(match.snippet, match.highlights, "[", "]"))
    return "\n".join(lines)


def _html_entry(match: Match) -> str:
    esc = html.escape
    snippet = mark(match.snippet, match.highlights, "<mark>", "</mark>", esc) if match.snippet else ""
    return (
        f'<h3><a href="{esc(match.url)}">{esc(match.headline)}</a></h3>'
        f"<p>{esc(match.site)} · {esc(shown_time(match.published))} · rule <b>{esc(match.rule)}</b></p>"
        + (f"<blockquote>{snippet}</blockquote>" if snippet else "")
    )


def build_email(content: AlertContent, sender: str, recipients: list[str], sent: OutboxItem | None = None
                ) -> EmailMessage:
    message = EmailMessage()
    message["Subject"] = content.subject
    message["From"] = sender
    message["To"] = ", ".join(recipients)
    message["Message-ID"] = content.message_id
    if sent is not None:
        message["Date"] = format_datetime(sent.created_at)
    if content.thread_id:
        message["In-Reply-To"] = content.thread_id
        message["References"] = content.thread_id
    intro = {"update": "Updated article", "digest": f"{len(content.matches)} matches"}.get(content.kind, "New article")
    if content.is_operations:
        intro = "Operations: source health"
    text = intro + "\n\n" + "\n\n---\n\n".join(_text_entry(m) for m in content.matches) + "\n"
    body = "".join(_html_entry(m) for m in content.matches)
    message.set_content(text)
    message.add_alternative(f"<html><body><p>{html.escape(intro)}</p>{body}</body></html>", subtype="html")
    return message


class EmailSender:
    """Sends through the configured SMTP server; the user name and password come only from the environment."""

    def __init__(self, channel: EmailChannel, timeout: float) -> None:
        self.channel = channel
        self.timeout = timeout

    def send(self, item: OutboxItem) -> str | None:
        channel = self.channel
        if not channel.recipients:
            raise DeliveryError("email: the channel has no recipients", permanent=True)
        message = build_email(content_of(item), channel.sender, channel.recipients, item)
        where = f"{channel.host}:{channel.port}"
        try:
            context = ssl.create_default_context(cafile=str(channel.ca_file) if channel.ca_file else None)
            smtp: smtplib.SMTP
            if channel.security == "tls":
                smtp = smtplib.SMTP_SSL(channel.host, channel.port, timeout=self.timeout, context=context)
            else:
                smtp = smtplib.SMTP(channel.host, channel.port, timeout=self.timeout)
            with smtp:
                if channel.security == "starttls":
                    smtp.starttls(context=context)
                username, password = secret(channel.username_env), secret(channel.password_env)
                if username and password:
                    smtp.login(username, password)
                refused = smtp.send_message(message, from_addr=channel.sender, to_addrs=channel.recipients)
        except smtplib.SMTPRecipientsRefused as exc:
            raise DeliveryError(f"email: {where} refused every recipient: {exc.recipients}", permanent=True) from None
        except smtplib.SMTPAuthenticationError as exc:
            raise DeliveryError(f"email: {where} refused the login ({exc.smtp_code})", permanent=True) from None
        except smtplib.SMTPResponseException as exc:
            permanent = 500 <= exc.smtp_code < 600
            raise DeliveryError(f"email: {where} answered {exc.smtp_code} {exc.smtp_error!r}",
                                permanent=permanent) from None
        except (smtplib.SMTPException, OSError) as exc:
            raise DeliveryError(f"email: {where}: {type(exc).__name__}: {exc}") from None
        if refused:
            # Some recipients took it; a resend would duplicate it for them, so this counts as sent.
            return f"{item.message_id} (refused: {', '.join(sorted(refused))})"
        return item.message_id
