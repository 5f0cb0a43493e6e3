"""Diagnosis names and ICD-10 codes in a text: what would give a note's code away.

Prompts screen real style examples with it (an example naming its diagnosis leaks it through the prompt) and the
filters score leakage of generated notes; both must find the same names, lookalike letters and variants.
"""

from __future__ import annotations

import re
from functools import lru_cache

from medsyn.builder.text.matching import SymptomMatcher
from medsyn.builder.text.morphology import STOPWORDS, TOKEN_RE, label_key, lemma, morph, parses
from medsyn.errors import MedsynError

# Latin letters of ICD-10 codes and the Cyrillic (and Ukrainian/Latin) characters that look the same: a model
# that writes "М54" with a Cyrillic М still reveals the code.
_LOOKALIKES = {
    "A": "AА", "B": "BВ", "C": "CС", "E": "EЕ", "H": "HН", "I": "IІӀ", "K": "KК", "M": "MМ", "O": "OО",
    "P": "PР", "T": "TТ", "X": "XХ", "Y": "YУ",
}  # fmt: skip


@lru_cache(maxsize=4096)
def _code_pattern(code: str) -> re.Pattern:
    """The 3-character category with any subcategory: "M54" also finds "M54.2", "м54", "M 54".

    A letter parted from the number by a space counts only in upper case: lower case, it is a one-letter Russian
    preposition or conjunction ("к 29 годам", "с 20 лет", "о 10 эпизодах"), not K29, C20 or O10."""
    root = code.strip().upper()[:3]
    if not re.fullmatch(r"[A-Z]\d\d", root):
        raise MedsynError(f"ICD-10 code {code!r} is not of the form letter + two digits (like 'M54' or 'M54.2')")
    letters = re.escape(_LOOKALIKES.get(root[0], root[0]))
    return re.compile(rf"(?<![^\W_])(?:[{letters}]|(?-i:[{letters}])\s){root[1:]}(?:\.\d+)?(?!\d)", re.IGNORECASE)


# Words of ICD-10 names that say nothing about the disease itself ("Другие формы гипотиреоза" leaks as soon as
# "гипотиреоз" appears) and course qualifiers a note may omit ("синусит" leaks "Острый синусит").
GENERIC_NAME_WORDS = frozenset(
    """другой прочий неуточненный уточненный уточнение неясный классифицировать классифицированный рубрика форма
    вид сходный состояние связанный связать множественный локализация не острый хронический простой""".split()
)
# Boilerplate phrases of ICD-10 names, cut before the words are looked at.
_BOILERPLATE_RE = re.compile(
    r"\bне\s+классифицированн\w*\s+в\s+других\s+рубриках|\bбез\s+уточнения\s+\w+|\bи\s+сходные\s+состояния",
    re.IGNORECASE,
)
_BRACKET_RE = re.compile(r"\[([^\]]*)\]|\(([^)]*)\)")


def name_variants(name: str) -> list[str]:
    """Phrases any of which, found in a note, names the diagnosis `name`.

    An ICD-10 name is split at commas into alternatives ("Хронический ринит, назофарингит и фарингит"), except
    that a part whose first noun is not nominative continues the first part's head ("Доброкачественное
    новообразование ободочной кишки, прямой кишки" gives "доброкачественное новообразование прямой кишки", not
    "прямой кишки") and a part opened by a participle or an exception ("..., вызванные вирусом герпеса",
    "..., кроме почечной лоханки") only narrows what precedes it and is left out with the rest of the name. A
    bracketed text at the end of the name, or an abbreviation, is a synonym of the whole name ("Тиреотоксикоз
    [гипертиреоз]", "[ВИЧ]"); a bracket followed by more words, or a single adjective, replaces the word before it ("Эссенциальная [первичная] гипертензия", "Врожденные
    аномалии [пороки развития] сердечной перегородки"). Generic words and boilerplate are dropped; a part left
    without a noun ("Обильные, ...") or with a generic head alone ("Инфекции", "Болезнь") is not specific enough
    to count.
    """
    name = _BOILERPLATE_RE.sub(" ", name.replace("ё", "е").replace("Ё", "Е"))
    main = _BRACKET_RE.sub(" ", name)
    whole = [main]
    for match in _BRACKET_RE.finditer(name):
        inner = (match.group(1) or match.group(2) or "").strip()
        tokens = TOKEN_RE.findall(inner)
        after = name[match.end() :]
        abbreviation = len(tokens) == 1 and tokens[0].isupper()  # "[ВИЧ]" stands for the words before it
        replaces_word = not abbreviation and (
            (len(tokens) == 1 and "ADJF" in _tag(tokens[0])) or bool(TOKEN_RE.search(after))
        )
        if tokens and replaces_word:
            before = TOKEN_RE.findall(name[: match.start()])
            if before:
                whole.append(" ".join(before[:-1] + tokens) + " " + _BRACKET_RE.sub(" ", after))
        elif tokens:
            whole.append(inner)
    variants: list[str] = []
    for phrase in whole:
        for part in (piece for chunk in _alternatives(phrase) for piece in _coordinated(chunk)):
            content = [w for w in TOKEN_RE.findall(part) if lemma(w) not in STOPWORDS | GENERIC_NAME_WORDS]
            if len(content) == 1 and lemma(content[0]) in GENERIC_HEADS:
                continue
            if content and any("NOUN" in _tag(w) for w in content):
                variant = " ".join(w.lower() for w in content)
                if variant not in variants:
                    variants.append(variant)
    return variants


