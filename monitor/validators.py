"""Conditional-GET state: what a server said about a document's version, and where that is kept between runs.

Its own small module so that the store, which persists validators, does not import the HTTP client that sends them.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class Validators:
    """What a server said about a document's version: sent back as If-None-Match / If-Modified-Since."""

    etag: str | None = None
    last_modified: str | None = None

    def request_headers(self) -> dict[str, str]:
        headers: dict[str, str] = {}
        if self.etag:
            headers["If-None-Match"] = self.etag
        if self.last_modified:
            headers["If-Modified-Since"] = self.last_modified
        return headers

    def __bool__(self) -> bool:
        return bool(self.etag or self.last_modified)


class ValidatorStore(Protocol):
    """Where ETag/Last-Modified per URL live between runs (the store persists them in the database)."""

    def get(self, url: str) -> Validators | None: ...

    def put(self, url: str, validators: Validators) -> None: ...


class MemoryValidatorStore:
    """A :class:`ValidatorStore` in a dict: for tests, the CLI and single runs."""

    def __init__(self) -> None:
        self._data: dict[str, Validators] = {}
        self._lock = threading.Lock()

    def get(self, url: str) -> Validators | None:
        with self._lock:
            return self._data.get(url)

    def put(self, url: str, validators: Validators) -> None:
        with self._lock:
            self._data[url] = validators


__all__ = ["MemoryValidatorStore", "ValidatorStore", "Validators"]
