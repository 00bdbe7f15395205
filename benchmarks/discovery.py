"""Discovery over a large sitemap chunk: time and peak memory.

Runs the sitemap reader over ``tests/fixtures/sitemaps/rferl/rferl_sitemap_8_3.xml.gz`` (20,000 URLs, about 4 MB
unpacked) with a date-range filter, canonicalising every kept URL and giving it its article key, as a discovery
pass does. Then does the same over a synthetic chunk four times as large, to show that peak memory does not grow
with the file (the reader streams: gzip is unpacked as lxml pulls, elements are dropped once read).

    python -m benchmarks.discovery

Goal: under 2 s for the real chunk; peak memory of the 4x chunk about the same as of the real one. tracemalloc sees
Python allocations only (libxml2's own buffers are outside it, and bounded by the streaming parser too); the
compressed input bytes are loaded before measuring, as the client would hold them.
"""

from __future__ import annotations

import gzip
import time
import tracemalloc
from datetime import UTC, datetime
from pathlib import Path

from monitor.discovery import iter_sitemap
from monitor.sites import SiteRegistry, default_registry
from monitor.urls import article_key, canonical_url

CHUNK = Path(__file__).resolve().parent.parent / "tests/fixtures/sitemaps/rferl/rferl_sitemap_8_3.xml.gz"
URL = "https://www.rferl.org/sitemap_8_3.xml.gz"
SINCE = datetime(2019, 1, 1, tzinfo=UTC)
UNTIL = datetime(2019, 6, 30, tzinfo=UTC)


def discover(data: bytes, registry: SiteRegistry) -> tuple[int, int]:
    """(URLs read, article keys kept in the date range)."""
    seen = kept = 0
    for entry in iter_sitemap(data, URL, since=SINCE, until=UNTIL):
        seen += 1
        if article_key(canonical_url(entry.loc), registry) is not None:
            kept += 1
    return seen, kept


def scaled(data: bytes, times: int) -> bytes:
    """The same chunk with its <url> elements repeated ``times`` times."""
    xml = gzip.decompress(data)
    start = xml.index(b"<url>")
    end = xml.rindex(b"</urlset>")
    return gzip.compress(xml[:start] + xml[start:end] * times + xml[end:])


def measure(label: str, data: bytes, registry: SiteRegistry) -> None:
    unpacked = len(gzip.decompress(data))
    total = sum(1 for _ in iter_sitemap(data, URL))
    started = time.perf_counter()
    _, kept = discover(data, registry)
    elapsed = time.perf_counter() - started
    tracemalloc.start()
    discover(data, registry)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"{label:<24} {len(data) / 1e6:6.2f} MB gz  {unpacked / 1e6:6.2f} MB xml  {total:>7} URLs  "
          f"{kept:>6} in range  {elapsed:5.2f} s  peak {peak / 1e6:5.2f} MB")


def main() -> None:
    registry = default_registry()
    data = CHUNK.read_bytes()
    print(f"date range {SINCE:%Y-%m-%d} .. {UNTIL:%Y-%m-%d}")
    measure("rferl_sitemap_8_3.xml.gz", data, registry)
    measure("same chunk x4", scaled(data, 4), registry)


if __name__ == "__main__":
    main()
