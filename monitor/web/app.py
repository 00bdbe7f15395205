"""The analyst's workbench: pages over the archive (search, article, story, rule backtest, alerts, sources), an Atom
feed per rule and per search, and a JSON API with its OpenAPI document (``/api/openapi.json``).

Everything is rendered on the server (Jinja2, autoescaped): the pages read fine with JavaScript off, and the one
script, htmx (vendored under ``static/``), only spares full page loads. Nothing is loaded from another host.
Searching goes through :class:`~monitor.search.SearchService` (on the search index, :mod:`monitor.search.index`).
"""

from __future__ import annotations

import difflib
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from html import escape
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import FastAPI, Form, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from feedgen.feed import FeedGenerator
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup
from starlette.exceptions import HTTPException

from monitor.archive import Archive
from monitor.clock import Clock, utc_now
from monitor.errors import ArchiveError, MonitorError, RuleFileError
from monitor.model import Match
from monitor.rules import QuerySyntaxError, Rule, mark, parse_rules
from monitor.search import SearchFilters, SearchHit, SearchService
from monitor.settings import Settings
from monitor.sites import default_registry
from monitor.status import assemble
from monitor.store import Store
from monitor.store.outbox import OutboxItem, OutboxState
from monitor.web.charts import bar_chart
from monitor.web.security import CSRF_COOKIE, Credentials, csrf_ok, host_allowed, new_csrf_token

log = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent
_LAST_DAY = date(9999, 12, 30)  # the latest ``until`` a date range may have (the day after must exist)
SOURCE_DAYS = 14  # days of the articles-per-day chart on the Sources page
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
       "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'")


class BadRequest(MonitorError):
    """A parameter the page cannot use: shown on the page (status 400) with what was wrong. Web-only (it carries
    the query column for the page), so it lives here, in the one tree; its own handler wins over MonitorError's
    (503): Starlette picks the handler of the closest class."""

    def __init__(self, message: str, *, column: int | None = None, query: str | None = None) -> None:
        self.message = message
        self.column = column
        self.query = query
        super().__init__(message)


@dataclass
class Workbench:
    """What the routes share (injected, no globals)."""

    settings: Settings
    store: Store
    archive: Archive
    search: SearchService
    credentials: Credentials
    templates: Environment
    clock: Clock  # the pages' "now" (monitor.clock)

    def rules(self) -> tuple[list[Rule], str | None]:
        """The rule file's rules (enabled or not), or an error line; read on every call so edits show at once."""
        path = self.settings.alerts.rules_path()
        try:
            return parse_rules(path.read_text(encoding="utf-8"), str(path)), None
        except OSError as exc:
            return [], f"cannot read the rule file {path}: {exc.strerror or exc}"
        except RuleFileError as exc:
            return [], str(exc)


def _environment() -> Environment:
    env = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(default=True),
                      trim_blocks=True, lstrip_blocks=True)
    env.filters["highlight"] = lambda text, spans: Markup(mark(text, tuple(spans), "<mark>", "</mark>", escape))
    env.filters["when"] = lambda value: value.strftime("%Y-%m-%d %H:%M") if value else "–"
    env.filters["day"] = lambda value: value.strftime("%Y-%m-%d") if value else ""
    env.filters["terms"] = _term_summary
    env.filters["short"] = lambda value: str(value).replace("T", " ").replace("+00:00", "")[:16] if value else "–"
    return env


def _term_summary(terms: Any) -> list[tuple[str, str, str, int]]:
    """Matched terms once each, as (query term, text, field, times): an article names Ukraine thirty times."""
    counts: dict[tuple[str, str, str], int] = {}
    for term in terms:
        key = (term.term, term.text, term.field)
        counts[key] = counts.get(key, 0) + 1
    return [(term, text, name, n) for (term, text, name), n in counts.items()]


def create_app(settings: Settings, store: Store, *, credentials: Credentials | None = None,
               clock: Clock = utc_now) -> FastAPI:
    """The web application over an open store (the caller opens and closes it). ``clock``: "now" for every page
    (the backtest's last day, the Sources page's ages and charts, a retried alert's next attempt)."""
    web = settings.web
    archive = Archive(settings.storage.archive_root, fsync=False)
    bench = Workbench(settings, store, archive,
                      SearchService(store, archive, page_size=web.page_size, max_page=web.max_page,
                                    max_days=web.max_days, clock=clock),
                      credentials or Credentials(), _environment(), clock)
    app = FastAPI(title="monitor", version="0.1.0", openapi_url="/api/openapi.json", docs_url=None, redoc_url=None,
                  description="The news monitor's archive: search with the rule language, articles and stories.")
    app.state.bench = bench
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    _install_middleware(app, bench)
    _install_errors(app, bench)
    _pages(app, bench)
    _feeds(app, bench)
    _api(app, bench)
    return app


