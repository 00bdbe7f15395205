"""Alert rules: the query language, rule files, and explained matching. Pure: no I/O anywhere in this package.

    rules = parse_rules(path.read_text(), str(path), channels=settings.alerts.channels)
    matcher = Matcher(rules)          # once
    matches = matcher.match(article)  # per article: list[Match], each with terms, offsets and snippet

The rule file's names (``Rule``, ``parse_rules``, ``parse_period``, ``Matcher``) are imported on first use: a
query alone (``monitor rules test``, a search) needs no pydantic model of the rule file (tests/test_cli_startup.py).
The rest is imported here: ``evaluate`` is also a submodule's name, which a lazy name would lose to the module.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from monitor._lazy import lazy_names
from monitor.errors import QuerySyntaxError
from monitor.rules.document import Document
from monitor.rules.evaluate import Hit, evaluate
from monitor.rules.highlight import explain, mark
from monitor.rules.query import parse_query

if TYPE_CHECKING:
    from monitor.rules.matcher import Matcher as Matcher
    from monitor.rules.ruleset import Rule as Rule
    from monitor.rules.ruleset import parse_period as parse_period
    from monitor.rules.ruleset import parse_rules as parse_rules

__getattr__, _ = lazy_names(__name__, globals(), {
    "monitor.rules.matcher": ("Matcher",),
    "monitor.rules.ruleset": ("Rule", "parse_period", "parse_rules"),
})

__all__ = [
    "Document", "Hit", "Matcher", "QuerySyntaxError", "Rule", "evaluate", "explain", "mark", "parse_period",
    "parse_query", "parse_rules",
]
