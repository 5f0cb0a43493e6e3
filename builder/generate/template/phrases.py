"""Which words a template note says each symptom in: a learnt patients' wording or the lexicon label, cleaned.

It lives apart from `template_notes` because it is the choice of phrases, not the composition of sentences: a
wording must be grammatical on its own (`good_wordings`), recognised by the build's symptom-recall filter often
enough (`choose_phrases`), said once per note (`distinct`) and not borrow another symptom's head noun
(`own_heads`); a list opens with a noun group where a verb or preposition governs it (`group_first`).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from functools import lru_cache

from medsyn.builder.generate.template import knowledge
from medsyn.builder.kg.lexicon import merge_key
from medsyn.builder.kg.wordings import PLURAL_COMPLAINTS
from medsyn.builder.text.inflection import governed, is_clause, natural_order, takes_case
from medsyn.builder.text.label_text import PREPOSITIONS, coordinate_run, drop_glosses, genitive_first, repair, split_run
from medsyn.builder.text.mentions import LemmaMatcher
from medsyn.builder.text.morphology import parses
from medsyn.builder.text.symptom_concepts import head_lemma

LEARNT_WORDING_SHARE = 1.0  # a symptom is said in a learnt wording this often (when one exists), by frequency
MIN_MATCHED_SHARE = 0.6  # share of the symptoms said in words the lemma matcher recognises (symptom-recall filter)


def clean(label: str) -> str:
    """The label without its gloss or synonym (`label_text.drop_glosses`): "гепатомегалия (патологическое изменение
    размеров печени)" -> "гепатомегалия"; a bracketed range ("субфебрильная температура (37.1–38.0 °C)") is no
    complaint either."""
    return drop_glosses(label)


@lru_cache(maxsize=65536)
def recognised(label: str, phrase: str) -> bool:
    """Whether the lemma matcher finds `label` in `phrase` (the build's symptom-recall filter uses it); cached, as
    the same (label, wording) pairs recur across thousands of notes."""
    return label in LemmaMatcher([label]).present(phrase)


def good_wordings(label: str, options: list[tuple[str, int]]) -> list[tuple[str, int]]:
    """Learnt wordings a note may use: prepositions govern their case ("из влагалище" is a slip of one real note),
    and a label's head noun is not said in the genitive ("зуда", "недержания мочи": cut out of longer phrases)."""
    first = label.lower().split(" ")[0]
    noun = next((p for p in parses(first) if p.tag.POS == "NOUN"), None) if parses(first)[0].tag.POS == "NOUN" else None

    label_words = _content_words(label)
    label_preps = set(label.lower().split()) & PREPOSITIONS

    def ok(wording: str) -> bool:
        if not governed(wording) or _truncated(wording):
            return False
        if _content_words(wording) == label_words and set(wording.split()) & PREPOSITIONS - label_preps:
            return False  # the label's words with a preposition slipped in: "ограничение при подвижности"
        word = wording.split(" ")[0]
        if noun is None or word == first or noun.normal_form in PLURAL_COMPLAINTS:
            return True  # adjectives change number freely ("головные боли"); complaint nouns go plural ("боли")
        # the label's head noun in the genitive ("недержания мочи", "зуда"): cut from a longer phrase
        best = parses(word)[0]
        return not (best.tag.POS == "NOUN" and best.normal_form == noun.normal_form and best.tag.case == "gent")

    return [(w, c) for w, c in options if ok(w)]


def _content_words(phrase: str) -> frozenset[str]:
    return frozenset(parses(w)[0].normal_form for w in phrase.lower().split() if w not in PREPOSITIONS)


def _truncated(wording: str) -> bool:
    """A wording cut after an adjective whose noun was left out ("боли в области поясничного", "боль в области
    пояснично"): it ends in an adjective that is not a nominative predicate ("боль в животе тупая" is whole)."""
    words = wording.lower().split()
    last = parses(words[-1])[0]
    return bool(set(words[:-1]) & PREPOSITIONS) and (
        last.tag.POS == "ADJS" or (last.tag.POS in {"ADJF", "PRTF"} and last.tag.case != "nomn"))


def said(items: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Each phrase as a note says it: a genitive run coordinated (`label_text.coordinate_run`: "нарушения речи,
    слуха и зрения"), items run together split (`label_text.split_run`: "жжение зуд сухость кожи
    гениталий" -> three, when each but the last is a label on its own), case slips repaired (`label_text.repair`); a split-off part whose head another phrase
    of the note already says goes ("зуд" next to "вагинальный зуд")."""
    out: list[tuple[str, str, bool]] = []
    for label, phrase in items:
        parts = split_run(coordinate_run(phrase, known_label))
        if not all(known_label(part) for part in parts[:-1]):
            # "ощущение | тяжесть": a part that is no symptom alone; the noun after it is its genitive complement
            parts = [" ".join([parts[0]] + [genitive_first(part) for part in parts[1:]])]
        out.extend((label, repair(part), len(parts) > 1) for part in parts)
    heads = [head_lemma(phrase) for _, phrase, _ in out]
    return [(label, phrase) for i, (label, phrase, part) in enumerate(out)
            if not (part and heads[i] in heads[:i] + heads[i + 1:])]


def known_label(phrase: str) -> bool:
    """Whether the phrase is a symptom label of the build's graph: the phrases the field's sources use."""
    return merge_key(phrase) in knowledge.current().known_keys


def label_phrase(label: str) -> str:
    """The lexicon label as a patient would order it (acronyms keep their capitals)."""
    return natural_order(label.lower() if not label.isupper() else label)


def choose_phrases(raw: list[str], labels: list[str], rng: random.Random) -> list[str]:
    """One phrase per label: a learnt wording drawn by frequency where one is good, else the label; then enough of
    them in words the matcher recognises that the symptom-recall filter keeps the note."""
    wordings = knowledge.current().wordings
    phrases = []
    for original, label in zip(raw, labels):  # the table keeps labels as the graph writes them
        options = good_wordings(label, wordings.get(original) or wordings.get(label) or wordings.get(label.lower()) or [])
        if options and rng.random() < LEARNT_WORDING_SHARE:
            phrase = rng.choices([w for w, _ in options], [c**0.75 for _, c in options])[0]
        else:
            phrase = label_phrase(label)
        phrases.append(phrase)
    need = -(-len(labels) * MIN_MATCHED_SHARE // 1)
    order = list(range(len(labels)))
    rng.shuffle(order)
    ok = sum(recognised(labels[i], phrases[i]) for i in order)
    for i in order:
        if ok >= need:
            break
        if not recognised(labels[i], phrases[i]):
            phrases[i] = natural_order(labels[i].lower())
            ok += recognised(labels[i], phrases[i])
    return phrases


def distinct(items: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """No phrase said twice: two labels with one learnt wording ("боль в шее" and "цервикалгия" as "боли в шее")
    keep the first. A bare noun next to a phrase it heads ("боли и боли в животе") cannot come from a code without
    real notes (the sampler draws one label per head noun, `coherence.py`); codes with real notes say what real
    notes say."""
    kept: list[tuple[str, str]] = []
    seen: set[str] = set()
    for label, phrase in items:
        key = " ".join(phrase.lower().split())
        if key not in seen:
            seen.add(key)
            kept.append((label, phrase))
    return kept


def own_heads(items: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """A learnt wording that gives a symptom another symptom's head noun ("дизурия" said "боль при
    мочеиспускании" next to "боль низа спины") gives way to the label's own words; labels that share a head
    already ("головная боль", "боль в горле") keep their wordings."""
    label_heads = [head_lemma(label) for label, _ in items]
    out = []
    for i, (label, phrase) in enumerate(items):
        head = head_lemma(phrase)
        if head != label_heads[i] and head in label_heads[:i] + label_heads[i + 1:] + [head_lemma(p) for _, p in out]:
            phrase = label_phrase(label)
        out.append((label, phrase))
    return out


def group_first(items: list[tuple[str, str]], say: Callable[[str, str, str], str]) -> list[tuple[str, str]]:
    """A noun group first: "беспокоят" or "жалобы на" cannot govern a clause ("беспокоят нарастают боли", "жалобы
    на возникают проблемы с голосом"); after a comma, as real notes do, a clause may follow ("жалобы на головную
    боль, заложен нос"). The order is otherwise kept. A phrase that is neither a noun group nor a clause
    ("частичная или полная утрата слуха") cannot follow either: then the first item is such a phrase, and the
    caller says "Жалобы:". `say(label, phrase, case)` is the phrase as the note says it."""
    phrases = [say(*item, "nomn") for item in items]
    if any(not takes_case(p) and not is_clause(p) for p in phrases):
        return sorted(items, key=lambda item: takes_case(say(*item, "nomn")))
    first = next((i for i, p in enumerate(phrases) if takes_case(p)), None)
    if first in (None, 0):
        return items
    return [items[first]] + items[:first] + items[first + 1:]
