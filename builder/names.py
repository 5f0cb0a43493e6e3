"""Person names in notes: LLMs invent patients ("Иванов П.А.", "Сергей Иванович В.") and doctors, and no other
filter sees them. A note that names a person reads as a real record and may carry a real person's name.

Detection is natasha's slovnet NER (`NewsNERTagger`, PER spans), whose model and navec embeddings ship inside the
`natasha` wheel and run offline on CPU. Two things sit around it:

- Only lines that could hold a name go through the tagger: a line with a capitalised word that pymorphy3 knows as
  a first name, surname or patronymic, does not know at all, or that stands inside a sentence, or with initials
  ("А.С."). The tagger costs ~0.07 s per 250-word note; most lines of a clinical note are capitalised only at
  their start with ordinary words, and skipping them changes no finding (checked on MedSyn's GPT-3.5 notes).
- Medical eponyms ("болезнь Паркинсона", "по Нечипоренко", "симптом Ласега") are PER for a news-trained model;
  a span preceded by a word that introduces an eponym, or made only of known eponyms, is not a person.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from functools import lru_cache

from medsyn.builder import filters
from medsyn.builder.lemmas import lemma, morph

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
_INITIALS = re.compile(r"(?<![\w.])[А-ЯЁ]\.\s?[А-ЯЁ]\.")
_SENTENCE_START = re.compile(r"(?:^|[.!?:;»\"(\-–—•*]\s*|\d[.)]\s*)$")
_NAME_GRAMMEMES = ("Name", "Surn", "Patr")


@lru_cache(maxsize=1)
def tagger():
    """natasha's news NER model with its navec embeddings (loaded once: ~2 s, ~30 MB)."""
    from natasha import NewsEmbedding, NewsNERTagger

    return NewsNERTagger(NewsEmbedding())


@lru_cache(maxsize=65536)
def _name_like(word: str) -> bool:
    """A word pymorphy3 parses as a first name, surname or patronymic, or does not know at all."""
    analyser = morph()
    lower = word.lower()
    if not analyser.word_is_known(lower):
        return True
    return any(grammeme in parse.tag for parse in analyser.parse(lower) for grammeme in _NAME_GRAMMEMES)


def _may_hold_name(line: str) -> bool:
    if _INITIALS.search(line):
        return True
    for match in _TITLE.finditer(line):
        if _name_like(match.group()) or not _SENTENCE_START.search(line[: match.start()]):
            return True
    return False


def _candidate_lines(text: str) -> Iterator[tuple[int, str]]:
    offset = 0
    for line in text.split("\n"):
        if line.strip() and _may_hold_name(line):
            yield offset, line
        offset += len(line) + 1


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
    from tqdm.auto import tqdm

    segments = [(i, offset, line) for i, text in enumerate(texts) for offset, line in _candidate_lines(text)]
    found: list[list[str]] = [[] for _ in texts]
    if not segments:
        return found
    markups = tagger().map([line for _, _, line in segments])
    for (i, offset, line), markup in tqdm(
        zip(segments, markups), total=len(segments), desc="person names", unit="line", disable=not progress
    ):
        for span in markup.spans:
            if span.type != "PER":
                continue
            name = line[span.start : span.stop].strip()
            if name and not _is_eponym(texts[i], offset + span.start, offset + span.stop):
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
