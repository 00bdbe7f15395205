"""The typer application every subcommand module registers on.

Command modules import only typer and the standard library at the top: whatever a command needs (the store,
SQLAlchemy, the HTTP client, rich) is imported in its body, so `monitor --help` and the light commands start fast
(benchmarks/startup.py measures it).
"""

from __future__ import annotations

from datetime import datetime, timedelta

import typer

HELP = """News monitor for RFE/RL (Pangea) and Deutsche Welle: discover, fetch, archive, alert.

Configuration: the file named by MONITOR_CONFIG (default: config/monitor.toml of this checkout, or the copy an
installed package carries), then MONITOR_<SECTION>__<KEY> environment variables, which win over the file (e.g.
MONITOR_STORAGE__URL)."""

app = typer.Typer(
    name="monitor",
    help=HELP,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    # Help texts show [brackets] and example queries literally: no rich markup in them.
    rich_markup_mode=None,
)


def error_lines(message: str) -> str:
    """``monitor: error: ...`` before every line of ``message`` (a config error names each problem on its own)."""
    return "\n".join(f"monitor: error: {line}" for line in message.splitlines() or [""])


def fail(message: str, code: int = 2) -> typer.Exit:
    """Print the message (one line per problem) on stderr and return the Exit to raise."""
    typer.echo(error_lines(message), err=True)
    return typer.Exit(code)


#: One meaning per word: ``--since`` on commands that select stored articles (reparse, export, rules test) ...
PUBLISHED_SINCE_HELP = ("Only articles published at or after this date: YYYY-MM-DD or an ISO datetime (UTC unless it "
                        "has an offset); an article without a publication date counts from when it was first seen.")
#: ... and on commands that read feeds and sitemaps (discover, backfill): the date the feed or sitemap gives an entry.
CHANGED_SINCE_HELP = ("Only feed and sitemap entries changed (their date, or lastmod) at or after this date: "
                      "YYYY-MM-DD or an ISO datetime (UTC unless it has an offset).")


#: ``--until`` wherever it is offered (discover, backfill).
UNTIL_HELP = ("Only feed and sitemap entries changed at or before this date, inclusive: YYYY-MM-DD (the whole day) or "
              "an ISO datetime (UTC unless it has an offset). Default: now.")


def parse_when(value: str, option: str, *, end_of_day: bool = False) -> datetime:
    """``YYYY-MM-DD`` (the day's start, or its end with ``end_of_day``) or an ISO datetime (naive: UTC); anything
    else is a usage error naming the option."""
    from monitor.isotime import parse_iso_time

    when = parse_iso_time(value.strip())
    if when is None:
        raise fail(f"{option} {value!r}: expected a date YYYY-MM-DD or an ISO datetime "
                   "(2024-05-01T12:00:00+00:00)")
    return when + timedelta(days=1, microseconds=-1) if end_of_day and len(value.strip()) == 10 else when


class DateParser:
    """The one way dates are read on the command line (``--since``, ``--until``), as a typer option's ``parser``
    (typer wraps it in a click parameter type): YYYY-MM-DD or an ISO datetime, by :func:`parse_when`; a bad value is
    the usual one-line usage error naming the option. ``end_of_day``: a bare date means the end of that day (an
    inclusive ``--until``)."""

    def __init__(self, option: str, *, end_of_day: bool = False) -> None:
        self.option = option
        self.end_of_day = end_of_day
        self.__name__ = "date"  # the metavar typer shows: DATE

    def __call__(self, value: str | datetime) -> datetime:
        if isinstance(value, datetime):  # a default typer has converted already
            return value
        return parse_when(value, self.option, end_of_day=self.end_of_day)


#: ``--since``: the start of a range (a bare date: its first moment).
SINCE = DateParser("--since")
#: ``--until``: the end of a range, inclusive (a bare date: the whole day).
UNTIL = DateParser("--until", end_of_day=True)


def as_argument(when: datetime) -> str:
    """A date option's value as it could be typed again: the bare date for a day's first or last moment in UTC
    (what ``--since 2024-05-01`` and ``--until 2024-05-01`` parse to), else the ISO datetime."""
    if when.utcoffset() == timedelta(0) and when.time() in (datetime.min.time(), datetime.max.time()):
        return when.date().isoformat()
    return when.isoformat()


def site_option(value: str | None) -> str | None:
    """``--site``: a host (www.rferl.org), a site (rferl.org) or a URL, as the site the store files articles under;
    a usage error when no site family knows it (it would silently match nothing)."""
    if value is None:
        return None
    from urllib.parse import urlsplit

    from monitor.services import Opened

    host = (urlsplit(value).hostname or "") if "://" in value else value.strip().strip("/").lower()
    with Opened.from_config() as opened:  # the registry only: nothing is opened
        site = opened.registry.site_of_host(host) if host else None
    if site is None:
        raise typer.BadParameter(f"{value!r} is no site the monitor knows; give a host such as www.rferl.org or "
                                 "www.dw.com (or a site such as rferl.org)")
    return site


@app.callback(epilog="monitor --version prints the version.")
def _root() -> None:
    """The help text is HELP. ``--version`` is answered by monitor.cli.main before typer starts: a typer option
    here would cost every command a pydantic adapter at start-up."""
