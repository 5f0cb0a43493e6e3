"""Russian words as lemmas: the tokeniser, pymorphy3's readings and normal forms shared by every module.

Russian inflects heavily ("боли в шее", "болью в шейном отделе"), so labels and texts are compared as lemma
sequences from pymorphy3, never as strings; one cached analyser serves matching, inflection and the typo index.
"""

from __future__ import annotations

import re
from functools import lru_cache

import pymorphy3

TOKEN_RE = re.compile(r"[а-яёa-z0-9]+", re.IGNORECASE)
# Clause boundaries: a negation or a symptom does not reach across a sentence or a semicolon.
CLAUSE_RE = re.compile(r"[^.;!?\n]+")
# Function words carry no meaning in a symptom label ("боль в шее" ~ "боль шея").
STOPWORDS = frozenset(
    "в во на с со при по от до из за к ко и или а у о об под над без для через около после".split()
)


@lru_cache(maxsize=1)
def morph():
    """The shared pymorphy3 analyser (loading its dictionaries takes a second; do it once)."""
    return pymorphy3.MorphAnalyzer()


@lru_cache(maxsize=100_000)
def parses(word: str) -> tuple:
    """pymorphy3's readings of a word, kept: a look-up takes ~0.3 ms, and matching, inflection and the typo index
    each ask of the same words (the readings are immutable named tuples, safe to share)."""
    return tuple(morph().parse(word))


@lru_cache(maxsize=200_000)
def lemma(word: str) -> str:
    """The most probable normal form of one lower-cased word (ё folded to е)."""
    word = word.lower().replace("ё", "е")
    if not re.search("[а-я]", word):
        return word
    return parses(word)[0].normal_form.replace("ё", "е")


def lemmatize(text: str) -> list[str]:
    return [lemma(token) for token in TOKEN_RE.findall(text)]


def label_key(label: str) -> tuple[str, ...]:
    """The content lemmas of a symptom label, parenthesised qualifiers dropped: what a mention must contain."""
    label = re.sub(r"\([^)]*\)", " ", label)
    return tuple(dict.fromkeys(lem for lem in lemmatize(label) if lem not in STOPWORDS))


def words(text: str) -> list[str]:
    """Lower-cased word tokens (ё folded), the unit of lengths, n-grams and shingles."""
    return TOKEN_RE.findall(text.lower().replace("ё", "е"))
