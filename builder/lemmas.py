"""Finding symptom mentions in Russian text by lemmas, with negation.

Both the knowledge graph (which lexicon symptoms a real note mentions) and the corpus filters (which prompt
symptoms a generated note mentions) need the same matcher, so that "symptom recall" means the same thing in both.
Russian inflects heavily ("боли в шее", "болью в шейном отделе"), so labels and texts are compared as lemma
sequences from pymorphy3, never as strings.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

TOKEN_RE = re.compile(r"[а-яёa-z0-9]+", re.IGNORECASE)
# Clause boundaries: a negation or a symptom does not reach across a sentence or a semicolon.
CLAUSE_RE = re.compile(r"[^.;!?\n]+")
# Function words carry no meaning in a symptom label ("боль в шее" ~ "боль шея").
STOPWORDS = frozenset(
    "в во на с со при по от до из за к ко и или а у о об под над без для через около после".split()
)
# A negation cue before a mention, in the same clause and within NEGATION_WINDOW tokens, negates it:
# "не отмечает тошноты", "отрицает боли", "без температуры", "нет кашля", "отсутствует".
NEGATION_CUES = frozenset({"не", "нет", "отрицать", "без", "отсутствовать", "отсутствие"})
NEGATION_WINDOW = 4
# Negation after a mention: "тошноту отрицает", "кашля нет", "тошноты не отмечает". A bare "не" after a mention
# usually negates something else ("боль не проходит"), so it counts only before a verb of reporting.
NEGATION_AFTER = frozenset({"отрицать", "нет", "отсутствовать"})
REPORTING_VERBS = frozenset({"отмечать", "беспокоить", "быть", "выявлять", "выявить", "наблюдаться", "определяться"})
NEGATION_AFTER_WINDOW = 3


@lru_cache(maxsize=1)
def morph():
    """The shared pymorphy3 analyser (loading its dictionaries takes a second; do it once)."""
    import pymorphy3

    return pymorphy3.MorphAnalyzer()


@lru_cache(maxsize=200_000)
def lemma(word: str) -> str:
    """The most probable normal form of one lower-cased word (ё folded to е)."""
    word = word.lower().replace("ё", "е")
    if not re.search("[а-я]", word):
        return word
    return morph().parse(word)[0].normal_form.replace("ё", "е")


def lemmatize(text: str) -> list[str]:
    return [lemma(token) for token in TOKEN_RE.findall(text)]


def label_key(label: str) -> tuple[str, ...]:
    """The content lemmas of a symptom label, parenthesised qualifiers dropped: what a mention must contain."""
    label = re.sub(r"\([^)]*\)", " ", label)
    return tuple(dict.fromkeys(lem for lem in lemmatize(label) if lem not in STOPWORDS))


@dataclass(frozen=True)
class Mention:
    label: str
    start: int  # character offsets of the matched span in the text
    end: int
    negated: bool


class SymptomMatcher:
    """Matches a fixed lexicon of symptom labels against texts.

    A label matches where all its content lemmas occur, in any order, inside one clause and within a window of
    2 x (number of lemmas) + 1 tokens: "боль в шейном отделе позвоночника" matches "боли в шейном отделе
    позвоночника" and "позвоночник, шейный отдел: боль".
    """

    def __init__(self, labels: list[str]):
        self.keys = {label: label_key(label) for label in labels}
        self.keys = {label: key for label, key in self.keys.items() if key}
        by_lemma: dict[str, list[str]] = {}
        for label, key in self.keys.items():
            by_lemma.setdefault(key[0], []).append(label)
        self._by_first = by_lemma

    def mentions(self, text: str) -> list[Mention]:
        found: list[Mention] = []
        for clause in CLAUSE_RE.finditer(text.lower()):
            base = clause.start()
            tokens = [(base + m.start(), base + m.end(), lemma(m.group())) for m in TOKEN_RE.finditer(clause.group())]
            found.extend(self._clause_mentions(tokens))
        return sorted(found, key=lambda m: (m.start, m.label))

    def _clause_mentions(self, tokens: list[tuple[int, int, str]]) -> list[Mention]:
        lemmas = [tok[2] for tok in tokens]
        positions: dict[str, list[int]] = {}
        for i, lem in enumerate(lemmas):
            positions.setdefault(lem, []).append(i)
        found = []
        for first in sorted(set(lemmas) & self._by_first.keys()):
            for label in self._by_first[first]:
                key = self.keys[label]
                if not all(lem in positions for lem in key):
                    continue
                span = self._best_span(key, positions, 2 * len(key) + 1)
                if span is None:
                    continue
                lo, hi = span
                before = lemmas[max(0, lo - NEGATION_WINDOW) : lo]
                after = lemmas[hi + 1 : hi + 1 + NEGATION_AFTER_WINDOW]
                negated = any(lem in NEGATION_CUES for lem in before) or any(
                    lem in NEGATION_AFTER or (lem == "не" and nxt in REPORTING_VERBS)
                    for lem, nxt in zip(after, after[1:] + [""])
                )
                found.append(Mention(label, tokens[lo][0], tokens[hi][1], negated))
        return found

    @staticmethod
    def _best_span(key: tuple[str, ...], positions: dict[str, list[int]], width: int) -> tuple[int, int] | None:
        """The first token span of at most `width` tokens that holds every lemma of `key`."""
        for anchor in positions[key[0]]:
            lo, hi = anchor, anchor
            for lem in key[1:]:
                near = [p for p in positions[lem] if abs(p - anchor) < width]
                if not near:
                    break
                closest = min(near, key=lambda p: abs(p - anchor))
                lo, hi = min(lo, closest), max(hi, closest)
            else:
                if hi - lo < width:
                    return lo, hi
        return None

    def present(self, text: str) -> set[str]:
        """Labels mentioned and not negated anywhere in the text."""
        mentions = self.mentions(text)
        negated_everywhere = {m.label for m in mentions} - {m.label for m in mentions if not m.negated}
        return {m.label for m in mentions} - negated_everywhere
