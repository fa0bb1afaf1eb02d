"""A text8-style English corpus (lowercase letters and single spaces) built from the shipped sources.

Mahoney's text8 (the first 10^8 bytes of a cleaned Wikipedia) cannot ship with the course, so the
word-vector topics build a corpus of the same shape from three sources in ``data/``, in this order:

1. ``corpus/enwiki/``: the first 206 pages of an English Wikipedia dump, wiki markup stripped;
2. ``corpus/gutenberg/``: 15 public-domain books (NLTK's Gutenberg selection);
3. ``translation/eng-fra.txt.gz``: the English side of the Tatoeba sentence pairs.

The cleaning is code, not a stored blob: every notebook rebuilds the token stream from the sources
(a few seconds) and keeps it in memory for the session.
"""

from __future__ import annotations

import bz2
import gzip
import html
import re
import xml.etree.ElementTree as ElementTree
from collections.abc import Iterator
from functools import lru_cache

from nlpcourse.data import verified_path

WIKI_DUMP = "corpus/enwiki/enwiki-articles1-shortened.xml.bz2"
GUTENBERG_BOOKS = (
    "austen-emma", "austen-persuasion", "austen-sense", "bible-kjv", "blake-poems",
    "carroll-alice", "chesterton-ball", "chesterton-brown", "chesterton-thursday",
    "melville-moby_dick", "milton-paradise", "shakespeare-caesar", "shakespeare-hamlet",
    "shakespeare-macbeth", "whitman-leaves",
)
TATOEBA_PAIRS = "translation/eng-fra.txt.gz"
SOURCES = ("wiki", "gutenberg", "tatoeba")

_DIGIT_WORDS = dict(zip("0123456789", (
    " zero ", " one ", " two ", " three ", " four ", " five ", " six ", " seven ", " eight ", " nine ",
)))
_NON_LETTERS = re.compile(r"[^a-z]+")

_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
_REF = re.compile(r"<ref\b[^>]*/>|<ref\b[^>]*>.*?</ref>", re.DOTALL | re.IGNORECASE)
_NON_PROSE = re.compile(  # an opening tag (not self-closing), its content and its closing tag
    r"<(math|chem|gallery|nowiki|source|syntaxhighlight|timeline)\b[^>]*(?<!/)>.*?</\1\s*>",
    re.DOTALL | re.IGNORECASE,
)
_HTML_TAG = re.compile(r"<[^>]+>")
_TEMPLATE_OR_TABLE = re.compile(r"\{\{|\{\|")  # openers only: a stray closer must not start a span
_FILE_LINK = re.compile(r"\[\[(?:file|image|category|media):", re.IGNORECASE)
_INTERLANGUAGE = re.compile(r"\[\[[a-z]{2,3}(?:-[a-z]+)?:[^\]]*\]\]")
_WIKI_LINK = re.compile(r"\[\[(?:[^\]|]*\|)?([^\]]*)\]\]")
_EXTERNAL_LINK = re.compile(r"\[(?:https?|ftp)://\S*\s?([^\]]*)\]")
_HEADING = re.compile(r"^=+\s*(.*?)\s*=+\s*$", re.MULTILINE)
_EMPHASIS = re.compile(r"'{2,}")
_LIST_MARKER = re.compile(r"^[*#:;]+\s*", re.MULTILINE)


def _drop_balanced(text: str, opener: re.Pattern[str], pairs: dict[str, str]) -> str:
    """Remove every span that starts where ``opener`` matches and ends at its balanced closer.

    ``pairs`` maps each opening token to its closing token (``{{`` to ``}}``, ``{|`` to ``|}``);
    nesting of any of them, and of ``[[...]]`` links, is tracked with one stack, so that a closer only
    counts where it closes the innermost open span (``{{a|}}`` is one template, not ``{{a|}`` + ``}``).
    """
    closer_of = {**pairs, "[[": "]]"}
    kept: list[str] = []
    position = 0
    for match in opener.finditer(text):
        if match.start() < position:
            continue
        kept.append(text[position:match.start()])
        expected: list[str] = []  # closers of the open spans, innermost last
        cursor = match.start()
        while cursor < len(text):
            two = text[cursor:cursor + 2]
            if two in closer_of:
                expected.append(closer_of[two])
                cursor += 2
            elif two == expected[-1]:
                expected.pop()
                cursor += 2
                if not expected:
                    break
            else:
                cursor += 1
        position = cursor
    kept.append(text[position:])
    return "".join(kept)


