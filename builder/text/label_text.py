"""A symptom label or learnt wording made fit to say in a note: glosses dropped, run-on lists split, case slips
of the sources repaired.

MedSyn's lists write a term with its gloss ("гепатомегалия (патологическое изменение размеров печени)",
"папулы – розовые узелковые уплотнения кожи"), run items together without commas ("жжение зуд сухость кожи
гениталий", "нарушения речи слуха зрения") and carry case slips ("одышка при физических усилии", "развитие общей
слабости и повышением температуры тела"); learnt wordings of real notes have their own ("боль в области
пояснице"). Said as they are, they read as a form pasted into a note. Each rule here is a pattern of pymorphy3's
parses, not a list of labels, so a label of a newer graph is repaired the same way.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache

from medsyn.builder.text.morphology import morph, parses

OBLIQUE = frozenset({"gent", "datv", "ablt", "loct"})
PREPOSITIONS = frozenset("в во на с со при по от до из за к ко у о об под над без для через около после".split())
# A bracket that opens with one of these qualifies the label ("боль в спине (с иррадиацией)"): kept, unbracketed.
QUALIFYING = PREPOSITIONS
# Nouns of place that take a genitive complement ("в области поясницы", "в зоне декольте").
PLACE_NOUNS = frozenset("область зона район часть сторона отдел проекция поверхность половина низ верх".split())
INDECLINABLE = frozenset({"ад"})
# Abstract nouns in -ость that patients do put in the plural ("трудности с глотанием").
PLURAL_ABSTRACT = frozenset({"трудность", "сложность", "неровность", "особенность"})


# Misspellings of MedSyn's lists that are dictionary words themselves, so no spelling check flags them ("отдышка",
# a pause for breath, written for "одышка", shortness of breath, beside "одышка" in Q24's own list): word -> word.
RESPELLINGS = {"мышечнымые": "мышечные",  # B00's MedSyn list ("мышечнымые боли")
               "отдышка": "одышка", "отдышки": "одышки", "отдышке": "одышке", "отдышку": "одышку",
               "отдышкой": "одышкой",
               # a letter dropped in MedSyn's K83 list ("боль ... иррадиирущей в спину"): the participle's forms
               **{"иррадииру" + end: "иррадиирую" + end for end in
                  ("щий", "щая", "щее", "щие", "щего", "щей", "щему", "щую", "щим", "щими", "щих", "щем")}}
# Misspellings of two words: "в низу живота" is "внизу" (an adverb of place, I86's MedSyn list).
PHRASE_RESPELLINGS = {"в низу": "внизу"}
# A cause written into a label: the mechanism a textbook gives, not what the patient says.
CAUSE = re.compile(r",?\s+(?:из-за|вследствие|в результате)\s.*$", re.IGNORECASE)
# Conjunctions a cut leaves at a label's end ("выделение слизи и/или гноя либо").
TRAILING_CONJUNCTION = re.compile(r"(?:[\s,]+(?:и/или|и|или|либо|а|но))+$", re.IGNORECASE)


def respell(text: str) -> str:
    """The text with the known misspellings (`RESPELLINGS`) put right, keeping a capital."""

    def fix(match: re.Match) -> str:
        word = match.group(0)
        right = RESPELLINGS.get(word.lower(), word)
        return right[:1].upper() + right[1:] if word[:1].isupper() and right != word else right

    for wrong, right in PHRASE_RESPELLINGS.items():
        text = re.sub(rf"\b{wrong}\b", right, text)
    return re.sub(r"[А-Яа-яЁё]+", fix, text)


def _nouns(word: str) -> list:
    return [p for p in parses(word) if p.tag.POS == "NOUN"]


def _first_lemma_readings(word: str) -> list:
    """The readings of the word's likeliest lemma (pymorphy3 also offers rare lemmas: "зуд" as a plural of "зуда")."""
    readings = parses(word)
    return [p for p in readings if p.normal_form == readings[0].normal_form and p.tag.POS == readings[0].tag.POS]


