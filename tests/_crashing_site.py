"""Site families for the parse pool tests: one whose parser kills the process it runs in, one that cannot start in
a worker, one that amends what it parses.

They live in a module of their own (not a test file) so spawned worker processes can import them when they unpickle
the registry. URLs containing ``crash-always`` kill every time; ``crash-once`` kills the first time only (a marker file
in ``marker_dir`` remembers it across processes); anything else parses as the Pangea family does.
"""

from __future__ import annotations

import os
from pathlib import Path

from monitor.model import Article
from monitor.sites.pangea import PangeaFamily


class CrashingFamily(PangeaFamily):
    def __init__(self, marker_dir: Path) -> None:
        super().__init__()
        self.marker_dir = str(marker_dir)

    def parse(self, html: str, url: str) -> Article:
        if "crash-always" in url:
            os._exit(3)
        if "crash-once" in url:
            marker = Path(self.marker_dir) / "crashed"
            if not marker.exists():
                marker.touch()
                os._exit(3)
        return super().parse(html, url.replace("crash-once", "x"))


def _refuse_to_start() -> PangeaFamily:
    raise RuntimeError("this family cannot be rebuilt in a worker")


class UnstartableFamily(PangeaFamily):
    """Unpickling it fails, so a worker given it dies before it parses anything."""

    def __reduce__(self) -> tuple[object, tuple[()]]:
        return (_refuse_to_start, ())


class AmendingFamily(PangeaFamily):
    """Parses as Pangea does, but reads the headline with " (amended)" at its end: a parser change, as a reparse in
    worker processes sees it."""

    def parse(self, html: str, url: str) -> Article:
        return super().parse(html.replace("</h1>", " (amended)</h1>", 1), url)
