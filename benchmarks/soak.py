"""Soak: many daemon poll cycles against a local copy of the shipped sources: ``python -m benchmarks.soak``.

The sources are those of ``config/monitor.toml`` (rferl and dw-en: their feeds and sitemaps, under their real URLs).
A snapshot with a feed or sitemap at every one of those URLs, each listing a few recent article pages (synthetic
variants of real RFE/RL-family and DW fixture pages), is served by :class:`monitor.demo.site.LocalSite` in a child
process (so its work is not counted as ours) on 127.0.0.1, through ``[http] host_map`` with pacing off. A rule
matches some of the articles and alerts a Slack channel (the local webhook sink), so the first cycles archive,
queue and deliver; every later cycle is idle: each feed and sitemap is asked "changed since?" and answers 304.

``Daemon(services).cycle()`` runs ``--cycles`` (2,000) times. Printed: resident memory after the warm-up and at the
end (goal: growth under 10 MB) and CPU seconds of this process per idle cycle. ``--trace`` takes tracemalloc
snapshots after the warm-up and at the end and prints the largest growths by line (slower; to find a leak).
"""

from __future__ import annotations

import argparse
import gzip
import os
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from urllib.parse import urlsplit
from xml.sax.saxutils import escape

from monitor.demo.sinks import SlackSink
from monitor.scheduler import Daemon
from monitor.services import Services
from monitor.settings import DEFAULT_CONFIG, Settings, SourceSettings, load_settings
from tests._synth import SLUG, article_id, synth_page

ROOT = Path(__file__).resolve().parent.parent
PAGES = ROOT / "tests" / "fixtures"
PANGEA_PAGE = PAGES / "pages/pangea/voa_en_2024-04-28_child-care-crisis_7585813.html"
DW_PAGE = PAGES / "http/pages/dw_en_newgen_2026-06-14_germany-world-cup-curacao_a-77538843.html"
DW_ID = "77538843"
WEBHOOK_ENV = "MONITOR_SOAK_SLACK_WEBHOOK_URL"
RULES = """
[[rule]]
name = "soak"
query = "Germany OR college"
channels = ["slack"]
"""
GOAL_MB = 10.0


# --- the snapshot ----------------------------------------------------------------------------------------------------


def article_urls(source: SourceSettings, count: int) -> dict[str, str]:
    """``count`` article URLs of the source's site with their pages (distinct articles, same template)."""
    pages: dict[str, str] = {}
    if "dw.com" in source.site:
        html = DW_PAGE.read_text(encoding="utf-8")
        for n in range(count):
            article = f"775{n:05d}"
            url = f"https://{source.site}/en/germany-start-2026-world-cup-with-win-over-curacao/a-{article}"
            pages[url] = synth_page(n, html=html.replace(DW_ID, article))
    else:  # Pangea: the VOA page moved to the source's host
        html = PANGEA_PAGE.read_text(encoding="utf-8").replace("www.voanews.com", source.site)
        for n in range(count):
            pages[f"https://{source.site}/a/{SLUG}/{article_id(n)}.html"] = synth_page(n, html=html)
    return pages


def rss(urls: list[str], now: datetime) -> str:
    items = "".join(
        f"<item><title>story {i}</title><link>{escape(url)}</link><guid>{escape(url)}</guid>"
        f"<pubDate>{format_datetime(now - timedelta(hours=i + 1))}</pubDate></item>"
        for i, url in enumerate(urls))
    return (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>soak</title>'
            f"<link>https://example.org/</link><description>soak</description>{items}</channel></rss>")


def sitemap(urls: list[str], now: datetime) -> str:
    entries = "".join(
        f"<url><loc>{escape(url)}</loc><lastmod>{(now - timedelta(hours=i + 1)).isoformat()}</lastmod></url>"
        for i, url in enumerate(urls))
    return f'<?xml version="1.0" encoding="utf-8"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">' \
           f"{entries}</urlset>"


def _write(root: Path, url: str, body: bytes) -> None:
    parts = urlsplit(url)
    target = root / parts.netloc / parts.path.lstrip("/")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(body)


def write_snapshot(root: Path, sources: list[SourceSettings], articles: int, now: datetime) -> int:
    """Every feed and sitemap URL of the sources, listing ``articles`` pages each; returns the number of pages."""
    total = 0
    for source in sources:
        pages = article_urls(source, articles)
        total += len(pages)
        for url, html in pages.items():
            _write(root, url, html.encode("utf-8"))
        urls = list(pages)
        for feed in source.feeds:
            _write(root, feed, rss(urls, now).encode("utf-8"))
        for url in source.sitemaps:
            body = sitemap(urls, now).encode("utf-8")
            _write(root, url, gzip.compress(body, mtime=0) if url.endswith(".gz") else body)
        for host in {urlsplit(u).netloc for u in (*source.feeds, *source.sitemaps, *urls)}:
            _write(root, f"https://{host}/robots.txt", b"User-agent: *\nDisallow: /search\n")
    return total


class ServedSnapshot:
    """``python -m monitor.demo.site`` in a child process: its CPU and memory are not the monitor's."""

    def __init__(self, root: Path) -> None:
        self.process = subprocess.Popen([sys.executable, "-m", "monitor.demo.site", str(root)], cwd=ROOT,
                                        stdout=subprocess.PIPE, text=True)
        assert self.process.stdout is not None
        first = self.process.stdout.readline()  # "serving <root> at http://127.0.0.1:<port>"
        if " at http://" not in first:
            self.process.kill()
            raise RuntimeError(f"local site did not start: {first!r}")
        self.base_url = first.rsplit(" at ", 1)[1].strip()

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


