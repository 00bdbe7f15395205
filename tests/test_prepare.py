"""Parsing in worker processes (monitor.prepare.ParsePool): the same result as in-process, errors that cross the
process boundary intact, a dead worker replaced, and ingests that record the same thing either way."""

from __future__ import annotations

import gzip
import json
import os
import signal
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from monitor.archive import Archive
from monitor.archive_check import verify
from monitor.errors import NotAnArticleError, ParseError, ParseWorkerError
from monitor.ingest import IngestResult, Page, ingest_page, ingest_urls, reparse_articles
from monitor.prepare import NOT_COMPUTED, ParsePool, Prepared, prepare_page
from monitor.services import utc_now
from monitor.settings import StorageSettings
from monitor.sites import SiteRegistry, default_registry
from monitor.store import Store
from tests._crashing_site import AmendingFamily, CrashingFamily, UnstartableFamily
from tests._store_support import Env, env_fixture, pg_url_fixture  # noqa: F401  (fixtures)
from tests._synth import article_url, synth_page

FIXTURES = Path(__file__).parent / "fixtures"
PAGES = sorted((FIXTURES / "pages").glob("*/*.html"))[::4]  # a spread of both families and their generations


def page(path: Path) -> tuple[str, str]:
    url = json.loads(path.with_suffix(".expect.json").read_text(encoding="utf-8"))["url"]
    return path.read_text(encoding="utf-8"), url


@pytest.fixture(scope="module")
def pool() -> Iterator[ParsePool]:
    with ParsePool(default_registry(), 2, story_threshold=0.8) as parse_pool:
        yield parse_pool


@pytest.mark.slow  # spawns processes
def test_workers_prepare_what_this_process_does(pool: ParsePool) -> None:
    registry = default_registry()
    assert {p.parent.name for p in PAGES} == {"dw", "pangea"}
    for path in PAGES:
        html, url = page(path)
        here = prepare_page(registry, html, url, story_threshold=0.8)
        there = pool.prepare(html, url)
        assert there.article == here.article, path.name
        assert there.text == here.text == path.with_suffix(".expected.txt").read_text(encoding="utf-8")
        assert there.digest == here.digest
        assert there.signature == here.signature and there.signature is not NOT_COMPUTED
        assert there.raw_gz is not None and gzip.decompress(there.raw_gz) == b"\xef\xbb\xbf" + html.encode()


@pytest.mark.slow  # spawns processes
def test_a_parse_error_arrives_whole(pool: ParsePool) -> None:
    path = FIXTURES / "not-articles" / "voanews_en_undated-pangea8.29_404-page-doesnt-exist.html"
    html = path.read_text(encoding="utf-8")
    url = path.with_suffix(".url").read_text(encoding="utf-8").strip()
    with pytest.raises(NotAnArticleError) as here:
        prepare_page(default_registry(), html, url)
    with pytest.raises(NotAnArticleError) as there:
        pool.prepare(html, url)
    assert str(there.value) == str(here.value) and there.value.url == here.value.url == url


@pytest.mark.slow  # spawns processes
def test_a_dead_worker_is_replaced_and_the_page_tried_once_more(tmp_path: Path) -> None:
    registry = SiteRegistry([CrashingFamily(tmp_path)])
    html = synth_page(1)
    with ParsePool(registry, 1) as crashing:
        once = article_url(1).replace("/a/", "/a/crash-once-")
        assert crashing.prepare(html, once).article.headline  # died, replaced, parsed on the second try
        assert (tmp_path / "crashed").exists()
        with pytest.raises(ParseError, match="died on this page twice") as error:
            crashing.prepare(html, article_url(1) + "?crash-always")
        assert error.value.url == article_url(1) + "?crash-always"
        # The pool goes on with the pages after it.
        assert crashing.prepare(html, article_url(1)).article.key == "voanews.com:9000001"


