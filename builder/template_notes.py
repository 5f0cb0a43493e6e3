"""The `template` backend: a Russian outpatient note composed from the prior, no LLM.

It is what `medsyn build` uses when no LLM is configured (so the quickstart runs offline in seconds) and the no-LLM
baseline of the benchmark: if an LLM's notes do not beat these, the LLM adds nothing. So they should read like real
outpatient records:

- symptoms in the patients' own words where real notes give some (`builder/wordings.py`: "боли в шейном отделе
  позвоночника", "заложен нос"), else in the lexicon's;
- findings consistent with the code and symptoms, from the tables in `builder/clinical.py` (a fever symptom gives
  37.5 °C or more, hypertension raised pressure, an acute infection lasts days);
- three shapes, chosen by the prompt template (`SHAPES`): `complaints` only (RuMedTop3's style), `anamnesis`
  (complaints with the history of the illness and the patient), `record` (a full outpatient record with
  examination and, for `investigations`, test results);
- many phrasings of each part, so that no sentence pattern dominates a corpus;
- words that fit the patient's sex and age, and symptom phrases put into the case their slot needs by pymorphy3
  (`builder/inflection.py`).

Phrasing varies with a per-request seed; the same prior and seed give the same text.
"""

from __future__ import annotations

import random
import re
from functools import lru_cache

from medsyn.builder import clinical
from medsyn.builder.demographics import MARITAL_RU
from medsyn.builder.inflection import (
    duration_acc,
    governed,
    duration_gen,
    head_number,
    inflect,
    natural_order,
    noun_group,
    plural,
    is_clause,
    slot_safe,
    takes_case,
)

# prompt template -> note shape; templates not listed (LLM-only ones such as `code`, `example`) draw a shape.
SHAPES = {
    "complaints": "complaints",
    "short": "complaints",
    "anamnesis": "anamnesis",
    "patient": "anamnesis",
    "investigations": "record",
}
DRAWN_SHAPES = (("complaints", 0.5), ("anamnesis", 0.3), ("record", 0.2))
LEARNT_WORDING_SHARE = 1.0  # a symptom is said in a learnt wording this often (when one exists), by frequency
MIN_WORDS = 15  # the build's length filter (`FilterConfig.min_words`); a complaint note is padded up to it
NEGATION_WORDS = frozenset({"без", "не", "нет", "отсутствие"})
MIN_MATCHED_SHARE = 0.6  # share of the symptoms said in words the lemma matcher recognises (symptom-recall filter)

# Words that fit the patient's sex.
SEX_WORDS = {
    "male": {"patient": "пациент", "patient_gen": "пациента", "ill": "болен", "ill_instr": "больным",
             "fell_ill": "заболел", "treated": "лечился", "came": "обратился", "took": "принимал",
             "noticed": "заметил", "man": "мужчина", "student": "студент", "pensioner": "пенсионер",
             "observed": "наблюдался"},
    "female": {"patient": "пациентка", "patient_gen": "пациентки", "ill": "больна", "ill_instr": "больной",
               "fell_ill": "заболела", "treated": "лечилась", "came": "обратилась", "took": "принимала",
               "noticed": "заметила", "man": "женщина", "student": "студентка", "pensioner": "пенсионерка",
               "observed": "наблюдалась"},
}


def _clean(label: str) -> str:
    """Brackets dropped; a bracketed range ("субфебрильная температура (37.1–38.0 °C)") with them: not a complaint."""
    label = re.sub(r"\([^)]*\d[^)]*\)", "", label)
    return re.sub(r"\s+", " ", label.replace("(", "").replace(")", "").replace('"', "")).strip()


@lru_cache(maxsize=65536)
def _recognised(label: str, phrase: str) -> bool:
    """Whether the lemma matcher finds `label` in `phrase` (the build's symptom-recall filter uses it); cached, as
    the same (label, wording) pairs recur across thousands of notes."""
    from medsyn.builder.lemmas import SymptomMatcher

    return label in SymptomMatcher([label]).present(phrase)


