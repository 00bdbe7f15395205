"""What went wrong in one run of a source, as values: the pipeline and the daemon record them in the run's report,
and the source's health (:mod:`monitor.health`) decides by their kind, never by their wording.

A :class:`RunError` is no exception (those are :mod:`monitor.errors`): it is what a run that went on, or ended,
says about its source. Its text (``str``) is what the logs, ``monitor status`` and the stored ``last_error`` show.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from monitor.errors import MonitorError, SourceError, ZombieFeedError


class RunErrorKind(StrEnum):
    SOURCE = "source"  # a feed, sitemap or section page unavailable or unreadable
    ZOMBIE_FEED = "zombie_feed"  # a feed that answers 200 with no items
    PAGES_FAILED = "pages_failed"  # every article page tried answered but could not be read (or robots.txt refused)
    RUN_FAILED = "run_failed"  # a monitor error ended the run: storage or archive trouble, a stop
    CRASH = "crash"  # a bug ended the run


#: How a run whose every article page failed is worded (a changed template looks like this).
PAGES_FAILED = "all article pages tried failed"


@dataclass(frozen=True, slots=True)
class RunError:
    """One thing that went wrong in a run: its kind for the health, its text for people."""

    kind: RunErrorKind
    message: str

    def __str__(self) -> str:
        return self.message

    @classmethod
    def of_source(cls, error: SourceError) -> RunError:
        """A broken part of the source that discovery reported."""
        kind = RunErrorKind.ZOMBIE_FEED if isinstance(error, ZombieFeedError) else RunErrorKind.SOURCE
        return cls(kind, str(error))

    @classmethod
    def pages_failed(cls, failed: int, first: MonitorError) -> RunError:
        return cls(RunErrorKind.PAGES_FAILED, f"{PAGES_FAILED} ({failed}); first: {first}")

    @classmethod
    def run_failed(cls, error: MonitorError) -> RunError:
        return cls(RunErrorKind.RUN_FAILED, str(error))

    @classmethod
    def crash(cls, error: Exception) -> RunError:
        return cls(RunErrorKind.CRASH, f"internal error: {type(error).__name__}: {error}")


__all__ = ["PAGES_FAILED", "RunError", "RunErrorKind"]
