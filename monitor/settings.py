"""Configuration: ``config/monitor.toml`` validated into typed sections, with ``MONITOR_*`` environment overrides.

Secrets (webhook URLs, SMTP passwords) never live in the file: the file names the environment variable that
holds them, and :func:`secret` reads it. Every area owns one section model below; an error names the variable it
came from, or the file, line and key, and says what was expected.
"""

from __future__ import annotations

import json
import os
import re
import tomllib
import types
import typing
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from monitor.errors import ConfigError

_PACKAGE = Path(__file__).resolve().parent
#: The shipped configuration: ``config/monitor.toml`` of the source checkout (the copy to edit) when there is one,
#: else the copy an installed package carries (setup.py's build step puts ``config/*.toml`` there). Relative paths
#: in it (the rule file) that do not exist in the working directory are taken from beside it: see
#: :meth:`AlertsSettings.rules_path`.
DEFAULT_CONFIG = next((path for path in (_PACKAGE.parent / "config" / "monitor.toml",
                                         _PACKAGE / "data" / "config" / "monitor.toml") if path.is_file()),
                      _PACKAGE.parent / "config" / "monitor.toml")
ENV_PREFIX = "MONITOR_"
_YEARS_1000 = 1000 * 366 * 86400.0


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class HttpSettings(_Section):
    """The one HTTP client (monitor/http/)."""

    user_agent: str = "monitor/0.1 (news monitoring; +mailto:{contact})"
    contact: str = "monitor-operator@example.org"
    connect_timeout: float = Field(default=10.0, gt=0, le=600)
    read_timeout: float = Field(default=30.0, gt=0, le=3600)
    total_timeout: float = Field(default=60.0, gt=0, le=86400)
    max_bytes: int = Field(default=10 * 1024 * 1024, ge=1, le=1 << 30)
    max_redirects: int = Field(default=5, ge=0, le=30)
    # seconds between two requests to one host; robots.txt Crawl-delay wins when larger
    min_delay: float = Field(default=1.0, ge=0, le=3600)
    retries: int = Field(default=3, ge=0, le=20)
    backoff_base: float = Field(default=1.0, ge=0, le=3600)
    backoff_max: float = Field(default=60.0, ge=0, le=86400)
    host_backoff: float = Field(default=300.0, ge=0, le=7 * 86400)  # seconds a host that keeps failing is left alone
    # consecutive failed attempts (timeouts, 5xx, 429) that send a host into back-off
    host_failures: int = Field(default=5, ge=1, le=1_000_000)
    robots_ttl: float = Field(default=86400.0, ge=0, le=30 * 86400)
    # Maps a site's host to a local base URL ("www.rferl.org" = "http://127.0.0.1:8000"): the demo and the
    # end-to-end tests serve snapshots of the sites this way, with nothing else in the pipeline knowing.
    host_map: dict[str, str] = Field(default_factory=dict)


class SourceSettings(_Section):
    """One watched source: a site's feeds, sitemaps and section pages, polled at an interval."""

    name: str
    site: str  # host, e.g. "www.rferl.org"
    feeds: list[str] = Field(default_factory=list)
    sitemaps: list[str] = Field(default_factory=list)
    sections: list[str] = Field(default_factory=list)
    # Where `monitor backfill` walks (sitemap indexes or chunks, filtered by lastmod); empty: the family's default
    # (Pangea https://<site>/sitemap.xml, DW https://www.dw.com/<lang>/article-sitemap.xml), see monitor/backfill.py.
    backfill_sitemaps: list[str] = Field(default_factory=list)
    interval: float = Field(default=300.0, gt=0, le=7 * 86400)  # seconds between polls
    jitter: float = Field(default=30.0, ge=0, le=86400)
    # seconds: discovery ignores sitemap chunks and entries last changed before this
    lookback: float = Field(default=2 * 86400.0, ge=0, le=_YEARS_1000)
    # raise an operations alert when nothing new was seen for this long
    quiet_hours: float = Field(default=24.0, gt=0, le=24 * 366)
    # Articles first seen less than revisit_hours ago are fetched again when last fetched revisit_every seconds ago
    # or more, to catch edits that feeds do not announce (0 hours: only when a feed or sitemap re-dates them).
    revisit_hours: float = Field(default=6.0, ge=0, le=24 * 366)
    revisit_every: float = Field(default=3600.0, ge=0, le=366 * 86400)
    # Languages this source keeps (ISO 639-1 codes as the site writes them, e.g. ["ru"]); empty: every language.
    languages: list[str] = Field(default_factory=list)
    enabled: bool = True


