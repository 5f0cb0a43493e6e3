"""The history and examination sentences of a template note: onset, course, past history, the patient, vitals,
labs, in words that fit the patient's sex and age and values consistent with the code (`builder/generate/template/clinical.py`).

It lives apart from `template_notes` because these sentences do not depend on how the complaints are worded; a
note (`template_notes._Note`) is a `NoteHistory` that also says its complaints.
"""

from __future__ import annotations

import random

from medsyn.builder.generate.template import clinical
from medsyn.builder.generate.demographics import MARITAL_RU
from medsyn.builder.text.inflection import duration_acc, duration_gen, plural

# "Disorders after medical procedures, not elsewhere classified" of each chapter: the patient was operated on.
POST_PROCEDURAL = frozenset({"E89", "G97", "H59", "H95", "I97", "J95", "K91", "M96", "N99"})


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


def comma_decimal(value: float) -> str:
    return f"{value:.1f}".replace(".", ",")


def cap(text: str) -> str:
    return text[:1].upper() + text[1:]


PAROXYSMAL_WORDS = ("приступ", "пароксизм", "судорог", "обморок", "синкоп", "сердцебиен", "колик", "эпизод",
                    "перебо", "головокруж")

# What makes a chronic complaint worse ("Усиливается после еды"), by body system: "после еды" fits digestion, not an
# eye or a nail. Every row is as long as the digestive one and a note draws a place, so the random stream is the
# same whatever the code's row.
AGGRAVATION_DIGESTIVE = ("к вечеру", "по утрам", "при нагрузке", "после еды", "ночью")
AGGRAVATION_GENERAL = ("к вечеру", "по утрам", "при нагрузке", "при нагрузке", "ночью")
AGGRAVATION_BY_SYSTEM: tuple[tuple[str, str, tuple[str, ...]], ...] = (  # first code, last code, row
    ("K00", "K99", AGGRAVATION_DIGESTIVE),
    # a nail does not get worse at night, a deformed foot does not at breakfast (blind reviewers' "absurd")
    ("L60", "L62", ("при контакте с водой", "при контакте с бытовой химией", "при контакте с водой", "в холод",
                    "при контакте с бытовой химией")),
    ("Q65", "Q79", ("к вечеру", "при ходьбе", "при нагрузке", "при длительной ходьбе", "к вечеру")),
    ("H00", "H59", ("к вечеру", "по утрам", "при зрительной нагрузке", "при чтении", "при ярком свете")),
    ("L00", "L99", ("к вечеру", "ночью", "после стресса", "в тепле", "ночью")),
    ("M00", "M99", ("к вечеру", "по утрам", "при нагрузке", "при смене погоды", "ночью")),
)


def aggravating_factors(code: str) -> tuple[str, ...]:
    """The row of what makes complaints worse for an ICD-10 code's body system (`AGGRAVATION_BY_SYSTEM`)."""
    head = code[:3].upper()
    return next((row for first, last, row in AGGRAVATION_BY_SYSTEM if first <= head <= last), AGGRAVATION_GENERAL)


class NoteHistory:
    """The facts of one note (patient, findings, acuity) and the sentences that tell its history and examination."""

    def __init__(self, prior: dict, seed: int, labels: list[str]):
        self.rng = rng = random.Random(seed)
        self.prior = prior
        self.code = prior.get("icd10_code", "")
        self.sex = prior["sex"] if prior.get("sex") in SEX_WORDS else "female"
        self.w = SEX_WORDS[self.sex]
        self.age = int(prior.get("age") or 40)
        self.labels = labels
        self.acuity = clinical.acuity(self.code)
        # "приступы стали чаще" only where the complaints come in attacks (not a nail's colour, a deformity)
        self.paroxysmal = any(word in label.lower() for label in labels for word in PAROXYSMAL_WORDS)
        self.found = clinical.prior_findings(self.code, labels)
        self.f = clinical.findings(self.code, labels, self.age, rng)

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

    def aggravation(self) -> str:
        """When the complaints get worse, in words that fit the code's body system (one draw whatever the code)."""
        return self.rng.choice(aggravating_factors(self.code))

    def onset(self) -> str:
        f, w, rng = self.f, self.w, self.rng
        acc, gen = duration_acc(f.duration_unit, f.duration), duration_gen(f.duration_unit, f.duration)
        trigger = self.trigger()
        return rng.choice(
            [
                f"{cap(w['fell_ill'])} {acc} назад, {trigger}.",
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
                f"{cap(w['treated'])} самостоятельно, без эффекта.",
                f"{cap(w['took'])} жаропонижающие, с временным улучшением." if "fever" in self.found
                else f"{cap(w['took'])} обезболивающие, с временным улучшением.",
                "Ранее подобные жалобы не беспокоили.",
                "Лекарств не принимал." if self.sex == "male" else "Лекарств не принимала.",
                f"К врачу {w['came']} впервые.",
            ]
        else:
            options = [
                f"Подобные жалобы и раньше, обострения {rng.choice(['1-2 раза в год', 'несколько раз в год', 'весной и осенью'])}."
                if not clinical.is_malignant(self.code) else "Ранее подобные жалобы не беспокоили.",
                f"{cap(w['observed'])} у терапевта, постоянно лекарства не принимает.",
                f"{cap(w['treated'])} амбулаторно, с временным эффектом.",
                "Ухудшение за последнее время, " + rng.choice(
                    ["жалобы усилились.", "приступы стали чаще." if self.paroxysmal else "жалобы усилились."]),
                f"Регулярно не {'лечился' if self.sex == 'male' else 'лечилась'}.",
            ]
        return rng.choice(options)

    def history(self) -> str:
        operated = self.code[:3] in POST_PROCEDURAL  # K91 "after medical procedures" cannot deny operations
        return self.rng.choice(
            [
                "Хронические заболевания отрицает.",
                "Аллергоанамнез не отягощен.",
                "Аллергические реакции отрицает.",
                "В анамнезе оперативное лечение." if operated else "Операций не было.",
                "Травмы отрицает." if operated else "Травмы и операции отрицает.",
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
            return cap(", ".join(parts)) + ". " + cap(smoking) + "."
        if layout == 1:
            return cap(", ".join(parts + [smoking])) + "."
        return f"Возраст {years}. " + cap(", ".join(parts[2:] + [smoking])) + "."

    # examination ------------------------------------------------------------------------------------------------
    def vitals(self) -> str:
        f, rng = self.f, self.rng
        t, bp, p = comma_decimal(f.temperature), f"{f.systolic}/{f.diastolic}", f.pulse
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
                f"В общем анализе крови лейкоциты {comma_decimal(wbc)} × 10⁹/л, СОЭ {esr} мм/ч.",
                f"ОАК: лейкоциты {comma_decimal(wbc)}, СОЭ {esr}. Глюкоза крови {comma_decimal(glucose)} ммоль/л.",
                f"Глюкоза крови {comma_decimal(glucose)} ммоль/л, общий холестерин {comma_decimal(rng.randint(38, 72) / 10)} ммоль/л.",
                "На ЭКГ ритм синусовый, без острых очаговых изменений." if "I49" != self.code[:3] and
                "tachycardia" not in self.found else f"На ЭКГ синусовая тахикардия, ЧСС {self.f.pulse}.",
            ]
        )