# --- plumbing ---------------------------------------------------------------------------------------------------------


def _install_middleware(app: FastAPI, bench: Workbench) -> None:
    @app.middleware("http")
    async def guard(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        if not host_allowed(request.headers.get("host"), bench.credentials):
            response: Response = Response("this page answers to localhost and 127.0.0.1 only\n", status_code=421,
                                          media_type="text/plain")
        elif bench.credentials.configured and not bench.credentials.allows(request.headers.get("authorization")):
            response = Response("authentication required\n", status_code=401, media_type="text/plain",
                                          headers={"WWW-Authenticate": 'Basic realm="monitor"'})
        else:
            token = request.cookies.get(CSRF_COOKIE)
            request.state.csrf = token or new_csrf_token()
            response = await call_next(request)
            if not token:
                response.set_cookie(CSRF_COOKIE, request.state.csrf, httponly=True, samesite="strict",
                                    secure=request.url.scheme == "https")
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["Referrer-Policy"] = "same-origin"
        return response


def _render(bench: Workbench, request: Request, name: str, code: int = 200, /, **context: Any) -> HTMLResponse:
    template = bench.templates.get_template(name)
    html = template.render(request=request, csrf=getattr(request.state, "csrf", ""), url_with=_url_with(request),
                           **context)
    return HTMLResponse(html, status_code=code)


def _url_with(request: Request) -> Callable[..., str]:
    def url_with(**changes: Any) -> str:
        params = {k: v for k, v in request.query_params.items() if v}
        for key, value in changes.items():
            if value in (None, ""):
                params.pop(key, None)
            else:
                params[key] = str(value)
        return request.url.path + ("?" + urlencode(params) if params else "")

    return url_with


def _install_errors(app: FastAPI, bench: Workbench) -> None:
    def wants_json(request: Request) -> bool:
        return request.url.path.startswith("/api/")

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> Response:
        message = exc.detail if isinstance(exc.detail, str) else "error"
        if wants_json(request):
            return JSONResponse({"error": message}, status_code=exc.status_code)
        return _render(bench, request, "error.html", exc.status_code, status=exc.status_code, message=message)

    @app.exception_handler(RequestValidationError)
    async def bad_parameters(request: Request, exc: RequestValidationError) -> Response:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'][1:])}: {e['msg']}" for e in exc.errors())
        if wants_json(request):
            return JSONResponse({"error": problems}, status_code=400)
        return _render(bench, request, "error.html", 400, status=400, message=problems)

    @app.exception_handler(BadRequest)
    async def bad_request(request: Request, exc: BadRequest) -> Response:
        if wants_json(request):
            return JSONResponse({"error": exc.message, "column": exc.column}, status_code=400)
        return _render(bench, request, "error.html", 400, status=400, message=exc.message)

    @app.exception_handler(MonitorError)
    async def monitor_error(request: Request, exc: MonitorError) -> Response:
        log.warning("web: %s: %s", request.url.path, exc)
        if wants_json(request):
            return JSONResponse({"error": str(exc)}, status_code=503)
        return _render(bench, request, "error.html", 503, status=503, message=str(exc))

    @app.exception_handler(Exception)
    async def crash(request: Request, exc: Exception) -> Response:
        # The traceback goes to the log, never to the page: it can name files, settings and data.
        log.error("web: %s failed", request.url.path, exc_info=exc)
        if wants_json(request):
            return JSONResponse({"error": "internal error"}, status_code=500)
        return _render(bench, request, "error.html", 500, status=500,
                       message="Something went wrong on the server; the log has the details.")


def _day(name: str, value: str | None) -> date | None:
    if not value:
        return None
    try:
        day = date.fromisoformat(value.strip())
    except ValueError:
        raise BadRequest(f"{name}: {value!r} is not a date (YYYY-MM-DD)") from None
    return min(day, _LAST_DAY)


def _filters(site: str | None, language: str | None, section: str | None, since: str | None,
             until: str | None) -> SearchFilters:
    return SearchFilters(site=site or None, language=language or None, section=section or None,
                         since=_day("since", since), until=_day("until", until))


def _run_search(bench: Workbench, q: str, filters: SearchFilters, page: int) -> Any:
    try:
        return bench.search.search(q, filters, page)
    except QuerySyntaxError as exc:
        raise BadRequest(f"query column {exc.column}: {exc.message}", column=exc.column, query=q) from None


# --- pages ------------------------------------------------------------------------------------------------------------


def _pages(app: FastAPI, bench: Workbench) -> None:
    @app.get("/", include_in_schema=False)
    async def home() -> RedirectResponse:
        return RedirectResponse("/search", status_code=307)

    @app.get("/search", response_class=HTMLResponse, include_in_schema=False)
    def search_page(request: Request, q: str = "", site: str = "", language: str = "", section: str = "",
                    since: str = "", until: str = "", page: int = Query(1, ge=1, le=10**9)) -> HTMLResponse:
        choices = bench.store.filter_choices()
        context: dict[str, Any] = {"q": q, "site": site, "language": language, "section": section, "since": since,
                                   "until": until, "choices": choices, "result": None, "error": None}
        status = 200
        try:
            context["result"] = _run_search(bench, q, _filters(site, language, section, since, until), page)
        except BadRequest as exc:
            context["error"] = exc
            status = 400
        partial = request.headers.get("hx-request") and request.headers.get("hx-target") == "results"
        return _render(bench, request, "_results.html" if partial else "search.html", status, **context)

    @app.get("/article/{key:path}/raw/{number}", include_in_schema=False)
    def raw_html(key: str, number: int) -> Response:
        revision = next((r for r in bench.store.revisions(key) if r.number == number), None)
        if revision is None or not revision.raw_path:
            raise HTTPException(404, f"no raw HTML for revision {number} of article {key}")
        data = bench.archive.read_raw(revision.raw_path)
        name = f"{key.replace(':', '_')}_{number}.html.txt"
        # text/plain and nosniff: the page's HTML (and any script in it) is shown as text, never run.
        return Response(data, media_type="text/plain; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{name}"',
                                 "Content-Security-Policy": "default-src 'none'; sandbox"})

    @app.get("/article/{key:path}", response_class=HTMLResponse, include_in_schema=False)
    def article_page(request: Request, key: str, a: int | None = None, b: int | None = None) -> HTMLResponse:
        article = bench.store.article(key)
        meta = bench.store.article_meta(key)
        if article is None or meta is None:
            raise HTTPException(404, f"no article {key!r} in the archive")
        revisions = bench.store.revisions(key)
        texts: dict[int, str | None] = {}

        def text_of(number: int) -> str | None:
            if number not in texts:
                revision = next((r for r in revisions if r.number == number), None)
                try:
                    texts[number] = bench.archive.read_text(revision.text_path) if revision else None
                except ArchiveError:
                    texts[number] = None
            return texts[number]

        latest = revisions[-1] if revisions else None
        diff: list[tuple[str, str]] | None = None
        if a is not None and b is not None:
            old, new = text_of(a), text_of(b)
            if old is None or new is None:
                raise HTTPException(404, f"article {key} has no revision {a if old is None else b}")
            diff = [(_line_kind(line), line) for line in difflib.unified_diff(
                old.splitlines(), new.splitlines(), f"revision {a}", f"revision {b}", lineterm="", n=2)]
        story = [other for other in bench.store.story_articles(article.story_key) if other.key != key] \
            if article.story_key else []
        alerts = [(item, _matches_of(item)) for item in bench.store.outbox.of_article(key)]
        return _render(bench, request, "article.html", article=article, meta=meta, revisions=revisions,
                       latest=latest, text=text_of(latest.number) if latest else None,
                       urls=bench.store.urls_of(article.pk), diff=diff, a=a, b=b, story=story, alerts=alerts)

    @app.get("/story/{key:path}", response_class=HTMLResponse, include_in_schema=False)
    def story_page(request: Request, key: str) -> HTMLResponse:
        articles = bench.store.story_articles(key)
        if not articles:
            raise HTTPException(404, f"no story {key!r} in the archive")
        return _render(bench, request, "story.html", key=key, articles=articles)

    @app.get("/backtest", response_class=HTMLResponse, include_in_schema=False)
    def backtest_page(request: Request, q: str = "", rule: str = "", site: str = "", language: str = "",
                      section: str = "", since: str = "", until: str = "") -> HTMLResponse:
        rules, rules_error = bench.rules()
        chosen = next((r for r in rules if r.name == rule), None) if rule else None
        context: dict[str, Any] = {"q": q, "rule": rule, "rules": rules, "rules_error": rules_error, "site": site,
                                   "language": language, "section": section, "since": since, "until": until,
                                   "result": None, "chart": None, "error": None}
        status = 200
        if rule and chosen is None:
            context["error"] = BadRequest(f"no rule named {rule!r} in the rule file")
            status = 400
        elif q or chosen:
            query = q or (chosen.query if chosen else "")
            try:
                result = bench.search.backtest(query, _filters(site, language, section, since, until),
                                               rule=chosen if not q else None)
                context["result"] = result
                context["chart"] = bar_chart(result.per_day, title=f"matches per day: {query}")
            except QuerySyntaxError as exc:
                context["error"] = BadRequest(f"query column {exc.column}: {exc.message}", column=exc.column,
                                              query=query)
                status = 400
            except BadRequest as exc:
                context["error"] = exc
                status = 400
        return _render(bench, request, "backtest.html", status, **context)

    @app.get("/alerts", response_class=HTMLResponse, include_in_schema=False)
    def alerts_page(request: Request, channel: str = "", state: str = "", retried: int | None = None
                    ) -> HTMLResponse:
        if state and state not in {s.value for s in OutboxState}:
            raise BadRequest(f"state: expected one of {', '.join(s.value for s in OutboxState)}, found {state!r}")
        items = bench.store.outbox.newest(channel=channel or None, state=state or None)
        counts = bench.store.outbox.status_counts()
        return _render(bench, request, "alerts.html", counts=counts, channel=channel,
                       state=state, states=[s.value for s in OutboxState], retried=retried,
                       items=[(item, _matches_of(item)) for item in items])

    @app.post("/alerts/retry", include_in_schema=False)
    def alerts_retry(request: Request, csrf: str = Form(""), id: int = Form(...)) -> RedirectResponse:
        if not csrf_ok(request.cookies.get(CSRF_COOKIE), csrf):
            raise HTTPException(403, "the form's security token is missing or stale: reload the page and try again")
        # The same call as `monitor alerts retry ID`: a dead letter goes back to the queue with fresh attempts.
        count = bench.store.outbox.retry_dead(bench.clock(), ids=[id])
        return RedirectResponse(f"/alerts?retried={count}", status_code=303)

    @app.get("/sources", response_class=HTMLResponse, include_in_schema=False)
    def sources_page(request: Request) -> HTMLResponse:
        now = bench.clock()
        status = assemble(bench.settings, bench.store, default_registry(bench.settings.pangea_hosts), now)
        first_day = now.date() - timedelta(days=SOURCE_DAYS - 1)
        charts = {}
        for row in status.sources:
            # New articles of the source's own runs, counted as its "today" is: sources sharing a site apart.
            per_day = bench.store.archived_per_day(row["source"], first_day, SOURCE_DAYS)
            charts[row["source"]] = bar_chart(per_day, title=f"{row['source']}: articles per day", width=280,
                                              height=70, css_class="chart small")
        return _render(bench, request, "sources.html", sources=status.sources, charts=charts, counts=status.outbox,
                       problems=status.problems, where=bench.store.where)


