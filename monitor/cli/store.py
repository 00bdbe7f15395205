"""``monitor db``, ``monitor archive``, ``monitor ingest``, ``monitor reparse`` and ``monitor export``: the store and
the archive from the command line."""

from __future__ import annotations

import json
import sys
from contextlib import closing, nullcontext
from datetime import datetime
from pathlib import Path
from typing import Annotated, TextIO

import typer

from monitor.cli._app import PUBLISHED_SINCE_HELP, SINCE, app, fail, site_option
from monitor.errors import MonitorError

_SITE_HELP = "Only this site: a host (www.rferl.org, www.dw.com) or the site it belongs to (rferl.org)."

db_app = typer.Typer(help="The database: schema migrations.", no_args_is_help=True)
archive_app = typer.Typer(help="The archive on disk: check it against the database.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(archive_app, name="archive")


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create the database or bring its schema to the version this monitor needs."""
    from monitor.services import Opened
    from monitor.store import migrate as migrations

    try:
        with Opened.from_config() as opened:
            where = opened.store.where  # opening the store brings its schema up to date
            current = migrations.current_revision(opened.store.engine)
    except MonitorError as exc:
        raise fail(str(exc)) from None
    typer.echo(f"database {where} is at schema {current}")


@archive_app.command("verify")
def archive_verify(
    do_repair: Annotated[bool, typer.Option("--repair", help="Remove leftovers and re-render damaged texts.")] = False,
) -> None:
    """Check that every row has its files with the right hash and every file has its row (exit 1 if not)."""
    from monitor.archive_check import repair, verify
    from monitor.services import Opened

    try:
        with Opened.from_config() as opened:
            if do_repair:
                report = repair(opened.store, opened.archive, opened.registry)
            else:
                report = verify(opened.store, opened.archive)
    except MonitorError as exc:
        raise fail(str(exc)) from None
    for line in report.repaired:
        typer.echo(f"repaired: {line}")
    for problem in report.problems:
        typer.echo(problem)
    typer.echo(f"{report.checked} revisions checked, {len(report.problems)} problems", err=True)
    if not report.clean:
        raise typer.Exit(1)


@app.command()
def ingest(
    urls: Annotated[list[str] | None, typer.Argument(help="Article URLs to fetch and archive.")] = None,
    file: Annotated[Path | None, typer.Option("--file", help="A file of URLs, one a line ('-': stdin).")] = None,
    refetch: Annotated[bool, typer.Option("--refetch", help="Fetch URLs already recorded (to find edits).")] = False,
    workers: Annotated[int | None, typer.Option(
        "--workers", min=1, max=32, help="Pages ingested at once (default 1; with --processes P, P + 2).")] = None,
    processes: Annotated[int, typer.Option(
        "--processes", min=0, max=64,
        help="Parse in this many worker processes (0: in this one): for bulk ingests on a machine with several "
             "cores.")] = 0,
) -> None:
    """Fetch article pages and archive what is new: a new article, or a revision of a known one.

    Alerts are muted: what ingest archives is recorded with its alerts done, and the daemon never alerts it later.
    """
    from monitor.ingest import Failure, http_fetcher, ingest_urls
    from monitor.prepare import ParsePool
    from monitor.search.writer import IndexWriter
    from monitor.services import Opened

    todo = list(urls or [])
    if file is not None:
        try:
            source: TextIO = sys.stdin if str(file) == "-" else file.open(encoding="utf-8")
            with source:
                todo.extend(line.strip() for line in source if line.strip() and not line.startswith("#"))
        except OSError as exc:
            raise fail(f"cannot read {file}: {exc.strerror or exc}") from None
    if not todo:
        raise fail("no URLs given (arguments or --file)")
    counts = {"new": 0, "revised": 0, "seen": 0, "failed": 0}
    try:
        with Opened.from_config() as opened:
            store, archive, registry = opened.store, opened.archive, opened.registry
            archive.clean_temporary()
            with ParsePool.optional(registry, processes, story_threshold=store.story_threshold) as pool, \
                    IndexWriter.for_store(store) as indexer:
                for outcome in ingest_urls(store, archive, registry, todo, http_fetcher(opened.client),
                                           skip_seen=not refetch, clock=opened.clock, parse_pool=pool,
                                           origin="ingest", indexer=indexer,
                                           workers=workers or (pool.pages_in_flight if pool else 1)):
                    if isinstance(outcome, Failure):
                        counts["failed"] += 1
                        typer.echo(f"monitor: skipped {outcome.url}: {outcome.error}", err=True)
                        continue
                    counts[outcome.status] += 1
                    path = outcome.revision.text_path if outcome.revision else ""
                    typer.echo(f"{outcome.status}\t{outcome.article.key}\t{path}")
            if indexer.left_pending:
                typer.echo(f"monitor: {indexer.left_pending}", err=True)
    except MonitorError as exc:
        raise fail(str(exc)) from None
    typer.echo(", ".join(f"{n} {k}" for k, n in counts.items()), err=True)


@app.command()
def reparse(
    site: Annotated[str | None, typer.Option("--site", help=_SITE_HELP, callback=site_option)] = None,
    since: Annotated[datetime | None, typer.Option("--since", help=PUBLISHED_SINCE_HELP, parser=SINCE)] = None,
    processes: Annotated[int, typer.Option(
        "--processes", min=0, max=64,
        help="Parse in this many worker processes (0: in this one), P + 2 articles at a time.")] = 0,
) -> None:
    """Re-render stored raw HTML with the current parsers; record a revision only where the text changed."""
    from monitor.ingest import reparse_articles
    from monitor.prepare import ParsePool
    from monitor.search.writer import IndexWriter
    from monitor.services import Opened

    changed = unchanged = failed = 0
    try:
        with Opened.from_config() as opened:
            store, archive, registry = opened.store, opened.archive, opened.registry
            with ParsePool.optional(registry, processes, story_threshold=store.story_threshold) as pool, \
                    IndexWriter.for_store(store) as indexer:
                results = reparse_articles(store, archive, registry, store.iter_articles(site=site, since=since),
                                           clock=opened.clock, workers=pool.pages_in_flight if pool else 1,
                                           parse_pool=pool, indexer=indexer)
                # Closed before the writer when the loop ends early: no article in flight hands it an entry after.
                with closing(results):
                    for stored, result in results:
                        if isinstance(result, MonitorError):  # one page the current parsers refuse: report it, go on
                            failed += 1
                            typer.echo(f"monitor: {stored.key}: {result}", err=True)
                            continue
                        if result is not None and result.status == "revised":
                            changed += 1
                            path = result.revision.text_path if result.revision else ""
                            typer.echo(f"revised\t{stored.key}\t{path}")
                        else:
                            unchanged += 1
            if indexer.left_pending:
                typer.echo(f"monitor: {indexer.left_pending}", err=True)
    except MonitorError as exc:
        raise fail(str(exc)) from None
    typer.echo(f"{changed} revised, {unchanged} unchanged, {failed} failed", err=True)


@app.command()
def export(
    fmt: Annotated[str, typer.Option("--format", help="Output format (jsonl).")] = "jsonl",
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write here instead of stdout.")] = None,
    site: Annotated[str | None, typer.Option("--site", help=_SITE_HELP, callback=site_option)] = None,
    since: Annotated[datetime | None, typer.Option("--since", help=PUBLISHED_SINCE_HELP, parser=SINCE)] = None,
) -> None:
    """Stream every article as one JSON line: metadata, URLs, revisions and the latest archive text."""
    from monitor.services import Opened

    if fmt != "jsonl":
        raise fail(f"--format: unknown format {fmt!r} (known: jsonl)")
    try:
        out: TextIO = sys.stdout if output is None else output.open("w", encoding="utf-8")
    except OSError as exc:
        raise fail(f"cannot write {output}: {exc.strerror or exc}") from None
    try:
        with out if output is not None else nullcontext(out), Opened.from_config() as opened:
            store, archive = opened.store, opened.archive
            encode = json.JSONEncoder(ensure_ascii=False).encode  # json.dumps with options makes one per call
            for stored, urls, revisions in store.iter_article_records(site=site, since=since):
                latest = revisions[-1] if revisions else None
                record = {
                    "key": stored.key, "site": stored.site, "article_id": stored.article_id,
                    "url": stored.canonical_url, "urls": urls, "headline": stored.headline,
                    "language": stored.language,
                    "published": stored.published.isoformat() if stored.published else None,
                    "first_seen": stored.first_seen.isoformat(), "last_seen": stored.last_seen.isoformat(),
                    "story": stored.story_key,
                    "revisions": [{"number": r.number, "sha256": r.content_hash, "path": r.text_path,
                                   "raw": r.raw_path, "fetched_at": r.fetched_at.isoformat(), "origin": r.origin}
                                  for r in revisions],
                    "text": archive.read_text(latest.text_path) if latest else None,
                }
                out.write(encode(record) + "\n")
    except MonitorError as exc:
        raise fail(str(exc)) from None