def _good_wordings(label: str, options: list[tuple[str, int]]) -> list[tuple[str, int]]:
    """Learnt wordings a note may use: prepositions govern their case ("из влагалище" is a slip of one real note),
    and a label's head noun is not said in the genitive ("зуда", "недержания мочи": cut out of longer phrases)."""
    from medsyn.builder.lemmas import parses

    from medsyn.builder.wordings import PLURAL_COMPLAINTS

    first = label.lower().split(" ")[0]
    noun = next((p for p in parses(first) if p.tag.POS == "NOUN"), None) if parses(first)[0].tag.POS == "NOUN" else None

    def ok(wording: str) -> bool:
        if not governed(wording):
            return False
        word = wording.split(" ")[0]
        if noun is None or word == first or noun.normal_form in PLURAL_COMPLAINTS:
            return True  # adjectives change number freely ("головные боли"); complaint nouns go plural ("боли")
        # the label's head noun in the genitive ("недержания мочи", "зуда"): cut from a longer phrase
        best = parses(word)[0]
        return not (best.tag.POS == "NOUN" and best.normal_form == noun.normal_form and best.tag.case == "gent")

    return [(w, c) for w, c in options if ok(w)]


def _distinct(items: list[tuple[str, str]]) -> list[tuple[str, str]]:
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


