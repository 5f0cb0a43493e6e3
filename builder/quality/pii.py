"""Personal data beyond people's names (`names.py`): phone numbers, e-mail addresses, dates of birth, Russian
document numbers (СНИЛС, полис ОМС, passport) and addresses.

A synthetic note carrying any of these either replays a real record or reads as one, and none belongs in a
published corpus. Numbers need their context: a clinical note is full of digits (pressure 130/80, "37,5", lab
values, dates of onset), so a document number counts only after its name ("СНИЛС", "полис", "паспорт") or in its
own fixed shape (СНИЛС 123-456-789 01), a date only after a birth cue ("д.р.", "родился", "г.р."), a phone only in
a Russian phone shape (+7 / 8 and ten digits). Addresses: a street word with a name and a house number, or a place
natasha's NER finds (LOC) right after an address cue ("проживает в", "адрес", "г."); a place alone ("вернулся из
Турции") is history, not an address. The NER runs only on the lines with such a cue, so a note without one costs a
few regular expressions.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from medsyn.builder.quality import names

_SEP = r"[\s\-‐–.()]*"
PATTERNS: dict[str, re.Pattern] = {
    "email": re.compile(r"(?<![\w.])[\w.+-]+@[\w-]+(?:\.[\w-]+)*\.[A-Za-zА-Яа-я]{2,}"),
    "phone": re.compile(rf"(?<![\d/])(?:\+7|8){_SEP}\(?9\d{{2}}\)?{_SEP}\d{{3}}{_SEP}\d{{2}}{_SEP}\d{{2}}(?![\d/])"
                        rf"|(?<![\d/])(?:\+7|8){_SEP}\(\d{{3,5}}\){_SEP}\d{{1,3}}{_SEP}\d{{2}}{_SEP}\d{{2}}(?![\d/])"
                        r"|(?i:тел(?:ефон)?\.?|моб\.?)\s*:?\s*(?:\+7|8)?[\s\-()]*\d[\d\s\-()]{5,14}\d"),
    "snils": re.compile(r"(?<!\d)\d{3}-\d{3}-\d{3}[\s-]\d{2}(?!\d)|(?i:снилс)\s*(?:№|N|номер)?\s*:?\s*\d[\d\s-]{8,13}\d"),
    "oms_policy": re.compile(r"(?i:полис(?:а|е|ом)?(?:\s+омс)?|омс)\s*(?:№|N|номер|серия)?\s*:?\s*[\dА-Я]{0,6}"
                             r"\s*№?\s*\d[\d\s]{5,18}\d"),
    "passport": re.compile(r"(?i:паспорт\w*)[^.\n]{0,25}?\d{2}\s?\d{2}\s*(?:№|N)?\s*\d{6}(?!\d)"
                           r"|(?i:серия)\s*\d{2}\s?\d{2}\s*(?:№|N|номер)\s*\d{6}(?!\d)"),
    "birth_date": re.compile(r"(?i:дата\s+рождения|д\.\s?р\.|родил(?:ся|ась)|рожд(?:ения|ён|ен|\.))\s*:?\s*"
                             r"\d{1,2}[./-]\d{1,2}[./-](?:19|20)?\d{2}(?!\d)"
                             r"|(?<!\d)(?:\d{1,2}[./-]\d{1,2}[./-])?(?:19|20)\d{2}\s*(?:г\.\s?р\.|года\s+рождения)"),
    "address": re.compile(r"(?i:\b(?:ул|улица|пр-т|просп|проспект|пер|переулок|ш|шоссе|б-р|бульвар|наб|набережная|"
                          r"мкр|микрорайон)\.?)\s+[А-ЯЁ][\w-]*(?:\s+[А-ЯЁ][\w-]*)?,?\s*(?:д\.|дом)?\s*\d+\w?"
                          r"(?:\s*,?\s*(?:кв\.|квартира)\s*\d+)?"),
}
# Words before a place that make it an address (where someone lives or is registered), not a place visited.
_ADDRESS_CUE = re.compile(r"(?i)(?:прожива\w*|зарегистр\w*|адрес\w*|место\s+жительства|живет|живёт|г\.|город[а-я]*|"
                          r"пос\.|посел[а-я]*|с\.|село|дер\.|деревн[а-я]*|обл\.|област[а-я]*|край|района?)\s*:?\s*(?:в\s+)?$")
# ("области" is anatomy in a note: "в области сердца"; a region counts only on a line with another cue)
_LINE_CUE = re.compile(r"(?i:прожива|зарегистр|адрес|место\s+жительства|жив[её]т|\bгород|\bпос\.|\bсело\b|\bдер\.)"
                       r"|\bг\.\s*[А-ЯЁ]")


def find(text: str) -> list[str]:
    """`kind: what` for every personal datum of a note, in order of position (patterns first, NER places after)."""
    found = [(match.start(), f"{kind}: {match.group().strip()}") for kind, pattern in PATTERNS.items()
             for match in pattern.finditer(text)]  # fmt: skip
    return [what for _, what in sorted(found)]


def places(texts: Sequence[str]) -> list[list[str]]:
    """For each text, the places natasha's NER finds right after an address cue, on the lines that have one."""
    segments = [(i, line) for i, text in enumerate(texts) for line in text.split("\n") if _LINE_CUE.search(line)]
    found: list[list[str]] = [[] for _ in texts]
    if not segments:
        return found
    for (i, line), markup in zip(segments, names.tagger().map([line for _, line in segments])):
        for span in markup.spans:
            if span.type == "LOC" and _ADDRESS_CUE.search(line[max(0, span.start - 40) : span.start]):
                found[i].append(f"address: {line[span.start : span.stop]}")
    return found


def find_all(texts: Sequence[str], use_ner: bool = True) -> list[list[str]]:
    """`find` of each text, plus the NER's addresses (`places`) unless `use_ner` is false."""
    patterned = [find(text) for text in texts]
    if not use_ner:
        return patterned
    return [own + [place for place in ner if place not in own and not any(place[9:] in o for o in own)]
            for own, ner in zip(patterned, places(texts))]  # fmt: skip
