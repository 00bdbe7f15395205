"""The one exception tree of the monitor.

Every error the monitor raises on purpose derives from :class:`MonitorError`, so the daemon can catch one
type per job, log one line and go on, and the CLI can turn any of them into a one-line message with exit 2.
Each message says what went wrong and where (file, line, URL).
"""

from __future__ import annotations


class MonitorError(Exception):
    """Base of every error the monitor raises on purpose."""


# --- configuration -----------------------------------------------------------------------------------------


class ConfigError(MonitorError):
    """A configuration file or environment variable is missing, malformed or inconsistent."""


# --- parsing -----------------------------------------------------------------------------------------------


class ParseError(MonitorError):
    """A page could not be turned into an article. Nothing is printed or stored as if it were one."""

    def __init__(self, message: str, *, url: str | None = None) -> None:
        self.url = url
        super().__init__(f"{message} ({url})" if url else message)


class ParseWorkerError(MonitorError):
    """The worker processes that parse pages (``--processes``) could not start: no page can be parsed, so the run
    stops. (A worker that dies on one page costs that page a ParseError instead.)"""


class LanguageNotKept(MonitorError):
    """A page in a language its source does not keep (the source's ``languages``): not archived, and remembered so
    that it is not fetched again."""

    def __init__(self, language: str, kept: list[str], *, url: str, site: str) -> None:
        self.url = url
        self.site = site
        self.language = language
        super().__init__(f"language {language!r} is not among the source's languages ({', '.join(kept)}) ({url})")


class UnknownSiteError(ParseError):
    """The URL belongs to no configured site family."""


class NotAnArticleError(ParseError):
    """The page is a home page, section page, error page or some other non-article."""


class UnknownTemplateError(ParseError):
    """The page belongs to a known site, but its markers match no known template generation."""


class IncompletePageError(ParseError):
    """The page is empty, truncated, or lacks a region every article of its template has."""


# --- fetching and discovery --------------------------------------------------------------------------------


class FetchError(MonitorError):
    """An HTTP fetch failed after the client's retries (or must not be retried)."""

    def __init__(self, message: str, *, url: str | None = None, status: int | None = None) -> None:
        self.url = url
        self.status = status
        super().__init__(f"{message} ({url})" if url else message)


class RobotsDisallowedError(FetchError):
    """robots.txt forbids the URL for our user agent: it was skipped (and counted), not fetched."""


class RedirectError(FetchError):
    """A redirect left the source's own hosts, looped, or exceeded the redirect limit."""


class ResponseTooLargeError(FetchError):
    """The body grew past the size cap while streaming; nothing of it is used."""


class ContentTypeError(FetchError):
    """The response's content type is not what the caller asked for (an image where a page was expected)."""


class StopRequested(FetchError):
    """The daemon is stopping: a wait for a host (pacing, retry back-off) was cut short instead of sat out."""


class HostBackedOffError(FetchError):
    """The host failed repeatedly (or asked us to wait long): it is left alone until the back-off ends."""

    def __init__(self, message: str, *, url: str | None = None, until: float | None = None) -> None:
        self.until = until
        super().__init__(message, url=url)


class TransientFetchError(FetchError):
    """One attempt failed in a way worth retrying (timeout, connection, 429, 5xx). The HTTP client retries it and
    never lets it out: its callers see a FetchError (gave up) or a HostBackedOffError instead."""

    def __init__(self, reason: str, *, status: int | None = None, retry_after: float | None = None) -> None:
        self.reason = reason
        self.retry_after = retry_after
        super().__init__(reason, status=status)


class SourceError(MonitorError):
    """A feed, sitemap or section page is broken: malformed, empty, a zombie, or gone."""

    def __init__(self, message: str, *, url: str | None = None) -> None:
        self.url = url
        super().__init__(f"{message} ({url})" if url else message)


class ZombieFeedError(SourceError):
    """A feed answered 200 with no items at all: the feed is broken, not the news quiet."""


# --- storage and archive -----------------------------------------------------------------------------------


class StoreError(MonitorError):
    """The database is unreachable, locked, or refused a write."""


class DaemonAlreadyRunning(StoreError):
    """Another daemon holds the lock on this database."""


class ArchiveError(MonitorError):
    """The archive root is unusable or a file could not be written completely."""


class ArchiveConflict(ArchiveError):
    """The target name holds a different text that a database row names: the caller must decide again."""


# --- rules and delivery ------------------------------------------------------------------------------------


class RuleError(MonitorError):
    """An alert rule is invalid; the message names the rule, the column and what was expected."""


class QuerySyntaxError(RuleError, ValueError):
    """A query is malformed; ``column`` is 1-based in the query string."""

    def __init__(self, column: int, message: str) -> None:
        self.column = column
        self.message = message
        super().__init__(f"column {column}: {message}")


class RuleFileError(RuleError):
    """A rule file has errors and is refused as a whole; ``problems`` holds one line per error."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = problems
        count = f"{len(problems)} errors" if len(problems) > 1 else "1 error"
        super().__init__(f"{source}: {count}, rules not loaded: " + "; ".join(problems))


class DeliveryError(MonitorError):
    """A notification could not be delivered on a channel (it stays in the outbox)."""

    def __init__(self, message: str, *, retry_after: float | None = None, permanent: bool = False) -> None:
        self.retry_after = retry_after
        self.permanent = permanent
        super().__init__(message)


class ChannelConfigError(DeliveryError):
    """A channel is configured in a way no alert can get through (login refused, certificate not trusted, no
    STARTTLS or AUTH on the server, an invalid webhook URL, a password that would travel unencrypted): the alert
    goes dead at once with this reason and the channel's round stops, rather than retrying as if it were transient."""

    def __init__(self, message: str) -> None:
        super().__init__(message, permanent=True)
