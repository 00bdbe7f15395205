"""Alert rules: the query language, rule files, and explained matching. Pure: no I/O anywhere in this package.

    rules = parse_rules(path.read_text(), str(path), channels=settings.alerts.channels)
    matcher = Matcher(rules)          # once
    matches = matcher.match(article)  # per article: list[Match], each with terms, offsets and snippet
"""

from monitor.errors import QuerySyntaxError
from monitor.rules.document import Document
from monitor.rules.evaluate import Hit, evaluate
from monitor.rules.highlight import explain, mark
from monitor.rules.matcher import Matcher
from monitor.rules.query import parse_query
from monitor.rules.ruleset import Rule, parse_period, parse_rules

__all__ = [
    "Document", "Hit", "Matcher", "QuerySyntaxError", "Rule", "evaluate", "explain", "mark", "parse_period",
    "parse_query", "parse_rules",
]
