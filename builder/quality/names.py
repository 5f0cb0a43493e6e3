"""Person names in notes: LLMs invent patients ("Иванов П.А.", "Сергей Иванович В.") and doctors, and no other
filter sees them. A note that names a person reads as a real record and may carry a real person's name.

Detection is natasha's slovnet NER (`NewsNERTagger`, PER spans), whose model and navec embeddings ship inside the
`natasha` wheel and run offline on CPU. Two things sit around it:

- A news-trained tagger reads many capitalised words of a clinical note as PER: field labels ("Пол:"), headings
  ("Анамнез\n\nПациентка"), rare terms ("Уродинамика"), eponyms ("болезнь Паркинсона", "по Нечипоренко"). A
  PER span counts only when one of its words is a name by pymorphy3's dictionary (`_name_word`), it is not a
  one-word field label, and it is not an eponym (a known one, or after a word like "синдром", "по").
- So only lines with such a name word go through the tagger at all (it costs ~0.1 s per 250-word note on a busy
  CPU; most lines of a note hold no name word).

Measured on a hand-judged random sample of MedSyn's GPT-3.5 notes (tests/data/person_names_judged.json).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from functools import lru_cache

from tqdm.auto import tqdm

from medsyn.builder.quality import filters
from medsyn.builder.text.morphology import lemma, morph, parses

# Words after which a capitalised name is a method, sign, disease or scale named after someone.
EPONYM_HEADS = frozenset(
    """болезнь синдром симптом признак проба реакция тест шкала метод методика маневр манёвр прием приём рефлекс
    триада феномен закон операция классификация критерий индекс формула пятно узел узелок кольцо линия точка
    положение поза анализ исследование опухоль киста перелом грыжа контрактура паралич зоб тиреоидит дивертикул
    пузырь пространство сустав зона бляшка клетка тельце пигмент реакция по""".split()
)
# Surnames that name diseases, signs and methods more often than anyone in a note (genitive and nominative
# lemmas as pymorphy3 gives them; matched on the lemma of every word of a span).
EPONYMS = frozenset(
    """паркинсон альцгеймер крон рейно бехтерев хашимото грейвс базедов кушинг аддисон меньер бейкер ласег
    нечипоренко зимницкий манту реберг бобат квинке рейтер шегрен гийен барре гентингтон дауна даун вильсон
    коновалов ходжкин бартолин бартолинов дюпюитрен осгуд шляттер пертес педжет рейно лайм боткин верльгоф
    шенлейн генох гиппократ бабинский ромберг кернинг брудзинский ортнер мерфи щеткин блюмберг пастернацкий
    ровзинг ситковский образцов стражеско копли корсаков вернике брок брока фолькман вальсальва трузо
    хвостек эрб лериш рейно стилл стилла кавасаки такаясу бюргер бюргера тиц тица холтер холтера доплер
    допплер глазго апгар бишоп фолей кохер кохера лоуренс килиан киллиан квик клиппель шейерман шейермана
    эпштейн барр эпштейна вегенер вегенера беккер дюшенн хантер фабри гоше ниман пик грейвса
    паркинсона альцгеймера""".split()
)
_TITLE = re.compile(r"(?<![\w-])[А-ЯЁ][а-яё]+(?:-[А-ЯЁ][а-яё]+)?")
_NAME_GRAMMEMES = ("Name", "Surn", "Patr")
_NAME_RUN = re.compile(r"(?<![\w-])[А-ЯЁ][а-яё]+(?: [А-ЯЁ][а-яё]+){1,2}(?![\w-])")


@lru_cache(maxsize=1)
def tagger():
    """natasha's news NER model with its navec embeddings (loaded once: ~2 s, ~30 MB)."""
    from natasha import NewsEmbedding, NewsNERTagger

    return NewsNERTagger(NewsEmbedding())


