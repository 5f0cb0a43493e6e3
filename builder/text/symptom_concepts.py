"""What a symptom label says, read off its words alone: its head noun, the organs it names, the concept it stands for
(so that two wordings of one symptom count as a repeat), and whether it is an examination finding or a circumstance
rather than a complaint. `builder/kg/coherence.py` combines these with the graph into the rules of a drawn set.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from medsyn.builder.text.inflection import noun_group
from medsyn.builder.text.label_text import respell
from medsyn.builder.text.matching import concept as word_concept
from medsyn.builder.text.matching import default_variants
from medsyn.builder.text.morphology import STOPWORDS, TOKEN_RE, label_key, lemma, lemmatize, parses

PAIN_LEMMAS = frozenset({"боль", "болезненный", "болевой", "болезненность", "дискомфорт", "болеть", "ломота"})
PAIN_NOUNS = frozenset({"боль", "болезненность", "дискомфорт", "ломота"})
# Bare generic heads that need a place or a qualifier, whatever their counts (rule 4's short stoplist).
GENERIC_LEMMAS = frozenset({"боль", "дискомфорт", "тяжесть", "приступ", "болезненность", "ощущение"})
# Words that carry no concept of their own in a label (rule 3): places are said by the word after them.
# "Нарушения слуха" and "потеря слуха" say one thing: words of change are fillers too.
FILLER_LEMMAS = frozenset({"область", "зона", "ощущение", "чувство", "локальный", "появление", "наличие", "признак",
                           "выраженный", "сильный", "постоянный", "частый", "или", "же", "время", "масса",
                           "нарушение", "потеря", "снижение", "ухудшение", "изменение", "расстройство"})
# Circumstances a code without notes does not give its patient (surgery, pregnancy, a fetus, drugs): HSDN's
# "послеоперационная боль", "дистресс плода", "родовая боль" co-occur with codes in papers, not in complaints.
CONTEXT_LEMMAS = frozenset({"послеоперационный", "плод", "родовой", "беременность", "беременный", "индуцированный",
                            "новорождённый", "новорожденный", "предварительный", "индуцировать"})
PAIN = "<боль>"
# Rule 6: words of measurement and examination, lab substances ("альбуминурия", "гиперхолестеринемия") and what
# only an examination finds: organ enlargement ("гепатомегалия"), fluid in the abdomen ("асцит"), a coma (no
# patient in one complains: E07 drew "кома" from HSDN).
FINDING_LEMMAS = frozenset({"уровень", "признак", "показатель", "анализ", "концентрация", "пальпация",
                            "пальпаторно", "пальпаторный", "пальпируемый", "пальпировать", "обнаруживаться",
                            "обнаруживать", "выявляться", "выявлять", "кровоток", "выброс", "кома"})
# Rules 2 and 8: organs as ICD-10 names and patients say them, by word beginnings ("ногтевой валик", "ногтей";
# "кашель с мокротой", "боли в области легких"). One group is one site of a multi-site disease (B37: vagina, nail,
# lung); the airways are one site (a nose disease runs down the throat), as are the bowel's words.
ORGAN_WORDS: dict[str, tuple[str, ...]] = {
    "ноготь": ("ногот", "ногт", "околоногт"),
    "влагалище": ("влагалищ", "вагин", "вульв", "гениталий", "бели", "белей"),
    "дыхательные пути": ("легк", "легоч", "мокрот", "кашл", "кашел", "бронх", "нос", "носа", "носу", "носов",
                         "носоглот", "глотк", "горл", "гортан", "голос"),
    "рот": ("рот", "рта", "ротов", "язык", "десн", "зуб", "зубы", "зуба", "зубов", "зубн"),
    "глаз": ("глаз", "зрени", "веки", "века", "веко", "веках", "слез", "сетчат", "роговиц"),
    "ухо": ("ухо", "уха", "ухе", "ушей", "ушах", "ушн", "слух", "глух"),
    "кишечник": ("кишк", "кишеч", "кал", "кала", "кале", "калов", "стул", "стула", "дефекац", "анальн", "ректальн"),
    "яичко": ("яичк", "мошонк"),
    "мочевые пути": ("моча", "мочи", "моче", "мочев"),
    "молочная железа": ("молочн", "сосок", "соск"),
    "стопа": ("стоп",),
    "кожа": ("кожа", "кожи", "коже", "кожу", "кожн"),
}
# Organs of one sex, by word beginnings: a label naming one fixes the patient's sex (B37 candidiasis drew
# "зуд во влагалище" for a man of 90).
SEX_WORDS: dict[str, tuple[str, ...]] = {
    "female": ("влагалищ", "вагин", "вульв", "матк", "маточн", "менстру", "яичник", "половых губ"),
    "male": ("яичк", "мошонк", "простат", "предстательн", "эрекц", "полового члена", "семенн"),
}
FINDING_ROOTS = ("альбумин", "протеин", "эритроцит", "лейкоцит", "гемоглобин", "кальци", "холестерин", "глобулин",
             "билирубин", "креатинин", "глюкоз", "гликеми", "мегали", "асцит")


# Words of a woman's age: menstruating (at most MENSTRUATING_MAX years) or past the menopause (at least MENOPAUSE_MIN);
# an 86-year-old with "кровянистые выделения в периоды между менструациями" read as absurd.
MENSTRUATING_WORDS = ("менструац", "месячн", "межменструальн", "менорраг", "метрорраг", "дисменор")
MENOPAUSE_WORDS = ("менопауз", "постменопауз", "климакс")
MENSTRUATING_MAX, MENOPAUSE_MIN = 52, 45


# Heads that say only that a symptom appeared or grew: the symptom is in the words after them.
CHANGE_HEADS = frozenset({"появление", "наличие", "возникновение", "усиление"})


@lru_cache(maxsize=50_000)
def implied_ages(text: str) -> tuple[int, int]:
    """The ages a label allows (0, 200 unless it speaks of menstruation or the menopause)."""
    low = text.lower().replace("ё", "е")
    if any(w in low for w in MENOPAUSE_WORDS):
        return MENOPAUSE_MIN, 200
    if any(w in low for w in MENSTRUATING_WORDS):
        return 0, MENSTRUATING_MAX
    return 0, 200


@lru_cache(maxsize=50_000)
def implied_sex(text: str) -> str | None:
    """The sex whose organs (`SEX_WORDS`) a label names, if one."""
    low = " " + re.sub(r"[^а-я]+", " ", text.lower().replace("ё", "е"))
    named = [sex for sex, starts in SEX_WORDS.items() if any(" " + s in low for s in starts)]
    return named[0] if len(named) == 1 else None


@lru_cache(maxsize=50_000)
def organs(text: str) -> frozenset[str]:
    """The organs (`ORGAN_WORDS`) a label or an ICD-10 name names: a word that begins with an organ's word of
    four letters or more, or is one of its short words ("нос", "кал")."""
    words = re.findall(r"[а-я]+", text.lower().replace("ё", "е"))
    return frozenset(organ for organ, starts in ORGAN_WORDS.items()
                     if any(w == s or (len(s) >= 4 and w.startswith(s)) for w in words for s in starts))


@lru_cache(maxsize=50_000)
def head_lemma(label: str) -> str:
    """The lemma of a label's head noun ("боль" of "непреодолимая боль", "боли в животе"); for a clause or a
    label without a nominative noun, its first content lemma."""
    text = re.sub(r"\([^)]*\)|\[[^\]]*\]", " ", label.lower())
    text = re.sub(r"\s+", " ", re.sub(r"[^а-яёa-z0-9\- ]", " ", text)).strip()
    if not text:
        return ""
    _, end, head = noun_group(text)
    words = text.split(" ")
    if end >= 0:
        return lemma(words[head])
    return next((lemma(w) for w in words if lemma(w) not in STOPWORDS), "")


@lru_cache(maxsize=50_000)
def has_noun(label: str) -> bool:
    """A complaint is a noun group ("боль в горле") or a clause ("возникают проблемы с голосом"): a fragment of a
    hand-written list ("продолжительные") or a slip in one ("выраженная одышкой", an adjective agreeing with no
    noun) is neither."""
    words = TOKEN_RE.findall(label.lower())
    if not any(parses(word)[0].tag.POS == "NOUN" for word in words):
        return False
    text = re.sub(r"\s+", " ", re.sub(r"\([^)]*\)|[^а-яёa-z0-9\- ]", " ", label.lower())).strip()
    text = re.sub(r"^[а-яё]+ (?:и|или) ", "", text)  # "частичная или полная утрата": coordinated adjectives
    return noun_group(text)[1] >= 0 or any(parses(word)[0].tag.POS in {"VERB", "PRTS"} for word in words)


@dataclass(frozen=True)
class Concept:
    """What a label says, for rule 3: its head's class (pain words one class) and its content stems."""

    head: str
    stems: frozenset[str]
    noun: str = ""  # the head noun's lemma (`head_lemma`): one per set, as before the concept rule
    synonyms: frozenset[str] = frozenset()  # rule 7: the `symptom_variants.txt` groups the label is a wording of
    organs: frozenset[str] = frozenset()  # rule 8: the organs (`ORGAN_WORDS`) the label names

    def repeats(self, other: "Concept") -> bool:
        """One head class, one synonym group, one label's head among the other's words, one label's content inside
        the other's ("кровь в кале" in "примесь крови к каловым массам"), or two content words in common."""
        if self.head == other.head or (self.noun and self.noun == other.noun) or self.synonyms & other.synonyms:
            return True
        if self.head in other.stems or other.head in self.stems:  # "вагинальный зуд" / "жжение, зуд, сухость"
            return True
        if not self.stems or not other.stems:
            return False
        return self.stems <= other.stems or other.stems <= self.stems or len(self.stems & other.stems) >= 2


