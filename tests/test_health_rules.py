"""Source health as a pure function of the stored state and one run's report: when a source is failing, when it
heals, and which notices that calls for (one per incident, one recovery)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from monitor.health import Notice, last_run_counts, record_run
from monitor.pipeline import RunReport
from monitor.run_errors import PAGES_FAILED, RunError, RunErrorKind
from monitor.settings import SourceSettings
from monitor.store.tables import SourceHealth

SOURCE = SourceSettings(name="rferl", site="www.rferl.org", quiet_hours=24.0)
START = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)


def _runs(reports: list[RunReport]) -> tuple[SourceHealth | None, list[list[Notice]]]:
    state: SourceHealth | None = None
    notices: list[list[Notice]] = []
    for n, report in enumerate(reports):
        state, said = record_run(state, report, SOURCE, failures_before_alert=3, now=START + timedelta(minutes=5 * n))
        notices.append(said)
    return state, notices


def _report(n: int, **counts: object) -> RunReport:
    return RunReport(source="rferl", started=START + timedelta(minutes=5 * n), **counts)  # type: ignore[arg-type]


def _pages_failed(n: int) -> RunReport:
    return _report(n, discovered=2, failed=2,
                   errors=[RunError(RunErrorKind.PAGES_FAILED, f"{PAGES_FAILED} (2); first: no known template (x)")])


def _feed_error(n: int, message: str = "feed unavailable: HTTP 503 (u)") -> RunReport:
    return _report(n, errors=[RunError(RunErrorKind.SOURCE, message)])


def test_three_failing_runs_raise_one_notice_and_a_clean_run_one_recovery() -> None:
    reports = [_feed_error(n) for n in range(5)] + [_report(5, unchanged=3)]
    state, notices = _runs(reports)
    assert [len(n) for n in notices] == [0, 0, 1, 0, 0, 1]
    assert notices[2][0].title == "rferl: source failing" and "HTTP 503" in notices[2][0].text
    assert notices[5][0].title == "rferl: recovered (source failing)"
    assert state is not None and state.problem is None and state.consecutive_failures == 0


def test_runs_that_try_no_page_neither_heal_nor_hide_failing_pages() -> None:
    # A changed template: every new page fails; in between, the feeds answer 304 and no page is tried.
    reports = [_pages_failed(0), _report(1, unchanged=3), _pages_failed(2), _report(3, unchanged=3), _pages_failed(4)]
    state, notices = _runs(reports)
    assert [len(n) for n in notices] == [0, 0, 0, 0, 1]
    assert state is not None and state.problem == "failing" and state.consecutive_failures == 3
    healed, said = record_run(state, _report(5, discovered=1, fetched=1, new=1), SOURCE, failures_before_alert=3,
                              now=START + timedelta(minutes=25))
    assert healed.problem is None and [n.title for n in said] == ["rferl: recovered (source failing)"]


def test_a_304_run_after_feed_errors_heals() -> None:
    reports = [_feed_error(n, "feed unavailable: timeout (u)") for n in range(3)] + [_report(3, unchanged=3)]
    state, notices = _runs(reports)
    assert [len(n) for n in notices] == [0, 0, 1, 1]
    assert state is not None and state.consecutive_failures == 0 and state.last_success == START + timedelta(minutes=15)


def test_the_kind_of_the_error_decides_not_its_wording() -> None:
    # A feed error that happens to read like failed pages is a feed error: a 304 run after it heals the source.
    lookalike = f"{PAGES_FAILED} (a feed's title) (https://www.rferl.org/api/feed)"
    state, notices = _runs([_feed_error(n, lookalike) for n in range(3)] + [_report(3, unchanged=3)])
    assert [len(n) for n in notices] == [0, 0, 1, 1]
    assert state is not None and state.consecutive_failures == 0 and state.last_error is None
    # Failed pages worded like anything else still wait for a run that tries pages.
    odd = _report(0, discovered=2, failed=2, errors=[RunError(RunErrorKind.PAGES_FAILED, "template gone")])
    state, notices = _runs([odd, _report(1, unchanged=3), _report(2, unchanged=3)])
    assert state is not None and state.consecutive_failures == 1 and state.last_error == "template gone"


def test_the_counts_shown_are_the_runs_own() -> None:
    state, _ = _runs([_pages_failed(0), _report(1, unchanged=3)])
    assert state is not None and last_run_counts(state) == _report(1, unchanged=3).counts()


def test_the_kind_of_a_pages_failure_survives_the_database(tmp_path: Path) -> None:
    """A restart reads the source's health back from the database: its failures are still those of its pages, so
    a run whose feeds answered 304 (no page tried) neither heals it nor counts against it."""
    from monitor.settings import StorageSettings
    from monitor.store import Store

    storage = StorageSettings(archive_root=str(tmp_path))
    with Store.open(storage) as store:
        state, _ = record_run(None, _pages_failed(0), SOURCE, failures_before_alert=3, now=START)
        store.save_source_health(state)
    with Store.open(storage) as store:
        stored = store.source_health("rferl")
        assert stored is not None and stored.last_error_kind == RunErrorKind.PAGES_FAILED
        quiet, _ = record_run(stored, _report(1, unchanged=0), SOURCE, failures_before_alert=3, now=START)
    assert (quiet.consecutive_failures, quiet.last_error_kind) == (1, RunErrorKind.PAGES_FAILED)
    healed, _ = record_run(quiet, _report(2, fetched=1, unchanged=1), SOURCE, failures_before_alert=3, now=START)
    assert (healed.consecutive_failures, healed.last_error, healed.last_error_kind) == (0, None, None)


def test_migration_0008_gives_rows_saved_before_it_their_kind(tmp_path: Path) -> None:
    from sqlalchemy import text

    from monitor.store import make_engine
    from monitor.store import migrate as migrations

    engine = make_engine(f"sqlite:///{tmp_path / 'monitor.db'}")
    try:
        migrations.upgrade(engine, "0007")
        with engine.begin() as connection:
            for name, failures, error in [("pages", 2, f"{PAGES_FAILED} (3); first: no known template (u)"),
                                          ("feed", 1, "feed unavailable: HTTP 503 (u)"),
                                          ("healed", 0, None)]:
                connection.execute(text("INSERT INTO source_health (source, runs, consecutive_failures, last_error, "
                                        "last_counts) VALUES (:s, 3, :f, :e, '{}')"),
                                   {"s": name, "f": failures, "e": error})
        migrations.upgrade(engine)
        with engine.connect() as connection:
            kinds = dict(connection.execute(text("SELECT source, last_error_kind FROM source_health")).all())
    finally:
        engine.dispose()
    assert kinds == {"pages": "pages_failed", "feed": None, "healed": None}
