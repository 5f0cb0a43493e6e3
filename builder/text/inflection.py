"""Russian morphology for the template notes: noun groups put into the case their slot governs, verbs agreeing in
number, counted words ("3 дня", "5 лет").

It lives apart from `template_notes` because it is grammar, not note composition: it knows nothing of priors or
note shapes, only pymorphy3's parses, and its answers are cached per phrase (a corpus says the same symptoms many
times).
"""

from __future__ import annotations

from functools import lru_cache

from medsyn.builder.text.morphology import label_key, morph, parses


CONJUNCTIONS = frozenset({"и", "или", "либо"})
# Prepositions and the cases they govern: a phrase whose noun after one is in none of them is ungrammatical
# ("выделения из влагалище", a learnt wording copied from one real note).
GOVERNMENT = {
    "из": {"gent", "gen2"}, "от": {"gent"}, "до": {"gent"}, "без": {"gent"}, "для": {"gent"}, "у": {"gent"},
    "около": {"gent"}, "после": {"gent"}, "вследствие": {"gent"}, "к": {"datv"}, "ко": {"datv"}, "по": {"datv", "loct"},
    "в": {"loct", "loc2", "accs"}, "во": {"loct", "loc2", "accs"}, "на": {"loct", "loc2", "accs"},
    "при": {"loct"}, "о": {"loct", "accs"}, "об": {"loct", "accs"}, "над": {"ablt"}, "под": {"ablt", "accs"},
    "перед": {"ablt"}, "между": {"ablt"}, "за": {"ablt", "accs"}, "с": {"ablt", "gent"}, "со": {"ablt", "gent"},
}


@lru_cache(maxsize=50_000)
def governed(phrase: str) -> bool:
    """Whether every preposition of the phrase is followed by a word in a case it governs (adjectives and nouns
    alike: "из правого уха", not "из влагалище")."""
    words = phrase.lower().replace(",", " ").split()
    for prep, nxt in zip(words, words[1:]):
        cases = GOVERNMENT.get(prep)
        if cases and any(p.tag.POS in {"NOUN", "ADJF", "PRTF", "NPRO"} for p in parses(nxt)) and not any(
            p.tag.case in cases for p in parses(nxt)
        ):
            return False
    return True


@lru_cache(maxsize=50_000)
def noun_group(phrase: str) -> tuple[int, int, int]:
    """(start, end, head) of the noun group that a governing word inflects: leading adjectives, the head noun in
    the nominative, adjectives after it that agree with it ("слабость выраженная"); end is exclusive and -1 when
    the phrase has no nominative head (a clause such as "болит голова")."""
    words = phrase.split(" ")
    for i, word in enumerate(words):
        if word in CONJUNCTIONS:  # "обильные и болезненные менструации": two groups, not one ("и" parses as a noun)
            return 0, -1, -1
        readings = parses(word.strip(","))
        adjective = any(p.tag.POS in {"ADJF", "PRTF"} and "nomn" in p.tag for p in readings)
        following_noun = i + 1 < len(words) and any(
            p.tag.POS == "NOUN" and "nomn" in p.tag for p in parses(words[i + 1].strip(","))
        )
        if any(p.tag.POS == "NOUN" and "nomn" in p.tag for p in readings) and not (adjective and following_noun):
            head = i
            break
        if not any(p.tag.POS in {"ADJF", "PRTF"} and "nomn" in p.tag for p in readings):
            return 0, -1, -1
    else:
        return 0, -1, -1
    noun = _head_parse(words[head])
    end = head + 1
    while end < len(words) and not words[end - 1].endswith(","):
        if not any(_agrees(p, noun) for p in parses(words[end])):
            break
        end += 1
    return 0, end, head


def _head_parse(word: str):
    return [p for p in parses(word.strip(",")) if p.tag.POS == "NOUN" and "nomn" in p.tag][0]


def _agrees(adjective, noun) -> bool:
    return (
        adjective.tag.POS in {"ADJF", "PRTF"}
        and "nomn" in adjective.tag
        and adjective.tag.number == noun.tag.number
        and (noun.tag.number == "plur" or adjective.tag.gender == noun.tag.gender)
    )


