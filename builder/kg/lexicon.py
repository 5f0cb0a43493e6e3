"""One Russian symptom lexicon over every source: which surface forms are the same symptom.

The sources word symptoms differently: RuMedTop3's markup has 219 normalised lower-case labels; MedSyn's lists
capitalise at random ("Кашель", "кашель"), pack synonyms into one item ("Высокая температура, температура"),
double spaces, and carry typos ("галзные проявления"). Without one lexicon the graph would hold "Кашель" and
"кашель" as two symptoms and split their weight. Rules, in order:

1. Normalise: collapse whitespace, strip edge punctuation, lower-case every word but short acronyms ("ОРВИ").
2. Merge labels whose lemma keys match: the same content lemmas in any order ("боль в животе" ~ "боли живота").
3. Merge typo duplicates: a label whose key differs from another's only in words pymorphy3 does not know, each
   one dropped, added or swapped letter away from a dictionary word of the other label ("галзные" ~ "глазные",
   "сутавах" ~ "суставах"). Known words never merge this way, and a changed letter is not taken for a typo, so
   "гипотермия" / "гипертермия" and "дисфония" / "дисфория" stay apart.
4. Drop misspelt labels that rule 3 left without a correct twin: a label with a word that pymorphy3 does not know,
   that no ICD-10 name uses (the names' terms, "дистония", "оторея", stay), and that is one edit (two for words
   of 12 letters or more) from a dictionary word of the labels or ICD-10 names: "распиратоные звуки"
   ("респираторные"), "сердцебаение", "паталогического". Its forms map to None and give no symptom. Without
   ICD-10 names to tell terms from slips (`terms` empty), nothing is dropped.
5. The name of a merged group: a RuMedTop3 markup label if the group has one (they keep their surface form and are
   never merged with each other), else the most frequent form, then the shortest, then the first alphabetically.

A synonym item of MedSyn's HSDN lists stays one symptom: it takes the first synonym that is a markup label's group,
else its first synonym; merging synonyms with each other would fuse "тошнота, рвота" into one symptom.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from medsyn.builder.text.morphology import TOKEN_RE, label_key, morph

EDGE_PUNCTUATION = " \t\n.,;:-–—"


def normalise(label: str) -> str:
    """'  Боль  в Животе. ' -> 'боль в животе'; acronyms ('ОРВИ', 'ЭКГ') keep their capitals."""
    words = re.sub(r"\s+", " ", label).strip(EDGE_PUNCTUATION).split(" ")
    return " ".join(word if 1 < len(word) <= 4 and word.isupper() else word.lower() for word in words)


def merge_key(label: str) -> tuple[str, ...]:
    """Content lemmas as a sorted set: word order and repeats do not make a different symptom."""
    return tuple(sorted(set(label_key(label))))


def is_typo_of(word: str, other: str) -> bool:
    """One letter dropped, added or two neighbours swapped ("сутавах", "галзные"); a changed letter is not a typo
    here because medical terms differ by one letter ("дисфония", "дисфория")."""
    if len(word) < 4 or len(other) < 4 or word == other:
        return False
    if abs(len(word) - len(other)) == 1:
        short, long_ = sorted((word, other), key=len)
        return any(long_[:i] + long_[i + 1 :] == short for i in range(len(long_)))
    if len(word) == len(other):
        diff = [i for i, (a, b) in enumerate(zip(word, other)) if a != b]
        return len(diff) == 2 and diff[1] == diff[0] + 1 and word[diff[0]] == other[diff[1]] and word[diff[1]] == other[diff[0]]
    return False


@dataclass
class Lexicon:
    """Surface form (normalised) -> canonical label, and how many labels there were before and after merging."""

    canonical: dict[str, str] = field(default_factory=dict)
    protected: frozenset[str] = frozenset()
    counts: dict[str, int] = field(default_factory=dict)

    def __getitem__(self, surface: str) -> str | None:
        """The canonical label of a surface form; None for a dropped misspelling (rule 4)."""
        return self.canonical[self._form(surface)]

    def _form(self, surface: str) -> str:
        return surface if surface in self.protected else normalise(surface)

    def resolve_synonyms(self, synonyms: Iterable[str]) -> str | None:
        """The one label of a synonym item: the first synonym in a markup label's group, else the first (dropped
        misspellings skipped; None when every synonym is one)."""
        labels = [label for label in (self[s] for s in synonyms) if label is not None]
        return next((label for label in labels if label in self.protected), labels[0] if labels else None)


def build_lexicon(protected: Iterable[str], surfaces: Iterable[str], terms: Iterable[str] = ()) -> Lexicon:
    """The lexicon of `protected` labels (kept as they are) and every other surface form (repeats count);
    `terms`: texts whose words are the field's own (the ICD-10 names), never taken for slips (rule 4)."""
    terms = list(terms)
    protected = frozenset(protected)
    raw = list(surfaces)
    frequency = Counter(normalise(s) for s in raw if normalise(s) and normalise(s) not in protected)
    groups: dict[tuple[str, ...], list[str]] = {}
    canonical: dict[str, str] = {}
    for label in sorted(protected):
        key = merge_key(label) or (label,)
        canonical[label] = label
        groups.setdefault(key, []).append(label)
    by_key: dict[tuple[str, ...], list[str]] = {}
    for form in sorted(frequency):
        by_key.setdefault(merge_key(form) or (form,), []).append(form)
    # Rule 2: a key shared with markup labels goes to the first of them; otherwise the forms name their group.
    targets: dict[tuple[str, ...], str] = {key: sorted(labels)[0] for key, labels in groups.items()}
    for key, forms in sorted(by_key.items()):
        if key not in targets:
            targets[key] = min(forms, key=lambda form: (-frequency[form], len(form), form))
    # Rule 3: a form whose differing words are all unknown typos of another form's dictionary words.
    forms_of: dict[tuple[str, ...], list[str]] = {key: list(labels) for key, labels in groups.items()}
    for key, forms in by_key.items():
        forms_of.setdefault(key, []).extend(forms)
    by_length: dict[int, list[tuple[tuple[str, ...], list[str]]]] = {}
    for key, forms in sorted(forms_of.items()):
        for form in forms:
            tokens = TOKEN_RE.findall(form.lower())
            by_length.setdefault(len(tokens), []).append((key, tokens))
    merged_into: dict[tuple[str, ...], tuple[str, ...]] = {}
    for key, forms in sorted(by_key.items()):
        if key in groups:
            continue
        for form in forms:
            tokens = TOKEN_RE.findall(form.lower())
            if not any(_unknown(token) for token in tokens):
                continue
            match = next((other for other, theirs in by_length.get(len(tokens), [])
                          if other != key and other not in merged_into and _typo_pair(tokens, theirs)), None)
            if match is not None:
                merged_into[key] = match
                break
    for key, forms in by_key.items():
        target = targets[merged_into.get(key, key)]
        for form in forms:
            canonical[form] = target
    # Rule 4: misspelt labels left without a twin are dropped.
    term_words = frozenset(t for text in terms for t in TOKEN_RE.findall(text.lower()))
    vocabulary = _vocabulary(canonical, frozenset(terms))
    dropped = {label for label in set(canonical.values())  # without the field's terms, a term looks like a slip
               if terms and label not in protected and _misspelt(label, vocabulary, term_words)}
    for form, target in canonical.items():
        if target in dropped:
            canonical[form] = None
    counts = {
        "labels_raw": len({re.sub(r"\s+", " ", s).strip() for s in raw} | protected),
        "labels_normalised": len(set(frequency) | protected),
        "labels_merged": len(set(canonical.values()) - {None}),
        "typo_merges": len(merged_into),
        "typo_drops": len(dropped),
    }
    return Lexicon(canonical, protected, counts)