def drop_glosses(label: str) -> str:
    """The label without a gloss or synonym: a bracketed part is dropped ("асцит (водянка в брюшной полости)",
    "звучание собственного голоса громче окружающих звуков (аутофония)"), an unclosed one with all that follows;
    a bracket that opens with a preposition qualifies the label and stays, unbracketed ("боль в спине с
    иррадиацией"), unless it holds a number (a range, "(37.1–38.0 °C)"); a dash gloss ("папулы – розовые
    узелковые уплотнения кожи", "изменение состава мочи: появляется кровь") is dropped when a nominative noun
    comes before it; an opener copied into a label ("жалобы на неприятный запах в носу") goes, and so does a
    conjunction a cut left at the end ("выделение слизи и/или гноя либо"), and so does a cause ("потеря голоса из-за
    сдавливания возвратного нерва"); known misspellings are put right
    (`RESPELLINGS`). A label that is all gloss keeps its words."""

    def bracket(match: re.Match) -> str:
        inner = match.group(1).strip()
        first = inner.split(" ")[0].lower().strip("«»\"")
        return f" {inner} " if first in QUALIFYING and not re.search(r"\d", inner) else " "

    text = re.sub(r"\(([^()]*)\)?", bracket, label)
    text = re.sub(r"^(жалобы|жалуется)\s+на\s+", "", text, flags=re.IGNORECASE)  # an opener copied into a label
    left = re.split(r"\s[–—-]\s|:", text)[0]
    if any(p.tag.POS == "NOUN" and "nomn" in p.tag for w in left.split() for p in parses(w.lower().strip(",«»"))):
        text = left  # a term before a dash or colon, its gloss after ("гематурия – кровь в моче")
    text = CAUSE.sub("", text)  # "потеря голоса из-за сдавливания возвратного нерва": the why is the doctor's
    text = re.sub(r"\s+", " ", text.replace('"', "")).strip(" ,")
    text = respell(TRAILING_CONJUNCTION.sub("", text))
    return text if re.search(r"[а-яёА-ЯЁ]", text) else re.sub(r"[()]", "", label).strip()


def _known(word: str) -> bool:
    return morph().word_is_known(word)


def split_run(phrase: str) -> list[str]:
    """Items run together without commas, as separate phrases: a noun that can only be nominative (or the
    accusative that is the same word) right after another noun cannot depend on it, so it starts a new item
    ("жжение зуд сухость кожи гениталий" -> "жжение", "зуд", "сухость кожи гениталий"). A genitive, an
    indeclinable word ("повышение АД"), anything after a preposition stays with its head."""
    words = phrase.split(" ")
    items, current = [], [words[0]]
    for prev, word in zip(words, words[1:]):
        readings = _first_lemma_readings(word.lower())
        starts = (
            bool(readings)
            and readings[0].tag.POS == "NOUN"
            and not word.isupper()
            and word.lower() not in INDECLINABLE
            and _known(word.lower())
            and all(p.tag.case in {"nomn", "accs"} for p in readings)
            and any(p.tag.case == "nomn" for p in readings)
            and word.lower() != "друг"  # "друг от друга"
            and not any(p.tag.case == "gent" and p.tag.number == "sing" for p in parses(word.lower()))
            and prev.lower() not in PREPOSITIONS
            and not prev.endswith(",")
            and parses(prev.lower())[0].tag.POS == "NOUN"
            and not any(p.tag.POS in {"ADJF", "PRTF"} for p in parses(prev.lower()))
        )
        if starts:
            items.append(" ".join(current))
            current = [word]
        else:
            current.append(word)
    items.append(" ".join(current))
    return items


def genitive_first(phrase: str) -> str:
    """The phrase with its first noun in the genitive, its number kept ("тяжесть в груди" -> "тяжести в груди")."""
    words = phrase.split(" ")
    noun = _nouns(words[0].lower())
    if noun:
        words[0] = _inflected(words[0], noun[0], {"gent", noun[0].tag.number or "sing"})
    return " ".join(words)


def _inflected(word: str, parse, grammemes: set[str]) -> str:
    new = parse.inflect(grammemes)
    if new is None:
        return word
    out = new.word if "ё" in word else new.word.replace("ё", "е")
    return out[:1].upper() + out[1:] if word[:1].isupper() else out