class StorageSettings(_Section):
    url: str | None = None  # SQLAlchemy URL; None: SQLite file monitor.db under the archive root
    archive_root: Path = Path("archive")
    # near-duplicate similarity that links articles into one story
    story_threshold: float = Field(default=0.8, gt=0, le=1)
    # fsync every archive file and folder before its row is committed: survives power loss, not only a killed
    # process (which the page cache survives anyway); off roughly halves the cost of writing an article.
    fsync: bool = True


class SlackChannel(_Section):
    type: Literal["slack"]
    webhook_url_env: str = "MONITOR_SLACK_WEBHOOK_URL"


class EmailChannel(_Section):
    type: Literal["email"]
    host: str = "localhost"
    port: int = Field(default=587, ge=1, le=65535)
    security: Literal["starttls", "tls", "none"] = "starttls"
    username_env: str | None = "MONITOR_SMTP_USERNAME"
    password_env: str | None = "MONITOR_SMTP_PASSWORD"
    sender: str = "monitor@example.org"
    recipients: list[str] = Field(default_factory=list)
    ca_file: Path | None = None  # extra CA bundle to trust (a private mail relay); the system's CAs otherwise


class DeliverySettings(_Section):
    max_attempts: int = Field(default=8, ge=1, le=1000)
    backoff_base: float = Field(default=30.0, ge=0, le=86400)
    backoff_max: float = Field(default=3600.0, ge=0, le=30 * 86400)
    timeout: float = Field(default=20.0, gt=0, le=3600)


class AlertsSettings(_Section):
    rules_file: Path = Path("config/rules.toml")
    # Tagged by `type`: a bad email setting is reported against the email model only, not against Slack's too.
    channels: dict[str, Annotated[SlackChannel | EmailChannel, Field(discriminator="type")]] = Field(
        default_factory=dict)
    delivery: DeliverySettings = DeliverySettings()
    operations_channel: str | None = None  # where source-health alerts go

    def rules_path(self) -> Path:
        """The rule file: a relative path that does not exist in the working directory is the shipped one's, beside
        the default config (``config/rules.toml`` of the checkout, or of the installed package)."""
        path = self.rules_file
        return path if path.is_absolute() or path.exists() else DEFAULT_CONFIG.parent.parent / path


class DaemonSettings(_Section):
    # runs in a row with errors before a source is reported failing
    failures_before_alert: int = Field(default=3, ge=1, le=10_000)
    # seconds between delivery rounds of each alert channel
    delivery_interval: float = Field(default=10.0, gt=0, le=86400)
    # seconds between checks for digest periods that have ended
    digest_interval: float = Field(default=60.0, gt=0, le=86400)
    health_listen: str | None = None  # "127.0.0.1:9108" serves /healthz and /metrics
    log_format: Literal["json", "text"] = "text"
    # PostgreSQL, several daemons: seconds a process's leases outlive its last heartbeat (it heartbeats every third
    # of this). A dead process's sources move within 4/3 of it; keep it at most 3/4 of the shortest interval.
    lease_ttl: float = Field(default=30.0, gt=0, le=3600)


class WebSettings(_Section):
    """``monitor web``: the analyst's pages over the archive (monitor/web). Credentials are never set here: the
    settings name the environment variables that hold them, and a non-loopback host needs one of them set."""

    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)
    token_env: str = "MONITOR_WEB_TOKEN"  # a bearer token (or the password of any Basic user)
    users_env: str = "MONITOR_WEB_USERS"  # "name:password,name:password" for HTTP Basic
    page_size: int = Field(default=20, ge=1, le=200)
    max_page: int = Field(default=50, ge=1, le=10_000)  # deeper pages are bounded: narrow the query instead
    max_days: int = Field(default=366, ge=1, le=36_600)  # longest date range a backtest or search covers


class Settings(_Section):
    """All configuration. :func:`load_settings` reads it from the file and ``MONITOR_<SECTION>__<KEY>`` variables."""

    model_config = ConfigDict(extra="forbid", frozen=False)

    http: HttpSettings = HttpSettings()
    storage: StorageSettings = StorageSettings()
    alerts: AlertsSettings = AlertsSettings()
    daemon: DaemonSettings = DaemonSettings()
    web: WebSettings = WebSettings()
    sources: list[SourceSettings] = Field(default_factory=list)
    pangea_hosts: list[str] = Field(default_factory=list)  # extra Pangea sites beyond the built-in list

    @field_validator("sources")
    @classmethod
    def _unique_source_names(cls, sources: list[SourceSettings]) -> list[SourceSettings]:
        seen: set[str] = set()
        for source in sources:
            if source.name in seen:
                raise ValueError(f"source name {source.name!r} is used twice")
            seen.add(source.name)
        return sources

    def source(self, name: str) -> SourceSettings:
        for source in self.sources:
            if source.name == name:
                return source
        known = ", ".join(s.name for s in self.sources) or "none"
        raise ConfigError(f"no source named {name!r} (configured: {known})")


