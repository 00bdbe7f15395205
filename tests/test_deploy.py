"""The deploy files (systemd units, Dockerfile, compose, env example) and the README stay consistent with the code:
the commands they run parse with the current CLI, the variables they set name real settings or the secrets the
shipped config reads, the image runs as a non-root user with the PostgreSQL driver, and no secret reaches
``monitor status`` or ``monitor health``."""

from __future__ import annotations

import json
import re
import shlex
import tomllib
from pathlib import Path

import pytest
from pydantic import BaseModel
from sqlalchemy.engine import make_url
from typer.testing import CliRunner

from monitor.cli import app
from monitor.settings import DEFAULT_CONFIG, Settings, load_settings

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
UNITS = sorted(DEPLOY.glob("*.service"))
DOCKERFILE = DEPLOY / "Dockerfile"
COMPOSE = DEPLOY / "compose.yaml"
ENV_EXAMPLE = DEPLOY / "monitor.env.example"
SECRET = "s3cret-do-not-print"


# --- what the deploy files run ----------------------------------------------------------------------------------


def _unit_commands(unit: Path) -> list[list[str]]:
    commands = []
    for line in unit.read_text().splitlines():
        key, _, value = line.partition("=")
        if key.startswith("Exec") and "/bin/monitor" in value:
            argv = shlex.split(value)
            commands.append(argv[1:])
    return commands


def _dockerfile_final_stage() -> list[str]:
    lines = DOCKERFILE.read_text().splitlines()
    last_from = max(i for i, line in enumerate(lines) if line.startswith("FROM "))
    return lines[last_from:]


def _docker_instruction(name: str) -> list[str]:
    """The JSON (exec) form of the final stage's instruction, e.g. CMD ["run"]."""
    for line in _dockerfile_final_stage():
        if line.startswith(name + " "):
            return list(json.loads(line[len(name) + 1:].split("CMD", 1)[-1].strip()))
    raise AssertionError(f"{DOCKERFILE}: no {name}")


def _docker_commands() -> list[list[str]]:
    entrypoint = _docker_instruction("ENTRYPOINT")
    assert entrypoint == ["monitor"], entrypoint
    health = _docker_instruction("HEALTHCHECK")
    assert health[0] == "monitor", health
    compose = re.search(r"^\s+command:\s*(\[.*\])\s*$", COMPOSE.read_text(), re.M)
    assert compose is not None, "compose.yaml: the monitor service has no command"
    return [_docker_instruction("CMD"), health[1:], json.loads(compose.group(1))]


def _all_commands() -> list[list[str]]:
    return [argv for unit in UNITS for argv in _unit_commands(unit)] + _docker_commands()


def test_deploy_files_run_the_daemon_and_the_health_check() -> None:
    names = {argv[0] for argv in _all_commands()}
    assert {"run", "health"} <= names
    service = (DEPLOY / "monitor.service").read_text()
    assert ["run"] in _unit_commands(DEPLOY / "monitor.service")
    assert ["health"] in _unit_commands(DEPLOY / "monitor-health.service")
    assert "Restart=on-failure" in service
    assert re.search(r"^User=(?!root$)\w+$", service, re.M), "the daemon runs as a dedicated user"
    timer = (DEPLOY / "monitor-health.timer").read_text()
    assert "OnUnitActiveSec=" in timer and (DEPLOY / "monitor-health.service").exists()


@pytest.mark.parametrize("argv", _all_commands(), ids=" ".join)
def test_every_command_a_deploy_file_runs_parses_with_the_cli(argv: list[str]) -> None:
    # --help is eager: the options before it are parsed (an unknown one fails) but nothing runs.
    result = CliRunner().invoke(app, [*argv, "--help"])
    assert result.exit_code == 0, f"`monitor {' '.join(argv)}`: {result.output}"


def test_commands_named_in_the_readme_exist() -> None:
    readme = (ROOT / "README.md").read_text()
    runner = CliRunner()
    found = set()
    for named in sorted(set(re.findall(r"`monitor ([a-z]+(?: [a-z]+)?)", readme))):
        words = named.split()
        # `monitor rules check` is a subcommand; `monitor discover rferl` is a command and its argument.
        argv = words if runner.invoke(app, [*words, "--help"]).exit_code == 0 else words[:1]
        result = runner.invoke(app, [*argv, "--help"])
        assert result.exit_code == 0, f"README names `monitor {' '.join(words)}`: {result.output}"
        found.add(argv[0])
    assert {"demo", "run", "status", "health", "backfill"} <= found
    assert readme.index("make demo") < readme.index("make test") < readme.index("## ")


def _setting_names(model: type[BaseModel]) -> set[str]:
    names = set()
    for name, field in model.model_fields.items():
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            names |= _setting_names(annotation)
        else:
            names.add(name)
    return names


def test_the_readme_configuration_reference_names_every_setting() -> None:
    from monitor.settings import EmailChannel, SlackChannel, SourceSettings

    reference = (ROOT / "README.md").read_text().split("## Configuration", 1)[1].split("\n## ", 1)[0]
    names = _setting_names(Settings) | _setting_names(SourceSettings) | _setting_names(SlackChannel) | \
        _setting_names(EmailChannel)
    missing = sorted(n for n in names - {"sources", "channels", "type"} if f"`{n}`" not in reference)
    assert not missing, f"README.md configuration reference lacks {missing}"


# --- the variables they set --------------------------------------------------------------------------------------


def _is_setting(variable: str) -> bool:
    """MONITOR_<SECTION>__<KEY>[__<KEY>] names a field of Settings."""
    parts = variable.removeprefix("MONITOR_").lower().split("__")
    model: type[BaseModel] = Settings
    for i, part in enumerate(parts):
        field = model.model_fields.get(part)
        if field is None:
            return False
        if i == len(parts) - 1:
            return True
        annotation = field.annotation
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            return False
        model = annotation
    return False