@lru_cache(maxsize=50_000)
def concept(label: str) -> Concept:
    """Rule 3's concept of a label: lemmas to derivational stems and link groups (`matching.concept`: кал /
    каловый / стул), pain words to one class, filler words ("область", "ощущение") dropped; the head is the pain
    class wherever a pain word is in the label ("жжение и дискомфорт в анальной зоне" is a pain)."""
    lemmas = [lemma(w) for w in TOKEN_RE.findall(re.sub(r"\([^)]*\)|\[[^\]]*\]", " ", respell(label.lower())))]
    stems = set()
    pain = False
    for lem in lemmas:
        if lem in PAIN_LEMMAS:
            pain = True
            stems.add(PAIN)
        elif lem not in STOPWORDS and lem not in FILLER_LEMMAS and len(lem) > 1:
            stems.add(word_concept(lem))
    head = head_lemma(respell(label))
    # A pain noun anywhere ("жжение и дискомфорт в ...") or a pain adjective on a filler ("болезненные
    # ощущения"); "болезненное мочеиспускание" is about urination.
    pain = bool(set(lemmas) & PAIN_NOUNS) or (pain and head in FILLER_LEMMAS) or head in PAIN_LEMMAS
    if not pain:
        stems.discard(PAIN)
    stems = frozenset(stems)
    head_class = PAIN if pain else word_concept(head) if head else ""
    groups = frozenset(name for name, members in _synonym_groups()
                       if any(_says(stems, head_class, m, head in CHANGE_HEADS) for m in members))
    return Concept(head_class, stems, head, groups, organs(label))


