"""Typo look-ups for the symptom matcher: which lexicon word an unknown word of a note may be a slip of.

Patients and models misspell ("отсрые" for "острые"); pymorphy3 does not know such a word, so its lemma matches
nothing. The index here holds every inflected form of the lexicon words and each form with one letter dropped
(the symmetric-delete scheme), so candidates one edit away come from dictionary look-ups, not a scan of the
lexicon. It lives apart from `matching` because it knows nothing of labels, slots or clauses: only words and edits.
"""

from __future__ import annotations

from collections import defaultdict
from functools import lru_cache

from medsyn.builder.text.morphology import morph, parses

MIN_TYPO_LEN = 5


def _deletes(word: str) -> set[str]:
    return {word[:i] + word[i + 1 :] for i in range(len(word))}


def within_one_edit(a: str, b: str) -> bool:
    """Damerau-Levenshtein distance <= 1 (adjacent swap counts as one edit)."""
    if a == b:
        return True
    if abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        diff = [i for i in range(len(a)) if a[i] != b[i]]
        if len(diff) == 1:
            return True
        return len(diff) == 2 and diff[1] == diff[0] + 1 and a[diff[0]] == b[diff[1]] and a[diff[1]] == b[diff[0]]
    short, long = (a, b) if len(a) < len(b) else (b, a)
    return any(long[:i] + long[i + 1 :] == short for i in range(len(long)))


_ALPHABET = "абвгдежзийклмнопрстуфхцчшщъыьэюя"


def near_other_word(word: str, lexicon_forms: set[str]) -> bool:
    """Some dictionary word outside `lexicon_forms` is a dropped, doubled-up or swapped letter away from `word`
    (so the typo is ambiguous). Substitutions are not tried: they reach too many rare words (апетит: апатит)."""
    candidates = {word[:i] + word[i + 1 :] for i in range(1, len(word))}  # the first letter stays, as above
    candidates |= {word[:i] + word[i + 1] + word[i] + word[i + 2 :] for i in range(1, len(word) - 1)}
    candidates |= {word[:i] + letter + word[i:] for i in range(1, len(word) + 1) for letter in _ALPHABET}
    candidates -= lexicon_forms | {word}
    return any(len(c) >= MIN_TYPO_LEN - 1 and morph().word_is_known(c) for c in candidates)


class TypoIndex:
    """Every inflected form of the lexicon words, and each form with one letter dropped, for typo look-ups."""

    def __init__(self) -> None:
        # key -> its forms: one form as a plain string, more as a tuple (a set per key was 100 MB in a big build).
        self._index: dict[str, str | tuple[str, ...]] = {}
        self._words: set[str] = set()
        self._sources: dict[str, set[str]] = defaultdict(set)  # form -> the added words it is a form of

    def add(self, words: set[str]) -> None:
        index = self._index
        for word in sorted(words - self._words):
            self._words.add(word)
            for key, form in _typo_keys(word):
                self._sources[form].add(word)
                known = index.get(key)
                if known is None:
                    index[key] = form
                elif isinstance(known, str):
                    if known != form:
                        index[key] = (known, form)
                elif form not in known:
                    index[key] = (*known, form)

    def near(self, word: str, among: set[str] | frozenset[str] | None = None) -> set[str]:
        """Indexed forms that may be one edit from `word` (candidates; the caller checks the distance).

        `among`: only forms of these added words. An index shared by several matchers then answers each as its
        own index would, whatever the others added before: a matcher's answers do not depend on which other
        matchers the same process built (scoring in several processes gives the same scores)."""
        forms: set[str] = set()
        for key in (word, *_deletes(word)):
            found = self._index.get(key)
            if found is not None:
                forms.update((found,) if isinstance(found, str) else found)
        if among is not None:
            forms = {form for form in forms if not self._sources[form].isdisjoint(among)}
        return forms


@lru_cache(maxsize=50_000)
def _typo_keys(word: str) -> tuple[tuple[str, str], ...]:
    forms = {word}
    for parse in parses(word)[:1]:
        forms.update(f.word.replace("ё", "е") for f in parse.lexeme)
    long_forms = [form for form in sorted(forms) if len(form) >= MIN_TYPO_LEN - 1]
    return tuple((key, form) for form in long_forms for key in sorted({form} | _deletes(form)))
