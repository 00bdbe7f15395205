"""Deduplication on real fixture pages: one article per key whatever URL reached it, a revision per distinct text,
near-duplicates across sites in one story; on SQLite, and on PostgreSQL when MONITOR_TEST_DATABASE_URL is set."""

from __future__ import annotations

import gzip
import json
import re
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from monitor.ingest import Failure, IngestResult, Page, ingest_page, ingest_urls
from monitor.services import utc_now
from monitor.urls import canonical_url
from tests._store_support import Env, env_fixture, pg_url_fixture  # noqa: F401  (fixtures)

PAGES = Path(__file__).parent / "fixtures" / "pages"
VOA = PAGES / "pangea" / "voa_en_2024-04-28_child-care-crisis_7585813"
DW = PAGES / "dw" / "dw_en_newgen_2026-06-14_germany-world-cup-curacao_a-77538843"
SVOBODA = PAGES / "pangea" / "radiosvoboda_uk_2025-12-22_news-rosia-ataka-droniv_33629716"
T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


def page(stem: Path) -> tuple[str, str]:
    url = json.loads(stem.with_suffix(".expect.json").read_text(encoding="utf-8"))["url"]
    return stem.with_suffix(".html").read_text(encoding="utf-8"), url


def archive_files(env: Env) -> list[str]:
    return sorted(env.archive.files())


def ingest(env: Env, html: str, url: str, at: datetime = T0) -> IngestResult:
    return ingest_page(env.store, env.archive, env.registry, html, url, at, clock=utc_now)


def test_new_article_is_archived_with_its_raw_html(env: Env) -> None:
    html, url = page(VOA)
    result = ingest(env, html, url)
    assert result.status == "new" and result.article.key == "voanews.com:7585813"
    assert result.revision is not None and result.revision.number == 0
    path = result.revision.text_path
    assert re.fullmatch(r"voanews\.com/2024/04/28/000_[0-9a-f]{16}\.txt", path)
    text = env.archive.read_text(path)
    assert text == VOA.with_suffix(".expected.txt").read_text(encoding="utf-8")
    assert not text.endswith("\n") and "\r" not in text and "\n\n\n" not in text
    raw = gzip.decompress(env.archive.path(path.replace(".txt", ".html.gz")).read_bytes())
    assert raw.decode("utf-8-sig") == html
    assert env.store.counts() == {"articles": 1, "revisions": 1, "stories": 1, "urls": 1}


def test_same_page_again_is_nothing_new(env: Env) -> None:
    html, url = page(VOA)
    ingest(env, html, url)
    files = archive_files(env)
    again = ingest(env, html, url, T0.replace(hour=13))
    assert again.status == "seen" and again.revision is not None and again.revision.number == 0
    assert archive_files(env) == files
    assert env.store.counts()["revisions"] == 1
    stored = env.store.article("voanews.com:7585813")
    assert stored is not None and stored.last_seen == T0.replace(hour=13)


@pytest.mark.parametrize(
    "variant",
    [
        "https://www.voanews.com/a/america-s-child-care-crisis-is-holding-back-moms-without-college-degrees-/7585813.html"
        "?utm_source=twitter&utm_medium=social",  # tracking parameters
        "http://www.voanews.com/a/america-s-child-care-crisis-is-holding-back-moms-without-college-degrees-/7585813.html",
        "https://m.voanews.com/a/america-s-child-care-crisis-is-holding-back-moms-without-college-degrees-/7585813.html",
        "https://www.voanews.com/amp/america-s-child-care-crisis-is-holding-back-moms-without-college-degrees-/7585813.html",
        "https://www.voanews.com/a/an-earlier-headline-slug/7585813.html",  # slug changed
        "https://voanews.com/a/7585813.html#comments",
    ],
    ids=["tracking", "http", "mobile", "amp", "slug", "bare-fragment"],
)
def test_other_urls_of_the_same_article_are_one_article(env: Env, variant: str) -> None:
    html, url = page(VOA)
    first = ingest(env, html, url)
    assert env.store.seen_url(canonical_url(variant)) in (None, first.article.key)
    again = ingest(env, html, variant)
    assert again.status == "seen" and again.article.key == first.article.key
    assert env.store.seen_url(canonical_url(variant)) == "voanews.com:7585813"
    assert env.store.counts()["articles"] == 1 and env.store.counts()["revisions"] == 1
    assert len(archive_files(env)) == 2  # one text, one raw


def test_dw_feed_marker_and_short_link_are_the_same_article(env: Env) -> None:
    html, url = page(DW)
    assert ingest(env, html, url + "?maca=en-rss-en-all-1573-rdf").status == "new"
    short = "https://p.dw.com/p/5FLOV"
    fetched: list[str] = []

    def fetch(asked: str) -> Page:  # the HTTP client follows the short link to the article
        fetched.append(asked)
        return Page(url=asked, final_url=url, html=html)

    outcomes = list(ingest_urls(env.store, env.archive, env.registry, [short], fetch, clock=utc_now))
    assert [o.status for o in outcomes if isinstance(o, IngestResult)] == ["seen"]
    assert env.store.seen_url(canonical_url(short)) == "dw.com:a-77538843"
    # Known now: the next candidate list naming the short link costs no request.
    assert list(ingest_urls(env.store, env.archive, env.registry, [short, url], fetch, clock=utc_now)) == []
    assert fetched == [short]
    assert env.store.counts()["articles"] == 1


