"""Template notes: a grammatical Russian note composed from the prior, no LLM (the `template` backend's text).

It is what `medsyn build` uses when no LLM is configured (so the quickstart runs offline in seconds) and the no-LLM
baseline of the benchmark: if an LLM's notes do not beat these, the LLM adds nothing. Phrasing varies with a
per-request seed; symptom labels are put into the accusative with pymorphy3 where a verb governs them
("жалуется на тошноту").
"""

from __future__ import annotations

import random
import re
from functools import lru_cache

from medsyn.builder.demographics import MARITAL_RU


@lru_cache(maxsize=4096)
def accusative(label: str) -> str:
    """'головная боль в височной области' -> 'головную боль в височной области'.

    The leading words in the nominative (adjectives and their noun) are inflected; everything from the first word
    that cannot be nominative (a preposition, a genitive) on is kept as it is.
    """
    from medsyn.builder.lemmas import morph

    words = label.split(" ")
    out = []
    for i, word in enumerate(words):
        bare = word.strip(",")
        parses = [p for p in morph().parse(bare) if "nomn" in p.tag]
        if not parses:
            out.extend(words[i:])
            break
        # Symptoms are inanimate: "частые боли" -> "частые боли", not the animate "частых".
        wanted = {"accs", "inan"} if "plur" in parses[0].tag else {"accs"}
        inflected = parses[0].inflect(wanted) or parses[0].inflect({"accs"})
        new = inflected.word.replace("ё", "е") if inflected else bare
        if bare[:1].isupper():
            new = new[:1].upper() + new[1:]
        out.append(new + ("," if word.endswith(",") else ""))
    return " ".join(out)


def _clean(label: str) -> str:
    return re.sub(r"\s+", " ", label.replace("(", "").replace(")", "")).strip()


def _join(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " и " + items[-1]


def _plural(n: int, one: str, few: str, many: str) -> str:
    if n % 10 == 1 and n % 100 != 11:
        return one
    if 2 <= n % 10 <= 4 and not 12 <= n % 100 <= 14:
        return few
    return many


def _duration(rng: random.Random) -> str:
    """A duration in the accusative of time ("болеет 3 недели", "болеет месяц")."""
    unit = rng.choice(["day", "week", "month", "year"])
    forms = {
        "day": ("день", "дня", "дней", 2, 14),
        "week": ("неделю", "недели", "недель", 1, 6),
        "month": ("месяц", "месяца", "месяцев", 1, 11),
        "year": ("год", "года", "лет", 1, 10),
    }[unit]
    n = rng.randint(forms[3], forms[4])
    return forms[0] if n == 1 else f"{n} {_plural(n, *forms[:3])}"


def _decimal(value: float) -> str:
    return f"{value:.1f}".replace(".", ",")


def compose_note(prior: dict, seed: int, template: str | None = None) -> str:
    """A note for `prior` (the dict form of `sampling.Prior`); same prior and seed give the same text."""
    rng = random.Random(seed)
    male = prior["sex"] == "male"
    labels = [_clean(s["label"]) for s in prior["symptoms"]]
    rng.shuffle(labels)
    first, rest = labels[: max(1, len(labels) // 2 + 1)], labels[max(1, len(labels) // 2 + 1) :]

    complaints = rng.choice(
        [
            f"Жалобы на {_join([accusative(x) for x in first])}.",
            f"Жалобы: {_join(first)}.",
            f"{'Пациент' if male else 'Пациентка'} жалуется на {_join([accusative(x) for x in first])}.",
            f"При обращении предъявляет жалобы на {_join([accusative(x) for x in first])}.",
        ]
    )
    sentences = [complaints]
    if rest:
        sentences.append(
            rng.choice(
                [
                    f"Также беспокоит {_join(rest)}." if len(rest) == 1 else f"Также беспокоят {_join(rest)}.",
                    f"Кроме того, отмечает {_join([accusative(x) for x in rest])}.",
                    f"Дополнительно: {_join(rest)}.",
                ]
            )
        )
    ill = "болен" if male else "больна"
    trigger = rng.choice(
        ["после переохлаждения", "после физической нагрузки", "на фоне стресса", "без видимой причины", "постепенно"]
    )
    sentences.append(
        rng.choice(
            [
                f"Считает себя {'больным' if male else 'больной'} {_duration(rng)}, ухудшение отмечает {trigger}."
                if trigger.startswith(("после", "на фоне"))
                else f"Считает себя {'больным' if male else 'больной'} {_duration(rng)}.",
                f"Со слов {'пациента' if male else 'пациентки'}, {ill} уже {_duration(rng)}, симптомы появились {trigger}.",
                f"Симптомы беспокоят {_duration(rng)}, за последнее время {rng.choice(['усилились', 'стали чаще', 'не меняются'])}.",
            ]
        )
    )
    if template != "short":
        sentences.append(
            rng.choice(
                [
                    "Ранее подобные жалобы не беспокоили.",
                    "Подобные эпизоды были и раньше, проходили самостоятельно.",
                    f"{'Лечился' if male else 'Лечилась'} самостоятельно, без существенного эффекта.",
                    "Хронические заболевания отрицает. Аллергологический анамнез не отягощён.",
                ]
            )
        )
        marital = MARITAL_RU[prior["sex"]][prior["marital_status"]]
        if prior["smoking"]:
            years = max(1, min(prior["age"] - 16, rng.randint(3, 30)))
            smoking = f"Курит {years} {_plural(years, 'год', 'года', 'лет')}, до {rng.choice([5, 10, 15, 20])} сигарет в день."
        else:
            smoking = rng.choice(["Не курит.", "Вредные привычки отрицает."])
        sentences.append(
            f"{'Мужчина' if male else 'Женщина'}, {prior['age']} {_plural(prior['age'], 'год', 'года', 'лет')}, {marital}. {smoking}"
        )
    if template in {"investigations", "anamnesis", "patient"} or rng.random() < 0.5:
        systolic, diastolic = rng.randint(105, 160), rng.randint(65, 100)
        sentences.append(
            f"Объективно: состояние {rng.choice(['удовлетворительное', 'относительно удовлетворительное'])}. "
            f"АД {systolic}/{diastolic} мм рт. ст., ЧСС {rng.randint(58, 98)} в минуту, "
            f"температура тела {rng.choice(['36,4', '36,6', '36,7', '36,9', '37,1', '37,4'])} °C."
        )
    if template == "investigations":
        sentences.append(
            rng.choice(
                [
                    f"В общем анализе крови лейкоциты {_decimal(rng.randint(40, 110) / 10)} × 10⁹/л, СОЭ {rng.randint(3, 30)} мм/ч.",
                    f"Глюкоза крови {_decimal(rng.randint(40, 70) / 10)} ммоль/л, общий холестерин {_decimal(rng.randint(35, 75) / 10)} ммоль/л.",
                    "На ЭКГ ритм синусовый, без острых очаговых изменений.",
                ]
            )
        )
    return " ".join(sentences)