def config_path() -> Path:
    """Where the configuration is read from: ``MONITOR_CONFIG``, else config/monitor.toml of this checkout."""
    return Path(os.environ.get("MONITOR_CONFIG") or DEFAULT_CONFIG)


def load_settings(path: Path | None = None, *, overrides: dict[str, Any] | None = None,
                  environ: Mapping[str, str] | None = None) -> Settings:
    """Read and validate the config file (``MONITOR_CONFIG`` or config/monitor.toml) and the ``MONITOR_*``
    overrides in ``environ`` (default: the process environment; the environment wins over the file).

    Raises ConfigError with one line per problem, each naming the variable, or the file, line and key.
    """
    environ = os.environ if environ is None else environ
    path = path or config_path()
    data: dict[str, Any] = {}
    text = ""
    if path.exists():
        try:
            text = path.read_text(encoding="utf-8")
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: {exc}") from None
        except UnicodeDecodeError:
            raise ConfigError(f"{path}: not UTF-8 text") from None
        except OSError as exc:
            raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None
    elif path != DEFAULT_CONFIG:
        raise ConfigError(f"{path}: no such config file")
    if overrides:
        data = _merge(data, overrides)
    from_env = _environment(environ, data)
    data = _merge(data, from_env.values)
    try:
        return Settings(**data)
    except ValidationError as exc:
        problems = [_describe(err, path, text, from_env.origins) for err in exc.errors(include_url=False)]
        raise ConfigError("\n".join(dict.fromkeys(problems))) from None


class _FromEnvironment:
    """The overrides read from ``MONITOR_*`` variables, and which variable set which key."""

    def __init__(self) -> None:
        self.values: dict[str, Any] = {}
        self.origins: dict[tuple[str, ...], str] = {}

    def set(self, keys: tuple[str, ...], value: Any, variable: str) -> None:
        node = self.values
        for key in keys[:-1]:
            node = node.setdefault(key, {})
        node[keys[-1]] = value
        self.origins[keys] = variable


def _environment(environ: Mapping[str, str], data: Mapping[str, Any]) -> _FromEnvironment:
    found = _FromEnvironment()
    problems: list[str] = []
    secrets = _secret_variables(data)
    for variable in sorted(environ):
        if not variable.startswith(ENV_PREFIX) or variable == "MONITOR_CONFIG" or variable in secrets:
            continue
        keys = tuple(part.lower() for part in variable[len(ENV_PREFIX):].split("__"))
        if keys[0] not in Settings.model_fields:
            if len(keys) > 1:  # meant as a setting (two underscores), but there is no such section
                problems.append(f"{variable}: no setting {'.'.join(keys)} (sections: "
                                f"{', '.join(Settings.model_fields)})")
            continue  # a secret, MONITOR_TEST_*, ...: not a setting
        if any(not key for key in keys):
            problems.append(f"{variable}: empty key between double underscores")
            continue
        annotation, problem = _annotation_of(Settings, keys)
        if problem:
            problems.append(f"{variable}: {problem}")
            continue
        raw = environ[variable]
        if _is_structured(annotation):
            try:
                value: Any = json.loads(raw)
            except ValueError as exc:
                problems.append(f"{variable}: {'.'.join(keys)} expects JSON ({_json_example(annotation)}); "
                                f"not valid JSON at column {getattr(exc, 'colno', '?')}: {raw[:60]!r}")
                continue
        else:
            value = raw
        found.set(keys, value, variable)
    if problems:
        raise ConfigError("\n".join(problems))
    return found


def _secret_variables(data: Mapping[str, Any]) -> set[str]:
    """Variables the config names as holding secrets (``*_env``): never settings, whatever they are called."""
    names = {"MONITOR_SLACK_WEBHOOK_URL", "MONITOR_SMTP_USERNAME", "MONITOR_SMTP_PASSWORD", "MONITOR_WEB_TOKEN",
             "MONITOR_WEB_USERS"}
    web = data.get("web")
    if isinstance(web, dict):
        names.update(str(v) for k, v in web.items() if k.endswith("_env") and v)
    channels = data.get("alerts", {}).get("channels", {}) if isinstance(data.get("alerts"), dict) else {}
    for channel in channels.values() if isinstance(channels, dict) else ():
        if isinstance(channel, dict):
            names.update(str(v) for k, v in channel.items() if k.endswith("_env") and v)
    return names


