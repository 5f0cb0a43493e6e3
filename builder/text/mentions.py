"""Finding symptom mentions in Russian text by their lemmas alone, with negation.

The knowledge graph's evidence rule was tuned on this matcher (which lexicon labels a real note mentions, all
content lemmas in one clause and a short window), so the graph is built with it; notes are scored with the
paraphrase-aware `matching.SymptomMatcher`, which reads its wordings and syntax on top of these lemmas.
"""

from __future__ import annotations

from dataclasses import dataclass

from medsyn.builder.text.morphology import CLAUSE_RE, TOKEN_RE, label_key, lemma

# A negation cue before a mention, in the same clause and within NEGATION_WINDOW tokens, negates it:
# "не отмечает тошноты", "отрицает боли", "без температуры", "нет кашля", "отсутствует".
NEGATION_CUES = frozenset({"не", "нет", "отрицать", "без", "отсутствовать", "отсутствие"})
NEGATION_WINDOW = 4
# Negation after a mention: "тошноту отрицает", "кашля нет", "тошноты не отмечает". A bare "не" after a mention
# usually negates something else ("боль не проходит"), so it counts only before a verb of reporting.
NEGATION_AFTER = frozenset({"отрицать", "нет", "отсутствовать"})
REPORTING_VERBS = frozenset({"отмечать", "беспокоить", "быть", "выявлять", "выявить", "наблюдаться", "определяться"})
NEGATION_AFTER_WINDOW = 3


@dataclass(frozen=True)
class Mention:
    label: str
    start: int  # character offsets of the matched span in the text
    end: int
    negated: bool


class LemmaMatcher:
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
