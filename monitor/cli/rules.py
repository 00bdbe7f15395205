"""``monitor rules check|test`` and ``monitor alerts list|retry``: the rule file, trying a query on the archive,
and the outbox's backlog and dead letters."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from monitor.cli._app import PUBLISHED_SINCE_HELP, SINCE, app, fail
from monitor.errors import MonitorError, RuleFileError

if TYPE_CHECKING:
    from monitor.rules.query import Node
    from monitor.services import Opened

rules_app = typer.Typer(help="Alert rules: validate the rule file, try a query on the archive.", no_args_is_help=True)
alerts_app = typer.Typer(help="The alert outbox: backlog, dead letters, resending.", no_args_is_help=True)
app.add_typer(rules_app, name="rules")
app.add_typer(alerts_app, name="alerts")


def _opened(*, upgrade: bool = False) -> Opened:
    from monitor.services import Opened

    try:
        return Opened.from_config(upgrade=upgrade)
    except MonitorError as exc:
        raise fail(str(exc)) from None


@rules_app.command("check")
def rules_check(
    file: Annotated[Path | None, typer.Argument(help="Rule file; default: alerts.rules_file from the config.")] = None,
) -> None:
    """Validate a rule file and list every error (exit 1 when it has errors, 2 when it cannot be read)."""
    from monitor.rules import parse_rules

    settings = _opened().settings
    path = file if file is not None else settings.alerts.rules_path()
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise fail(f"cannot read {path}: {exc.strerror or exc}") from None
    channels = set(settings.alerts.channels) or None  # without configured channels, names are not checked
    try:
        rules = parse_rules(text, str(path), channels=channels)
    except RuleFileError as exc:
        for problem in exc.problems:
            typer.echo(f"{path}: {problem}", err=True)
        typer.echo(f"{path}: {len(exc.problems)} error(s); the file would be refused as a whole", err=True)
        raise typer.Exit(1) from None
    enabled = sum(r.enabled for r in rules)
    typer.echo(f"{path}: {len(rules)} rules OK ({enabled} enabled)")


@dataclass(frozen=True, slots=True)
class _ArchivedText:
    where: str  # URL or file path
    headline: str
    text: str
    site: str | None
    language: str | None
    published: datetime | None


def _files(root: Path, since: datetime | None) -> Iterator[_ArchivedText]:
    from monitor.errors import ArchiveError

    paths = [root] if root.is_file() else sorted(root.rglob("*.txt"))
    for path in paths:
        if path.name == "README.txt":
            continue
        try:
            mtime = datetime.fromtimestamp(path.stat().st_mtime, UTC)
            if since and mtime < since:
                continue
            text = path.read_text(encoding="utf-8", errors="replace")
        except OSError as exc:
            raise ArchiveError(f"cannot read {path}: {exc.strerror or exc}") from None
        yield _ArchivedText(str(path), "", text, None, None, mtime)


def _database(opened: Opened, since: datetime | None, node: Node, *, scan: bool) -> Iterator[_ArchivedText]:
    """The latest text of every stored article that may match ``node`` (published, or first seen, since
    ``since``), newest first: the candidates the search index gives (``scan``: every article, read one by one); the
    rows selected without the store's ORM (:attr:`Opened.reader`), the texts read through the archive."""
    from monitor.search import SearchFilters, SearchService, StoreScan

    database = opened.reader  # Core selects only: no ORM to import (start-up is most of this command's time)
    service = SearchService(database, opened.archive, StoreScan(database) if scan else None)
    filters = SearchFilters(since=since.astimezone(UTC).date() if since else None)
    for candidate in service.candidates.candidates(node, filters):
        article = candidate.article
        if since and candidate.when < since:
            continue
        text = service.text(candidate)
        if text is None:
            continue  # `monitor archive verify` reports missing files; a search just skips them
        yield _ArchivedText(article.canonical_url, article.headline, text, article.site, article.language,
                            article.published)


@rules_app.command("test")
def rules_test(
    query: Annotated[str, typer.Argument(help="A query in the rule language, e.g. 'Lavrov NEAR/20 Ukrain*'.")],
    since: Annotated[datetime | None, typer.Option(help=PUBLISHED_SINCE_HELP + " With --path: files modified at "
                                                                               "or after it.", parser=SINCE)] = None,
    path: Annotated[Path | None, typer.Option("--path", help="Search these archive text files (a file or a folder) "
                                                             "instead of the database.")] = None,
    limit: Annotated[int, typer.Option(help="Stop after this many matches.")] = 50,
    language: Annotated[str | None, typer.Option(help="Take every text as written in this language (ru, uk, de, "
                                                      "...): archive files carry none, so their words are compared "
                                                      "as written unless given.")] = None,
) -> None:
    """Run a query over the archive and print each match with its snippet (matched words in [brackets])."""
    from monitor.rules import Document, QuerySyntaxError, evaluate, explain, mark, parse_query
    from monitor.rules.highlight import explained

    try:
        node = parse_query(query)
    except QuerySyntaxError as exc:
        typer.echo(f"monitor: error: query column {exc.column}: {exc.message}", err=True)
        typer.echo(f"  {query}\n  {' ' * (exc.column - 1)}^", err=True)
        raise typer.Exit(2) from None
    opened = _opened()
    settings = opened.settings
    if path is not None:
        if not path.exists():
            raise fail(f"{path}: no such file or folder")
        texts = _files(path, since)
    else:
        from monitor.store.engine import database_url, sqlite_file

        database = sqlite_file(database_url(settings.storage))
        if database is not None and not database.exists():  # not created empty by connecting to it
            raise fail(f"no database at {database} (set storage.url, or search archive files with --path)")
        # The index was built with each article's own language: another one given, every text is read.
        texts = _database(opened, since, node, scan=language is not None)
    seen = found = 0
    try:
        for item in texts:
            seen += 1
            doc = Document.from_archive_text(item.text, item.headline, site=item.site,
                                             language=language or item.language)
            hits = evaluate(node, doc)
            if hits is None:
                continue
            found += 1
            shown = explained(hits, doc)
            words = ", ".join(sorted({f"{explain(t)} ({t.field} {t.start}-{t.end})" for t in shown.terms}))
            published = item.published.strftime("%Y-%m-%d %H:%M UTC") if item.published else ""
            typer.echo(f"{item.headline or item.where}\n  {item.where}  {published}".rstrip())
            typer.echo(f"  matched: {words}")
            typer.echo(f"  {mark(shown.snippet, shown.highlights, '[', ']')}\n")
            if found >= limit:
                break
    except MonitorError as exc:  # the database (StoreError naming it) or the archive; anything else is a bug
        raise fail(str(exc)) from None
    finally:
        opened.close()
    typer.echo(f"{found} match(es) in {seen} article(s)", err=True)


