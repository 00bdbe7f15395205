"""Reading the timestamps pages, feeds and sitemaps write: one parser for all of them."""

from __future__ import annotations

from datetime import UTC, datetime


def parse_iso_time(value: str | None) -> datetime | None:
    """An ISO-8601/W3C timestamp as aware UTC; None when absent or unreadable. Accepts ``Z``, offsets, a space for
    ``T``, any fraction length and a bare date; a naive time is taken as UTC (Pangea writes "2024-04-28 07:00:00Z",
    DW "2024-01-30T14:13:12.269Z", sitemaps "2024-01-30")."""
    if not value:
        return None
    text = value.strip().replace(" ", "T", 1)
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


__all__ = ["parse_iso_time"]