# Head nouns that name no diagnosis on their own: "Инфекции, вызванные вирусом герпеса" must not make every
# "анализ крови на инфекции" a leak. They still count inside a longer variant ("инфекции верхних дыхательных путей").
GENERIC_HEADS = frozenset(
    """болезнь заболевание инфекция симптом признак осложнение поражение нарушение расстройство аномалия
    новообразование отравление травма отклонение изменение боль""".split()
)
# Words that open a comma part narrowing the part before it rather than naming another diagnosis.
_NARROWING = frozenset("кроме исключая исключение включая не который их уточнить".split())


def _alternatives(phrase: str) -> list[str]:
    """The comma parts of a name that each name a diagnosis on their own (see `name_variants`)."""
    alternatives: list[str] = []
    head = ""
    for chunk in phrase.split(","):
        tokens = TOKEN_RE.findall(chunk)
        if not tokens:
            continue
        if alternatives and (_parses(tokens[0], "PRTF") or lemma(tokens[0]) in _NARROWING):
            break  # the narrowing clause runs to the end of the name ("..., осложняющая беременность, роды")
        first_noun = next((i for i, w in enumerate(tokens) if "NOUN" in _tag(w)), None)
        if not alternatives:
            # The head of an ICD-10 name is its first noun with the words before it ("Доброкачественное
            # новообразование"): names open with the diagnosis and add its site in the genitive.
            head = " ".join(tokens[: first_noun + 1]) if first_noun is not None else ""
        elif head and first_noun is not None and not _nominative(tokens[: first_noun + 1]):
            alternatives.append(f"{head} {chunk.strip()}")
            continue
        alternatives.append(chunk.strip())
    return alternatives


def _parses(word: str, pos: str) -> list:
    return [p for p in morph().parse(word.lower()) if p.tag.POS == pos]


def _nominative(phrase: list[str]) -> bool:
    """Whether the adjectives and the noun ending `phrase` can agree in the nominative ("скудные менструации")
    rather than only in an oblique case ("прямой кишки"); a bare noun that can also be genitive ("почки")
    counts as genitive, since a name's later comma parts that are bare nouns are sites more often than diagnoses."""
    *modifiers, noun = phrase
    nouns = _parses(noun, "NOUN")
    if not modifiers:
        return any(p.tag.case == "nomn" for p in nouns) and not any(p.tag.case == "gent" for p in nouns)
    for parse in nouns:
        if parse.tag.case != "nomn":
            continue
        number, gender = parse.tag.number, parse.tag.gender
        if all(
            any(
                m.tag.case == "nomn" and m.tag.number == number and (number == "plur" or m.tag.gender == gender)
                for m in morph().parse(word.lower())
                if m.tag.POS in ("ADJF", "PRTF")
            )
            for word in modifiers
            if lemma(word) not in STOPWORDS
        ):
            return True
    return False


def _coordinated(part: str) -> list[str]:
    """Split "Гастрит и дуоденит" into two diagnoses, but keep "Камни почки и мочеточника" (a genitive after
    "и" continues the first noun) and "Вазомоторный и аллергический ринит" (nothing to name before "и") whole."""
    pieces = re.split(r"\s+и\s+", part)
    result = [pieces[0]]
    for piece in pieces[1:]:
        nouns = [w for w in TOKEN_RE.findall(piece) if "NOUN" in _tag(w)]
        has_noun = any("NOUN" in _tag(w) for w in TOKEN_RE.findall(result[-1]))
        if has_noun and nouns and "nomn" in _tag(nouns[0]):
            result.append(piece)
        else:
            result[-1] += " и " + piece
    return result


def _tag(word: str) -> str:
    return str(parses(word.lower())[0].tag)


@lru_cache(maxsize=4096)
def _cached_variants(name: str) -> tuple[str, ...]:
    return tuple(name_variants(name)) if name else ()


def leaking_variants(code_name: str, labels: tuple[str, ...], complaints: tuple[str, ...] = ()) -> set[str]:
    """The name variants whose mention would reveal more than the prompt did.

    A variant whose content lemmas all come from the prompt's symptoms (one or several: "Потеря слуха
    кондуктивная" + "Потеря слуха нейросенсорная" give "Кондуктивная и нейросенсорная потеря слуха") was given
    away by the prompt itself, and a variant that is one of the code's real complaints is a symptom word.
    """
    variants = set(_cached_variants(code_name)).difference(labels)
    if not variants:
        return variants
    given = {lem for label in labels for lem in _label_key(label)}
    complaint_keys = _label_keys(complaints)
    return {v for v in variants if not set(_label_key(v)) <= given and _label_key(v) not in complaint_keys}


_label_key = lru_cache(maxsize=65536)(label_key)


@lru_cache(maxsize=4096)
def _label_keys(labels: tuple[str, ...]) -> frozenset[tuple[str, ...]]:
    """Every note of a code passes the code's complaints: their keys once per code, not once per note."""
    return frozenset(map(_label_key, labels))


@lru_cache(maxsize=4096)
def _variant_matcher(code_name: str) -> SymptomMatcher:
    """The paraphrase-aware matcher over the name's variants."""
    return SymptomMatcher(sorted(_cached_variants(code_name)))


def mentions_diagnosis(text: str, code: str, code_name: str) -> bool:
    """The text gives the code or names the diagnosis, with no prompt symptom to excuse it.

    Used on real notes before they become style examples: an example that names its diagnosis would leak it
    through the prompt.
    """
    if _code_pattern(code).search(text):
        return True
    variants = set(_cached_variants(code_name or ""))
    return bool(variants) and any(m.label in variants for m in _variant_matcher(code_name).mentions(text))
