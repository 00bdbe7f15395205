"""A site family whose parser kills the process it runs in, for the parse pool's worker-death tests.

It lives in a module of its own (not a test file) so spawned worker processes can import it when they unpickle the
registry. URLs containing ``crash-always`` kill every time; ``crash-once`` kills the first time only (a marker file
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
