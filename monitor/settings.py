"""Configuration: ``config/monitor.toml`` validated into typed sections, with ``MONITOR_*`` environment overrides.

Secrets (webhook URLs, SMTP passwords) never live in the file: the file names the environment variable that
holds them, and :func:`secret` reads it. Every area owns one section model below; errors name the file, the
setting and what was expected.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from monitor.errors import ConfigError

DEFAULT_CONFIG = Path(__file__).resolve().parent.parent / "config" / "monitor.toml"


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class HttpSettings(_Section):
    """The one HTTP client (monitor/http.py)."""

    user_agent: str = "monitor/0.1 (news monitoring; +mailto:{contact})"
    contact: str = "monitor-operator@example.org"
    connect_timeout: float = 10.0
    read_timeout: float = 30.0
    total_timeout: float = 60.0
    max_bytes: int = 10 * 1024 * 1024
    max_redirects: int = 5
    min_delay: float = 1.0  # seconds between two requests to one host; robots.txt Crawl-delay wins when larger
    retries: int = 3
    backoff_base: float = 1.0
    backoff_max: float = 60.0
    host_backoff: float = 300.0  # seconds a host that keeps failing is left alone
    host_failures: int = 5  # consecutive failed attempts (timeouts, 5xx, 429) that send a host into back-off
    robots_ttl: float = 86400.0
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
    interval: float = 300.0  # seconds between polls
    jitter: float = 30.0
    lookback: float = 2 * 86400.0  # seconds: discovery ignores sitemap chunks and entries last changed before this
    quiet_hours: float = 24.0  # raise an operations alert when nothing new was seen for this long
    # Articles first seen less than revisit_hours ago are fetched again when last fetched revisit_every seconds ago
    # or more, to catch edits that feeds do not announce (0 hours: only when a feed or sitemap re-dates them).
    revisit_hours: float = 6.0
    revisit_every: float = 3600.0
    # Languages this source keeps (ISO 639-1 codes as the site writes them, e.g. ["ru"]); empty: every language.
    languages: list[str] = Field(default_factory=list)
    enabled: bool = True


class StorageSettings(_Section):
    url: str | None = None  # SQLAlchemy URL; None: SQLite file monitor.db under the archive root
    archive_root: Path = Path("archive")
    story_threshold: float = 0.8  # near-duplicate similarity that links articles into one story
    # fsync every archive file and folder before its row is committed: survives power loss, not only a killed
    # process (which the page cache survives anyway); off roughly halves the cost of writing an article.
    fsync: bool = True


class SlackChannel(_Section):
    type: Literal["slack"]
    webhook_url_env: str = "MONITOR_SLACK_WEBHOOK_URL"


class EmailChannel(_Section):
    type: Literal["email"]
    host: str = "localhost"
    port: int = 587
    security: Literal["starttls", "tls", "none"] = "starttls"
    username_env: str | None = "MONITOR_SMTP_USERNAME"
    password_env: str | None = "MONITOR_SMTP_PASSWORD"
    sender: str = "monitor@example.org"
    recipients: list[str] = Field(default_factory=list)
    ca_file: Path | None = None  # extra CA bundle to trust (a private mail relay); the system's CAs otherwise


class DeliverySettings(_Section):
    max_attempts: int = 8
    backoff_base: float = 30.0
    backoff_max: float = 3600.0
    timeout: float = 20.0


class AlertsSettings(_Section):
    rules_file: Path = Path("config/rules.toml")
    channels: dict[str, SlackChannel | EmailChannel] = Field(default_factory=dict)
    delivery: DeliverySettings = DeliverySettings()
    operations_channel: str | None = None  # where source-health alerts go


class DaemonSettings(_Section):
    failures_before_alert: int = 3  # runs in a row with errors before a source is reported failing
    delivery_interval: float = 10.0  # seconds between delivery rounds of each alert channel
    digest_interval: float = 60.0  # seconds between checks for digest periods that have ended
    health_listen: str | None = None  # "127.0.0.1:9108" serves /healthz and /metrics
    log_format: Literal["json", "text"] = "text"
    # PostgreSQL, several daemons: seconds a process's leases outlive its last heartbeat (it heartbeats every third
    # of this). A dead process's sources move within 4/3 of it; keep it at most 3/4 of the shortest interval.
    lease_ttl: float = Field(default=30.0, gt=0)


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


class Settings(BaseSettings):
    """All configuration. Environment variables ``MONITOR_<SECTION>__<KEY>`` override the file."""

    model_config = SettingsConfigDict(env_prefix="MONITOR_", env_nested_delimiter="__", extra="forbid")

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

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The environment overrides the file: init (the parsed file) comes after env.
        return env_settings, init_settings

    def source(self, name: str) -> SourceSettings:
        for source in self.sources:
            if source.name == name:
                return source
        known = ", ".join(s.name for s in self.sources) or "none"
        raise ConfigError(f"no source named {name!r} (configured: {known})")


def load_settings(path: Path | None = None, *, overrides: dict[str, Any] | None = None) -> Settings:
    """Read and validate the config file (``MONITOR_CONFIG`` or config/monitor.toml); one error names them all."""
    path = path or Path(os.environ.get("MONITOR_CONFIG") or DEFAULT_CONFIG)
    data: dict[str, Any] = {}
    if path.exists():
        try:
            with path.open("rb") as fh:
                data = tomllib.load(fh)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: {exc}") from None
        except OSError as exc:
            raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None
    elif path != DEFAULT_CONFIG:
        raise ConfigError(f"{path}: no such config file")
    if overrides:
        data = _merge(data, overrides)
    try:
        return Settings(**data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors(include_url=False)
        )
        raise ConfigError(f"{path}: {problems}") from None


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
