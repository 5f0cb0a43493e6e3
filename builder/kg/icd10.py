"""Facts about ICD-10 codes that the dictionary itself does not carry: codes limited to one sex, pregnancy ages.

The sex limits follow the WHO ICD-10 instruction manual (Volume 2, "Categories limited to one sex" in the
mortality/morbidity edit lists); they are what keeps the sampler from writing a prostate note for a woman.
"""

from __future__ import annotations

import re

# Ranges are inclusive and compare codes as strings after padding ("N40" covers "N40.0".."N40.9").
MALE_ONLY = [
    "B26.0", "C60-C63", "D07.4-D07.6", "D17.6", "D29", "D40", "E29", "E89.5", "F52.4", "I86.1", "L29.1",
    "N40-N51", "Q53-Q55", "R86", "S31.2-S31.3", "Z12.5",
]  # fmt: skip
FEMALE_ONLY = [
    "A34", "B37.3", "C51-C58", "C79.6", "D06", "D07.0-D07.3", "D25-D28", "D39", "E28", "E89.4", "F52.5", "F53",
    "I86.3", "L29.2", "L70.5", "M80.0-M80.1", "M81.0-M81.1", "M83.0", "N70-N98", "N99.2-N99.3", "O00-O99",
    "P54.6", "Q50-Q52", "R87", "S31.4", "S37.4-S37.6", "T19.2-T19.3", "T83.3", "Z01.4", "Z12.4", "Z30.1",
    "Z30.3", "Z30.5", "Z31.1", "Z31.2", "Z32-Z36", "Z39", "Z43.7", "Z87.5", "Z97.5",
]  # fmt: skip
# Pregnancy, childbirth and the puerperium: reproductive ages only.
AGE_LIMITS = {"O00-O99": (15, 49)}

CODE_RE = re.compile(r"^[A-Z]\d\d(\.\d{1,2})?$")


def _in_range(code: str, spec: str) -> bool:
    lo, _, hi = spec.partition("-")
    hi = hi or lo
    # A 3-character bound covers all of its subcategories; a subcategory bound only itself (and its children).
    if len(lo) == 3:
        return lo <= code[:3] <= hi
    return len(code) >= len(lo) and lo <= code[: len(lo)] <= hi


def sex_limit(code: str) -> str | None:
    """'male', 'female' or None for a code usable for both."""
    if any(_in_range(code, spec) for spec in MALE_ONLY):
        return "male"
    if any(_in_range(code, spec) for spec in FEMALE_ONLY):
        return "female"
    return None


def age_limit(code: str) -> tuple[int, int] | None:
    for spec, limits in AGE_LIMITS.items():
        if _in_range(code, spec):
            return limits
    return None

