"""CLI conventions: --version, where the configuration comes from, one meaning per option word, hosts accepted by
--site, and unknown outbox ids refused."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from monitor import __version__
from monitor.cli import app
from tests._localsite import LocalSite
from tests._synth import HOST, article_url, cli_env

ROOT = Path(__file__).resolve().parent.parent


def _run(env: dict[str, str], *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args), env=env)
    return result.exit_code, result.stdout, result.stderr


def _help(*args: str) -> str:
    result = CliRunner().invoke(app, [*args, "--help"], terminal_width=400)
    assert result.exit_code == 0
    return " ".join(result.output.split())


@pytest.mark.slow  # spawns processes
def test_version_matches_the_package() -> None:
    import subprocess
    import sys
    import tomllib

    result = subprocess.run([sys.executable, "-m", "monitor", "--version"], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0 and result.stdout == f"monitor {__version__}\n"
    assert "monitor --version prints the version" in _help()
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert project["version"] == __version__


def test_help_says_where_the_configuration_is_read_from() -> None:
    text = _help()
    assert "MONITOR_CONFIG" in text and "config/monitor.toml" in text and "MONITOR_<SECTION>__<KEY>" in text


def test_since_means_one_thing_per_kind_of_command() -> None:
    published = [_help(*command).split("--since")[1].split("--")[0].strip()
                 for command in (["reparse"], ["export"], ["rules", "test"])]
    assert all(p.startswith(published[0]) for p in published), published
    assert "published" in published[0] and "first seen" in published[0]
    changed = [_help(*command).split("--since")[1].split("--")[0].strip()
               for command in (["discover"], ["backfill"])]
    assert all(c.startswith(changed[0][:80]) for c in changed), changed
    assert "changed" in changed[0]


@pytest.fixture
def archived(tmp_path: Path) -> dict[str, str]:
    env = cli_env(tmp_path, 2)
    with LocalSite(tmp_path / "snapshot") as site:
        code, _, err = _run(env | {"MONITOR_HTTP__HOST_MAP": json.dumps(site.host_map([HOST]))}, "ingest",
                            article_url(0), article_url(1))
    assert code == 0, err
    return env


def test_site_accepts_the_host_and_refuses_what_matches_nothing(archived: dict[str, str]) -> None:
    for spelling in (HOST, "voanews.com", f"https://{HOST}/"):
        code, out, err = _run(archived, "export", "--site", spelling)
        assert code == 0, err
        assert len(out.splitlines()) == 2, spelling
        code, _, err = _run(archived, "reparse", "--site", spelling)
        assert code == 0 and "2 unchanged" in err, (spelling, err)
    code, out, err = _run(archived, "export", "--site", "www.example.org")
    assert code == 2 and out == ""
    assert "'www.example.org' is no site the monitor knows; give a host such as www.rferl.org" in err


def test_alerts_retry_of_an_unknown_id_says_so(archived: dict[str, str]) -> None:
    code, out, err = _run(archived, "alerts", "retry", "999")
    assert code == 2
    assert "0 dead" not in out
    assert err.strip() == "monitor: error: alert #999: no such outbox row (see `monitor alerts list`)"
    code, out, err = _run(archived, "alerts", "retry", "--channel", "slak")
    assert code == 2 and out == ""
    assert err.strip() == "monitor: error: --channel: no channel named 'slak' (configured or in the outbox: none)"


def test_health_reads_the_database_it_finds(archived: dict[str, str], tmp_path: Path) -> None:
    config = Path(archived["MONITOR_CONFIG"])
    config.write_text('[[sources]]\nname = "voa"\nsite = "www.voanews.com"\n', encoding="utf-8")
    code, out, _ = _run(archived, "health")
    assert code == 1
    assert out.splitlines() == ["unhealthy: the daemon is not running (nobody holds its lock)",
                                "unhealthy: source voa: never polled"]
