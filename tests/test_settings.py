"""Configuration errors as the operator meets them: one line per problem naming the variable, or the file, line and
key, with what was expected; exit 2, no traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from monitor.errors import ConfigError
from monitor.settings import Settings, load_settings

BAD_FILE = """\
[http]
contact = "ops@example.org"
retries = -3

[alerts.channels.mail]
type = "email"
security = "ssl"

[alerts.channels.slack]
type = "slack"

[[sources]]
name = "a"
site = "www.rferl.org"

[[sources]]
name = "b"
site = "www.rferl.org"
interval = "soon"
"""


def _problems(config: Path, environ: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_settings(config, environ=environ or {})
    return str(caught.value).splitlines()


def test_file_errors_name_file_line_and_key_each_on_its_own_line(tmp_path: Path) -> None:
    config = tmp_path / "monitor.toml"
    config.write_text(BAD_FILE, encoding="utf-8")
    assert _problems(config) == [
        f"{config} line 3: http.retries: input should be greater than or equal to 0, found -3",
        f"{config} line 7: alerts.channels.mail.security: input should be 'starttls', 'tls' or 'none', found 'ssl'",
        f"{config} line 19: sources.1.interval: input should be a valid number, unable to parse string as a number, "
        "found 'soon'",
    ]  # the bad security value alone: no errors of the Slack model it is not


@pytest.mark.parametrize(("variable", "value", "expected"), [
    ("MONITOR_HTTP__HOST_MAP", "{www.rferl.org: 1}",
     'MONITOR_HTTP__HOST_MAP: http.host_map expects JSON (an object, e.g. {"www.rferl.org": "http://127.0.0.1:8000"})'
     "; not valid JSON at column 2: '{www.rferl.org: 1}'"),
    ("MONITOR_ALERTS__CHANNELS__MAIL__RECIPIENTS", "a@example.org",
     'MONITOR_ALERTS__CHANNELS__MAIL__RECIPIENTS: alerts.channels.mail.recipients expects JSON (a list, e.g. '
     '["a@example.org", "b@example.org"]); not valid JSON at column 1: \'a@example.org\''),
    ("MONITOR_HTTP__RETRYS", "3",
     "MONITOR_HTTP__RETRYS: no setting 'retrys' in http (known: backoff_base, backoff_max, connect_timeout, contact, "
     "host_backoff, host_failures, host_map, max_bytes, max_redirects, min_delay, read_timeout, retries, robots_ttl, "
     "total_timeout, user_agent)"),
    ("MONITOR_HTPP__RETRIES", "3",
     "MONITOR_HTPP__RETRIES: no setting htpp.retries (sections: http, storage, alerts, daemon, web, sources, "
     "pangea_hosts)"),
    ("MONITOR_HTTP__RETRIES", "-1", "MONITOR_HTTP__RETRIES: http.retries: input should be greater than or equal to 0"
     ", found '-1'"),
    ("MONITOR_ALERTS__CHANNELS__MAIL__PORT", "70000",
     "MONITOR_ALERTS__CHANNELS__MAIL__PORT: alerts.channels.mail.port: input should be less than or equal to 65535, "
     "found '70000'"),
])
def test_environment_errors_name_the_variable(tmp_path: Path, variable: str, value: str, expected: str) -> None:
    config = tmp_path / "monitor.toml"
    config.write_text('[alerts.channels.mail]\ntype = "email"\n', encoding="utf-8")
    assert _problems(config, {variable: value}) == [expected]


def test_environment_overrides_the_file_and_secrets_are_not_settings(tmp_path: Path) -> None:
    config = tmp_path / "monitor.toml"
    config.write_text('[http]\nretries = 1\n[alerts.channels.mail]\ntype = "email"\n'
                      'password_env = "MONITOR_MAIL__PW"\n', encoding="utf-8")
    settings = load_settings(config, environ={
        "MONITOR_HTTP__RETRIES": "4", "MONITOR_HTTP__HOST_MAP": '{"www.rferl.org": "http://127.0.0.1:1"}',
        "MONITOR_ALERTS__CHANNELS__MAIL__RECIPIENTS": '["a@example.org"]', "MONITOR_MAIL__PW": "secret",
        "MONITOR_SLACK_WEBHOOK_URL": "https://hooks.example.org/x", "MONITOR_CONFIG": str(config)})
    assert settings.http.retries == 4
    assert settings.http.host_map == {"www.rferl.org": "http://127.0.0.1:1"}
    assert settings.alerts.channels["mail"].recipients == ["a@example.org"]  # type: ignore[union-attr]


def test_every_number_has_a_range() -> None:
    """Each numeric setting of every section refuses absurd values (negative counts, zero intervals, ...)."""
    from pydantic import BaseModel

    def numeric_fields(model: type[BaseModel], prefix: str) -> list[tuple[str, object]]:
        found = []
        for name, field in model.model_fields.items():
            annotation = field.annotation
            if isinstance(annotation, type) and issubclass(annotation, BaseModel):
                found += numeric_fields(annotation, f"{prefix}{name}.")
            elif annotation in (int, float):
                found.append((f"{prefix}{name}", field))
        return found

    from monitor.settings import EmailChannel, SourceSettings

    fields = (numeric_fields(Settings, "") + numeric_fields(SourceSettings, "sources.")
              + numeric_fields(EmailChannel, "alerts.channels.email."))
    assert len(fields) > 25
    for key, field in fields:
        kinds = {type(m).__name__ for m in field.metadata}  # type: ignore[attr-defined]
        assert kinds & {"Ge", "Gt"} and kinds & {"Le", "Lt"}, key


@pytest.mark.slow  # spawns processes
def test_cli_prints_each_problem_on_one_line_and_exits_2(tmp_path: Path) -> None:
    config = tmp_path / "monitor.toml"
    config.write_text(BAD_FILE, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("MONITOR_")}
    env |= {"MONITOR_CONFIG": str(config), "MONITOR_HTTP__HOST_MAP": "{"}
    result = subprocess.run([sys.executable, "-m", "monitor", "health"], capture_output=True, text=True, env=env,
                            timeout=60)
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        "monitor: error: MONITOR_HTTP__HOST_MAP: http.host_map expects JSON (an object, e.g. "
        '{"www.rferl.org": "http://127.0.0.1:8000"}); not valid JSON at column 2: \'{\'']
    del env["MONITOR_HTTP__HOST_MAP"]
    result = subprocess.run([sys.executable, "-m", "monitor", "status"], capture_output=True, text=True, env=env,
                            timeout=60)
    assert result.returncode == 2
    lines = result.stderr.splitlines()
    assert len(lines) == 3 and all(line.startswith(f"monitor: error: {config} line ") for line in lines), lines


def test_a_channel_type_missing_or_unknown_is_one_line_on_its_key(tmp_path: Path) -> None:
    config = tmp_path / "monitor.toml"
    config.write_text('[alerts.channels.mail]\nhost = "x"\n\n[alerts.channels.b]\ntype = "sms"\n', encoding="utf-8")
    assert _problems(config) == [
        f'{config} line 1: alerts.channels.mail.type: expected a channel type: "slack" or "email"',
        f"{config} line 5: alerts.channels.b.type: expected one of 'slack', 'email', found 'sms'",
    ]
