"""Readers for MedSyn's own knowledge-graph tables (`medsyn_mkg/`: `main_proc.csv`, `icd_symp_ru.csv`).

MedSyn (Kumichev et al., 2024) published its graph as two hand-edited CSV files whose list columns are Python list
literals or comma-separated text. Each row is checked as it is read and the first problem is named with its file
and line, because a silently skipped row would be a code with no symptoms and nobody would notice.

Two kinds of symptom list come out of a row, kept apart because their evidence differs:
- `hsdn`: HSDN's symptoms of the disease (PubMed co-occurrence), translated to Russian, with HSDN's TF-IDF weight.
  One item is one English MeSH term and may hold several Russian synonyms ("Высокая температура, температура").
- `listed`: a Russian list written without statistics (`symptoms_ru_no_stat`); every comma-separated item is its
  own symptom. `main_proc.csv` is read first; `icd_symp_ru.csv` (a later cut of the same lists) only adds the lists
  of codes that `main_proc.csv` leaves without one.
"""

from __future__ import annotations

import ast
import math
import re
from dataclasses import dataclass
from pathlib import Path

from medsyn.builder.kg.sources import _rows
from medsyn.errors import located

MAIN = "main_proc.csv"
LATER = "icd_symp_ru.csv"
CODE_RE = re.compile(r"^[A-Z]\d\d(\.[0-9A-Z]{1,2})?$")
GENDERS = {"neutral": None, "male": "male", "female": "female"}


@dataclass(frozen=True)
class HsdnItem:
    """One HSDN symptom of a code: its Russian synonyms (first = MedSyn's main wording), weight, English term."""

    synonyms: tuple[str, ...]
    tfidf: float
    english: str


@dataclass(frozen=True)
class MedsynRow:
    """What the graph takes from one MedSyn row."""

    code: str  # as written upstream: 3 to 5 characters after the letter, ICD-10 or ICD-10-CM
    file: str
    line: int
    prob: float  # MedSyn's sampling probability of the code
    gender: str | None  # "male" / "female" / None (neutral)
    hsdn: tuple[HsdnItem, ...]
    listed: tuple[str, ...]

    @property
    def has_russian(self) -> bool:
        return bool(self.hsdn or self.listed)


def split_items(text: str, sep: str = ",;") -> list[str]:
    """Comma- (and semicolon-) separated items, separators inside parentheses or «quotes» kept, blanks dropped."""
    items, depth, current = [], 0, []
    for char in text:
        if char in "(«":
            depth += 1
        elif char in ")»":
            depth = max(0, depth - 1)
        if char in sep and depth == 0:
            items.append("".join(current))
            current = []
        else:
            current.append(char)
    items.append("".join(current))
    return [item.strip(" .\t\n") for item in items if item.strip(" .\t\n")]


def _literal_list(path: Path, line: int, column: str, text: str, kind: type | tuple) -> list:
    if not text.strip():
        return []
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError):
        raise located(path, line, f"column {column}: not a Python list literal like ['a', 'b'] ({text[:60]!r}...)") from None
    if not isinstance(value, list) or not all(isinstance(item, kind) for item in value):
        raise located(path, line, f"column {column}: expected a list of {getattr(kind, '__name__', 'numbers')}")
    return value


def _code(path: Path, line: int, raw: str) -> str:
    code = raw.strip().upper().rstrip(".")  # "C20." occurs upstream
    if not CODE_RE.match(code):
        raise located(path, line, f"icd_10 {raw!r} is not an ICD-10 code like B00.1 or E74.04")
    return code


def read_main_proc(path: str | Path) -> list[MedsynRow]:
    """Every row of `main_proc.csv` (with or without Russian symptoms: probs and gender matter for all)."""
    path = Path(path)
    required = ["icd_10", "probs", "gender", "symptoms", "sympotoms_tf_idfs", "symptoms_ru", "symptoms_ru_no_stat"]
    rows = []
    for line, row in _rows(path, ",", required):
        code = _code(path, line, row["icd_10"])
        try:
            prob = float(row["probs"])
        except ValueError:
            raise located(path, line, f"probs {row['probs']!r} is not a number") from None
        if not math.isfinite(prob) or prob < 0:
            raise located(path, line, f"probs {row['probs']!r} must be a number >= 0")
        gender = row["gender"].strip().lower()
        if gender not in GENDERS:
            raise located(path, line, f"gender {row['gender']!r}: expected neutral, male or female")
        russian = _literal_list(path, line, "symptoms_ru", row["symptoms_ru"], str)
        weights = _literal_list(path, line, "sympotoms_tf_idfs", row["sympotoms_tf_idfs"], (int, float))
        english = _literal_list(path, line, "symptoms", row["symptoms"], str)
        if russian and not len(russian) == len(weights) == len(english):
            raise located(
                path, line, f"symptoms_ru ({len(russian)} items), sympotoms_tf_idfs ({len(weights)}) and symptoms "
                f"({len(english)}) must be aligned lists of the same length",
            )
        hsdn = tuple(
            HsdnItem(tuple(split_items(ru)), float(weight), en)
            for ru, weight, en in zip(russian, weights, english)
            if split_items(ru) and weight > 0
        )
        listed = tuple(split_items(row["symptoms_ru_no_stat"]))
        rows.append(MedsynRow(code, path.name, line, prob, GENDERS[gender], hsdn, listed))
    return rows


def read_icd_symp_ru(path: str | Path) -> dict[str, tuple[int, tuple[str, ...]]]:
    """code -> (line, listed symptoms) of `icd_symp_ru.csv`, rows with a Russian list only."""
    path = Path(path)
    lists: dict[str, tuple[int, tuple[str, ...]]] = {}
    for line, row in _rows(path, ",", ["icd_10", "symptoms_ru_no_stat"]):
        if not row["icd_10"].strip() and not row["symptoms_ru_no_stat"].strip():
            continue  # the file ends in rows with no code and no list (only InRuMedTop3 = 0)
        code = _code(path, line, row["icd_10"])
        items = tuple(split_items(row["symptoms_ru_no_stat"]))
        if items and code not in lists:
            lists[code] = (line, items)
    return lists


def read_medsyn_tables(folder: str | Path) -> list[MedsynRow]:
    """Rows of `main_proc.csv`, plus `icd_symp_ru.csv`'s lists where main_proc has none (that file optional)."""
    folder = Path(folder)
    rows = read_main_proc(folder / MAIN)
    later = folder / LATER
    if not later.exists():
        return rows
    extra = read_icd_symp_ru(later)
    seen = {row.code for row in rows}
    merged = []
    for row in rows:
        if not row.listed and row.code in extra:
            line, items = extra[row.code]
            row = MedsynRow(row.code, LATER, line, row.prob, row.gender, row.hsdn, items)
        merged.append(row)
    for code in sorted(set(extra) - seen):
        line, items = extra[code]
        merged.append(MedsynRow(code, LATER, line, 0.0, None, (), items))
    return merged
