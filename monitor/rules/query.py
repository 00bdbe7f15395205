"""The query language: lexer and parser from a query string to a tree, with column-precise errors.

Grammar (loosest first; an operator is only an operator in capitals, so "and" is an ordinary word)::

    query   := or
    or      := and ("OR" and)*
    and     := not (["AND"] not)*          two terms side by side mean AND, as in a search box
    not     := "NOT" not | near
    near    := primary ("NEAR/" n primary)*  n = most words apart
    primary := word | =word | ~name | word* | "phrase" | field ":" primary | "(" or ")"

A hand-written parser rather than luqum's Lucene grammar: Lucene has no ``NEAR/n``, treats two terms side by side as
OR, and its parser errors carry no column an analyst could act on. The whole language is sixty lines of grammar.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from monitor.analysis.terms import QueryWord
from monitor.analysis.text import WORD_RE, normalize_word
from monitor.errors import QuerySyntaxError

FIELDS = ("title", "teaser", "body")
MIN_PREFIX = 2
_QUOTES = {'"': '"', "“": "”", "”": "”", "„": "“", "«": "»", "‚": "‘"}
_NEAR_RE = re.compile(r"NEAR/(\d+)")
_KINDS: dict[str, Literal["word", "exact", "name"]] = {"": "word", "=": "exact", "~": "name"}


# --- the tree ---------------------------------------------------------------------------------------------


# A word of a query: ``norm`` and ``prefix`` ("Ukrain*": any word that starts with norm), its kind (plain words
# inflect, ``=word`` is exact, ``~Name`` a name in any script) and what it accepts per language of a text.
Word = QueryWord


@dataclass(frozen=True, slots=True)
class Phrase:
    """One or more words in a row (a single word is a phrase of one). ``field`` None means any field."""

    words: tuple[Word, ...]
    raw: str
    field: str | None
    column: int


@dataclass(frozen=True, slots=True)
class And:
    children: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Or:
    children: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Not:
    child: Node


@dataclass(frozen=True, slots=True)
class Near:
    left: Node
    right: Node
    distance: int


Node = Phrase | And | Or | Not | Near


# --- lexer ------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Tok:
    kind: str  # "(", ")", "AND", "OR", "NOT", "NEAR", "FIELD", "WORD", "PHRASE", "END"
    text: str
    column: int
    number: int = 0


def _describe(tok: _Tok) -> str:
    if tok.kind == "END":
        return "end of query"
    if tok.kind == "PHRASE":
        return f'"{tok.text}"'
    return f"{tok.text!r}"


def _lex(query: str) -> list[_Tok]:
    tokens: list[_Tok] = []
    i, n = 0, len(query)
    while i < n:
        ch = query[i]
        col = i + 1
        if ch.isspace():
            i += 1
        elif ch in "()":
            tokens.append(_Tok(ch, ch, col))
            i += 1
        elif ch in _QUOTES:
            closer = _QUOTES[ch]
            end = i + 1
            while end < n and query[end] not in (closer, '"', "”", "“", "»"):
                end += 1
            if end >= n:
                raise QuerySyntaxError(col, "expected a closing quote for the phrase that starts here")
            tokens.append(_Tok("PHRASE", query[i + 1 : end], col))
            i = end + 1
        else:
            end = i
            while end < n and not query[end].isspace() and query[end] not in "():" and query[end] not in _QUOTES:
                end += 1
            text = query[i:end]
            if end < n and query[end] == ":":
                tokens.append(_Tok("FIELD", text, col))
                i = end + 1
                continue
            if text in ("AND", "OR", "NOT"):
                tokens.append(_Tok(text, text, col))
            elif text.startswith("NEAR"):
                match = _NEAR_RE.fullmatch(text)
                if not match:
                    raise QuerySyntaxError(col, f"expected NEAR/<number of words>, e.g. NEAR/20, found {text!r}")
                if int(match.group(1)) < 1:
                    raise QuerySyntaxError(col, f"expected NEAR/1 or more words apart, found {text}")
                tokens.append(_Tok("NEAR", text, col, int(match.group(1))))
            else:
                if not text:  # a lone ':'
                    raise QuerySyntaxError(col, "expected a field name (title, teaser or body) before ':'")
                tokens.append(_Tok("WORD", text, col))
            i = end
    tokens.append(_Tok("END", "", n + 1))
    return tokens


# --- parser -----------------------------------------------------------------------------------------------

_STARTS_PRIMARY = frozenset({"WORD", "PHRASE", "(", "FIELD", "NOT"})


class _Parser:
    def __init__(self, query: str) -> None:
        self.tokens = _lex(query)
        self.pos = 0

    @property
    def tok(self) -> _Tok:
        return self.tokens[self.pos]

    def take(self) -> _Tok:
        tok = self.tokens[self.pos]
        self.pos += 1
        return tok

    def parse(self) -> Node:
        if self.tok.kind == "END":
            raise QuerySyntaxError(1, "expected a word, a \"phrase\" or '(', found an empty query")
        node = self.or_(None)
        if self.tok.kind == ")":
            raise QuerySyntaxError(self.tok.column, "found ')' without a matching '('")
        if self.tok.kind != "END":  # pragma: no cover - every other token starts an implicit AND
            raise QuerySyntaxError(self.tok.column, f"expected an operator, found {_describe(self.tok)}")
        return node

    def or_(self, field: str | None) -> Node:
        children = [self.and_(field)]
        while self.tok.kind == "OR":
            self.take()
            children.append(self.and_(field, after="OR"))
        return children[0] if len(children) == 1 else Or(tuple(children))

    def and_(self, field: str | None, after: str | None = None) -> Node:
        children = [self.not_(field, after)]
        while True:
            if self.tok.kind == "AND":
                self.take()
                children.append(self.not_(field, "AND"))
            elif self.tok.kind in _STARTS_PRIMARY:
                children.append(self.not_(field, None))
            else:
                break
        return children[0] if len(children) == 1 else And(tuple(children))

    def not_(self, field: str | None, after: str | None) -> Node:
        if self.tok.kind == "NOT":
            self.take()
            return Not(self.not_(field, "NOT"))
        return self.near(field, after)

    def near(self, field: str | None, after: str | None) -> Node:
        left = self.primary(field, after)
        while self.tok.kind == "NEAR":
            op = self.take()
            _require_positional(left, op)
            right = self.primary(field, op.text)
            _require_positional(right, op)
            left = Near(left, right, op.number)
        return left

    def primary(self, field: str | None, after: str | None) -> Node:
        tok = self.take()
        if tok.kind == "(":
            if self.tok.kind == ")":
                raise QuerySyntaxError(self.tok.column, "expected a word, a \"phrase\" or '(' inside the parentheses")
            node = self.or_(field)
            if self.tok.kind != ")":
                raise QuerySyntaxError(self.tok.column, f"expected ')' to close the '(' at column {tok.column}, "
                                       f"found {_describe(self.tok)}")
            self.take()
            return node
        if tok.kind == "FIELD":
            name = tok.text.casefold()
            if name not in FIELDS:
                raise QuerySyntaxError(tok.column, f"expected a field title, teaser or body, found {tok.text!r} "
                                       "(put words with ':' in quotes)")
            if field is not None:
                raise QuerySyntaxError(tok.column, f"expected a word, a \"phrase\" or '(' inside {field}:, "
                                       f"found another field {tok.text}:")
            if self.tok.kind not in ("WORD", "PHRASE", "("):
                raise QuerySyntaxError(self.tok.column, f"expected a word, a \"phrase\" or '(' after {tok.text}:, "
                                       f"found {_describe(self.tok)}")
            return self.primary(name, None)
        if tok.kind == "WORD":
            return _phrase(tok, field, allow_wildcard=True)
        if tok.kind == "PHRASE":
            return _phrase(tok, field, allow_wildcard=True)
        where = f" after {after}" if after else ""
        raise QuerySyntaxError(tok.column, f"expected a word, a \"phrase\" or '('{where}, found {_describe(tok)}")


def _phrase(tok: _Tok, field: str | None, *, allow_wildcard: bool) -> Phrase:
    words: list[Word] = []
    # Offsets inside a quoted phrase start one column after the opening quote.
    base = tok.column + (1 if tok.kind == "PHRASE" else 0)
    for star in re.finditer(r"\*", tok.text):
        following = tok.text[star.end() : star.end() + 1]
        if following and not following.isspace():
            raise QuerySyntaxError(base + star.start(), "expected '*' only at the end of a word (prefix search)")
    for match in re.finditer(r"\S+", tok.text):
        chunk = match.group()
        marker = chunk[0] if chunk[0] in "=~" else ""
        kind = _KINDS[marker]
        prefix = chunk.endswith("*")
        stem = chunk[len(marker):].rstrip("*")
        parts = [m.group() for m in WORD_RE.finditer(stem)]
        if not parts:
            raise QuerySyntaxError(base + match.start(), f"expected a word with letters or digits, found {chunk!r}")
        if marker and prefix:
            raise QuerySyntaxError(base + match.start(), f"expected either {marker}word or word*, not both")
        if marker and (len(parts) > 1 or parts[0] != stem):
            raise QuerySyntaxError(base + match.start(), f"expected one word after {marker!r}, found {stem!r}")
        norms = [normalize_word(p) for p in parts]
        if prefix and len(norms[-1]) < MIN_PREFIX:
            raise QuerySyntaxError(base + match.start(), f"expected at least {MIN_PREFIX} letters before '*'")
        words.extend(Word(norm, False, "word", part) for norm, part in zip(norms[:-1], parts, strict=False))
        words.append(Word(norms[-1], prefix, kind, parts[-1]))
    if not words:
        raise QuerySyntaxError(tok.column, "expected words inside the quotes, found an empty phrase")
    return Phrase(tuple(words), tok.text, field, tok.column)


def _positional(node: Node) -> bool:
    if isinstance(node, Phrase | Near):
        return True
    if isinstance(node, Or):
        return all(_positional(c) for c in node.children)
    return False


def _require_positional(node: Node, op: _Tok) -> None:
    if not _positional(node):
        raise QuerySyntaxError(op.column, f"expected words, phrases or (... OR ...) on both sides of {op.text}, "
                               "not AND or NOT")


def finds_something(node: Node) -> bool:
    """False for a query that would match by absence alone (``NOT x``): it would alert on every article."""
    if isinstance(node, Not):
        return False
    if isinstance(node, And):
        return any(finds_something(c) for c in node.children)
    if isinstance(node, Or):
        return all(finds_something(c) for c in node.children)
    return True


def parse_query(query: str) -> Node:
    """Parse ``query`` into a tree, or raise :class:`QuerySyntaxError` naming the column and what was expected."""
    node = _Parser(query).parse()
    if not finds_something(node):
        raise QuerySyntaxError(1, "expected something to find: a query made only of NOT would match every article")
    return node


def query_errors(query: str, *, limit: int = 20) -> list[QuerySyntaxError]:
    """Every syntax error of ``query`` (up to ``limit``), columns in ``query``: what ``monitor rules check`` lists.

    Recovery repairs the query at each error and parses again, so the parser itself stays single-error: at the
    error's column it tries, in turn, deleting the character there, deleting the token there, inserting a
    placeholder word and inserting ')', and keeps the first repair that lets the parser get past that column.
    An error that no repair gets past ends the list."""
    text, columns = query, list(range(1, len(query) + 2))  # columns[i]: column in ``query`` of text[i]
    found: list[QuerySyntaxError] = []
    while len(found) < limit:
        try:
            parse_query(text)
            break
        except QuerySyntaxError as exc:
            error = exc
        at = min(max(error.column, 1), len(text) + 1) - 1  # 0-based index in text
        original = columns[at]
        if found and (error.message.endswith("an empty query") or any(
                e.column == original and e.message == error.message for e in found)):
            break  # what the repairs left (nothing), or no progress
        found.append(QuerySyntaxError(original, error.message))
        if error.message.startswith("expected something to find"):
            break  # about the whole query, not a place in it
        repaired = _repair(text, columns, at)
        if repaired is None:
            break
        text, columns = repaired
    return sorted(found, key=lambda e: e.column)


def _repair(text: str, columns: list[int], at: int) -> tuple[str, list[int]] | None:
    """The repair at ``text[at]`` that lets the parser get furthest in the original query (None: none gets past)."""
    token_end = at + 1
    while token_end < len(text) and not text[token_end].isspace() and text[token_end] not in "()":
        token_end += 1
    edits = [(at, at + 1, ""), (at, token_end, "")] if at < len(text) else []  # a stray character or token
    edits += [(at, at, " x "), (at, at, " ) ")]  # a missing word, a missing ')'
    best: tuple[float, str, list[int]] | None = None
    for start, end, insert in edits:
        new_text = text[:start] + insert + text[end:]
        new_columns = columns[:start] + [columns[start]] * len(insert) + columns[end:]
        try:
            parse_query(new_text)
            reached = float("inf")
        except QuerySyntaxError as exc:
            reached = new_columns[min(max(exc.column, 1), len(new_text) + 1) - 1]
        if reached < columns[at]:
            reached = 0.5  # gets past this error, revealing an earlier one (the lexer's errors come first)
        if reached != columns[at] and (best is None or reached > best[0]):
            best = (reached, new_text, new_columns)
    return None if best is None else (best[1], best[2])
