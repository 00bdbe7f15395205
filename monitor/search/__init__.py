"""Searching the archive with the rule language: one service the web pages, feeds, API and ``monitor rules test``
call (:class:`SearchService`), on the search index (:mod:`monitor.search.index`)."""

from monitor.search.candidates import Candidate, CandidateSource, Database, SearchFilters, StoreScan
from monitor.search.service import Backtest, SearchHit, SearchPage, SearchService

__all__ = [
    "Backtest", "Candidate", "CandidateSource", "Database", "SearchFilters", "SearchHit", "SearchPage", "SearchService",
    "StoreScan",
]