@pytest.mark.slow  # spawns processes
def test_only_the_page_that_kills_workers_fails_among_pages_in_flight(tmp_path: Path) -> None:
    registry = SiteRegistry([CrashingFamily(tmp_path)])
    urls = [article_url(n) for n in range(8)]
    urls.insert(3, article_url(3) + "?crash-always")
    with ParsePool(registry, 2) as crashing, ThreadPoolExecutor(4) as threads:
        def one(url: str) -> str:
            try:
                return crashing.prepare(synth_page(int(url.split("/")[-1].split(".")[0]) - 9_000_000), url).article.key
            except ParseError as exc:
                return f"failed: {exc}"

        outcomes = list(threads.map(one, urls))
    assert outcomes.pop(3).startswith("failed: the parser process died on this page twice")
    assert outcomes == [f"voanews.com:{9_000_000 + n}" for n in range(8)]


@pytest.mark.slow  # spawns processes
def test_ingest_with_parse_processes_records_each_article_once(env: Env, pool: ParsePool) -> None:
    pages = {article_url(n): synth_page(n) for n in range(6)}
    urls = [u for u in pages for u in (u, u + "?utm_source=feed")]

    def fetch(url: str) -> Page:
        return Page(url=url, final_url=url, html=pages[url.split("?")[0]])

    outcomes = list(ingest_urls(env.store, env.archive, env.registry, urls, fetch, workers=3, skip_seen=False,
                                parse_pool=pool, clock=utc_now))
    assert sorted(o.status for o in outcomes if isinstance(o, IngestResult)) == ["new"] * 6 + ["seen"] * 6
    assert env.store.counts()["articles"] == 6 and verify(env.store, env.archive).clean
    # An edit parsed in a worker is a revision like any other.
    edited = ingest_page(env.store, env.archive, env.registry, synth_page(0, edit=1), article_url(0),
                         parse_pool=pool, clock=utc_now)
    assert edited.status == "revised" and edited.revision is not None and edited.revision.number == 1


@pytest.mark.slow  # spawns processes
def test_story_signatures_from_workers_link_near_duplicates(env: Env, pool: ParsePool) -> None:
    html, url = page(FIXTURES / "pages" / "pangea" / "voa_en_2024-04-28_child-care-crisis_7585813.html")
    original = ingest_page(env.store, env.archive, env.registry, html, url, parse_pool=pool, clock=utc_now)
    copy = html.replace("www.voanews.com", "www.rferl.org").replace("voanews.com", "rferl.org")
    mirrored = ingest_page(env.store, env.archive, env.registry, copy, url.replace("www.voanews.com", "www.rferl.org"),
                           parse_pool=pool, clock=utc_now)
    assert mirrored.status == "new" and mirrored.story_key == original.story_key == original.article.key