@lru_cache(maxsize=50_000)
def inflect(phrase: str, case: str) -> str:
    """The phrase with its noun group put into `case` ('nomn', 'accs', 'gent', 'ablt'); the rest is kept as it is.

    'головная боль в височной области' -> accs 'головную боль в височной области'; 'боль в грудной клетке' keeps
    'грудной клетке'; 'заложенность уха' keeps 'уха' (only the head noun and the adjectives agreeing with it
    change). Symptoms are inanimate ("частые боли" -> "частые боли", not "частых"). Phrases without a nominative
    head (clauses) come back unchanged.
    """
    start, end, head = noun_group(phrase)
    if end < 0 or case == "nomn" or predicated(phrase):
        return phrase
    words = phrase.split(" ")
    noun = _head_parse(words[head])
    number = noun.tag.number or "sing"
    tail = ""
    conj = coordinated_at(words, end)
    if conj is not None:
        # "тошнота и эпизодическая рвота": a second group right after the first takes the case too (not a
        # complement's: "ощущение сухости или кома в горле")
        tail = " " + words[conj] + " " + inflect(" ".join(words[conj + 1:]), case)
        words = words[:conj]
        phrase = " ".join(words)
    if case == "accs" and number == "plur" and any("accs" in p.tag for p in parses(words[head].strip(","))):
        # inanimate: the accusative plural is the nominative ("язвы", not the animate reading's "язв")
        return phrase + tail
    out = list(words)
    for i in range(start, end):
        bare = words[i].rstrip(",")
        if i == head:
            parse = noun
            wanted = {case} | ({"inan"} if case == "accs" and number == "plur" else set())
        else:
            parse = next(p for p in parses(bare) if p.tag.POS in {"ADJF", "PRTF"} and "nomn" in p.tag)
            wanted = {case, number} | ({noun.tag.gender} if number == "sing" and noun.tag.gender else set())
            if case == "accs":
                wanted |= {"inan"} if (number == "plur" or noun.tag.gender == "masc") else set()
        inflected = parse.inflect(wanted) or parse.inflect({case, number})
        new = inflected.word if inflected else bare
        if "ё" not in bare:
            new = new.replace("ё", "е")
        if bare[:1].isupper():
            new = new[:1].upper() + new[1:]
        out[i] = new + words[i][len(bare):]
    return " ".join(out) + tail


def coordinated_at(words: list[str], end: int) -> int | None:
    """Where a second noun group coordinated with the first begins (the conjunction's index), or None: right after
    the first ("тошнота и эпизодическая рвота"), or after the first's complements when the second can only be
    nominative ("резкая потеря веса и общая усталость", "боль в животе и тошнота"; not "ощущение сухости или кома
    в горле", where "кома" may be the genitive of "ком", nor "боль в животе и спине")."""
    if end < len(words) and words[end] in CONJUNCTIONS:
        return end if noun_group(" ".join(words[end + 1:]))[1] >= 0 else None
    k = end
    while k < len(words) and words[k] not in CONJUNCTIONS and not words[k - 1].endswith(","):
        k += 1
    if k == end or k >= len(words) or words[k] not in CONJUNCTIONS:
        return None
    rest = words[k + 1:]
    start, stop, head = noun_group(" ".join(rest))
    if stop < 0 or any(p.tag.case != "nomn" and p.tag.case != "accs" for w in rest[:stop] for p in parses(w.strip(","))
                       if p.tag.POS in {"NOUN", "ADJF", "PRTF"}):
        return None
    return k


@lru_cache(maxsize=50_000)
def slot_safe(phrase: str, case: str) -> bool:
    """Whether the lemma matcher reads the inflected phrase as the same lemmas ("слизистую" is lemmatised to the
    adjective, "слизистая" to the noun "слизистая"): where it does not, the note keeps the nominative, or the
    symptom-recall filter would miss a symptom that is there."""
    if case != "nomn" and not takes_case(phrase):
        return False
    return label_key(inflect(phrase, case)) == label_key(phrase)


def _known(word: str) -> bool:
    return morph().word_is_known(word)


RELATIVE = frozenset({"который", "которая", "которое", "которые", "что", "когда", "если", "чтобы", "где"})


@lru_cache(maxsize=50_000)
def predicated(phrase: str) -> bool:
    """A noun group followed by its own predicate, a finite verb or a short participle or adjective ("внешние
    половые органы сильно раздражены", "кожа над опухолью приобрела цианотичную окраску"): a sentence, not a
    noun group, though it opens with one. A verb of a relative clause ("кашель, который усиливается ночью") does
    not count."""
    start, end, head = noun_group(phrase)
    if end < 0:
        return False
    words = phrase.split(" ")
    for i in range(end, len(words)):
        bare = words[i].strip(",").lower()
        if bare in RELATIVE:
            return False
        best = parses(bare)[0] if bare else None
        coordinated = (i > 0 and (words[i - 1] in {"и", "или"} or words[i - 1].endswith(","))
                       and any(p.tag.POS == "NOUN" and "nomn" in p.tag for p in parses(bare)))
        if best is not None and _known(bare) and not coordinated and (
            best.tag.POS in {"PRTS", "ADJS"} or (best.tag.POS == "VERB" and "indc" in best.tag)
        ):  # a word pymorphy3 only guesses ("тендосиновита") is no predicate; nor a noun after "и" ("покраснение
            # и отек вульвы": "отек" is read as the verb "отёк" first)
            return True
    return False