def _annotation_of(model: type[BaseModel], keys: tuple[str, ...]) -> tuple[Any, str | None]:
    """The type a dotted key of ``model`` holds, or a problem naming the unknown part."""
    annotation: Any = model
    for depth, key in enumerate(keys):
        annotation = _strip(annotation)
        origin = typing.get_origin(annotation)
        if origin is dict:
            annotation = typing.get_args(annotation)[1]
            continue
        models = [m for m in _members(annotation) if isinstance(m, type) and issubclass(m, BaseModel)]
        where = ".".join(keys[:depth]) or "the top level"
        if not models:
            return None, f"{'.'.join(keys[:depth])} is not a section (set it as a whole, in JSON)"
        fields = {name: f for m in models for name, f in m.model_fields.items()}
        if key not in fields:
            return None, f"no setting {key!r} in {where} (known: {', '.join(sorted(fields))})"
        annotation = fields[key].annotation
    return annotation, None


def _strip(annotation: Any) -> Any:
    while typing.get_origin(annotation) is Annotated:
        annotation = typing.get_args(annotation)[0]
    return annotation


def _members(annotation: Any) -> Iterable[Any]:
    annotation = _strip(annotation)
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return [_strip(a) for a in typing.get_args(annotation)]
    return [annotation]


def _is_structured(annotation: Any) -> bool:
    """Lists, dicts and sections come as JSON; strings, numbers, booleans and paths as they are."""
    for member in _members(annotation):
        if typing.get_origin(member) in (list, dict) or (isinstance(member, type) and issubclass(member, BaseModel)):
            return True
    return False


def _json_example(annotation: Any) -> str:
    for member in _members(annotation):
        if typing.get_origin(member) is dict:
            return 'an object, e.g. {"www.rferl.org": "http://127.0.0.1:8000"}'
        if typing.get_origin(member) is list:
            return 'a list, e.g. ["a@example.org", "b@example.org"]'
    return "an object"


def _describe(err: Any, path: Path, text: str, origins: Mapping[tuple[str, ...], str]) -> str:
    """One line for one validation error: where it came from, the key, what was expected and what was found."""
    loc = _plain_location(tuple(err["loc"]))
    key = ".".join(str(part) for part in loc)
    message = str(err["msg"])
    message = message[0].lower() + message[1:] if message else message
    found = ""
    if err["type"] != "missing" and isinstance(err.get("input"), str | int | float | bool):
        found = f", found {err['input']!r}"
    context = err.get("ctx") or {}
    if err["type"] == "union_tag_not_found":  # a channel without `type`: say which types there are
        loc, key = (*loc, "type"), f"{key}.type"
        message = "expected a channel type: \"slack\" or \"email\""
    elif err["type"] == "union_tag_invalid":
        loc, key = (*loc, "type"), f"{key}.type"
        message, found = f"expected one of {context.get('expected_tags')}", f", found {context.get('tag')!r}"
    for depth in range(len(loc), 0, -1):
        variable = origins.get(tuple(str(part) for part in loc[:depth]))
        if variable:
            return f"{variable}: {key}: {message}{found}"
    line = _toml_line(text, loc)
    where = f"{path} line {line}" if line else str(path)
    return f"{where}: {key}: {message}{found}"


def _plain_location(loc: tuple[Any, ...]) -> tuple[Any, ...]:
    """The key as the operator wrote it: without the tag pydantic inserts for a channel's type."""
    if len(loc) > 3 and loc[:2] == ("alerts", "channels") and loc[3] in ("slack", "email"):
        return loc[:3] + loc[4:]
    return loc


_HEADER = re.compile(r"^\s*(\[\[?)\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")
_ASSIGNMENT = re.compile(r"^\s*([A-Za-z0-9_.\-\" ]+?)\s*=")


def _toml_line(text: str, loc: tuple[Any, ...]) -> int | None:
    """The line of the file that sets ``loc`` (or its nearest enclosing key or table), if it can be told."""
    table: tuple[Any, ...] = ()
    counts: dict[tuple[str, ...], int] = {}
    best: tuple[int, int] | None = None  # (matched depth, line)
    for number, line in enumerate(text.splitlines(), 1):
        header = _HEADER.match(line)
        if header:
            names = tuple(part.strip().strip('"') for part in header.group(2).split("."))
            if header.group(1) == "[[":
                index = counts.get(names, 0)
                counts[names] = index + 1
                table = (*names, index)
            else:
                table = names
            full = table
        else:
            assignment = _ASSIGNMENT.match(line)
            if not assignment:
                continue
            full = (*table, *(part.strip().strip('"') for part in assignment.group(1).split(".")))
        depth = _common_prefix(full, loc)
        if depth == len(full) and depth and (best is None or depth > best[0]):
            best = (depth, number)
    return best[1] if best else None


def _common_prefix(a: tuple[Any, ...], b: tuple[Any, ...]) -> int:
    depth = 0
    for x, y in zip(a, b, strict=False):
        if str(x) != str(y):
            break
        depth += 1
    return depth


def _merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def secret(env_name: str | None) -> str | None:
    """A secret from the environment (never from a file, never logged)."""
    if not env_name:
        return None
    value = os.environ.get(env_name)
    return value or None