def strip_wiki_markup(wikitext: str) -> str:
    """Plain prose from MediaWiki source.

    Drops comments, ``<ref>`` footnotes, non-prose blocks (``<math>``, ``<nowiki>``, ``<gallery>``,
    source code), templates ``{{...}}`` and tables ``{|...|}`` (nested ones too), file/image/category
    links and inter-language links; keeps the visible text of internal links (``[[target|label]]``
    -> ``label``) and external links, headings without their ``=``, and text without bold/italic
    quotes, list markers and HTML tags. Entities are decoded.

    >>> strip_wiki_markup("'''Anarchism''' is a [[political philosophy|philosophy]]{{sfn|Ward|2004}}.")
    'Anarchism is a philosophy.'
    """
    text = html.unescape(wikitext)
    text = _COMMENT.sub(" ", text)
    text = _REF.sub(" ", text)
    text = _NON_PROSE.sub(" ", text)  # braces in <math> or <nowiki> would unbalance the template scan
    text = _drop_balanced(text, _TEMPLATE_OR_TABLE, {"{{": "}}", "{|": "|}"})
    text = _drop_balanced(text, _FILE_LINK, {"[[": "]]"})
    text = _INTERLANGUAGE.sub(" ", text)
    text = _WIKI_LINK.sub(r"\1", text)
    text = _EXTERNAL_LINK.sub(r"\1", text)
    text = _HTML_TAG.sub(" ", text)
    text = _HEADING.sub(r"\1", text)
    text = _EMPHASIS.sub("", text)
    text = _LIST_MARKER.sub("", text)
    return text


def text8_normalise(text: str) -> str:
    """Lowercase, digits spelled out one by one, everything but ``a-z`` turned into single spaces.

    This is the text8 convention (Mahoney's ``wikifil.pl``): ``"In 1984, U.S."`` becomes
    ``"in one nine eight four u s"``.
    """
    lowered = text.lower()
    spelled = "".join(_DIGIT_WORDS.get(char, char) for char in lowered)
    return _NON_LETTERS.sub(" ", spelled).strip()


def wiki_articles() -> Iterator[str]:
    """Raw wikitext of each article (namespace 0, not a redirect) in the shipped Wikipedia dump."""
    with bz2.open(verified_path(WIKI_DUMP)) as stream:
        for _, element in ElementTree.iterparse(stream):
            if not element.tag.endswith("}page"):
                continue
            namespace = element.find("{*}ns")
            redirect = element.find("{*}redirect")
            text = element.find("{*}revision/{*}text")
            if namespace is not None and namespace.text == "0" and redirect is None and text is not None:
                yield text.text or ""
            element.clear()


def gutenberg_texts() -> Iterator[str]:
    """Each Gutenberg book as one string (Latin-1: one book has the byte 0xE6, "æ")."""
    for name in GUTENBERG_BOOKS:
        with gzip.open(verified_path(f"corpus/gutenberg/{name}.txt.gz"), "rt", encoding="latin-1") as book:
            yield book.read()


def tatoeba_english() -> Iterator[str]:
    """The English column of the Tatoeba English-French pairs, one sentence per pair."""
    with gzip.open(verified_path(TATOEBA_PAIRS), "rt", encoding="utf-8") as pairs:
        for line in pairs:
            yield line.split("\t", 1)[0]


@lru_cache(maxsize=None)
def source_tokens(source: str) -> tuple[str, ...]:
    """The text8-style tokens of one source: ``"wiki"``, ``"gutenberg"`` or ``"tatoeba"``."""
    if source == "wiki":
        texts: Iterator[str] = (strip_wiki_markup(article) for article in wiki_articles())
    elif source == "gutenberg":
        texts = gutenberg_texts()
    elif source == "tatoeba":
        texts = tatoeba_english()
    else:
        raise ValueError(f"unknown corpus source {source!r}; choose from {', '.join(SOURCES)}")
    tokens: list[str] = []
    for text in texts:
        tokens.extend(text8_normalise(text).split())
    return tuple(tokens)


def load_corpus(max_tokens: int | None = None) -> list[str]:
    """The corpus as one token stream: Wikipedia, then Gutenberg, then Tatoeba English.

    ``max_tokens`` keeps the first tokens only (the smoke profile takes the Wikipedia head);
    ``None`` returns all of it.
    """
    tokens: list[str] = []
    for source in SOURCES:
        if max_tokens is not None and len(tokens) >= max_tokens:
            break
        tokens.extend(source_tokens(source))
    return tokens if max_tokens is None else tokens[:max_tokens]


def chunked(tokens: list[str], size: int = 10_000) -> list[list[str]]:
    """Split a token stream into "sentences" of ``size`` tokens, as gensim's ``Text8Corpus`` does."""
    return [tokens[start:start + size] for start in range(0, len(tokens), size)]
