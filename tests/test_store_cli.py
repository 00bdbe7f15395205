"""The store's commands through the CLI runner: ingest, archive verify (and --repair), reparse, export."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from monitor.cli import app
from tests._localsite import LocalSite
from tests._synth import HOST, article_url, write_site


@pytest.fixture
def site_env(tmp_path: Path) -> tuple[dict[str, str], Path]:
    write_site(tmp_path / "snapshot", 3)
    config = tmp_path / "monitor.toml"
    config.write_text("", encoding="utf-8")
    return {"MONITOR_CONFIG": str(config), "MONITOR_STORAGE__ARCHIVE_ROOT": str(tmp_path / "archive"),
            "MONITOR_HTTP__MIN_DELAY": "0"}, tmp_path


def run(env: dict[str, str], *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args), env=env)
    return result.exit_code, result.stdout, result.stderr


def _index_in_step(env: dict[str, str], articles: int) -> bool:
    code, out, err = run(env, "index", "status")
    assert code == 0, err
    return all(f"{name}: {n}" in out for name, n in (("articles", articles), ("missing", 0), ("stale", 0),
                                                      ("pending", 0)))


def test_ingest_verify_reparse_export(site_env: tuple[dict[str, str], Path],
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    env, tmp = site_env
    with LocalSite(tmp / "snapshot") as site:
        env["MONITOR_HTTP__HOST_MAP"] = json.dumps(site.host_map([HOST]))
        code, out, err = run(env, "ingest", article_url(0), article_url(1), article_url(2))
        assert code == 0, err
        assert [line.split("\t")[0] for line in out.splitlines()] == ["new", "new", "new"]
        assert _index_in_step(env, 3)  # written by the command's index writer before it ended
        code, out, err = run(env, "ingest", "--refetch", article_url(0),
                             article_url(1).replace("https://www.", "http://m.") + "?utm_source=x")
        assert code == 0, err
        assert [line.split("\t")[0] for line in out.splitlines()] == ["seen", "seen"]

    code, out, err = run(env, "archive", "verify")
    assert code == 0 and out == "" and "3 revisions checked, 0 problems" in err

    code, out, err = run(env, "reparse")
    assert code == 0 and "0 revised, 3 unchanged" in err
    # A parser fix that changes the text: reparse records a revision, from the stored raw HTML, only for the site.
    import monitor.prepare

    original = monitor.prepare.render_article
    monkeypatch.setattr(monitor.prepare, "render_article", lambda a: original(a) + "\n\nFixed.")
    code, out, err = run(env, "reparse", "--site", "voanews.com", "--since", "2024-01-01")
    assert code == 0 and "3 revised" in err
    assert all("/001_" in line for line in out.splitlines())
    assert _index_in_step(env, 3)
    assert "3 match(es) in 3 article(s)" in run(env, "rules", "test", "=Fixed")[2]  # the revised texts, indexed
    code, out, err = run(env, "reparse", "--site", "rferl.org")
    assert code == 0 and "0 revised, 0 unchanged" in err

    code, out, err = run(env, "export", "--format", "jsonl")
    assert code == 0, err
    records = [json.loads(line) for line in out.splitlines()]
    assert [r["key"] for r in records] == [f"voanews.com:{9_000_000 + n}" for n in range(3)]
    assert records[0]["text"].endswith("Fixed.")
    assert [r["number"] for r in records[0]["revisions"]] == [0, 1]
    assert records[0]["revisions"][1]["origin"] == "reparse"
    assert records[1]["urls"] == [article_url(1)]
    assert run(env, "export", "--format", "csv")[0] == 2
    assert run(env, "reparse", "--since", "yesterday")[0] == 2


def test_verify_lists_problems_and_repair_fixes_them(site_env: tuple[dict[str, str], Path]) -> None:
    env, tmp = site_env
    with LocalSite(tmp / "snapshot") as site:
        env["MONITOR_HTTP__HOST_MAP"] = json.dumps(site.host_map([HOST]))
        assert run(env, "ingest", article_url(0))[0] == 0
    text = next((tmp / "archive").rglob("000_*.txt"))
    stray = text.parent / "003_0000000000000000.txt"
    stray.write_text("stray", encoding="utf-8")
    os.utime(stray, (stray.stat().st_mtime - 600, stray.stat().st_mtime - 600))  # an old crash leftover
    text.write_text("damaged", encoding="utf-8")
    code, out, _ = run(env, "archive", "verify")
    assert code == 1
    assert out.splitlines() == [f"hash mismatch: {text.relative_to(tmp / 'archive')}",
                                f"no row: {stray.relative_to(tmp / 'archive')}"]
    code, out, _ = run(env, "archive", "verify", "--repair")
    assert code == 0 and "repaired: re-rendered" in out and not stray.exists()
    assert run(env, "archive", "verify")[0] == 0


def test_ingest_without_urls_and_unusable_root_exit_2(site_env: tuple[dict[str, str], Path]) -> None:
    env, tmp = site_env
    assert run(env, "ingest")[0] == 2
    (tmp / "afile").write_text("x")
    code, _, err = run({**env, "MONITOR_STORAGE__ARCHIVE_ROOT": str(tmp / "afile")}, "archive", "verify")
    assert code == 2 and "not a folder" in err and len(err.strip().splitlines()) == 1


@pytest.mark.slow  # spawns processes
def test_ingest_with_parse_processes(site_env: tuple[dict[str, str], Path], monkeypatch: pytest.MonkeyPatch) -> None:
    import monitor.ingest

    env, tmp = site_env
    in_flight: list[int] = []
    for name in ("ingest_urls", "reparse_articles"):
        real = getattr(monitor.ingest, name)

        def spy(*args: Any, real: Any = real, **kwargs: Any) -> Any:
            in_flight.append(kwargs["workers"])
            return real(*args, **kwargs)

        monkeypatch.setattr(monitor.ingest, name, spy)
    with LocalSite(tmp / "snapshot") as site:
        env["MONITOR_HTTP__HOST_MAP"] = json.dumps(site.host_map([HOST]))
        code, out, err = run(env, "ingest", "--processes", "2", *(article_url(n) for n in range(3)),
                             "https://www.voanews.com/a/not-there/1.html")
    assert code == 0, err
    assert sorted(line.split("\t")[1] for line in out.splitlines()) == [
        f"voanews.com:{9_000_000 + n}" for n in range(3)]
    assert "3 new, 0 revised, 0 seen, 1 failed" in err
    assert _index_in_step(env, 3)  # the tokens made in the parse processes
    assert run(env, "archive", "verify")[0] == 0
    assert run(env, "ingest", "--processes", "-1", article_url(0))[0] == 2
    code, out, err = run(env, "reparse", "--processes", "2")
    assert code == 0 and out == "" and "0 revised, 3 unchanged, 0 failed" in err
    assert in_flight == [4, 4]  # two processes: two pages parsing, two more fetched or stored meanwhile


def test_ingest_says_when_index_entries_are_left_pending(site_env: tuple[dict[str, str], Path],
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    from monitor.errors import StoreError
    from monitor.search.index import SearchIndex

    def fail(self: SearchIndex, items: object) -> None:
        raise StoreError("database test: write the search index: injected fault")

    monkeypatch.setattr(SearchIndex, "put_many", fail)
    env, tmp = site_env
    with LocalSite(tmp / "snapshot") as site:
        env["MONITOR_HTTP__HOST_MAP"] = json.dumps(site.host_map([HOST]))
        code, out, err = run(env, "ingest", article_url(0), article_url(1))
    assert code == 0, err  # archived all the same
    assert [line.split("\t")[0] for line in out.splitlines()] == ["new", "new"]
    assert "monitor: 2 articles are not in the search index yet" in err and "monitor index catch-up" in err
    monkeypatch.undo()
    assert "pending: 2" in run(env, "index", "status")[1]