@lru_cache(maxsize=50_000)
def is_clause(phrase: str) -> bool:
    """A phrase with a finite verb or a short participle and no noun group first ("возникают проблемы с голосом",
    "кожа покраснела"), or a noun group with its own predicate (`predicated`): it is said as a clause, never put
    into a governed case."""
    return predicated(phrase) or noun_group(phrase)[1] < 0 and any(
        parses(word.strip(",").lower())[0].tag.POS in {"VERB", "PRTS"} for word in phrase.split(" ") if word
    )


@lru_cache(maxsize=50_000)
def takes_case(phrase: str) -> bool:
    """Whether a governing word or verb can take the phrase: it opens with a noun group that is not the subject
    of a clause ("возникают проблемы с голосом" or "органы сильно раздражены" after "жалобы на" or "беспокоят"
    is ungrammatical)."""
    return noun_group(phrase)[1] >= 0 and not predicated(phrase)


def accusative(label: str) -> str:
    """'головная боль' -> 'головную боль' (kept for callers of the earlier API)."""
    return inflect(label, "accs")


@lru_cache(maxsize=50_000)
def head_number(phrase: str) -> str:
    """'sing' or 'plur': what a verb before the phrase agrees with ("беспокоит боль", "беспокоят боли")."""
    _, end, head = noun_group(phrase)
    if end < 0:
        return "sing"
    return _head_parse(phrase.split(" ")[head]).tag.number or "sing"


@lru_cache(maxsize=50_000)
def natural_order(label: str) -> str:
    """'боль тупая' -> 'тупая боль': a lexicon label with the adjective after its noun, as a patient would say it."""
    words = label.split(" ")
    start, end, head = noun_group(label)
    if end < 0 or head != 0:
        return label
    if end == 1:  # "потеря слуха кондуктивная" -> "кондуктивная потеря слуха": the adjective after a complement
        last = words[-1]
        agrees = lambda word: any(_agrees(p, _head_parse(words[0])) for p in parses(word))  # noqa: E731
        if len(words) > 4 and words[-2] in CONJUNCTIONS and agrees(last) and agrees(words[-3]):
            # "выделения из влагалища прозрачные или желтоватые": the coordinated pair goes first together
            return " ".join(words[-3:] + words[:-3])
        if len(words) > 2 and words[-2] not in GOVERNMENT and words[-2] not in CONJUNCTIONS and agrees(last):
            return " ".join([last] + words[:-1])
        return label
    if end < len(words) and any(p.tag.POS == "PRTF" for p in parses(words[end - 1])):
        return label  # "тошнота переходящая в рвотные позывы": the participle keeps its complement
    return " ".join(words[1:end] + [words[0]] + words[end:])


def plural(n: int, one: str, few: str, many: str) -> str:
    if n % 10 == 1 and n % 100 != 11:
        return one
    if 2 <= n % 10 <= 4 and not 12 <= n % 100 <= 14:
        return few
    return many


# unit -> (accusative 1, acc 2-4, acc 5+, genitive 1, genitive plural)
_UNITS = {
    "day": ("день", "дня", "дней", "дня", "дней"),
    "week": ("неделю", "недели", "недель", "недели", "недель"),
    "month": ("месяц", "месяца", "месяцев", "месяца", "месяцев"),
    "year": ("год", "года", "лет", "года", "лет"),
}


def duration_acc(unit: str, n: int) -> str:
    """'3 дня', 'неделю', '5 лет' (after "болеет", before "назад")."""
    forms = _UNITS[unit]
    return forms[0] if n == 1 else f"{n} {plural(n, *forms[:3])}"


def duration_gen(unit: str, n: int) -> str:
    """'3 дней', 'недели', '21 дня' (after "в течение", "около")."""
    forms = _UNITS[unit]
    if n == 1:
        return forms[3]
    return f"{n} {forms[3] if n % 10 == 1 and n % 100 != 11 else forms[4]}"