@pytest.mark.slow  # spawns processes
def test_workers_that_cannot_start_stop_the_ingest_once(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(ParseWorkerError, match="could not start"):
        ParsePool(SiteRegistry([UnstartableFamily()]), 1)
    assert "cannot be rebuilt in a worker" in capfd.readouterr().err

    # Workers lost for good mid-run (their replacement cannot start) stop the ingest instead of failing each page.
    class LostPool(ParsePool):
        def __init__(self) -> None:
            self.calls = 0

        def prepare(self, html: str, url: str, *, keep_raw: bool = True, story: bool = True) -> Prepared:
            self.calls += 1
            raise ParseWorkerError("the 1 parse worker process(es) could not start")

    settings = StorageSettings(archive_root=tmp_path / "archive")
    lost = LostPool()
    with Store.open(settings) as store:
        outcomes = ingest_urls(store, Archive(settings.archive_root), default_registry(),
                               [article_url(n) for n in range(3)],
                               lambda u: Page(url=u, final_url=u, html=synth_page(0)), parse_pool=lost, clock=utc_now)
        with pytest.raises(ParseWorkerError):
            list(outcomes)
    assert lost.calls == 1


@pytest.mark.slow  # spawns processes
def test_ctrl_c_is_left_to_the_parent(pool: ParsePool) -> None:
    workers = list(pool._pool._processes.values())  # no public handle on the worker processes
    assert workers
    for worker in workers:
        os.kill(worker.pid, signal.SIGINT)
    html = synth_page(2)
    assert pool.prepare(html, article_url(2)).article.key == "voanews.com:9000002"
    assert all(worker.is_alive() for worker in workers)


@pytest.mark.slow  # spawns processes
def test_workers_end_when_their_parent_is_killed_outright() -> None:
    """SIGKILL gives the parent no chance to close its pool: the workers must notice and go, not wait forever."""
    import subprocess
    import sys
    import time

    script = (
        "import time\n"
        "from monitor.prepare import ParsePool\n"
        "from monitor.sites import default_registry\n"
        "if __name__ == '__main__':\n"
        "    pool = ParsePool(default_registry(), 2)\n"
        "    print(*[p.pid for p in pool._pool._processes.values()], flush=True)\n"
        "    time.sleep(60)\n"
    )
    parent = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert parent.stdout is not None
        workers = [int(pid) for pid in parent.stdout.readline().split()]
        assert len(workers) == 2 and all(_alive(pid) for pid in workers)
    finally:
        parent.kill()
        parent.wait()
    deadline = time.monotonic() + 10
    while any(_alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(_alive(pid) for pid in workers)


def _alive(pid: int) -> bool:
    # An orphan that ended is reaped by init; a zombie of ours would still answer kill(0), so look at its state.
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"


def test_a_pool_needs_a_worker() -> None:
    from monitor.errors import ConfigError

    with pytest.raises(ConfigError, match="at least 1"):
        ParsePool(default_registry(), 0)


@pytest.mark.slow  # spawns processes
def test_reparse_in_worker_processes_records_what_the_parsers_now_say(env: Env) -> None:
    for n in range(4):
        ingest_page(env.store, env.archive, env.registry, synth_page(n), article_url(n), clock=utc_now)
    stored = list(env.store.iter_articles())
    with ParsePool(SiteRegistry([AmendingFamily()]), 2) as amending:
        results = list(reparse_articles(env.store, env.archive, env.registry, stored, workers=3,
                                        parse_pool=amending, clock=utc_now))
    assert [s.key for s, _ in results] == [s.key for s in stored]  # in order
    assert all(isinstance(r, IngestResult) and r.status == "revised" for _, r in results)
    for article in stored:
        latest = env.store.revisions(article.key)[-1]
        assert latest.number == 1 and latest.origin == "reparse"
        assert "(amended)" in env.archive.read_text(latest.text_path)
        assert latest.raw_path == env.store.revisions(article.key)[0].raw_path  # the stored HTML, not a copy
    assert verify(env.store, env.archive).clean


def test_threads_take_only_a_few_urls_ahead(env: Env) -> None:
    taken: list[str] = []

    def candidates() -> Iterator[str]:
        for n in range(30):
            taken.append(article_url(n))
            yield article_url(n)

    outcomes = ingest_urls(env.store, env.archive, env.registry, candidates(),
                           lambda u: Page(url=u, final_url=u, html=synth_page(int(u.split("/")[-1][:7]) - 9_000_000)),
                           workers=2, clock=utc_now)
    first = next(outcomes)
    assert isinstance(first, IngestResult) and first.article.key == "voanews.com:9000000"
    assert len(taken) <= 5  # 2 threads, 4 in the window, 1 being submitted: not all 30 read at once
    assert len([o for o in outcomes if isinstance(o, IngestResult)]) == 29 and len(taken) == 30


def test_closing_the_ingest_early_leaves_no_page_in_flight(env: Env) -> None:
    fetched: list[str] = []

    def fetch(url: str) -> Page:
        fetched.append(url)
        return Page(url=url, final_url=url, html=synth_page(int(url.split("/")[-1][:7]) - 9_000_000))

    import threading

    threads = set(threading.enumerate())
    outcomes = ingest_urls(env.store, env.archive, env.registry, [article_url(n) for n in range(30)], fetch,
                           workers=2, clock=utc_now)
    assert isinstance(next(outcomes), IngestResult)
    outcomes.close()  # type: ignore[attr-defined]  (what run_source does on a stop request)
    after_close = len(fetched)
    assert after_close <= 5
    # Nothing can start after the close returned: the ingest's worker threads have ended (no wait needed to see it).
    assert [t for t in threading.enumerate() if t not in threads and t.is_alive()] == []
    assert len(fetched) == after_close
    assert env.store.counts()["articles"] == after_close  # and what was in flight was finished, not cut