def _matches_of(item: OutboxItem) -> list[Match]:
    """What matched, from an outbox row's payload (one match, or a digest's list); nothing for a payload this
    version cannot read (it is shown raw-less rather than failing the page)."""
    try:
        data: Any = json.loads(item.payload)
        if isinstance(data, dict) and "matches" in data:
            data = data["matches"]
        items = data if isinstance(data, list) else [data]
        return [Match.from_json(entry) for entry in items if isinstance(entry, dict) and "rule" in entry]
    except (ValueError, KeyError, TypeError):
        return []


def _line_kind(line: str) -> str:
    if line.startswith(("+++", "---", "@@")):
        return "meta"
    return {"+": "add", "-": "del"}.get(line[:1], "same")


# --- feeds ------------------------------------------------------------------------------------------------------------


def _atom(request: Request, title: str, page_url: str, hits: list[SearchHit]) -> Response:
    feed = FeedGenerator()
    base = str(request.base_url).rstrip("/")
    feed.id(f"{base}{request.url.path}?{request.url.query}" if request.url.query else f"{base}{request.url.path}")
    feed.title(title)
    feed.author({"name": "monitor"})
    feed.link(href=str(request.url), rel="self")
    feed.link(href=base + page_url, rel="alternate")
    feed.updated(max((h.candidate.when for h in hits), default=datetime(2000, 1, 1, tzinfo=UTC)))
    for hit in hits:
        article = hit.article
        entry = feed.add_entry(order="append")
        entry.id(article.canonical_url)
        entry.title(article.headline or article.key)
        entry.link(href=article.canonical_url)
        entry.published(hit.candidate.when)
        entry.updated(article.last_seen)
        entry.summary(hit.snippet or article.headline)
        entry.category(term=article.site)
    return Response(feed.atom_str(pretty=True), media_type="application/atom+xml; charset=utf-8")


