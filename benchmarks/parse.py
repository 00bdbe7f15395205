"""Parse throughput: ``python -m benchmarks.parse [--rounds N]`` (``make bench``).

Times what ``monitor parse`` does after reading the file (decode, parse, render to archive text) over every fixture
page under tests/fixtures/pages, several rounds, on one core, and prints ``monitor parse: <N> pages/s``. Where the
``bench`` extra is installed it measures, in the same run and on the same pages, trafilatura's ``extract()`` and the
reference producer of FORMAT.md (resiliparse), for comparison. The goal is at least 200 pages/s.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path

from monitor.decoding import decode_html
from monitor.render import render_article
from monitor.sites import default_registry

PAGES = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "pages"


def load_pages() -> list[tuple[str, bytes, str]]:
    """(name, raw bytes, URL) of every fixture page that has an expect.json with its URL."""
    pages = []
    for page in sorted(PAGES.glob("*/*.html")):
        expect = page.with_suffix(".expect.json")
        if expect.exists():
            pages.append((page.name, page.read_bytes(), json.loads(expect.read_text(encoding="utf-8"))["url"]))
    return pages


def pages_per_second(work: Callable[[], object], count: int, rounds: int) -> float:
    """Best of ``rounds`` timed passes (the least disturbed by the rest of the machine), in pages per second."""
    work()  # warm-up: imports, regex compilation, caches
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        work()
        best = min(best, time.perf_counter() - start)
    return count / best


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Parse+render throughput over the fixture pages.")
    parser.add_argument("--rounds", type=int, default=10, help="timed passes over all pages (default 10)")
    args = parser.parse_args(argv)

    pages = load_pages()
    if not pages:
        print(f"no fixture pages under {PAGES}", file=sys.stderr)
        return 2
    registry = default_registry()

    def ours() -> None:
        for _, data, url in pages:
            render_article(registry.parse(decode_html(data, where=url), url))

    try:
        ours()
    except Exception as exc:  # a page that does not parse makes the figure meaningless
        print(f"monitor parse failed on a fixture page: {exc}", file=sys.stderr)
        return 1
    print(f"pages: {len(pages)} fixture pages, best of {args.rounds} rounds, one core")
    print(f"monitor parse: {pages_per_second(ours, len(pages), args.rounds):.0f} pages/s")

    texts = [(decode_html(data, where=url), url) for _, data, url in pages]
    try:
        import trafilatura
    except ImportError as exc:
        print(f"trafilatura extract(): cannot import ({exc}; pip install -e '.[bench]')")
    else:

        def trafilatura_extract() -> None:
            for html, url in texts:
                trafilatura.extract(html, url=url)

        print(f"trafilatura extract(): {pages_per_second(trafilatura_extract, len(texts), args.rounds):.0f} pages/s")
    try:
        from resiliparse.extract.html2text import extract_plain_text
        from resiliparse.parse.html import HTMLTree
    except ImportError:
        print("reference producer (resiliparse): not installed (pip install -e '.[bench]')")
    else:

        def reference() -> None:
            for html, _ in texts:
                extract_plain_text(
                    HTMLTree.parse(html), main_content=True, skip_elements=[".responsive-indicator"]
                ).strip()

        rate = pages_per_second(reference, len(texts), args.rounds)
        print(f"reference producer (resiliparse): {rate:.0f} pages/s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
