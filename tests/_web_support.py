"""A small archive for the web tests, made by the real pipeline from synthetic pages: a hostile headline, an
article with two revisions, a near-duplicate story, a dead alert; and the settings that point at it."""

from __future__ import annotations

import html
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from monitor.archive import Archive
from monitor.ingest import ingest_page
from monitor.model import Match, MatchedTerm
from monitor.services import utc_now
from monitor.settings import Settings, StorageSettings, WebSettings
from monitor.sites import default_registry
from monitor.store import Store
from monitor.store.outbox import AlertOutbox, Outbox
from tests._synth import article_url, synth_page

HOSTILE = '<script>alert("pwned")</script> Lavrov & <b>bold</b>'
RULES = """
[[rule]]
name = "lavrov"
query = "title:Lavrov"
channels = ["slack"]

[[rule]]
name = "stories"
query = "story"
channels = ["slack"]
"""
NOW = datetime.now(UTC).replace(microsecond=0)


@dataclass
class WebArchive:
    root: Path
    settings: Settings
    keys: list[str]  # keys[0]: the hostile headline, keys[1]: two revisions
    dead_id: int


def _page(n: int, edit: int = 0, headline: str | None = None) -> str:
    page = synth_page(n, edit=edit)
    if headline is not None:
        page = page.replace(f"story {n} edit {edit}", html.escape(headline))
    return page


def build_archive(root: Path, *, count: int = 6, page_size: int = 2, max_page: int = 3,
                  url: str | None = None) -> WebArchive:
    """``count`` articles (newest: article 0, with the hostile headline), article 1 revised once, and a dead alert."""
    rules = root / "rules.toml"
    rules.parent.mkdir(parents=True, exist_ok=True)
    rules.write_text(RULES, encoding="utf-8")
    storage = StorageSettings(url=url, archive_root=root / "archive", fsync=False)
    settings = Settings(storage=storage, web=WebSettings(page_size=page_size, max_page=max_page),
                        alerts={"rules_file": rules},  # type: ignore[arg-type]
                        sources=[{"name": "voa", "site": "www.voanews.com"}])  # type: ignore[list-item]
    registry = default_registry()
    keys: list[str] = []
    with Store.open(storage) as store:
        archive = Archive(storage.archive_root, fsync=False)
        # Oldest first: every synthetic page has the same publication time, so the later stored comes first.
        for n in reversed(range(count)):
            headline = HOSTILE if n == 0 else None
            result = ingest_page(store, archive, registry, _page(n, headline=headline), article_url(n),
                                 fetched_at=NOW - timedelta(days=n), clock=utc_now)
            keys.insert(0, result.article.key)
        revised = ingest_page(store, archive, registry, _page(1, edit=1), article_url(1),
                              fetched_at=NOW - timedelta(hours=12), clock=utc_now)
        assert revised.status == "revised", revised.status
        match = Match(rule="stories", article_key=keys[1], url=article_url(1), headline=revised.article.headline,
                      site=revised.article.site, published=None,
                      terms=(MatchedTerm("story", "title", 0, 5, "story"),), snippet="a story <i>snippet</i>",
                      highlights=((2, 7),))
        item = Outbox(store.engine).enqueue(AlertOutbox(
            rule="stories", story_key=keys[1], channel="slack", kind="new", article_key=keys[1],
            payload=json.dumps(match.to_json()), state="dead", attempts=8, created_at=NOW, next_attempt_at=NOW,
            last_error="HTTP 500 from the webhook", message_id="<m1@example.org>"))
        assert item is not None
    return WebArchive(root, settings, keys, item.id)
