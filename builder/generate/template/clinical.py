"""Clinical consistency of template notes, kept as tables: what a code and its symptoms imply about the findings.

In the spirit of Synthea's disease modules: a fever symptom gives a temperature of 37.5 °C or more, a hypertension
code raised pressure, palpitations a fast pulse; acute infections have lasted days, chronic diseases months or
years. Each concern is one table below, read by `findings()`; `check_vitals()` is the validity rule the notes
are held to (and `benchmarks/bench_realism.py` checks them against it).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from functools import lru_cache

from medsyn.builder.text.morphology import lemmatize

# -- acuity: how long the illness has lasted ---------------------------------------------------------------------
# (first code, last code, acuity) over 3-character codes; the first matching row wins, so specific rows come first.
ACUITY_TABLE: tuple[tuple[str, str, str], ...] = (
    ("B18", "B18", "chronic"),  # chronic viral hepatitis: an infection of years
    ("A00", "B99", "acute"),  # infections
    ("I60", "I64", "subacute"),  # stroke: seen in outpatients weeks after it, not years
    ("H10", "H10", "acute"),  # conjunctivitis
    ("H60", "H67", "acute"),  # otitis externa / media
    ("J00", "J06", "acute"),  # acute upper respiratory infections
    ("J09", "J22", "acute"),  # influenza, pneumonia, acute lower respiratory infections
    ("K35", "K37", "acute"),  # appendicitis
    ("K52", "K52", "subacute"),  # non-infective gastroenteritis and colitis
    ("L01", "L08", "acute"),  # skin infections
    ("L50", "L50", "subacute"),  # urticaria
    ("N10", "N10", "acute"),  # acute pyelonephritis
    ("N30", "N30", "subacute"),  # cystitis
    ("N34", "N34", "subacute"),  # urethritis
    ("N76", "N76", "subacute"),  # vaginitis
    ("S00", "T98", "subacute"),  # injuries
    ("Z00", "Z99", "checkup"),  # check-ups: complaints are minor and vague
)
# acuity -> ((unit, min, max, share), ...): every acute duration is at most 4 weeks.
DURATIONS: dict[str, tuple[tuple[str, int, int, float], ...]] = {
    "acute": (("day", 1, 10, 0.8), ("week", 1, 2, 0.2)),
    "subacute": (("day", 2, 14, 0.5), ("week", 1, 4, 0.5)),
    "chronic": (("week", 2, 6, 0.1), ("month", 1, 11, 0.45), ("year", 1, 15, 0.45)),
    "checkup": (("week", 1, 4, 0.3), ("month", 1, 6, 0.7)),
    # a malignancy is found within months of its first complaints: a cancer "for 10 years" read as absurd to every
    # blind reviewer
    "malignant": (("week", 2, 8, 0.3), ("month", 1, 11, 0.7)),
}
MALIGNANT = (("C00", "C97"), ("D37", "D48"))  # malignant and uncertain neoplasms
DAYS_PER_UNIT = {"day": 1, "week": 7, "month": 30, "year": 365}


def is_malignant(code: str) -> bool:
    return any(first <= code[:3].upper() <= last for first, last in MALIGNANT)


def acuity(code: str) -> str:
    """'acute', 'subacute', 'chronic' or 'checkup' for an ICD-10 code (any length); chronic unless listed."""
    head = code[:3].upper()
    for first, last, kind in ACUITY_TABLE:
        if first <= head <= last:
            return kind
    return "chronic"


# -- findings driven by symptoms and codes -----------------------------------------------------------------------
# A symptom triggers a finding when all lemmas of one of its keys occur in the label (pymorphy3 lemmas).
SYMPTOM_FINDINGS: dict[str, tuple[tuple[str, ...], ...]] = {
    "fever": (("повышение", "температура"), ("температура",), ("лихорадка",), ("жар",), ("субфебрилитет",),
              ("фебрильный",), ("озноб",)),
    "tachycardia": (("сердцебиение",), ("тахикардия",), ("учащенный", "пульс")),
    "bradycardia": (("брадикардия",), ("редкий", "пульс")),
    "hypertension": (("повышение", "ад"), ("повышение", "давление"), ("высокий", "давление"), ("гипертензия",),
                     ("гипертония",)),
    "hypotension": (("снижение", "ад"), ("понижение", "давление"), ("низкий", "давление"), ("гипотония",)),
    "dyspnoea": (("одышка",), ("нехватка", "воздух"), ("удушье",), ("асфиксия",)),
}
# Codes whose patients show a finding whatever their symptoms.
CODE_FINDINGS: dict[str, tuple[tuple[str, str], ...]] = {
    "hypertension": (("I10", "I15"),),
    "tachycardia": (("E05", "E05"),),  # thyrotoxicosis
    "fever": (("J18", "J18"),),  # pneumonia
}
# Vital signs: the range drawn for each state, and the limits a valid record stays within.
VITALS: dict[str, dict[str, tuple[float, float]]] = {
    "temperature": {"normal": (36.0, 36.9), "fever": (37.5, 39.4), "subfebrile": (37.5, 37.9)},
    "systolic": {"normal": (105, 135), "hypertension": (145, 180), "hypotension": (88, 100)},
    "pulse_pressure": {"normal": (35, 55), "hypertension": (50, 75), "hypotension": (30, 40)},
    "diastolic": {"normal": (60, 90), "hypertension": (90, 115), "hypotension": (55, 65)},
    "pulse": {"normal": (60, 88), "tachycardia": (96, 124), "bradycardia": (46, 56), "fever": (86, 108)},
    "respiratory_rate": {"normal": (14, 18), "dyspnoea": (19, 24)},
    "spo2": {"normal": (96, 99), "dyspnoea": (93, 96)},
}
LIMITS: dict[str, tuple[float, float]] = {
    "temperature": (35.5, 41.0),
    "systolic": (80, 220),
    "diastolic": (45, 125),
    "pulse_pressure": (25, 80),  # below 25 mmHg (111/100) or above 80 is not a plausible outpatient reading
    "pulse": (40, 150),
    "respiratory_rate": (10, 30),
    "spo2": (85, 100),
}


# Lemmas that make a label a complaint of fever itself ("повышение температуры тела", "лихорадочное состояние"):
# a note that says one says no second one, nor a temperature after it. Chills ("озноб") go with a fever, not for it.
FEVER_LEMMAS = frozenset({"температура", "лихорадка", "лихорадочный", "жар", "субфебрилитет", "фебрильный",
                          "гипертермия"})


@lru_cache(maxsize=20_000)
def says_fever(label: str) -> bool:
    return bool(FEVER_LEMMAS & set(lemmatize(label.lower())))


@lru_cache(maxsize=20_000)
def symptom_findings(label: str) -> frozenset[str]:
    lemmas = set(lemmatize(label))
    return frozenset(
        finding for finding, keys in SYMPTOM_FINDINGS.items() if any(set(key) <= lemmas for key in keys)
    )


def code_findings(code: str) -> frozenset[str]:
    head = code[:3].upper()
    return frozenset(
        finding for finding, ranges in CODE_FINDINGS.items() if any(a <= head <= b for a, b in ranges)
    )


def prior_findings(code: str, labels: list[str]) -> frozenset[str]:
    found = set(code_findings(code))
    for label in labels:
        found |= symptom_findings(label)
    return frozenset(found)


@dataclass(frozen=True)
class Findings:
    temperature: float
    systolic: int
    diastolic: int
    pulse: int
    respiratory_rate: int
    spo2: int
    duration_unit: str  # "day" | "week" | "month" | "year"
    duration: int

    @property
    def duration_days(self) -> int:
        return self.duration * DAYS_PER_UNIT[self.duration_unit]


def _draw(rng: random.Random, bounds: tuple[float, float]) -> int:
    return rng.randint(int(bounds[0]), int(bounds[1]))


def findings(code: str, labels: list[str], age: int, rng: random.Random) -> Findings:
    """Vitals and duration consistent with the code and the prior's symptom labels."""
    found = prior_findings(code, labels)
    state = "fever" if "fever" in found else "normal"
    temperature = round(rng.uniform(*VITALS["temperature"][state]), 1)
    pressure = "hypertension" if "hypertension" in found else "hypotension" if "hypotension" in found else "normal"
    systolic = _draw(rng, VITALS["systolic"][pressure]) + (rng.randint(0, 10) if age >= 60 and pressure == "normal" else 0)
    low, high = VITALS["diastolic"][pressure]
    diastolic = int(min(max(systolic - _draw(rng, VITALS["pulse_pressure"][pressure]), low), high))
    rhythm = next((s for s in ("tachycardia", "bradycardia", "fever") if s in found), "normal")
    pulse = _draw(rng, VITALS["pulse"][rhythm])
    breath = "dyspnoea" if "dyspnoea" in found else "normal"
    unit, lo, hi = _duration_row("malignant" if is_malignant(code) else acuity(code), rng)
    n = rng.randint(lo, hi)
    if unit == "year":  # nobody has been ill for longer than their adult life
        n = max(1, min(n, age - 17))
    return Findings(
        temperature=temperature,
        systolic=systolic,
        diastolic=diastolic,
        pulse=pulse,
        respiratory_rate=_draw(rng, VITALS["respiratory_rate"][breath]),
        spo2=_draw(rng, VITALS["spo2"][breath]),
        duration_unit=unit,
        duration=n,
    )


def _duration_row(kind: str, rng: random.Random) -> tuple[str, int, int]:
    rows = DURATIONS[kind]
    u, acc = rng.random() * sum(r[3] for r in rows), 0.0
    for unit, lo, hi, share in rows:
        acc += share
        if u < acc:
            return unit, lo, hi
    return rows[-1][:3]


def check_vitals(values: dict[str, float]) -> list[str]:
    """Names of the vitals in `values` outside LIMITS (pulse pressure computed from systolic and diastolic)."""
    values = dict(values)
    if "systolic" in values and "diastolic" in values:
        values["pulse_pressure"] = values["systolic"] - values["diastolic"]
    return [name for name, value in values.items() if name in LIMITS and not LIMITS[name][0] <= value <= LIMITS[name][1]]