def _says(stems: frozenset[str], head: str, member: frozenset[str], change_head: bool = False) -> bool:
    """Rule 7: a label says a wording when it holds all of the wording's content ("примеси крови в моче" says
    "кровь в моче"); a one-word wording only when it is the label's whole content or head ("гематурия",
    "шаткость при ходьбе"), or when the head only says the symptom appeared ("появление обильных водянистых
    белей" says "бели")."""
    if len(member) > 1 or change_head:
        return member <= stems
    return member == stems or member == {head}


@lru_cache(maxsize=1)
def _synonym_groups() -> tuple[tuple[str, tuple[frozenset[str], ...]], ...]:
    """Rule 7's groups: each `symptom_variants.txt` line, a label and its wordings, as content stems."""
    groups = []
    for label, wordings in default_variants().items():
        members = tuple({_stems(text) for text in (label, *wordings)} - {frozenset(), frozenset({PAIN})})
        if len(members) > 1:
            groups.append((label, members))
    return tuple(groups)


def _stems(text: str) -> frozenset[str]:
    """Content stems of a wording, pain words one class (as in `concept`)."""
    stems = set()
    for word in TOKEN_RE.findall(re.sub(r"\([^)]*\)|\[[^\]]*\]", " ", text.lower())):
        lem = lemma(word)
        if lem in PAIN_LEMMAS:
            stems.add(PAIN)
        elif lem not in STOPWORDS and lem not in FILLER_LEMMAS and len(lem) > 1:
            stems.add(word_concept(lem))
    return frozenset(stems)


@lru_cache(maxsize=1)
def wording_keys() -> frozenset[tuple[str, ...]]:
    """Rule 5: the lemma keys of `symptom_variants.txt`'s labels and wordings."""
    return frozenset(lemma_key(text) for label, wordings in default_variants().items() for text in (label, *wordings))


def is_finding(label: str) -> bool:
    """Rule 6: the label names a measurement, an examination or a lab substance, not a complaint."""
    words = TOKEN_RE.findall(label.lower())
    return bool({lemma(w) for w in words} & FINDING_LEMMAS) or any(root in w for w in words for root in FINDING_ROOTS)


def is_circumstance(label: str) -> bool:
    """Rule 4: the label names a circumstance (`CONTEXT_LEMMAS`), not a complaint."""
    return bool(set(lemmatize(label.lower())) & CONTEXT_LEMMAS)


def lemma_key(text: str) -> tuple[str, ...]:
    return tuple(sorted(set(label_key(re.sub(r"\[[^\]]*\]", " ", text)))))
