"""Turning text into comparable words: tokens, case and accent folding, inflection (a dictionary for Russian and
Ukrainian, Snowball elsewhere) and names across scripts. Pure: no I/O beyond the dictionaries and tables of
installed packages. The one place the rule matcher (and a search index) get their words from, so a rule and a
search agree.

    tokens = analyze("Лавров заявил", "ru")      # Token(surface, start, end, form, stem, lemmas, name)
    keys = query_keys("~Lavrov", "ru")           # Keys("name", {...}): compare with each token's name key
    word = QueryWord("украина", written="Украина")
    word.keys("ru")                              # Keys("form", {"украина", "украины", "украине", ...})
"""

from monitor.analysis.names import NameQuery, name_key
from monitor.analysis.terms import Keys, QueryWord, Token, analyze, language_of, query_keys
from monitor.analysis.text import normalize_word, words

__all__ = [
    "Keys", "NameQuery", "QueryWord", "Token", "analyze", "language_of", "name_key", "normalize_word", "query_keys",
    "words",
]
