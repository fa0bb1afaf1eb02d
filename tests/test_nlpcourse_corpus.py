"""The text8-style corpus: wiki markup stripping, normalisation and the token stream built from data/."""

from __future__ import annotations

import re

import pytest

from nlpcourse import corpus

# Measured on the shipped sources (data/corpus/PROVENANCE.md quotes the same numbers).
SOURCE_TOKENS = {"wiki": 486_283, "gutenberg": 2_007_583, "tatoeba": 886_558}
TOTAL_TOKENS = 3_380_424


def words(wikitext: str) -> list[str]:
    """What the corpus keeps of a piece of wikitext: the normalised tokens."""
    return corpus.text8_normalise(corpus.strip_wiki_markup(wikitext)).split()


@pytest.mark.parametrize(("wikitext", "expected"), [
    ("'''Anarchism''' is a [[political philosophy|philosophy]]{{sfn|Ward|2004}}.",
     "anarchism is a philosophy"),
    ("A {{outer|x={{inner|y}}|z}} B", "a b"),
    ("A {{a|{{b|}}}} B {{c|}} C", "a b c"),  # an empty last parameter ends in "|}}", not a table's "|}"
    ("A {{Infobox|caption=[[x|y]] and [[z]]}} B", "a b"),
    ('A<ref name="x">{{cite|title=T}} text</ref> B<ref name=y/> C<ref name="a/b" /> D <ref>E</ref>F',
     "a b c d f"),
    ("A [[File:Foo.jpg|thumb|A [[caption]] with [[link|label]] and {{t|x}}]] B", "a b"),
    ("A [[Image:X.png|left|200px]] B [[Category:Stuff|sort key]] C [[media:Y.ogg]] D", "a b c d"),
    ("[[de:Anarchismus]] [[fr:Anarchisme]] [[zh-yue:x]] end", "end"),
    ("See [http://example.com the site] and [https://x.org] ok", "see the site and ok"),
    ("== History ==\nText\n=== Sub ===\nMore", "history text sub more"),
    ("''italic'' and '''bold''' and '''''both''''' aren't", "italic and bold and both aren t"),
    ('Before\n{| class="wikitable"\n|-\n! head\n|-\n| cell {{t|1}} || [[x|cell2]]\n|}\nAfter', "before after"),
    ("A <!-- hidden\ncomment {{x}} --> B", "a b"),
    ("* item one\n# item two\n: indent\n; term", "item one item two indent term"),
    ("x &amp; y &lt;b&gt;bold&lt;/b&gt; &nbsp;z", "x y bold z"),
    ("x<br/>y <sup>2</sup> <span style='a'>s</span>", "x y two s"),
    ("A <math>\\frac{1}{2}}} \\alpha</math> B {{t}} C", "a b c"),  # LaTeX braces are not templates
    ('A <math display="block">x</math> B <nowiki>{|}~</nowiki> C <gallery>F.jpg|cap</gallery> D', "a b c d"),
    ("A }} B |} C {{x}} D", "a b c d"),  # a stray closer drops nothing
    ("text {{never closed [[x]] more", "text"),
])
def test_strip_wiki_markup(wikitext: str, expected: str) -> None:
    assert words(wikitext) == expected.split()


def test_strip_wiki_markup_keeps_lines_and_plain_text() -> None:
    assert corpus.strip_wiki_markup("plain text, no markup.") == "plain text, no markup."
    assert corpus.strip_wiki_markup("== A ==\nb") == "A\nb"


@pytest.mark.parametrize(("text", "expected"), [
    ("In 1984, U.S.", "in one nine eight four u s"),
    ("Hello-World!  It's\tme\n", "hello world it s me"),
    ("x2y", "x two y"),
    ("CAFÉ naïve", "caf na ve"),  # text8 keeps a-z only
    ("  ...  ", ""),
    ("0123456789", "zero one two three four five six seven eight nine"),
])
def test_text8_normalise(text: str, expected: str) -> None:
    assert corpus.text8_normalise(text) == expected


def test_source_token_counts() -> None:
    counts = {source: len(corpus.source_tokens(source)) for source in corpus.SOURCES}
    assert counts == SOURCE_TOKENS
    assert corpus.source_tokens("wiki")[:4] == ("anarchism", "is", "a", "political")
    assert corpus.source_tokens("gutenberg")[:8] == ("emma", "by", "jane", "austen", "one", "eight", "one", "six")
    assert corpus.source_tokens("tatoeba")[:3] == ("go", "run", "run")


def test_unknown_source_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="unknown corpus source 'text8'"):
        corpus.source_tokens("text8")


@pytest.mark.parametrize("n", [0, 1, 1000, SOURCE_TOKENS["wiki"] + 10])
def test_load_corpus_prefix(n: int) -> None:
    tokens = corpus.load_corpus(n)
    assert len(tokens) == n
    assert all(re.fullmatch("[a-z]+", token) for token in tokens)
    assert tokens[:min(n, 5)] == list(corpus.source_tokens("wiki")[:min(n, 5)])
    if n > SOURCE_TOKENS["wiki"]:  # the stream goes on with Gutenberg
        assert tokens[-10:] == list(corpus.source_tokens("gutenberg")[:10])


def test_load_corpus_whole() -> None:
    tokens = corpus.load_corpus()
    assert len(tokens) == TOTAL_TOKENS == sum(SOURCE_TOKENS.values())
    assert len(set(tokens)) == 60_547
    assert tokens[-5:] == ["be", "able", "to", "minimize", "errors"]
    assert corpus.load_corpus(TOTAL_TOKENS + 1) == tokens


def test_chunked() -> None:
    tokens = [str(i) for i in range(25)]
    chunks = corpus.chunked(tokens, size=10)
    assert [len(chunk) for chunk in chunks] == [10, 10, 5]
    assert sum(chunks, []) == tokens
    assert corpus.chunked([], size=10) == []
    assert [len(chunk) for chunk in corpus.chunked(["a"] * 20_000)] == [10_000, 10_000]