def _secret_variables() -> set[str]:
    """The environment variables the shipped config's channels read their secrets from."""
    config = tomllib.loads(DEFAULT_CONFIG.read_text())
    names = set()
    for channel in config["alerts"]["channels"].values():
        names |= {value for key, value in channel.items() if key.endswith("_env")}
    settings = load_settings(DEFAULT_CONFIG)
    for name, channel in settings.alerts.channels.items():
        for key in ("webhook_url_env", "username_env", "password_env"):
            value = getattr(channel, key, None)
            if value:
                names.add(value)
        assert name in config["alerts"]["channels"]
    return names


def _deploy_variables() -> dict[str, str]:
    """Every MONITOR_* variable a deploy file sets (commented examples included) -> the file."""
    found = {}
    for path in [*UNITS, DOCKERFILE, COMPOSE, ENV_EXAMPLE]:
        for name in re.findall(r"\b(MONITOR_[A-Z0-9_]+)\s*[=:]", path.read_text()):
            found[name] = path.name
    return found


def test_every_variable_the_deploy_files_set_is_read_by_the_monitor() -> None:
    secrets = _secret_variables()
    variables = _deploy_variables()
    assert "MONITOR_STORAGE__URL" in variables and "MONITOR_CONFIG" in variables
    for name, where in variables.items():
        assert name == "MONITOR_CONFIG" or name in secrets or _is_setting(name), (
            f"{where}: {name} is neither a setting (MONITOR_<SECTION>__<KEY>), MONITOR_CONFIG nor a secret the "
            f"config reads")


def test_the_env_example_holds_every_secret_of_the_shipped_config() -> None:
    example = {line.split("=", 1)[0] for line in ENV_EXAMPLE.read_text().splitlines()
               if line and not line.startswith("#")}
    assert _secret_variables() <= example
    assert "POSTGRES_PASSWORD" in example and "${POSTGRES_PASSWORD" in COMPOSE.read_text()


def test_setting_paths_in_the_deploy_files_point_at_shipped_files() -> None:
    # The image copies config/ to /etc/monitor and the units read /etc/monitor: the files they name must be there.
    text = "\n".join(p.read_text() for p in [*UNITS, DOCKERFILE])
    for variable in ("MONITOR_CONFIG", "MONITOR_ALERTS__RULES_FILE"):
        paths = set(re.findall(rf"{variable}=(\S+)", text))
        assert paths, variable
        for path in paths:
            assert path.startswith("/etc/monitor/") and (ROOT / "config" / Path(path).name).is_file(), path
    assert "COPY config /etc/monitor" in DOCKERFILE.read_text()
    assert "../config:/etc/monitor:ro" in COMPOSE.read_text()


# --- the image --------------------------------------------------------------------------------------------------


def test_the_image_runs_as_a_non_root_user_with_the_postgres_driver() -> None:
    final = _dockerfile_final_stage()
    users = [line.split()[1] for line in final if line.startswith("USER ")]
    assert users and users[-1].split(":")[0] not in ("root", "0")
    # Every stage is built on the BASE argument, whose default is the slim public Python image (a base made from
    # Debian's packages is given with --build-arg BASE=..., see deploy/base-image.sh).
    text = DOCKERFILE.read_text()
    base = re.search(r"^ARG BASE=(\S+)$", text, re.M)
    assert base is not None and base.group(1).startswith("python:") and "slim" in base.group(1)
    assert final[0] == "FROM ${BASE}"
    assert all(line.startswith("FROM ${BASE}") for line in text.splitlines() if line.startswith("FROM "))
    # The build stage installs the postgres extra, and that extra brings the driver compose's URL names.
    assert re.search(r'pip install .*"\.\[postgres\]"', DOCKERFILE.read_text())
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    assert any(dep.startswith("psycopg") for dep in extras["postgres"])
    url = re.search(r"MONITOR_STORAGE__URL:\s*(\S+)", COMPOSE.read_text())
    assert url is not None and make_url(url.group(1)).drivername == "postgresql+psycopg"
    listen = re.search(r"MONITOR_DAEMON__HEALTH_LISTEN:\s*\S+:(\d+)", COMPOSE.read_text())
    assert listen is not None and f"EXPOSE {listen.group(1)}" in DOCKERFILE.read_text()
    assert f":{listen.group(1)}:{listen.group(1)}" in COMPOSE.read_text()


# --- secrets ------------------------------------------------------------------------------------------------------


def test_no_secret_reaches_status_or_health(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in _secret_variables():
        monkeypatch.setenv(name, f"https://hooks.example/{SECRET}")
    monkeypatch.setenv("MONITOR_CONFIG", str(DEFAULT_CONFIG))
    monkeypatch.setenv("MONITOR_STORAGE__ARCHIVE_ROOT", str(tmp_path / "archive"))
    runner = CliRunner()
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    outputs = [runner.invoke(app, argv) for argv in (["status"], ["status", "--json"], ["health"])]
    assert [r.exit_code for r in outputs] == [0, 0, 1]  # health: no daemon runs
    # A PostgreSQL URL carries its password: an unreachable database is reported without it.
    monkeypatch.setenv("MONITOR_STORAGE__URL", f"postgresql+psycopg://monitor:{SECRET}@127.0.0.1:1/monitor")
    failed = [runner.invoke(app, argv) for argv in (["status"], ["health"])]
    assert [r.exit_code for r in failed] == [2, 1]
    for result in [*outputs, *failed]:
        assert SECRET not in result.output
        assert result.output.strip()