def _own_heads(items: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """A learnt wording that gives a symptom another symptom's head noun ("дизурия" said "боль при
    мочеиспускании" next to "боль низа спины") gives way to the label's own words; labels that share a head
    already ("головная боль", "боль в горле") keep their wordings."""
    from medsyn.builder.coherence import head_lemma

    label_heads = [head_lemma(label) for label, _ in items]
    out = []
    for i, (label, phrase) in enumerate(items):
        head = head_lemma(phrase)
        if head != label_heads[i] and head in label_heads[:i] + label_heads[i + 1:] + [head_lemma(p) for _, p in out]:
            phrase = natural_order(label.lower() if not label.isupper() else label)
        out.append((label, phrase))
    return out


def _group_first(items: list[tuple[str, str]], note: "_Note") -> list[tuple[str, str]]:
    """A noun group first: "беспокоят" or "жалобы на" cannot govern a clause ("беспокоят нарастают боли", "жалобы
    на возникают проблемы с голосом"); after a comma, as real notes do, a clause may follow ("жалобы на головную
    боль, заложен нос"). The order is otherwise kept. A phrase that is neither a noun group nor a clause
    ("частичная или полная утрата слуха") cannot follow either: then the first item is such a phrase, and the
    caller says "Жалобы:"."""
    phrases = [note._phrase(*item, "nomn") for item in items]
    if any(not takes_case(p) and not is_clause(p) for p in phrases):
        return sorted(items, key=lambda item: takes_case(note._phrase(*item, "nomn")))
    first = next((i for i, p in enumerate(phrases) if takes_case(p)), None)
    if first in (None, 0):
        return items
    return [items[first]] + items[:first] + items[first + 1:]


def _decimal(value: float) -> str:
    return f"{value:.1f}".replace(".", ",")


def _join(items: list[str], rng: random.Random) -> str:
    if len(items) == 1:
        return items[0]
    if rng.random() < 0.5:
        return ", ".join(items)
    return ", ".join(items[:-1]) + " и " + items[-1]


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


# -- the parts of a note --------------------------------------------------------------------------------------------


class _Note:
    """One note being composed: the prior, its findings and the words chosen for its symptoms."""

    def __init__(self, prior: dict, seed: int):
        from medsyn.builder.wordings import load_wordings

        self.rng = rng = random.Random(seed)
        self.prior = prior
        self.code = prior.get("icd10_code", "")
        self.sex = prior["sex"] if prior.get("sex") in SEX_WORDS else "female"
        self.w = SEX_WORDS[self.sex]
        self.age = int(prior.get("age") or 40)
        raw = [s["label"] for s in prior["symptoms"] if _clean(s["label"])]
        labels = [_clean(label) for label in raw]
        self.labels = labels
        self.acuity = clinical.acuity(self.code)
        self.found = clinical.prior_findings(self.code, labels)
        self.f = clinical.findings(self.code, labels, self.age, rng)
        wordings = load_wordings()
        phrases = []
        for original, label in zip(raw, labels):  # the table keeps labels as the graph writes them
            options = _good_wordings(label, wordings.get(original) or wordings.get(label) or wordings.get(label.lower()) or [])
            if options and rng.random() < LEARNT_WORDING_SHARE:
                phrase = rng.choices([w for w, _ in options], [c**0.75 for _, c in options])[0]
            else:
                phrase = natural_order(label.lower() if not label.isupper() else label)
            phrases.append(phrase)
        # Keep enough symptoms in words the matcher recognises, or the symptom-recall filter drops the note.
        need = -(-len(labels) * MIN_MATCHED_SHARE // 1)
        order = list(range(len(labels)))
        rng.shuffle(order)
        ok = sum(_recognised(labels[i], phrases[i]) for i in order)
        for i in order:
            if ok >= need:
                break
            if not _recognised(labels[i], phrases[i]):
                phrases[i] = natural_order(labels[i].lower())
                ok += _recognised(labels[i], phrases[i])
        self.items = _distinct(_own_heads(list(zip(labels, phrases))))
        rng.shuffle(self.items)
        # A phrase with a negation cue ("без жалоб", "отсутствие аппетита") negates what follows it in the matcher's
        # eyes (and a reader's): it goes last, so the symptom-recall filter keeps the note.
        self.items.sort(key=lambda item: bool(NEGATION_WORDS & set(item[1].lower().split())))

    # complaints ---------------------------------------------------------------------------------------------
    def _phrase(self, label: str, phrase: str, case: str) -> str:
        if case != "nomn" and noun_group(phrase)[1] < 0:  # a clause cannot take a case: say the label instead
            phrase = natural_order(label.lower())
        return re.sub(r"\bад\b", "АД", inflect(phrase, case))  # "повышение ад" in the lexicon

    def _qualified(self, text: str) -> str:
        if re.search(r"\bбол[иья]", text) and self.rng.random() < 0.2:
            return text + " " + self.rng.choice(["периодически", "по утрам", "к вечеру", "временами", "постоянно"])
        return text

    def complaint_list(self, items: list[tuple[str, str]], case: str) -> str:
        texts = [self._qualified(self._phrase(label, phrase, case)) for label, phrase in items]
        text = _join(texts, self.rng)
        if len(texts) > 1 and is_clause(texts[-1]) and text.endswith(" и " + texts[-1]):
            text = text[: -len(texts[-1]) - 3] + ", " + texts[-1]  # "на X и появляются Y" joins two kinds
        return text

    def complaints(self, items: list[tuple[str, str]] | None = None, style: str = "doctor") -> str:
        """The complaint sentence; its opener and case vary. `style` "patient" (the complaints-only shape) draws
        openers as often as RuMedTop3 train notes begin with them (a bare list of complaints most often, then
        "Жалобы на", "На", a dashed list); "doctor" (notes with anamnesis) draws evenly among the doctor's openers.
        """
        rng, w = self.rng, self.w
        items = items if items is not None else self.items
        first_phrase = self._phrase(*items[0], "nomn")
        verb = "беспокоят" if head_number(first_phrase) == "plur" or len(items) > 1 else "беспокоит"
        doctor = [
            ("Жалобы: ", "nomn", 1.0),
            ("Жалобы на ", "accs", 1.0),
            ("Жалуется на ", "accs", 1.0),
            (f"{_cap(w['came'])} с жалобами на ", "accs", 1.0),
            ("Предъявляет жалобы на ", "accs", 1.0),
            (f"{_cap(verb)} ", "nomn", 1.0),
            (f"В настоящее время {verb} ", "nomn", 1.0),
            (f"{_cap(w['patient'])} отмечает ", "accs", 1.0),
            ("При обращении жалобы на ", "accs", 1.0),
        ]
        patient = [  # weights: how RuMedTop3 train notes begin
            ("", "nomn", 0.36),
            ("Жалобы на ", "accs", 0.16),
            ("жалобы на ", "accs", 0.03),
            ("На ", "accs", 0.12),
            ("- ", "dash", 0.07),
            ("Жалобы: ", "nomn", 0.04),
            ("Жалуется на ", "accs", 0.03),
            (f"{_cap(w['came'])} с жалобами на ", "accs", 0.03),
            (f"{_cap(verb)} ", "nomn", 0.04),
            (f"Сохраняются ", "nomn", 0.03) if self.acuity == "chronic" else ("На момент осмотра жалобы на ", "accs", 0.03),
            (f"В течение {duration_gen(self.f.duration_unit, self.f.duration)} {verb} ", "nomn", 0.06),
            (f"{_cap(w['patient'])} отмечает ", "accs", 0.03),
        ]
        table = patient if style == "patient" else doctor
        opener, case, _ = rng.choices(table, [row[2] for row in table])[0]
        if opener not in {"", "Жалобы: ", "- "}:
            items = _group_first(items, self)
            if not takes_case(self._phrase(*items[0], "nomn")):  # only clauses: they cannot follow "беспокоят"
                opener, case = "Жалобы: ", "nomn"
        if case == "accs" and not all(slot_safe(self._phrase(label, phrase, "nomn"), "accs") for label, phrase in items
                                      if takes_case(self._phrase(label, phrase, "nomn"))):
            opener, case = "Жалобы: ", "nomn"
        if case == "dash":
            text = "- " + " - ".join(self._qualified(self._phrase(label, phrase, "nomn")) for label, phrase in items)
        else:
            text = opener + self.complaint_list(items, case)
        if "fever" in self.found and self.f.temperature >= 37.5 and rng.random() < 0.6:
            text += f", температура до {_decimal(self.f.temperature)}"
        if not opener and rng.random() < 0.5:
            text = text[:1].lower() + text[1:]
        return text[:1].upper() + text[1:] if opener else text

    def duration_clause(self) -> str:
        """The illness' duration as a fragment that follows the complaints (", в течение 3 дней")."""
        f, rng = self.f, self.rng
        return rng.choice(
            [
                f"в течение {duration_gen(f.duration_unit, f.duration)}",
                f"около {duration_gen(f.duration_unit, f.duration)}",
                f"на протяжении {duration_gen(f.duration_unit, f.duration)}",
                f"беспокоят {duration_acc(f.duration_unit, f.duration)}",
            ]
        )

    # anamnesis ----------------------------------------------------------------------------------------------
    def trigger(self) -> str:
        table = {
            "acute": ["после переохлаждения", "после контакта с заболевшим", "остро", "без видимой причины"],
            "subacute": ["без видимой причины", "после переохлаждения", "постепенно", "остро"],
            "chronic": ["постепенно", "на фоне стресса", "после физической нагрузки", "без видимой причины",
                        "после перенесенной инфекции"],
            "checkup": ["постепенно", "без видимой причины"],
        }
        return self.rng.choice(table[self.acuity])

    def onset(self) -> str:
        f, w, rng = self.f, self.w, self.rng
        acc, gen = duration_acc(f.duration_unit, f.duration), duration_gen(f.duration_unit, f.duration)
        trigger = self.trigger()
        return rng.choice(
            [
                f"{_cap(w['fell_ill'])} {acc} назад, {trigger}.",
                f"Считает себя {w['ill_instr']} {acc}.",
                f"Считает себя {w['ill_instr']} в течение {gen}, начало {trigger}.",
                f"Болеет {acc}.",
                f"Со слов {w['patient_gen']}, {w['ill']} уже {acc}, симптомы появились {trigger}.",
                f"Симптомы беспокоят в течение {gen}.",
                f"Ухудшение на протяжении {gen}.",
                f"Жалобы около {gen}, появились {trigger}.",
            ]
        )

    def course(self) -> str:
        w, rng = self.w, self.rng
        if self.acuity in {"acute", "subacute"}:
            options = [
                f"{_cap(w['treated'])} самостоятельно, без эффекта.",
                f"{_cap(w['took'])} жаропонижающие, с временным улучшением." if "fever" in self.found
                else f"{_cap(w['took'])} обезболивающие, с временным улучшением.",
                "Ранее подобные жалобы не беспокоили.",
                "Лекарств не принимал." if self.sex == "male" else "Лекарств не принимала.",
                f"К врачу {w['came']} впервые.",
            ]
        else:
            options = [
                f"Подобные жалобы и раньше, обострения {rng.choice(['1-2 раза в год', 'несколько раз в год', 'весной и осенью'])}.",
                f"{_cap(w['observed'])} у терапевта, постоянно лекарства не принимает.",
                f"{_cap(w['treated'])} амбулаторно, с временным эффектом.",
                "Ухудшение за последнее время, " + rng.choice(["жалобы усилились.", "приступы стали чаще."]),
                f"Регулярно не {'лечился' if self.sex == 'male' else 'лечилась'}.",
            ]
        return rng.choice(options)

    def history(self) -> str:
        return self.rng.choice(
            [
                "Хронические заболевания отрицает.",
                "Аллергоанамнез не отягощен.",
                "Аллергические реакции отрицает.",
                "Операций не было.",
                "Травмы и операции отрицает.",
                "Наследственность не отягощена.",
            ]
        )

    def patient(self) -> str:
        p, w, rng = self.prior, self.w, self.rng
        years = f"{self.age} {plural(self.age, 'год', 'года', 'лет')}"
        marital = MARITAL_RU[self.sex].get(p.get("marital_status", ""), "")
        status = w["student"] if self.age <= 22 else w["pensioner"] if self.age >= 60 else "работает"
        if p.get("smoking"):
            n = max(1, min(self.age - 16, rng.randint(3, 30)))
            smoking = rng.choice(
                [f"курит {n} {plural(n, 'год', 'года', 'лет')}", f"курит до {rng.choice([5, 10, 15, 20])} сигарет в день",
                 "курит", f"стаж курения {n} {plural(n, 'год', 'года', 'лет')}"]
            )
        else:
            smoking = rng.choice(["не курит", "вредные привычки отрицает", "курение отрицает", "не курит, алкоголь "
                                  "не употребляет", "вредных привычек нет"])
        parts = [w["man"], years, marital, status] if marital else [w["man"], years, status]
        rng.shuffle(parts[2:])
        layout = rng.randrange(3)
        if layout == 0:
            return _cap(", ".join(parts)) + ". " + _cap(smoking) + "."
        if layout == 1:
            return _cap(", ".join(parts + [smoking])) + "."
        return f"Возраст {years}. " + _cap(", ".join(parts[2:] + [smoking])) + "."

    # examination ------------------------------------------------------------------------------------------------
    def vitals(self) -> str:
        f, rng = self.f, self.rng
        t, bp, p = _decimal(f.temperature), f"{f.systolic}/{f.diastolic}", f.pulse
        state = rng.choice(["удовлетворительное", "относительно удовлетворительное"]) if not (
            "fever" in self.found and f.temperature >= 38
        ) else "средней тяжести"
        return rng.choice(
            [
                f"Объективно: состояние {state}. АД {bp} мм рт. ст., ЧСС {p} в минуту, температура тела {t} °C.",
                f"Состояние {state}. Температура {t} °C. Пульс {p} уд/мин. АД {bp} мм рт. ст.",
                f"При осмотре: t {t} °C, АД {bp} мм рт. ст., пульс {p} в минуту, ЧДД {f.respiratory_rate}.",
                f"Давление {bp} мм рт. ст., пульс {p}. Температура тела {t} °C, сатурация {f.spo2}%.",
                f"Состояние {state}, сознание ясное. ЧСС {p} в мин, АД {bp} мм рт. ст., ЧДД {f.respiratory_rate} "
                f"в мин, температура {t} °C.",
                f"Т тела {t} °C. АД {bp} мм рт. ст. ЧСС {p} в минуту, сатурация {f.spo2}%.",
            ]
        )

    def labs(self) -> str:
        rng = self.rng
        inflammation = "fever" in self.found or self.acuity == "acute"
        wbc = rng.randint(92, 140) / 10 if inflammation else rng.randint(45, 85) / 10
        esr = rng.randint(16, 35) if inflammation else rng.randint(3, 14)
        glucose = rng.randint(75, 120) / 10 if self.code[:3] in {"E10", "E11", "E13", "E14"} else rng.randint(42, 58) / 10
        return rng.choice(
            [
                f"В общем анализе крови лейкоциты {_decimal(wbc)} × 10⁹/л, СОЭ {esr} мм/ч.",
                f"ОАК: лейкоциты {_decimal(wbc)}, СОЭ {esr}. Глюкоза крови {_decimal(glucose)} ммоль/л.",
                f"Глюкоза крови {_decimal(glucose)} ммоль/л, общий холестерин {_decimal(rng.randint(38, 72) / 10)} ммоль/л.",
                "На ЭКГ ритм синусовый, без острых очаговых изменений." if "I49" != self.code[:3] and
                "tachycardia" not in self.found else f"На ЭКГ синусовая тахикардия, ЧСС {self.f.pulse}.",
            ]
        )


def _words(text: str) -> int:
    """Words as the build's length filter counts them."""
    from medsyn.builder.filters import words

    return len(words(text))


def compose_complaints(note: _Note) -> str:
    """RuMedTop3's style: complaints in the patient's words, how long, maybe what made it worse."""
    rng = note.rng
    text = note.complaints(style="patient")
    if not text.startswith("В течение") and rng.random() < 0.8:
        text += ", " + note.duration_clause()
    sentences = [text + "."]
    extras = [
        lambda: f"Ухудшение {note.trigger()}." if note.acuity != "acute" else f"Началось {note.trigger()}.",
        note.course,
        lambda: f"Усиливается {rng.choice(['к вечеру', 'по утрам', 'при нагрузке', 'после еды', 'ночью'])}."
        if note.acuity == "chronic" else f"Самочувствие ухудшилось {rng.choice(['вчера', 'сегодня', 'ночью'])}.",
        note.history,
    ]
    rng.shuffle(extras)
    while _words(" ".join(sentences)) < MIN_WORDS and extras:
        sentences.append(extras.pop()())
    return " ".join(sentences)


def compose_anamnesis(note: _Note) -> str:
    rng = note.rng
    items = note.items
    cut = max(1, len(items) // 2 + 1) if len(items) > 2 and rng.random() < 0.5 else len(items)
    sentences = [note.complaints(items[:cut]) + "."]
    if cut < len(items):
        rest = _group_first(items[cut:], note)
        case = rng.choice(["nomn", "accs"])
        if not takes_case(note._phrase(*rest[0], "nomn")) or not all(
            slot_safe(note._phrase(label, phrase, "nomn"), "accs") for label, phrase in rest
            if takes_case(note._phrase(label, phrase, "nomn"))
        ):
            case = "nomn"
        listed = note.complaint_list(rest, case)
        if case == "accs":
            sentences.append(rng.choice(["Также отмечает ", "Кроме того, отмечает ", "Отмечает также "]) + listed + ".")
        elif not takes_case(note._phrase(*rest[0], "nomn")):
            sentences.append("Дополнительно: " + listed + ".")
        else:
            verb = "беспокоит" if len(rest) == 1 and head_number(rest[0][1]) == "sing" else "беспокоят"
            sentences.append(rng.choice([f"Также {verb} ", f"Периодически {verb} ", "Дополнительно: "]) + listed + ".")
    sentences.append(note.onset())
    if rng.random() < 0.7:
        sentences.append(note.course())
    if rng.random() < 0.5:
        sentences.append(note.history())
    if rng.random() < 0.6:
        sentences.append(note.patient())
    return " ".join(sentences)


def _headed(heading: str, text: str) -> str:
    return heading + (text[:1].lower() + text[1:] if heading else text)


def compose_record(note: _Note, investigations: bool) -> str:
    rng = note.rng
    headed = rng.random() < 0.5
    complaints = "Жалобы: " + note.complaint_list(note.items, "nomn") if headed else note.complaints()
    parts = [
        complaints + ".",
        _headed("Анамнез заболевания: " if headed else "", note.onset() + " " + note.course()),
        _headed("Анамнез жизни: " if headed else "", note.history() + " " + note.patient()),
        note.vitals(),
    ]
    if investigations or rng.random() < 0.3:
        parts.append(note.labs())
    return " ".join(parts)


def note_shape(template: str | None, rng: random.Random) -> str:
    if template in SHAPES:
        return SHAPES[template]
    u, acc = rng.random(), 0.0
    for shape, share in DRAWN_SHAPES:
        acc += share
        if u < acc:
            return shape
    return DRAWN_SHAPES[-1][0]


def compose_note(prior: dict, seed: int, template: str | None = None) -> str:
    """A note for `prior` (the dict form of `sampling.Prior`); same prior and seed give the same text."""
    if not prior.get("symptoms"):
        raise ValueError("the template backend needs at least one symptom in the prior")
    note = _Note(prior, seed)
    shape = note_shape(template, note.rng)
    if shape == "complaints":
        return compose_complaints(note)
    if shape == "anamnesis":
        return _padded(compose_anamnesis(note), note)
    return _padded(compose_record(note, investigations=template == "investigations"), note)


def _padded(text: str, note: _Note) -> str:
    """Up to MIN_WORDS words with history sentences the note does not hold yet (the length filter's floor)."""
    for _ in range(6):
        if _words(text) >= MIN_WORDS:
            break
        sentence = note.course() if note.rng.random() < 0.5 else note.history()
        if sentence not in text:
            text += " " + sentence
    return text