def _feeds(app: FastAPI, bench: Workbench) -> None:
    @app.get("/feeds/search.atom", include_in_schema=False)
    def search_feed(request: Request, q: str = "", site: str = "", language: str = "", section: str = "",
                    since: str = "", until: str = "") -> Response:
        result = _run_search(bench, q, _filters(site, language, section, since, until), 1)
        page = "/search?" + urlencode({k: v for k, v in request.query_params.items() if v})
        return _atom(request, f"monitor search: {q or 'all articles'}", page, result.hits)

    @app.get("/feeds/rules/{name}.atom", include_in_schema=False)
    def rule_feed(request: Request, name: str) -> Response:
        rules, error = bench.rules()
        rule = next((r for r in rules if r.name == name), None)
        if rule is None:
            raise HTTPException(404, error or f"no rule named {name!r} in the rule file")
        hits: list[SearchHit] = []
        for hit in bench.search.matches(rule.node, SearchFilters(), rule=rule):
            hits.append(hit)
            if len(hits) >= bench.search.page_size:
                break
        return _atom(request, f"monitor rule {rule.name}: {rule.query}", "/backtest?" + urlencode({"rule": name}),
                     hits)


# --- JSON API ---------------------------------------------------------------------------------------------------------


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _api(app: FastAPI, bench: Workbench) -> None:
    @app.get("/api/search", tags=["search"], summary="Search the archive with the rule language")
    def api_search(q: str = Query("", description="A query in the rule language, e.g. 'Lavrov NEAR/20 Ukrain*'"),
                   site: str = "", language: str = "", section: str = "",
                   since: str = Query("", description="First day (YYYY-MM-DD), included"),
                   until: str = Query("", description="Last day (YYYY-MM-DD), included"),
                   page: int = Query(1, ge=1, le=10**9)) -> dict[str, Any]:
        result = _run_search(bench, q, _filters(site, language, section, since, until), page)
        return {"query": q, "page": result.page, "page_size": result.page_size, "has_next": result.has_next,
                "bounded": result.bounded, "results": [{
                    "key": h.article.key, "url": h.article.canonical_url, "headline": h.article.headline,
                    "site": h.article.site, "language": h.article.language, "time": _iso(h.candidate.when),
                    "published": _iso(h.article.published), "section": h.candidate.section,
                    "story": h.article.story_key, "snippet": h.snippet,
                    "highlights": [list(s) for s in h.highlights]} for h in result.hits]}

    @app.get("/api/articles/{key:path}", tags=["archive"], summary="One article: metadata, URLs, revisions, text")
    def api_article(key: str) -> dict[str, Any]:
        article = bench.store.article(key)
        meta = bench.store.article_meta(key)
        if article is None or meta is None:
            raise HTTPException(404, f"no article {key!r} in the archive")
        revisions = bench.store.revisions(key)
        try:
            text = bench.archive.read_text(revisions[-1].text_path) if revisions else None
        except ArchiveError:
            text = None
        return {"key": article.key, "url": article.canonical_url, "headline": article.headline,
                "site": article.site, "language": article.language, "section": meta.section,
                "authors": meta.authors, "published": _iso(article.published),
                "time": _iso(article.published or article.first_seen), "first_seen": _iso(article.first_seen),
                "last_seen": _iso(article.last_seen), "story": article.story_key,
                "urls": bench.store.urls_of(article.pk),
                "revisions": [{"number": r.number, "sha256": r.content_hash, "size": r.size,
                               "fetched_at": _iso(r.fetched_at), "origin": r.origin, "has_raw": bool(r.raw_path)}
                              for r in revisions],
                "text": text}

    @app.get("/api/stories/{key:path}", tags=["archive"], summary="One story: its articles across sites in time order")
    def api_story(key: str) -> dict[str, Any]:
        articles = bench.store.story_articles(key)
        if not articles:
            raise HTTPException(404, f"no story {key!r} in the archive")
        return {"key": key, "articles": [{
            "key": a.key, "url": a.canonical_url, "headline": a.headline, "site": a.site, "language": a.language,
            "time": _iso(a.when)} for a in articles]}