@alerts_app.command("list")
def alerts_list(
    state: Annotated[list[str] | None, typer.Option(help="States to list (queued, sending, sent, dead, buffered, "
                                                         "digested); default: dead, queued and sending.")] = None,
    limit: Annotated[int, typer.Option(help="At most this many rows.")] = 200,
) -> None:
    """Counts per channel and state, then the listed rows: dead letters and backlog by default."""
    from monitor.store.outbox import OutboxState

    known = {s.value for s in OutboxState}
    for name in state or ():
        if name not in known:
            raise fail(f"--state: expected one of {', '.join(sorted(known))}, found {name!r}")
    try:
        with _opened(upgrade=True) as opened:  # migrated, as the daemon does on start
            counts = opened.outbox.status_counts()
            listed = opened.outbox.rows(state or [OutboxState.DEAD, OutboxState.QUEUED, OutboxState.SENDING], limit)
    except MonitorError as exc:
        raise fail(str(exc)) from None
    if not counts:
        typer.echo("outbox: empty")
        return
    for channel, by_state in sorted(counts.items()):
        typer.echo(f"{channel}: " + ", ".join(f"{n} {s}" for s, n in sorted(by_state.items())))
    for row in listed:
        error = f"  last error: {row.last_error}" if row.last_error else ""
        typer.echo(f"#{row.id} {row.state} {row.channel} {row.kind} rule={row.rule} story={row.story_key} "
                   f"attempts={row.attempts} next={row.next_attempt_at:%Y-%m-%d %H:%M:%S}Z{error}")


@alerts_app.command("retry")
def alerts_retry(
    ids: Annotated[list[int] | None, typer.Argument(help="Outbox row ids; default: every dead letter.")] = None,
    channel: Annotated[str | None, typer.Option(help="Only this channel's dead letters.")] = None,
    send: Annotated[bool, typer.Option("--send", help="Deliver now instead of leaving it to the daemon.")] = False,
) -> None:
    """Queue dead letters again with a fresh count of attempts (and, with --send, deliver them now)."""
    with _opened(upgrade=True) as opened:  # migrated, as the daemon does on start
        try:
            _retry(opened, ids, channel, send)
        except MonitorError as exc:
            raise fail(str(exc)) from None


def _retry(opened: Opened, ids: list[int] | None, channel: str | None, send: bool) -> None:
    from monitor.notify import Deliverer, senders_from_settings
    from monitor.store.outbox import OutboxState

    settings, outbox = opened.settings, opened.outbox
    known = set(settings.alerts.channels) | set(outbox.status_counts())
    if channel is not None and channel not in known:
        raise fail(f"--channel: no channel named {channel!r} (configured or in the outbox: "
                   f"{', '.join(sorted(known)) or 'none'})")
    # Named rows must be dead letters (of --channel, if given); anything else is refused before one is touched.
    refused = []
    for row_id in dict.fromkeys(ids or ()):
        item = outbox.find_by_id(row_id)
        if item is None:
            refused.append(f"alert #{row_id}: no such outbox row (see `monitor alerts list`)")
        elif item.state != OutboxState.DEAD:
            refused.append(f"alert #{row_id}: is {item.state}, not dead: nothing to retry")
        elif channel is not None and item.channel != channel:
            refused.append(f"alert #{row_id}: belongs to channel {item.channel}, not {channel}")
    if refused:
        raise fail("\n".join(refused))
    count = outbox.retry_dead(opened.clock(), ids=ids or None, channel=channel)
    typer.echo(f"{count} dead alert(s) queued again")
    if send and count:
        reports = Deliverer(opened.store.engine, senders_from_settings(settings.alerts, opened.clock),
                            settings.alerts.delivery, opened.clock).deliver()
        failed = False
        for name, report in sorted(reports.items()):
            typer.echo(f"{name}: {report.sent} sent, {report.retrying} to retry, {report.dead} dead")
            for error in report.errors:
                typer.echo(f"{name}: {error}", err=True)
            failed = failed or bool(report.errors)
        if failed:
            sys.exit(1)