@lru_cache(maxsize=65536)
def _name_kinds(word: str) -> frozenset[str]:
    """Which of first name, surname, patronymic a word is in its most probable reading: the first pymorphy3 parse
    of a dictionary word ("Анна", "Иванов", "Павловна"), or of an unknown word the suffix predictor reads as a
    surname or patronymic ("Зюзюкина"). Unknown words it reads as first names are typos and rare terms as often
    as not ("Цефалгия"), so they do not count."""
    analyser = morph()
    lower = word.lower()
    tag = parses(lower)[0].tag
    kinds = frozenset(grammeme for grammeme in _NAME_GRAMMEMES if grammeme in tag)
    return kinds if analyser.word_is_known(lower) else kinds - {"Name"}


def _name_word(word: str) -> bool:
    return bool(_name_kinds(word))


def _may_hold_name(line: str) -> bool:
    return any(_name_word(match.group()) for match in _TITLE.finditer(line))


def _candidate_lines(text: str) -> Iterator[tuple[int, str]]:
    offset = 0
    for line in text.split("\n"):
        if line.strip() and _may_hold_name(line):
            yield offset, line
        offset += len(line) + 1


def _is_person(text: str, start: int, stop: int) -> bool:
    """A PER span of the tagger is a person when one of its words is a name (`_name_word`), it is not a field
    label or placeholder ("Пол: мужской", "[Пол]", where "Пол" is also a first name) and not a medical eponym."""
    words = _TITLE.findall(text[start:stop])
    if not any(_name_word(word) for word in words):
        return False
    if len(_WORD.findall(text[start:stop])) == 1 and text[stop : stop + 2].lstrip(" ").startswith((":", "]")):
        return False
    return not _is_eponym(text, start, stop)


def _full_names(line: str) -> Iterator[tuple[int, int]]:
    """Spans of two or three adjacent name words of different kinds ("Иванова Ольга Петровна", "Анна Иванова"):
    a full name the tagger can miss after a field label ("Ф.И.О: ...") but that nothing else in a note looks like."""
    for match in _NAME_RUN.finditer(line):
        kinds = [_name_kinds(word) for word in match.group().split()]
        if all(kinds) and len(frozenset().union(*kinds)) >= 2:
            yield match.start(), match.end()


def _is_eponym(text: str, start: int, stop: int) -> bool:
    """The span is made of known eponyms only, or follows a word that introduces one ("болезнь", "по")."""
    span = _WORD.findall(text[start:stop].lower().replace("ё", "е"))
    if span and all(word in EPONYMS or lemma(word) in EPONYMS for word in span):
        return True
    before = _WORD.findall(text[max(0, start - 40) : start])
    return bool(before) and lemma(before[-1]) in EPONYM_HEADS


_WORD = re.compile(r"[А-Яа-яЁё]+")


def person_names(texts: Sequence[str], progress: bool = False) -> list[list[str]]:
    """For each text, the person names it contains (PER spans of the NER, eponyms removed), in order."""
    segments = [(i, offset, line) for i, text in enumerate(texts) for offset, line in _candidate_lines(text)]
    found: list[list[str]] = [[] for _ in texts]
    if not segments:
        return found
    markups = tagger().map([line for _, _, line in segments])
    for (i, offset, line), markup in tqdm(
        zip(segments, markups), total=len(segments), desc="person names", unit="line", disable=not progress
    ):
        spans = [(span.start, span.stop) for span in markup.spans if span.type == "PER"]
        spans += [(lo, hi) for lo, hi in _full_names(line) if not any(lo < b and a < hi for a, b in spans)]
        for start, stop in sorted(spans):
            name = line[start:stop].strip()
            if name and _is_person(texts[i], offset + start, offset + stop):
                found[i].append(name)
    return found


def add_person_names(rows: list[dict], config: filters.FilterConfig, progress: bool = False) -> None:
    """Fill each corpus row's `person_names` and add the `person_name` reason where a name was found."""
    if not config.detect_person_names:
        for row in rows:
            row["person_names"] = None
        return
    for row, found in zip(rows, person_names([row["text"] for row in rows], progress)):
        row["person_names"] = found
        if found:
            row["reject_reasons"].append(filters.PERSON_NAME)
