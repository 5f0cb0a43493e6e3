"""Patient demographics for priors: who, in Russia, comes to an outpatient clinic.

Age and sex follow the Russian adult population. Source: Rosstat, "Численность населения Российской Федерации
по полу и возрасту на 1 января 2021 года" (statistical bulletin), five-year groups, thousands of people, rounded
to the nearest 50 thousand here; 85+ is one group. Children are left out: RuMedPrime, which the graph is built from,
is an adult outpatient sample.

Marital status by age and sex follows the shape of the 2010 All-Russian census (Vol. 4, "Состояние в браке"):
most adults married, the unmarried share falling with age, widowhood rising steeply for older women. The shares
below are rounded to that shape, not reproduced to the decimal.

Smoking prevalence: 34.6% of men and 8.3% of women (GATS Russia 2016 as MedSyn used it); nobody under 16 smokes.
"""

from __future__ import annotations

from dataclasses import dataclass

# (age_from, age_to inclusive, men thousands, women thousands)
AGE_SEX_TABLE: tuple[tuple[int, int, int, int], ...] = (
    (18, 19, 1450, 1400),
    (20, 24, 3500, 3400),
    (25, 29, 4300, 4250),
    (30, 34, 6050, 6050),
    (35, 39, 5650, 5800),
    (40, 44, 5100, 5350),
    (45, 49, 4600, 4950),
    (50, 54, 4150, 4650),
    (55, 59, 4600, 5600),
    (60, 64, 4200, 5700),
    (65, 69, 3300, 5000),
    (70, 74, 1950, 3650),
    (75, 79, 850, 2050),
    (80, 84, 650, 1800),
    (85, 95, 350, 1350),
)

SMOKING = {"male": 0.346, "female": 0.083}
MIN_SMOKING_AGE = 16

MARITAL_STATUSES = ("married", "single", "divorced", "widowed")
# Russian words used in prompts and notes, by sex.
MARITAL_RU = {
    "male": {"married": "женат", "single": "холост", "divorced": "разведён", "widowed": "вдовец"},
    "female": {"married": "замужем", "single": "не замужем", "divorced": "разведена", "widowed": "вдова"},
}
# (age_upper_bound inclusive, sex) -> shares of MARITAL_STATUSES
MARITAL_TABLE: dict[str, tuple[tuple[int, tuple[float, float, float, float]], ...]] = {
    "male": (
        (24, (0.15, 0.83, 0.02, 0.00)),
        (34, (0.55, 0.38, 0.07, 0.00)),
        (49, (0.72, 0.14, 0.12, 0.02)),
        (64, (0.75, 0.07, 0.12, 0.06)),
        (200, (0.68, 0.04, 0.08, 0.20)),
    ),
    "female": (
        (24, (0.28, 0.69, 0.03, 0.00)),
        (34, (0.62, 0.26, 0.11, 0.01)),
        (49, (0.64, 0.11, 0.18, 0.07)),
        (64, (0.53, 0.06, 0.16, 0.25)),
        (200, (0.25, 0.04, 0.09, 0.62)),
    ),
}


@dataclass(frozen=True)
class Demographics:
    sex: str  # "male" | "female"
    age: int
    marital_status: str  # one of MARITAL_STATUSES
    smoking: bool


def _pick(shares: list[float], u: float) -> tuple[int, float]:
    """The bin `u` falls in (bins sized by `shares`) and where inside it, rescaled to [0, 1).

    The position lets one uniform choose both an age group and the age within it.
    """
    total = float(sum(shares))
    acc = 0.0
    for i, share in enumerate(shares):
        width = share / total
        if u < acc + width:
            return i, (u - acc) / width
        acc += width
    return len(shares) - 1, 0.999999


def draw_demographics(
    u: tuple[float, float, float, float],
    sex_limit: str | None = None,
    age_limits: tuple[int, int] | None = None,
) -> Demographics:
    """Demographics from four uniforms in [0, 1): sex, age, marital status, smoking.

    Taking the randomness as arguments keeps the caller in charge of reproducibility (one counter-based stream
    per prior). A code limited to one sex fixes the sex; age limits (pregnancy) restrict the age groups.
    """
    lo, hi = age_limits or (0, 200)
    groups = [g for g in AGE_SEX_TABLE if g[1] >= lo and g[0] <= hi]
    if sex_limit:
        sex = sex_limit
    else:
        men, women = sum(g[2] for g in groups), sum(g[3] for g in groups)
        sex = "male" if u[0] < men / (men + women) else "female"
    column = 2 if sex == "male" else 3
    index, position = _pick([g[column] for g in groups], u[1])
    group = groups[index]
    a, b = max(group[0], lo), min(group[1], hi)
    # Spread the age uniformly inside its group, reusing the same uniform's position within the chosen group.
    age = int(a) + min(int(position * (b - a + 1)), b - a)
    for upper, shares in MARITAL_TABLE[sex]:
        if age <= upper:
            marital = MARITAL_STATUSES[_pick(list(shares), u[2])[0]]
            break
    smoking = bool(age >= MIN_SMOKING_AGE and u[3] < SMOKING[sex])
    return Demographics(sex, age, marital, smoking)

