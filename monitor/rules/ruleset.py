"""Rule files: TOML text to validated :class:`Rule` objects. A file with any error is refused as a whole, and every
error is reported at once, each naming the rule, where it is (line and column in the file) and what was expected."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Collection
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from monitor.errors import QuerySyntaxError, RuleFileError
from monitor.rules.query import Node, parse_query, query_errors

#: The rule name the outbox gives source-health messages; no rule of a file may take it.
RESERVED_NAME = "operations"
_PERIOD_RE = re.compile(r"^(\d+)\s*([smhd])$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


class _RuleSchema(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1)
    query: str
    channels: list[str] = Field(min_length=1)
    mode: Literal["immediate", "digest"] = "immediate"
    period: str | None = None  # digest period: "30m", "1h", "1d"
    updates: bool = False  # also alert when an already alerted article is revised
    enabled: bool = True
    sites: list[str] = Field(default_factory=list)
    languages: list[str] = Field(default_factory=list)
    sections: list[str] = Field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Rule:
    name: str
    query: str
    node: Node
    channels: tuple[str, ...]
    mode: Literal["immediate", "digest"] = "immediate"
    period: int = 0  # seconds, digest mode only
    updates: bool = False
    enabled: bool = True
    sites: frozenset[str] = frozenset()
    languages: frozenset[str] = frozenset()
    sections: frozenset[str] = frozenset()

    def in_scope(self, site: str | None, language: str | None, section: str | None) -> bool:
        """Empty scope lists mean "any". Sites match by host suffix, so "rferl.org" covers "www.rferl.org"."""
        if self.sites:
            host = (site or "").casefold().removeprefix("www.")
            if not any(host == s or host.endswith("." + s) for s in self.sites):
                return False
        if self.languages and (language or "").casefold().split("-")[0] not in self.languages:
            return False
        return not (self.sections and (section or "").casefold() not in self.sections)


def parse_period(text: str) -> int:
    match = _PERIOD_RE.match(text.strip())
    if not match or int(match.group(1)) == 0:
        raise ValueError(f"expected a period such as 30m, 1h or 1d, found {text!r}")
    return int(match.group(1)) * _UNITS[match.group(2)]


def parse_rules(text: str, source: str = "rules.toml", channels: Collection[str] | None = None) -> list[Rule]:
    """Validate a whole rule file; ``channels`` (when given) are the channel names the configuration defines."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise RuleFileError(source, [str(exc)]) from None
    problems: list[str] = []
    unknown = sorted(set(data) - {"rule"})
    if unknown:
        problems.append(f"expected only [[rule]] tables, found {', '.join(unknown)}")
    raw_rules = data.get("rule", [])
    if not isinstance(raw_rules, list):
        raise RuleFileError(source, ["expected [[rule]] tables (an array of tables)"])
    locator = _Locator(text)
    rules: list[Rule] = []
    seen: set[str] = set()
    for number, raw in enumerate(raw_rules, start=1):
        line = locator.rule_line(number)
        label = f"rule {raw.get('name')!r}" if isinstance(raw.get("name"), str) else f"rule #{number}"
        where = f"line {line}: {label}"
        # Every check runs on every field that is itself valid, so one pass lists all of a rule's errors.
        before = len(problems)
        bad: set[str] = set()
        schema: _RuleSchema | None = None
        try:
            schema = _RuleSchema(**raw)
        except ValidationError as exc:
            for err in exc.errors(include_url=False):
                loc = ".".join(str(p) for p in err["loc"]) or "rule"
                bad.add(str(err["loc"][0]) if err["loc"] else "rule")
                msg = err["msg"].replace("Input should be", "expected").replace("Field required", "expected a value")
                msg = msg.replace("Extra inputs are not permitted", "unknown setting")
                problems.append(f"{where}: {loc}: {msg}")
        fields = schema.model_dump() if schema is not None else {
            name: raw.get(name, field.get_default(call_default_factory=True))
            for name, field in _RuleSchema.model_fields.items() if name not in bad}
        name = fields.get("name")
        if name is not None:
            if name in seen:
                problems.append(f"{where}: name: expected a unique name, {name!r} is used twice")
            if name == RESERVED_NAME:
                problems.append(f"{where}: name: {RESERVED_NAME!r} is reserved for source-health messages")
            seen.add(name)
        if channels is not None:
            for channel in fields.get("channels") or ():
                if channel not in channels:
                    known = ", ".join(sorted(channels)) or "none configured"
                    problems.append(f"{where}: channels: expected a configured channel ({known}), found {channel!r}")
        node: Node | None = None
        if fields.get("query") is not None:
            try:
                node = parse_query(fields["query"])
            except QuerySyntaxError:
                for error in query_errors(fields["query"]):  # all of them, not only the first
                    qline, qcol = locator.query_position(number, error.column)
                    problems.append(f"line {qline}, column {qcol}: {label}: query column {error.column}: "
                                    f"{error.message}")
        period = 0
        if "mode" in fields and "period" in fields:
            if fields["mode"] == "digest":
                if fields["period"] is None:
                    problems.append(f"{where}: period: expected a digest period such as 1h (mode is digest)")
                else:
                    try:
                        period = parse_period(fields["period"])
                    except ValueError as exc:
                        problems.append(f"{where}: period: {exc}")
            elif fields["period"] is not None:
                problems.append(f"{where}: period: expected no period unless mode = \"digest\"")
        if schema is None or node is None or len(problems) > before:
            continue
        rules.append(Rule(
            name=schema.name, query=schema.query, node=node, channels=tuple(schema.channels), mode=schema.mode,
            period=period, updates=schema.updates, enabled=schema.enabled,
            sites=frozenset(s.casefold().removeprefix("www.") for s in schema.sites),
            languages=frozenset(s.casefold() for s in schema.languages),
            sections=frozenset(s.casefold() for s in schema.sections),
        ))
    if problems:
        raise RuleFileError(source, problems)
    return rules


class _Locator:
    """Where things are in the TOML text (tomllib gives no positions): the n-th [[rule]] and its query value."""

    def __init__(self, text: str) -> None:
        self.lines = text.splitlines()
        self.starts = [i for i, line in enumerate(self.lines) if re.match(r"\s*\[\[\s*rule\s*\]\]", line)]

    def rule_line(self, number: int) -> int:
        return self.starts[number - 1] + 1 if number <= len(self.starts) else 0

    def query_position(self, number: int, column: int) -> tuple[int, int]:
        if number > len(self.starts):
            return 0, column
        end = self.starts[number] if number < len(self.starts) else len(self.lines)
        for i in range(self.starts[number - 1], end):
            match = re.match(r"\s*query\s*=\s*('''|\"\"\"|'|\")", self.lines[i])
            if not match:
                continue
            if len(match.group(1)) == 1:  # single-line string: the query starts right after the quote
                return i + 1, match.end() + column
            # Multi-line string: a newline right after the delimiter is trimmed by TOML.
            rest = self.lines[i][match.end():]
            query_lines = ([rest] if rest else []) + self.lines[i + 1 : end]
            first_line = i + 1 if rest else i + 2
            offset = match.end() if rest else 0
            remaining = column - 1
            for k, qline in enumerate(query_lines):
                if remaining <= len(qline):
                    return first_line + k, (offset if k == 0 else 0) + remaining + 1
                remaining -= len(qline) + 1
            return first_line, column
        return self.starts[number - 1] + 1, column