@lru_cache(maxsize=50_000)
def repair(phrase: str) -> str:
    """The phrase with the case slips of its sources put right:

    - a noun that can only be dative or locative right after another noun (no preposition between) is its
      genitive complement: "боль в области пояснице" -> "в области поясницы";
    - after a preposition, a noun whose number differs from the adjectives before it takes theirs: "при
      физических усилии" -> "при физических усилиях";
    - "A и B" inside a phrase: B in an oblique case that no noun before it has is put into the case of the noun
      before "и": "развитие общей слабости и повышением температуры" -> "и повышения температуры";
    - a head noun in -ость said in the plural or the instrumental is a singular nominative ("неловкости при
      движении головой" -> "неловкость", "скованностью суставов" -> "скованность"), but for the few patients
      do say in the plural ("трудности с глотанием")."""
    words = phrase.split(" ")
    bare = [w.strip(",").lower() for w in words]
    out = list(words)
    for i in range(1, len(words)):
        nouns = _nouns(bare[i])
        if not nouns or parses(bare[i])[0].tag.POS != "NOUN" or words[i - 1].endswith(","):
            continue
        # a dative/locative-only noun after a noun of place
        if {p.normal_form for p in _nouns(bare[i - 1])} & PLACE_NOUNS and all(p.tag.case in {"datv", "loct"} for p in nouns):
            out[i] = _inflected(words[i], nouns[0], {"gent", nouns[0].tag.number or "sing"})
            continue
        # number agreement after a preposition: PREP ADJ+ NOUN
        j = i - 1
        while j >= 0 and any(p.tag.POS in {"ADJF", "PRTF"} for p in parses(bare[j])) and not _nouns(bare[j]):
            j -= 1
        if j < i - 1 and j >= 0 and bare[j] in PREPOSITIONS:
            adjectives = [parses(bare[k]) for k in range(j + 1, i)]
            numbers = {p.tag.number for p in adjectives[-1] if p.tag.POS in {"ADJF", "PRTF"}}
            cases = {p.tag.case for p in adjectives[-1] if p.tag.POS in {"ADJF", "PRTF"}}
            if len(numbers) == 1 and not any(p.tag.number in numbers and p.tag.case in cases for p in nouns):
                number = numbers.pop()
                fits = [p for p in nouns if p.tag.case in cases]
                if fits:
                    out[i] = _inflected(words[i], fits[0], {fits[0].tag.case, number})
    # coordinated groups: "X-gent и Y-ablt" -> "и Y-gent"
    for i in range(1, len(words) - 1):
        if bare[i] not in {"и", "или"}:
            continue
        before = _nouns(bare[i - 1])
        after = _nouns(bare[i + 1])
        if not before or not after or parses(bare[i + 1])[0].tag.POS != "NOUN":
            continue
        after_cases = {p.tag.case for p in after}
        earlier = {p.tag.case for k in range(i) for p in _nouns(bare[k])}
        if after_cases <= OBLIQUE and not after_cases & earlier:
            case = next((p.tag.case for p in before if p.tag.case in OBLIQUE), None)
            if case is not None:
                out[i + 1] = _inflected(words[i + 1], after[0], {case, after[0].tag.number or "sing"})
    # a head noun in -ость in the plural
    head = _nouns(bare[0])
    if head and parses(bare[0])[0].tag.POS == "NOUN" and head[0].normal_form.endswith("ость") \
            and head[0].normal_form not in PLURAL_ABSTRACT \
            and not any("sing" in p.tag and p.tag.case in {"nomn", "accs"} for p in head) \
            and any(("plur" in p.tag and p.tag.case == "nomn") or p.tag.case == "ablt" for p in head):
        out[0] = _inflected(words[0], head[0], {"nomn", "sing"})
    return " ".join(out)


def coordinate_run(phrase: str, known: Callable[[str], bool]) -> str:
    """A run of three or more genitive nouns after a head, written without commas, is a list when the head with
    each of them alone is a known label: "нарушения речи слуха зрения" -> "нарушения речи, слуха и зрения"
    ("нарушение речи", "нарушения слуха", "нарушения зрения" are labels); "ощущение пропуска ударов сердца" stays."""
    words = phrase.split(" ")
    for i in range(1, len(words)):
        j = i
        while j < len(words) and not words[j - 1].endswith(",") and parses(words[j].lower())[0].tag.POS == "NOUN" \
                and any(p.tag.case == "gent" for p in _nouns(words[j].lower())):
            j += 1
        if j - i >= 3 and parses(words[i - 1].lower())[0].tag.POS == "NOUN" \
                and all(known(words[i - 1] + " " + words[k]) for k in range(i, j)):
            return " ".join(words[:i] + [w + "," for w in words[i:j - 2]] + [words[j - 2], "и"] + words[j - 1:])
    return phrase
