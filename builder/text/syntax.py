"""The little syntax a complaint needs for symptom matching: clauses, comma pieces, what an adjective describes,
and how far a negation reaches.

Complaints are telegraphic ("Боли в поясничном отделе позвоночника в покое, усиливаются при движении, острые"),
so a label's modifier may stand far from its head word. Rather than widen the matcher's window (which joins words
of different complaints), a far modifier counts only where Russian grammar ties it to the head: an adjective
agrees in number and case with the noun it describes, so "острые" belongs to the last noun before it that it
agrees with and that is no prepositional object ("в покое", "при движении" only place the complaint); a piece of
the form "жгучего характера" or "в височной области" describes the last complaint named before it. Negation uses
the same facts: "без повышения температуры, насморк" does not negate the runny nose, because "без" wants the
genitive and "насморк" is none, while "без тошноты, рвоты" negates both. The matcher (`builder/text/matching.py`)
decides which words fill a label; this module only says how the words of one clause hang together.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import NamedTuple

from medsyn.builder.text.mentions import NEGATION_AFTER, NEGATION_AFTER_WINDOW, NEGATION_CUES, NEGATION_WINDOW, REPORTING_VERBS
from medsyn.builder.text.morphology import TOKEN_RE, lemma, morph, parses

# A '.' ends a clause unless it closes an abbreviation: letters on both sides ("м.цикла", "обл.паха") or a known
# medical abbreviation before a lower-case word ("боли в обл. сердца", "в поясн. отд. позвоночника").
ABBREVIATIONS = frozenset(
    """обл отд позв позвон поз поясн шейн грудн пояснично хар пр лев прав иррад физ эмоц психоэмоц преимущ
    период нижн верх внутр наруж зап""".split()
)
_BOUNDARY_RE = re.compile(r"[;!?\n]|\.")
# List separators inside a clause: commas, and the dashes and bullets of "- слабость - одышка", "* боли ..." (a dash
# after a number is a range or a unit, "по ВАШ 8 - баллов", not a list).
_TOKEN_OR_COMMA_RE = re.compile(TOKEN_RE.pattern + r"|,|(?:^|(?<!\d)\s)[-–—*•](?=\s)|\*", re.IGNORECASE)
# Nouns that make a piece after a comma a descriptor of the complaint before it ("..., жгучего характера").
DESCRIPTOR_NOUNS = frozenset({"характер", "область", "локализация", "тип", "отдел", "отд"})
# Complaint lists open with "Жалобы на ...": that "на" introduces the complaints, it places nothing.
_COMPLAINT_WORDS = frozenset({"жалоба", "беспокоить", "отмечать", "предъявлять"})
# "боли ... с иррадиацией в паховую область": a place after a radiation word is where the pain goes, not where it is.
_RADIATION = ("иррад", "отдава", "отдает", "распростран")
# Verbs after which "не" negates the mention before them ("болей ... не отмечалось").
REPORTED = REPORTING_VERBS | {"отмечаться", "беспокоиться", "возникать", "появляться"}
# Nouns of place and time whose genitive belongs to their phrase: "в течение недели", "в области сердца".
_FRAME_NOUNS = DESCRIPTOR_NOUNS | {"течение", "проекция", "сторона", "половина", "часть", "поверхность"}
_ADJ = frozenset({"ADJF", "PRTF", "ADJS", "PRTS"})
_CASES = {"gen2": "gent", "acc2": "accs", "loc2": "loct"}


class Token(NamedTuple):
    start: int
    end: int
    word: str
    segment: int  # the comma piece it stands in, descriptors joined to the piece before them
    piece: int  # the comma piece it stands in, as written
    item: int  # the list item it stands in: between dashes or bullets ("- слабость - одышка"), commas aside


def clauses(text: str) -> list[tuple[int, str]]:
    """(offset, clause) pieces of a text between sentence ends, lower-cased (ё as е); a dot before a lower-case
    letter that closes an abbreviation does not end one."""
    lowered = text.lower().replace("ё", "е")
    found, start = [], 0
    for m in _BOUNDARY_RE.finditer(text):
        i = m.start()
        if m.group() == "." and _abbreviation_dot(text, lowered, i):
            continue
        if i > start:
            found.append((start, lowered[start:i]))
        start = i + 1
    if start < len(text):
        found.append((start, lowered[start:]))
    return found


def _abbreviation_dot(text: str, lowered: str, i: int) -> bool:
    after = re.match(r"\s{0,2}([^\W\d_])", text[i + 1 : i + 4])
    if not after or not after.group(1).islower():
        return False
    word = re.search(r"[а-я]+$", lowered[max(0, i - 12) : i])
    if not word:
        return False
    if word.group() in ABBREVIATIONS:
        return True  # "в обл. сердца", "поясн.отд."
    # "м.цикла", "л\зап.суставе": a one- or two-letter or unknown word glued to the next ("сна.эффекта": two)
    return not after.group().startswith(" ") and (len(word.group()) <= 2 or not _known(word.group()))


def tokenize(clause: str, base: int) -> list[Token]:
    """The words of one clause with their comma pieces. A piece joins the piece before it when it only continues
    that complaint (`_continues`)."""
    raw: list[tuple[int, int, str, int]] = []
    piece, dashed, bullets, items = 0, set(), 0, []
    for m in _TOKEN_OR_COMMA_RE.finditer(clause):
        word = m.group()
        if not word[-1].isalnum():
            piece += 1
            if word.strip() != ",":
                bullets += 1
            if word.strip() in "-–—":
                dashed.add(piece)
            continue
        start = m.start()
        if len(word) > 2 and word[0] in "ьъ":  # "ьболи", "ьтемпературы": a slip of the finger before a word
            word, start = word[1:], start + 1
        raw.append((base + start, base + m.end(), word, piece))
        items.append(bullets)
    words = [w for _, _, w, _ in raw]
    pieces = [p for *_, p in raw]
    segments = list(pieces)
    for i in range(1, len(raw)):
        if pieces[i] != pieces[i - 1] and _continues(words, pieces, i, pieces[i] in dashed):
            shift = segments[i] - segments[i - 1]
            j = i
            while j < len(raw) and pieces[j] == pieces[i]:
                segments[j] -= shift
                j += 1
    return [Token(s, e, w, seg, p, it) for (s, e, w, p), seg, it in zip(raw, segments, items)]


def _continues(words: list[str], pieces: list[int], i: int, after_dash: bool) -> bool:
    """Whether the piece starting at word i only goes on with the complaint before it: no noun of its own
    ("..., ноющие, периодические"), a descriptor phrase ("..., жгучего характера", "..., в височной области"), a
    place after a dash ("боли - в стопах"), or one more noun in the oblique case of the last one, its governing
    word left out ("снижение памяти, внимания, слуха", "боли в эпигастрии, гипогастрии")."""
    own = [w for w, p in zip(words[i:], pieces[i:]) if p == pieces[i]]
    if is_noun(words[i]):
        nouns = [w for w in own if is_noun(w)]
        return own == nouns[:1] and len(own) == 1 and bool(_shared_oblique_case(words[i - 1], words[i]))
    if any(lemma(w) in DESCRIPTOR_NOUNS for w in own[:4]) or not any(is_noun(w) for w in own):
        return True
    if _predicate_of_previous(words, pieces, i):
        return True  # "боли в шее, появляются при движениях": the complaint is the subject left out
    return after_dash and _is_prep(words[i])


def _predicate_of_previous(words: list[str], pieces: list[int], i: int) -> bool:
    """A piece that opens with a verb or participle (not a radiation one: where the pain goes is no place of it)
    and names no subject of its own (no noun that may be nominative outside a prepositional phrase)."""
    parses = _parses(words[i])
    if not parses or parses[0][0] not in {"VERB", "PRTF"} or any(p[0] == "NOUN" for p in parses):
        return False
    if words[i].startswith(_RADIATION):
        return False
    j = i + 1
    while j < len(words) and pieces[j] == pieces[i]:
        if any(pos == "NOUN" and case == "nomn" for pos, case, *_ in _parses(words[j])) and not _in_pp(words, j):
            return False
        j += 1
    return True


def _shared_oblique_case(a: str, b: str) -> set[str]:
    def cases(w: str) -> set[str]:
        return {case for pos, case, *_ in _parses(w) if pos == "NOUN"} & {"gent", "datv", "ablt", "loct"}

    return cases(a) & cases(b) if is_noun(a) else set()


@lru_cache(maxsize=100_000)
def _known(word: str) -> bool:
    return morph().word_is_known(word)


@lru_cache(maxsize=100_000)
def _parses(word: str) -> tuple[tuple[str, str, str, str], ...]:
    """(part of speech, case, number, gender) of each pymorphy3 reading of a word."""
    out = []
    for p in parses(word):
        t = p.tag
        out.append((str(t.POS), _CASES.get(str(t.case), str(t.case)), str(t.number), str(t.gender)))
    return tuple(out)


@lru_cache(maxsize=100_000)
def is_noun(word: str) -> bool:
    return "NOUN" in parses(word)[0].tag


def is_adjective(word: str) -> bool:
    parses = _parses(word)
    return bool(parses) and parses[0][0] in _ADJ


def _is_prep(word: str) -> bool:
    return any(pos == "PREP" for pos, *_ in _parses(word))


def _agree(adj: str, noun: str) -> bool:
    """Some reading of `adj` agrees with some noun reading of `noun` (number; case, unless a short form; gender in
    the singular)."""
    for pos, case, number, gender in _parses(adj):
        if pos not in _ADJ:
            continue
        for npos, ncase, nnumber, ngender in _parses(noun):
            if npos != "NOUN" or number != nnumber:
                continue
            if pos in {"ADJF", "PRTF"} and case != ncase:
                continue
            if number == "sing" and gender != ngender and "ms-f" not in (gender, ngender):
                continue
            return True
    return False


def _in_pp(words: list[str], j: int) -> bool:
    """Word j is the object of a preposition (only adjectives, numbers or adverbs between them), or a genitive
    hanging on a place or time noun that is one ("в течение недели", "в области сердца"); except the "на" of
    "Жалобы на ..." and of a clause that opens with it."""
    frame = j > 0 and lemma(words[j - 1]) in _FRAME_NOUNS
    if frame and any(p[0] == "NOUN" and p[1] == "gent" for p in _parses(words[j])):
        return _in_pp(words, j - 1)
    k = j - 1
    while k >= 0 and (any(pos in _ADJ | {"NUMR", "ADVB"} for pos, *_ in _parses(words[k])) or words[k].isdigit()):
        k -= 1
    if k < 0 or not _is_prep(words[k]):
        return False
    if words[k] == "на" and (k == 0 or lemma(words[k - 1]) in _COMPLAINT_WORDS):
        return False
    return True


def attached_nouns(forms: list[str], pieces: list[int], i: int) -> tuple[int, ...]:
    """The nouns of the clause, before word i, that the adjective at i may describe though it does not stand next
    to them (`forms`: the clause's words, typos corrected):

    - an adjective that opens a descriptor phrase ("жгучего характера", "в височной области") describes the last
      noun before it that is no prepositional object and stands in the nominative or accusative (the complaint);
    - any other adjective that is not followed by a noun it agrees with describes the last noun before it that it
      agrees with and that is no prepositional object; prepositional objects it agrees with on the way are kept
      as candidates too ("в области ..., пульсирующие": "области" may be plural).

    A place phrase in or right after the comma piece of a radiation word describes nothing ("с иррадиацией в
    паховую область" is where the pain goes); a "... характера" phrase there still describes the complaint.
    """
    adj = forms[i]
    if not is_adjective(adj):
        return ()
    nxt = forms[i + 1] if i + 1 < len(forms) else ""
    descriptor = bool(nxt) and lemma(nxt) in DESCRIPTOR_NOUNS
    place = descriptor and lemma(nxt) not in {"характер", "тип"}
    if nxt and not descriptor and is_noun(nxt) and _agree(adj, nxt):
        return ()  # "острые приступы": it describes the noun after it
    start = i
    if descriptor and i > 0 and _is_prep(forms[i - 1]):
        start = i - 1
    found: list[int] = []
    for j in range(start - 1, -1, -1):
        w = forms[j]
        if place and w.startswith(_RADIATION) and pieces[j] >= pieces[i] - 1:
            break
        if not is_noun(w) or lemma(w) in DESCRIPTOR_NOUNS:
            continue
        if lemma(w) in _COMPLAINT_WORDS:
            break
        pp = _in_pp(forms, j)
        if descriptor:
            if not pp and any(pos == "NOUN" and case in {"nomn", "accs"} for pos, case, *_ in _parses(w)):
                found.append(j)
                break
        elif _agree(adj, w):
            found.append(j)
            if not pp:
                break
    return tuple(found)


def governs(cue: str, next_word: str, mention_word: str) -> bool:
    """Whether a negation cue in an earlier comma piece still governs a mention starting with `mention_word`: a
    list after "без", "нет", "не отмечает" goes on in the genitive ("без тошноты, рвоты"), after "отрицает" or a
    transitive "не ..." in the accusative; a word in another case starts a new item ("без температуры, насморк")."""
    cases = {case for pos, case, *_ in _parses(mention_word) if pos in {"NOUN", "ADJF", "PRTF"}}
    if "gent" in cases:
        return True
    if "accs" not in cases:
        return False
    if cue == "отрицать":
        return True
    if cue == "не":
        return any("tran" in p.tag for p in parses(next_word)[:1])
    return False


def postposed(words: list[str], q: int, pieces: list[int]) -> bool:
    """A "нет" right after a noun of its piece negates that noun ("Жалоб нет"), not what follows it."""
    if q == 0 or pieces[q - 1] != pieces[q]:
        return False
    return lemma(words[q]) in {"нет", "отсутствовать"} and is_noun(words[q - 1])


def opens_phrase(word: str) -> bool:
    """A word that starts a noun phrase ("нет слез"): a negation word before it belongs to it, not to what came
    before ("снижение аппетита, вялость, нет слез" does not negate the appetite)."""
    return any(pos in {"NOUN", "ADJF", "PRTF"} for pos, *_ in _parses(word)[:1])


def negated(chosen: list[int], tokens: list[Token], lemmas: list[str]) -> bool:
    """Whether the mention at the chosen words is negated: by a cue shortly before it (when the cue's comma piece
    is this one, or the cue still governs the list: `governs`; not the "нет" of "Жалоб нет"), between its words
    (in the piece of a word after the cue: "температура не повышалась") or shortly after it ("тошноты не
    отмечает"; not a cue that opens a phrase of its own: "..., нет слез")."""
    lo, hi, n = min(chosen), max(chosen), len(tokens)
    words, pieces = [tok.word for tok in tokens], [tok.piece for tok in tokens]
    if any(
        lemmas[q] in NEGATION_CUES
        and (pieces[q] == pieces[lo] or governs(lemmas[q], words[q + 1], words[lo]))
        and not postposed(words, q, pieces)
        for q in range(max(0, lo - NEGATION_WINDOW), lo)
    ) or any(
        lemmas[q] in NEGATION_CUES and any(r > q and pieces[r] == pieces[q] for r in chosen)
        for q in range(lo + 1, hi)
        if q not in chosen
    ):
        return True
    end = min(n, hi + 1 + NEGATION_AFTER_WINDOW)
    for q in range(hi + 1, end):
        if lemmas[q] == "отр":  # "Аллергии отр": отрицает, written after what it negates
            return True
        if lemmas[q] in NEGATION_AFTER:
            nxt = q + 1
        elif lemmas[q] == "не" and q + 1 < end and lemmas[q + 1] in REPORTED:
            nxt = q + 2
        else:
            continue
        if not (nxt < n and pieces[nxt] == pieces[q] and opens_phrase(words[nxt])):
            return True
    return False
