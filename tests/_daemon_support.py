"""Shared pieces of the daemon tests: a controlled clock, a LocalSite snapshot with a feed that grows between polls,
article pages the shipped Lavrov/Ukraine rule alerts on, and settings wiring them to local Slack and SMTP sinks."""

from __future__ import annotations

import email.utils
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from monitor.settings import (
    AlertsSettings,
    DaemonSettings,
    DeliverySettings,
    EmailChannel,
    HttpSettings,
    Settings,
    SlackChannel,
    SourceSettings,
    StorageSettings,
)
from tests._synth import HOST, SLUG, article_id, article_path, article_url, synth_page

ROOT = Path(__file__).resolve().parent.parent
SEEDS = Path(__file__).parent / "fixtures" / "seeds"
FEED_PATH = "/api/zlavrovua"
FEED_URL = f"https://{HOST}{FEED_PATH}"
SEED_URL = "https://www.rferl.org/a/tillerson-lavrov-meeting-osce-ukraine/28902747.html"
SEED_FEED_URL = "https://www.rferl.org/api/zrqiteuuir"
START = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)


class Clock:
    """The daemon's wall clock, moved by the test."""

    def __init__(self, now: datetime = START) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


def lavrov_page(n: int, *, edit: int = 0) -> str:
    """Synthetic article ``n`` whose headline the shipped rule matches (each one its own story)."""
    page = synth_page(n, edit=edit)
    marker = f"story {n} edit {edit}"
    assert marker in page
    return page.replace(marker, f"Lavrov on Ukraine: {marker}")


def rss(items: list[tuple[str, str, datetime]], *, title: str = "Lavrov watch") -> str:
    body = "".join(
        f"<item><title>{headline}</title><link>{url}</link><guid>{url}</guid>"
        f"<pubDate>{email.utils.format_datetime(when)}</pubDate></item>"
        for url, headline, when in items
    )
    return (f'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>{title}</title>'
            f"<link>https://{HOST}/</link><description>test feed</description>{body}</channel></rss>")


@dataclass
class Snapshot:
    """A LocalSite snapshot: synthetic articles of www.voanews.com listed in one feed that grows between polls."""

    root: Path
    clock: Clock
    items: list[tuple[str, str, datetime]] = field(default_factory=list)

    def __post_init__(self) -> None:
        (self.root / HOST).mkdir(parents=True, exist_ok=True)

    def add(self, *numbers: int) -> list[str]:
        """Put articles ``numbers`` on the site and at the top of the feed (published now); returns their URLs."""
        folder = self.root / HOST / "a" / SLUG
        folder.mkdir(parents=True, exist_ok=True)
        urls = []
        for n in numbers:
            (folder / f"{article_id(n)}.html").write_text(lavrov_page(n), encoding="utf-8")
            self.items.insert(0, (article_url(n), f"Lavrov on Ukraine {n}", self.clock()))
            urls.append(article_url(n))
        self.write_feed()
        return urls

    def write_feed(self, body: str | None = None) -> None:
        path = self.root / HOST / FEED_PATH.lstrip("/")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(rss(self.items) if body is None else body, encoding="utf-8")

    def add_seed(self) -> None:
        """The real RFE/RL seed page (Tillerson and Lavrov on Ukraine) in an rferl feed."""
        page = self.root / "www.rferl.org" / "a" / "tillerson-lavrov-meeting-osce-ukraine" / "28902747.html"
        page.parent.mkdir(parents=True, exist_ok=True)
        page.write_bytes((SEEDS / "000_6f1a1f6774c517d9.source.html").read_bytes())
        feed = self.root / "www.rferl.org" / "api" / "zrqiteuuir"
        feed.parent.mkdir(parents=True, exist_ok=True)
        feed.write_text(rss([(SEED_URL, "Tillerson, Lavrov End Vienna Talks", self.clock())]), encoding="utf-8")


def source(**changes: Any) -> SourceSettings:
    values: dict[str, Any] = {"name": "voa", "site": HOST, "feeds": [FEED_URL], "interval": 60.0, "jitter": 0.0,
                              "quiet_hours": 24.0}
    values.update(changes)
    return SourceSettings(**values)


def settings(tmp: Path, host_map: dict[str, str], *, sources: list[SourceSettings] | None = None,
             smtp_port: int | None = None, daemon: dict[str, Any] | None = None, **http: Any) -> Settings:
    """Fast, local settings: no retries worth waiting for, no fsync, Slack (operations too) and optionally email."""
    channels: dict[str, SlackChannel | EmailChannel] = {
        "slack": SlackChannel(type="slack", webhook_url_env="MONITOR_SLACK_WEBHOOK_URL")}
    if smtp_port is not None:
        channels["email"] = EmailChannel(type="email", host="127.0.0.1", port=smtp_port, security="none",
                                         username_env=None, password_env=None, recipients=["analysts@example.org"])
    http_values: dict[str, Any] = {"host_map": host_map, "min_delay": 0.0, "retries": 0, "backoff_base": 0.01,
                                   "backoff_max": 1.0, "host_failures": 1000, "read_timeout": 5.0}
    http_values.update(http)
    return Settings(
        http=HttpSettings(**http_values),
        storage=StorageSettings(archive_root=tmp / "archive", fsync=False),
        alerts=AlertsSettings(rules_file=ROOT / "config" / "rules.toml", channels=channels,
                              operations_channel="slack",
                              delivery=DeliverySettings(backoff_base=0.0, backoff_max=0.0, timeout=5.0)),
        daemon=DaemonSettings(**{"failures_before_alert": 3, **(daemon or {})}),
        sources=sources if sources is not None else [source()],
    )


__all__ = ["FEED_URL", "SEED_FEED_URL", "SEED_URL", "START", "Clock", "Snapshot", "article_path", "lavrov_page",
           "settings", "source"]