MIN_TYPO_LENGTH = 5  # shorter words are one edit from too many others to call one a slip
TERM_STEM = 8  # from this length an ICD-10 word that shares all but the last two letters is the same term
LONG_WORD = 12  # from this length two edits still make a slip ("распиратоные" ~ "респираторные")


def _vocabulary(canonical: dict[str, str | None], terms: frozenset[str]) -> dict[int, set[str]]:
    """Dictionary words of the labels and of the ICD-10 names, by length."""
    words: dict[int, set[str]] = {}
    for text in (set(canonical) | terms):
        for token in TOKEN_RE.findall(text.lower()):
            if len(token) >= MIN_TYPO_LENGTH and re.search("[а-яё]", token) and not _unknown(token):
                words.setdefault(len(token), set()).add(token)
    return words


def _misspelt(label: str, vocabulary: dict[int, set[str]], term_words: frozenset[str]) -> bool:
    """Some word of the label is a slip: unknown to pymorphy3, not an ICD-10 term (a name's word that starts with
    it less its ending, for words of 8+ letters: "дистония", "оторея" stay), and one edit (two for long words) from a dictionary word."""
    for token in TOKEN_RE.findall(label.lower()):
        if len(token) < MIN_TYPO_LENGTH or not _unknown(token) or token in term_words or (
            len(token) >= TERM_STEM and any(t.startswith(token[:-2]) for t in term_words)
        ):
            continue
        limit = 2 if len(token) >= LONG_WORD else 1
        for length in range(len(token) - limit, len(token) + limit + 1):
            if any(_edits(token, other) <= limit for other in vocabulary.get(length, ())):
                return True
    return False


def _edits(a: str, b: str) -> int:
    """Levenshtein distance, given up at 3 (only lengths within 2 of each other reach here)."""
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb))
        if min(current) > 2:
            return 3
        previous = current
    return previous[-1]


def _unknown(token: str) -> bool:
    return bool(re.search("[а-яё]", token)) and not morph().word_is_known(token)


def _typo_pair(ours: list[str], theirs: list[str]) -> bool:
    """Same words but at least one, and every differing word of ours an unknown typo of a dictionary word."""
    differing = [(a, b) for a, b in zip(ours, theirs) if a != b]
    return bool(differing) and all(
        _unknown(a) and is_typo_of(a, b) and morph().word_is_known(b) for a, b in differing
    )