# --- measuring -------------------------------------------------------------------------------------------------------


def rss_mb() -> float:
    """Resident memory now (``/proc/self/statm``; peak RSS from getrusage where /proc is missing)."""
    try:
        resident = int(Path("/proc/self/statm").read_text().split()[1])
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return resident * os.sysconf("SC_PAGE_SIZE") / 2**20


def settings_for(workdir: Path, base_url: str, hosts: list[str], sink: SlackSink) -> Settings:
    shipped = load_settings(DEFAULT_CONFIG)
    rules = workdir / "rules.toml"
    rules.write_text(RULES, encoding="utf-8")
    os.environ[WEBHOOK_ENV] = sink.url
    return Settings(
        http=shipped.http.model_copy(update={"host_map": dict.fromkeys(hosts, base_url), "min_delay": 0.0}),
        storage=shipped.storage.model_copy(update={"url": None, "archive_root": workdir / "archive"}),
        alerts={"rules_file": rules, "operations_channel": "slack",
                "channels": {"slack": {"type": "slack", "webhook_url_env": WEBHOOK_ENV}}},
        daemon=shipped.daemon,
        sources=shipped.sources,
    )


def top_growth(before: tracemalloc.Snapshot, after: tracemalloc.Snapshot, limit: int = 15) -> None:
    print(f"soak: largest allocation growth by line (top {limit}):")
    for stat in after.compare_to(before, "lineno")[:limit]:
        print(f"  {stat.size_diff / 1024:+9.1f} KiB {stat.count_diff:+7d} blocks  {stat.traceback[0]}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.soak", description=__doc__.split("\n\n")[0])
    parser.add_argument("--cycles", type=int, default=2000, help="poll cycles in all (default 2000)")
    parser.add_argument("--warmup", type=int, default=100, help="cycles before the first measurement (default 100)")
    parser.add_argument("--articles", type=int, default=4, help="article pages per source (default 4)")
    parser.add_argument("--trace", action="store_true", help="tracemalloc: print the largest growths by line")
    args = parser.parse_args(argv)
    if args.warmup < 2 or args.cycles <= args.warmup:
        parser.error("need --warmup >= 2 and --cycles > --warmup")

    with tempfile.TemporaryDirectory(prefix="monitor-soak-") as tmp:
        workdir = Path(tmp)
        sources = [s for s in load_settings(DEFAULT_CONFIG).sources if s.enabled]
        pages = write_snapshot(workdir / "snapshot", sources, args.articles, datetime.now(UTC))
        hosts = sorted(p.name for p in (workdir / "snapshot").iterdir())
        served = ServedSnapshot(workdir / "snapshot")
        try:
            with SlackSink(workdir / "slack.jsonl") as sink:
                settings = settings_for(workdir, served.base_url, hosts, sink)
                with Services.open(settings) as services:
                    run(Daemon(services), args, pages, sink)
        finally:
            served.stop()


def run(daemon: Daemon, args: argparse.Namespace, pages: int, sink: SlackSink) -> None:
    polls = sum(len(s.feeds) + len(s.sitemaps) for s in daemon.sources)
    print(f"soak: {len(daemon.sources)} sources ({', '.join(s.name for s in daemon.sources)}), {polls} feeds and "
          f"sitemaps, {pages} article pages; {args.cycles} cycles, {args.warmup} of warm-up")
    new = 0
    for _ in range(args.warmup):
        new += sum(r.new for r in daemon.cycle())
    if new != pages:
        raise SystemExit(f"soak: warm-up archived {new} articles, expected {pages}")
    if args.trace:
        tracemalloc.start(10)
    before = tracemalloc.take_snapshot() if args.trace else None
    rss_start = rss_mb()
    cpu_start, wall_start = time.process_time(), time.perf_counter()
    idle = args.cycles - args.warmup
    for n in range(idle):
        for report in daemon.cycle():
            expected = len(next(s for s in daemon.sources if s.name == report.source).feeds) + \
                len(next(s for s in daemon.sources if s.name == report.source).sitemaps)
            if report.unchanged != expected or report.discovered or report.errors:
                raise SystemExit(f"soak: cycle {args.warmup + n + 1} was not idle for {report.source}: "
                                 f"{report.counts()} {[str(e) for e in report.errors[:1]]}")
    cpu, wall = time.process_time() - cpu_start, time.perf_counter() - wall_start
    rss_end = rss_mb()
    growth = rss_end - rss_start
    print(f"soak: rss after warm-up {rss_start:.1f} MB, at end {rss_end:.1f} MB, growth {growth:+.1f} MB "
          f"(goal < {GOAL_MB:.0f} MB): {'ok' if growth < GOAL_MB else 'TOO MUCH'}")
    print(f"soak: {cpu / idle * 1000:.2f} ms CPU per idle cycle ({polls} conditional GETs answered 304), "
          f"{wall / idle * 1000:.2f} ms wall")
    print(f"soak: {len(sink.requests)} alert messages delivered during warm-up, {daemon.summary.delivered} counted")
    if before is not None:
        top_growth(before, tracemalloc.take_snapshot())


if __name__ == "__main__":
    main()
