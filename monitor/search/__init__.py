"""Searching the archive with the rule language: one service the web pages, feeds and API call
(:class:`SearchService`). The search index of issue 14 is not built yet; see :mod:`monitor.search.service`."""

from monitor.search.service import (
    Backtest,
    Candidate,
    CandidateSource,
    SearchFilters,
    SearchHit,
    SearchPage,
    SearchService,
    StoreScan,
)

__all__ = [
    "Backtest", "Candidate", "CandidateSource", "SearchFilters", "SearchHit", "SearchPage", "SearchService",
    "StoreScan",
]
