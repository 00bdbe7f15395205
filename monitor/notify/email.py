"""Email over SMTP: a multipart text + HTML message per alert, with a stable Message-ID and, for an update,
In-Reply-To/References pointing at the first alert so mail clients thread the story."""

from __future__ import annotations

import html
import smtplib
import ssl
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

from monitor.clock import Clock, utc_now
from monitor.errors import ChannelConfigError, DeliveryError
from monitor.loopback import is_loopback
from monitor.model import Match
from monitor.notify.content import AlertContent, content_of, digest_intro, matched_words, shown_time
from monitor.rules.highlight import mark
from monitor.settings import EmailChannel, secret
from monitor.store.outbox import OutboxItem


def _text_entry(match: Match) -> str:
    lines = [match.headline, match.url, f"{match.site} · {shown_time(match.published)} · rule {match.rule}"]
    if match.terms:
        lines.append("matched: " + matched_words(match))
    if match.snippet:
        lines.append("")
        lines.append(mark(match.snippet, match.highlights, "[", "]"))
    return "\n".join(lines)


def _html_entry(match: Match) -> str:
    esc = html.escape
    snippet = mark(match.snippet, match.highlights, "<mark>", "</mark>", esc) if match.snippet else ""
    matched = f" · matched: {esc(matched_words(match))}" if match.terms else ""
    return (
        f'<h3><a href="{esc(match.url)}">{esc(match.headline)}</a></h3>'
        f"<p>{esc(match.site)} · {esc(shown_time(match.published))} · rule <b>{esc(match.rule)}</b>{matched}</p>"
        + (f"<blockquote>{snippet}</blockquote>" if snippet else "")
    )


def build_email(content: AlertContent, sender: str, recipients: list[str], date: datetime | None = None
                ) -> EmailMessage:
    """``date``: when the message is sent (the ``Date`` header; a resend carries its own)."""
    message = EmailMessage()
    message["Subject"] = content.subject
    message["From"] = sender
    message["To"] = ", ".join(recipients)
    message["Message-ID"] = content.message_id
    message["Date"] = format_datetime(date or utc_now())
    # RFC 3834: a machine wrote this; vacation responders and auto-forwarders must not answer it.
    message["Auto-Submitted"] = "auto-generated"
    if content.thread_id:
        message["In-Reply-To"] = content.thread_id
        message["References"] = content.thread_id
    intro = {"update": "Updated article"}.get(content.kind, "New article")
    if content.is_digest:
        intro = digest_intro(content)
    if content.is_operations:
        intro = "Operations: source health"
    text = intro + "\n\n" + "\n\n---\n\n".join(_text_entry(m) for m in content.matches) + "\n"
    body = "".join(_html_entry(m) for m in content.matches)
    message.set_content(text)
    message.add_alternative(f"<html><body><p>{html.escape(intro)}</p>{body}</body></html>", subtype="html")
    return message


def tls_context(ca_file: Path | None) -> ssl.SSLContext:
    """The system's trusted CAs, plus ``ca_file`` when given (an extra bundle, e.g. a company CA)."""
    context = ssl.create_default_context()
    if ca_file is not None:
        try:
            context.load_verify_locations(cafile=str(ca_file))
        except (OSError, ssl.SSLError) as exc:
            raise ChannelConfigError(f"ca_file {ca_file}: cannot load: {exc}") from None
    return context


#: Mechanisms in the order smtplib prefers them; one is tried, not each in turn: a wrong password is then refused
#: once per round, not once per mechanism (a mail server counts every refusal towards a lockout).
_MECHANISMS = ("CRAM-MD5", "PLAIN", "LOGIN")


def _login(smtp: smtplib.SMTP, username: str, password: str, where: str) -> None:
    if not smtp.has_extn("auth"):
        raise ChannelConfigError(f"{where} does not offer AUTH, but the channel has a user name and password")
    offered = smtp.esmtp_features["auth"].upper().split()
    mechanism = next((m for m in _MECHANISMS if m in offered), None)
    if mechanism is None:
        raise ChannelConfigError(f"{where} offers no AUTH mechanism the monitor knows ({' '.join(offered)})")
    smtp.user, smtp.password = username, password
    # The same bound methods smtplib.SMTP.login picks by name.
    smtp.auth(mechanism, getattr(smtp, "auth_" + mechanism.lower().replace("-", "_")))


class EmailSender:
    """Sends through the configured SMTP server; the user name and password come only from the environment.

    What no retry can mend is a :class:`ChannelConfigError`: a refused login, a certificate that is not trusted,
    a server without STARTTLS or AUTH, credentials that would travel unencrypted to a host that is not loopback.
    """

    def __init__(self, channel: EmailChannel, timeout: float, clock: Clock = utc_now) -> None:
        self.channel = channel
        self.timeout = timeout
        self.clock = clock

    def send(self, item: OutboxItem) -> str | None:
        channel = self.channel
        where = f"SMTP {channel.host}:{channel.port}"
        if not channel.recipients:
            raise ChannelConfigError(f"{where}: the channel has no recipients")
        username, password = secret(channel.username_env), secret(channel.password_env)
        login = bool(username and password)
        if login and channel.security == "none" and not is_loopback(channel.host):
            raise ChannelConfigError(f'{where}: security = "none" would send the password unencrypted; '
                                     'use "starttls" or "tls" (plain login is allowed to a loopback host only)')
        context = tls_context(channel.ca_file) if channel.security != "none" else None
        message = build_email(content_of(item), channel.sender, channel.recipients, self.clock())
        try:
            smtp: smtplib.SMTP
            if channel.security == "tls":
                smtp = smtplib.SMTP_SSL(channel.host, channel.port, timeout=self.timeout, context=context)
            else:
                smtp = smtplib.SMTP(channel.host, channel.port, timeout=self.timeout)
            with smtp:
                if channel.security == "starttls":
                    smtp.ehlo()
                    if not smtp.has_extn("starttls"):
                        raise ChannelConfigError(f'{where} does not offer STARTTLS (security = "starttls")')
                    smtp.starttls(context=context)
                if login:
                    assert username is not None and password is not None
                    smtp.ehlo_or_helo_if_needed()
                    _login(smtp, username, password, where)
                refused = smtp.send_message(message, from_addr=channel.sender, to_addrs=channel.recipients)
        except ChannelConfigError:
            raise
        except smtplib.SMTPRecipientsRefused as exc:
            raise DeliveryError(f"{where} refused every recipient: {exc.recipients}", permanent=True) from None
        except smtplib.SMTPAuthenticationError as exc:
            raise ChannelConfigError(f"{where} refused the login ({exc.smtp_code})") from None
        except ssl.SSLCertVerificationError as exc:
            raise ChannelConfigError(f"{where}: certificate not trusted: {exc.verify_message} (add its CA with "
                                     "ca_file)") from None
        except ssl.SSLError as exc:
            raise ChannelConfigError(f"{where}: TLS failed ({exc.reason or exc}); check security and port") from None
        except smtplib.SMTPResponseException as exc:
            permanent = 500 <= exc.smtp_code < 600
            raise DeliveryError(f"{where} answered {exc.smtp_code} {exc.smtp_error!r}", permanent=permanent) from None
        except (smtplib.SMTPException, OSError) as exc:
            raise DeliveryError(f"{where}: {type(exc).__name__}: {exc}") from None
        if refused:
            # Some recipients took it; a resend would duplicate it for them, so this counts as sent.
            return f"{item.message_id} (refused: {', '.join(sorted(refused))})"
        return item.message_id