def test_changed_text_is_a_revision_and_the_old_text_stays(env: Env) -> None:
    html, url = page(VOA)
    first = ingest(env, html, url)
    assert first.revision is not None
    old_text = env.archive.read_text(first.revision.text_path)
    edited = html.replace("finally landed one she loved", "finally landed a job she loved")
    second = ingest(env, edited, url, T0.replace(hour=14))
    assert second.status == "revised" and second.is_update
    assert second.revision is not None and second.revision.number == 1
    assert second.revision.text_path == first.revision.text_path.replace("000_", "001_")
    assert "a job she loved" in env.archive.read_text(second.revision.text_path)
    assert env.archive.read_text(first.revision.text_path) == old_text
    assert second.story_key == first.story_key  # an update alerts within its story
    # The latest text served again is nothing new; a further edit is.
    assert ingest(env, edited, url).status == "seen"
    third = ingest(env, edited.replace("a job she loved", "the job she loved"), url)
    assert third.status == "revised" and third.revision is not None and third.revision.number == 2
    assert [r.number for r in env.store.revisions("voanews.com:7585813")] == [0, 1, 2]
    assert env.store.counts()["articles"] == 1


def test_near_duplicates_across_sites_share_one_story(env: Env) -> None:
    html, url = page(VOA)
    original = ingest(env, html, url)
    # The same wire story on another Pangea site, lightly edited.
    copy = html.replace("www.voanews.com", "www.rferl.org").replace("voanews.com", "rferl.org")
    copy = copy.replace("finally landed one she loved", "at last found one she loved")
    mirrored = ingest(env, copy, url.replace("www.voanews.com", "www.rferl.org"))
    assert mirrored.status == "new" and mirrored.article.key == "rferl.org:7585813"
    assert mirrored.story_key == original.story_key == "voanews.com:7585813"
    other_html, other_url = page(SVOBODA)
    other = ingest(env, other_html, other_url)
    assert other.status == "new" and other.story_key == other.article.key
    assert env.store.counts()["stories"] == 2


def test_racing_threads_record_an_article_once(env: Env) -> None:
    html, url = page(VOA)
    results: list[IngestResult] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(4)

    def worker() -> None:
        try:
            barrier.wait()
            results.append(ingest(env, html, url))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert sorted(r.status for r in results) == ["new", "seen", "seen", "seen"]
    assert env.store.counts()["revisions"] == 1 and len(archive_files(env)) == 2


def test_a_page_that_is_no_article_is_a_failure_not_a_row(env: Env) -> None:
    notes = Path(__file__).parent / "fixtures" / "not-articles"
    html = (notes / "rferl_en_2018-03-17_homepage_jscryptominerstudy.html").read_text(encoding="utf-8")
    url = (notes / "rferl_en_2018-03-17_homepage_jscryptominerstudy.url").read_text(encoding="utf-8").strip()
    outcomes = list(ingest_urls(env.store, env.archive, env.registry, [url],
                                lambda u: Page(url=u, final_url=u, html=html), clock=utc_now))
    assert len(outcomes) == 1 and isinstance(outcomes[0], Failure)
    assert env.store.counts()["articles"] == 0 and archive_files(env) == []


def test_feed_state_keeps_validators(env: Env) -> None:
    from monitor.validators import Validators

    validators = env.store.validators()
    feed = "https://www.rferl.org/api/zrqiteuuir"
    assert validators.get(feed) is None
    validators.put(feed, Validators(etag='"abc"', last_modified="Mon, 23 Nov 2026 10:00:00 GMT"))
    assert validators.get(feed) == Validators('"abc"', "Mon, 23 Nov 2026 10:00:00 GMT")
    validators.put(feed, Validators(etag='"def"', last_modified=None))
    assert validators.get(feed) == Validators('"def"', None)


def test_worker_threads_ingest_each_article_once(env: Env) -> None:
    from tests._synth import article_url, synth_page

    pages = {article_url(n): synth_page(n) for n in range(8)}
    # Every article twice, once by a tracking variant: the workers race on each.
    urls = [u for u in pages for u in (u, u + "?utm_source=feed")]

    def fetch(url: str) -> Page:
        return Page(url=url, final_url=url, html=pages[url])

    outcomes = list(ingest_urls(env.store, env.archive, env.registry, urls, fetch, workers=4, skip_seen=False,
                                clock=utc_now))
    statuses = sorted(o.status for o in outcomes if isinstance(o, IngestResult))
    assert statuses == ["new"] * 8 + ["seen"] * 8
    assert env.store.counts()["articles"] == 8 and len(archive_files(env)) == 16


def test_due_for_revisit_lists_recent_articles_not_fetched_lately(env: Env) -> None:
    html, url = page(VOA)  # published 2024-04-28 07:00 UTC
    stored = ingest(env, html, url, at=T0)
    published = datetime(2024, 4, 28, 7, 0, tzinfo=UTC)

    def due(since: datetime, before: datetime) -> list[str]:
        return env.store.due_for_revisit("voanews.com", published_since=since, fetched_before=before, limit=10)

    assert due(published, T0 + timedelta(hours=1)) == [stored.stored.canonical_url]
    assert due(published + timedelta(seconds=1), T0 + timedelta(hours=1)) == []  # published before the window
    assert due(published, T0) == []  # fetched at T0: not before it
    assert env.store.due_for_revisit("rferl.org", published_since=published, fetched_before=T0 + timedelta(hours=1),
                                     limit=10) == []
