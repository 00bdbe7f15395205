"""monitor: a news-monitoring bot for RFE/RL (Pangea CMS) and Deutsche Welle.

The public surface is small on purpose: parse a page into an :class:`Article`, render it as archive text.
Everything else (HTTP client, discovery, store, rules, notifiers, daemon) lives in its own module.
"""

from monitor.errors import MonitorError, ParseError
from monitor.model import Article, Block, BlockKind, Image
from monitor.render import render_article
from monitor.sites import parse_article

__version__ = "0.1.0"

__all__ = [
    "Article",
    "Block",
    "BlockKind",
    "Image",
    "MonitorError",
    "ParseError",
    "__version__",
    "parse_article",
    "render_article",
]
