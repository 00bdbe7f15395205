"""The health of each configured source (``source_health``): what ``monitor status``/``health`` and the operations
alerts read, and what each run of a source writes."""

from __future__ import annotations

from sqlmodel import col, select

from monitor.store._base import StoreBase, as_utc
from monitor.store.tables import SourceHealth


class Health(StoreBase):
    """One row per configured source."""

    def source_health(self, source: str) -> SourceHealth | None:
        with self._session("read source health") as session:
            row = session.get(SourceHealth, source)
            return _health_utc(row) if row else None

    def source_healths(self) -> list[SourceHealth]:
        with self._session("read source health") as session:
            return [_health_utc(row) for row in session.exec(select(SourceHealth).order_by(col(SourceHealth.source)))]

    def save_source_health(self, health: SourceHealth) -> None:
        with self._session("write source health") as session:
            session.merge(SourceHealth.model_validate(health.model_dump()))
            session.commit()


def _health_utc(row: SourceHealth) -> SourceHealth:
    values = row.model_dump()
    for name in ("first_run", "last_run", "last_success", "last_new", "problem_since"):
        values[name] = as_utc(values[name])
    return SourceHealth.model_validate(values)
