"""The one parser of the timestamps feeds, sitemaps and pages write (monitor.isotime), under its one name."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

from monitor.isotime import parse_iso_time

PACKAGE = Path(__file__).resolve().parent.parent / "monitor"


def test_the_forms_the_sites_write_are_read_as_aware_utc() -> None:
    assert parse_iso_time("2024-04-28 07:00:00Z") == datetime(2024, 4, 28, 7, tzinfo=UTC)
    assert parse_iso_time("2024-01-30T14:13:12.269Z") == datetime(2024, 1, 30, 14, 13, 12, 269000, tzinfo=UTC)
    assert parse_iso_time("2024-01-30") == datetime(2024, 1, 30, tzinfo=UTC)
    assert parse_iso_time("2024-01-30T16:00:00+02:00") == datetime(2024, 1, 30, 14, tzinfo=UTC)
    assert parse_iso_time("yesterday") is None and parse_iso_time(None) is None


def test_the_date_parser_has_one_name_everywhere() -> None:
    """No alias (``parse_date = parse_iso_time``, ``import parse_iso_time as ...``): a reader finds every caller by
    one name."""
    alias = re.compile(r"=\s*parse_iso_time\b(?!\()|\bparse_iso_time\s+as\b")
    hits = [f"{module.relative_to(PACKAGE)}: {line.strip()}" for module in sorted(PACKAGE.rglob("*.py"))
            for line in module.read_text(encoding="utf-8").splitlines() if alias.search(line)]
    assert hits == []
