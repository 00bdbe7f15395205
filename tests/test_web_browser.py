"""``monitor web`` in a real browser: headless Chromium driven by Selenium against the real command, serving the
archive ``monitor demo`` builds (plus an edit of one article and one dead alert). Each test saves screenshots to
tests/screenshots/ (or $MONITOR_SCREENSHOTS) for a reviewer. Skipped, with the reason, where Chromium or
chromedriver is not installed (Debian packages chromium and chromium-driver; .ci/run installs them)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import feedparser
import httpx
import pytest
from sqlalchemy import update

from monitor.archive import Archive
from monitor.demo.runner import run_demo, web_settings
from monitor.ingest import ingest_page
from monitor.services import utc_now
from monitor.sites import default_registry
from monitor.store import Store
from monitor.store.outbox import AlertOutbox, Outbox, OutboxState

pytestmark = pytest.mark.slow

CHROMIUM = os.environ.get("MONITOR_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("MONITOR_CHROMEDRIVER", "/usr/bin/chromedriver")
SCREENSHOTS = Path(os.environ.get("MONITOR_SCREENSHOTS") or Path(__file__).parent / "screenshots")
RULE = "lavrov-ukraine"
WAIT = 20  # seconds a page may take to show what a test waits for


def _browser_missing() -> str | None:
    for path, package in ((CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver")):
        if not (Path(path).is_file() and os.access(path, os.X_OK)):
            return f"{path} not found: install the Debian package {package} (apt-get install -y {package})"
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install -e '.[dev]')"
    return None


@dataclass
class Demo:
    directory: Path
    url: str
    revised_key: str
    dead_id: int


@pytest.fixture(name="demo", scope="module")
def demo_fixture(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    missing = _browser_missing()
    if missing:
        pytest.skip(missing)
    directory = tmp_path_factory.mktemp("browser") / "demo"
    result = run_demo(directory)
    assert not result.problems, result.problems
    settings = web_settings(directory)
    with Store.open(settings.storage, upgrade=False) as store:
        archive = Archive(settings.storage.archive_root, fsync=False)
        # An edit of one article, as a later fetch would find it: a second revision to compare. (Of the first
        # article whose page holds the start of a sentence of its text verbatim: entities differ between pages.)
        edited = first = None
        for first in store.iter_articles():
            revision = store.revisions(first.key)[0]
            assert revision.raw_path
            page = archive.read_raw(revision.raw_path).decode("utf-8")
            for line in archive.read_text(revision.text_path).splitlines():
                start = " ".join(line.split()[:6])
                if len(line) > 80 and start in page:
                    edited = page.replace(start, start + " (updated: a correction)")  # every copy: meta too
                    break
            if edited:
                break
        assert edited and first, "no article's page holds a sentence of its text verbatim"
        outcome = ingest_page(store, archive, default_registry(settings.pangea_hosts), edited, first.canonical_url,
                              clock=utc_now)
        assert outcome.status == "revised"
        # A delivery that failed for good: a dead letter to queue again.
        sent = Outbox(store.engine).rows([OutboxState.SENT], limit=1)[0]
        with store.engine.begin() as connection:
            connection.execute(update(AlertOutbox).where(AlertOutbox.id == sent.id)  # type: ignore[arg-type]
                               .values(state="dead", last_error="webhook answered HTTP 500 eight times"))
        revised_key, dead_id = first.key, sent.id
    env = {k: v for k, v in os.environ.items() if not k.startswith("MONITOR_")}
    env.update({"MONITOR_STORAGE__ARCHIVE_ROOT": str(settings.storage.archive_root),
                "MONITOR_STORAGE__URL": str(settings.storage.url),
                "MONITOR_ALERTS__RULES_FILE": str(settings.alerts.rules_file),
                "PYTHONPATH": str(Path(__file__).resolve().parent.parent)})
    server = subprocess.Popen([sys.executable, "-m", "monitor", "web", "--port", "0"], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert server.stdout is not None
        line = server.stdout.readline()  # the command prints its address once it listens
        found = re.search(r"on (http://127\.0\.0\.1:\d+/)", line)
        assert found, line + (server.stdout.read() if server.poll() is not None else "")
        yield Demo(directory, found.group(1), revised_key, dead_id)
    finally:
        server.terminate()
        server.wait(timeout=30)


@pytest.fixture(name="browser", scope="module")
def browser_fixture(demo: Demo) -> Iterator[Any]:
    yield from _chromium(javascript=True)


def _chromium(*, javascript: bool) -> Iterator[Any]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="monitor-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
                 f"--user-data-dir={profile}", "--window-size=1280,1000"):
        options.add_argument(flag)
    if not javascript:
        options.add_experimental_option("prefs", {"profile.managed_default_content_settings.javascript": 2})
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(WAIT)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def _shot(driver: Any, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    driver.save_screenshot(str(path))
    print(f"screenshot: {path}")


def _wait(driver: Any, css: str) -> Any:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.wait import WebDriverWait

    return WebDriverWait(driver, WAIT).until(expected_conditions.presence_of_element_located((By.CSS_SELECTOR, css)))


def _wait_url(driver: Any, part: str) -> None:
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.wait import WebDriverWait

    WebDriverWait(driver, WAIT).until(expected_conditions.url_contains(part))


def _api(demo: Demo, path: str, **params: str) -> Any:
    return httpx.get(demo.url.rstrip("/") + path, params=params, timeout=WAIT, trust_env=False).json()


def test_search_with_filters_then_open_an_article(demo: Demo, browser: Any) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.select import Select

    browser.get(demo.url + "search")
    box = _wait(browser, "#q")
    assert browser.execute_script("return typeof window.htmx") == "object"  # the vendored copy, allowed by the CSP
    box.send_keys("Lavrov")
    Select(browser.find_element(By.NAME, "site")).select_by_visible_text("rferl.org")
    browser.find_element(By.CSS_SELECTOR, "#search-form button[type=submit]").click()
    _wait_url(browser, "site=rferl.org")  # the search is in the URL: bookmarkable, shareable
    _wait(browser, "#results .hit")
    assert "q=Lavrov" in browser.current_url
    sites = {e.text for e in browser.find_elements(By.CSS_SELECTOR, "#results .hit .site")}
    assert sites == {"rferl.org"}
    expected = [r["headline"] for r in _api(demo, "/api/search", q="Lavrov", site="rferl.org")["results"]]
    shown = [e.text for e in browser.find_elements(By.CSS_SELECTOR, "#results .hit .headline")]
    assert shown == expected and shown
    assert browser.find_elements(By.CSS_SELECTOR, "#results .snippet mark")
    _shot(browser, "search")
    browser.set_window_size(390, 844)  # a phone
    _shot(browser, "search-phone")
    browser.set_window_size(1280, 1000)

    first = browser.find_element(By.CSS_SELECTOR, "#results .hit .headline")
    key = first.get_attribute("href").split("/article/", 1)[1]
    first.click()
    text = _wait(browser, "#archive-text")
    stored = _api(demo, f"/api/articles/{key}")
    assert browser.find_element(By.ID, "headline").text == stored["headline"]
    # What the browser shows is the archive text (white space as the page lays it out).
    assert " ".join(text.text.split()) == " ".join(stored["text"].split())
    _shot(browser, "article")


def test_compare_two_revisions(demo: Demo, browser: Any) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.select import Select

    browser.get(demo.url + f"article/{demo.revised_key}")
    form = _wait(browser, "#diff-form")
    Select(form.find_element(By.NAME, "a")).select_by_value("0")
    Select(form.find_element(By.NAME, "b")).select_by_value("1")
    form.find_element(By.TAG_NAME, "button").click()
    browser.execute_script("arguments[0].scrollIntoView()", _wait(browser, "pre.diff"))
    added = [e.text for e in browser.find_elements(By.CSS_SELECTOR, "pre.diff .add")]
    assert any("(updated: a correction)" in line for line in added)
    assert browser.find_elements(By.CSS_SELECTOR, "pre.diff .del")
    _shot(browser, "diff")


def test_backtest_a_rule_and_see_its_chart_then_follow_its_feed(demo: Demo, browser: Any) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.select import Select

    matches = _api(demo, "/api/search", q="Lavrov")["results"]
    last = max(date.fromisoformat(r["time"][:10]) for r in matches)
    days = [last - timedelta(days=59), last]  # the newest match's last 60 days
    browser.get(demo.url + "backtest")
    _wait(browser, "#backtest-form")
    Select(browser.find_element(By.ID, "rule")).select_by_value(RULE)
    # Date fields through the DOM: typing into them depends on the browser's locale.
    browser.execute_script("document.querySelector('[name=since]').value = arguments[0];"
                           "document.querySelector('[name=until]').value = arguments[1];",
                           days[0].isoformat(), days[-1].isoformat())
    browser.find_element(By.CSS_SELECTOR, "#backtest-form button[type=submit]").click()
    chart = _wait(browser, "#chart svg")
    bars = chart.find_elements(By.CSS_SELECTOR, "rect.bar")
    assert len(bars) == (days[-1] - days[0]).days + 1
    total = sum(int(b.get_attribute("data-count")) for b in bars)
    heading = browser.find_element(By.CSS_SELECTOR, "#backtest-result h2").text
    assert total >= 1 and heading.startswith(f"{total} match(es)")
    listed = [e.get_attribute("href") for e in browser.find_elements(By.CSS_SELECTOR, "#backtest-result .headline")]
    assert len(listed) == total
    _shot(browser, "backtest")

    feed_link = browser.find_element(By.CSS_SELECTOR, "#backtest-result a.feed")
    href = feed_link.get_attribute("href")
    assert href.endswith(f"/feeds/rules/{RULE}.atom")
    feed_link.click()
    _wait(browser, "body")
    _shot(browser, "rule-feed")
    feed = feedparser.parse(httpx.get(href, timeout=WAIT, trust_env=False).content)
    assert feed.version == "atom10" and feed.entries
    keys = {h.split("/article/", 1)[1] for h in listed}
    urls = {_api(demo, f"/api/articles/{k}")["url"] for k in keys}
    assert urls <= {e.link for e in feed.entries}  # the feed carries the rule's newest matches


def test_queue_a_dead_alert_again(demo: Demo, browser: Any) -> None:
    from selenium.webdriver.common.by import By

    browser.get(demo.url + "alerts?state=dead")
    row = _wait(browser, f"#alert-{demo.dead_id}")
    assert "webhook answered HTTP 500" in row.text
    assert row.find_elements(By.CSS_SELECTOR, ".why mark")  # what matched, highlighted
    _shot(browser, "alerts")
    row.find_element(By.CSS_SELECTOR, "button.retry").click()
    notice = _wait(browser, "#retried")
    assert notice.text.startswith("1 dead alert(s) queued again")
    settings = web_settings(demo.directory)
    with Store.open(settings.storage, upgrade=False) as store:
        item = Outbox(store.engine).find_by_id(demo.dead_id)
    assert item is not None and item.state == "queued"
    _shot(browser, "alerts-retried")


def test_sources_page(demo: Demo, browser: Any) -> None:
    from selenium.webdriver.common.by import By

    browser.get(demo.url + "sources")
    _wait(browser, ".source")
    names = [e.get_attribute("id") for e in browser.find_elements(By.CSS_SELECTOR, ".source")]
    assert "source-rferl" in names
    assert browser.find_elements(By.CSS_SELECTOR, "#source-rferl svg rect.bar")
    _shot(browser, "sources")


def test_reading_works_with_javascript_off(demo: Demo) -> None:
    from selenium.webdriver.common.by import By

    for driver in _chromium(javascript=False):
        driver.get(demo.url + "search")
        _wait(driver, "#q").send_keys("Ukrain*")
        assert driver.execute_script("return typeof window.htmx") == "undefined"  # the page's scripts are off
        driver.find_element(By.CSS_SELECTOR, "#search-form button[type=submit]").click()
        _wait_url(driver, "q=Ukrain")
        _wait(driver, "#results .hit")
        driver.find_element(By.CSS_SELECTOR, "#results .hit .headline").click()
        _wait(driver, "#archive-text")
        _shot(driver, "article-no-javascript")
        print(json.dumps({"screenshots": str(SCREENSHOTS)}))
