"""Values of imported records: ICD-10 codes checked against МКБ-10, demographics and prompts in the shapes the
corpus schema stores (builder/corpus/schema.py). A value no table knows is an error naming the file, line and column."""

from __future__ import annotations

import json
import re
from typing import Any

from medsyn.builder.corpus import readers
from medsyn.errors import located

# ---------------------------------------------------------------------------------------------------- ICD-10 codes

_LATIN = str.maketrans("АВСЕНІКМОРТХУ", "ABCEHIKMOPTXY")
_CODE_SHAPE = re.compile(r"^([A-Z]\d[0-9A-Z])(?:\.?([0-9A-Z]{1,4}))?$")


def resolve_code(raw: object, codes: set[str]) -> tuple[str | None, str]:
    """(МКБ-10 code, how): "exact" when МКБ-10 has the code, "parent" when an ICD-10-CM code maps to its nearest
    МКБ-10 ancestor ("G40.89" -> "G40.8", "N40.0" -> "N40"), "unknown" (None) when МКБ-10 lacks even the category.

    Cyrillic look-alike letters, spaces, a missing dot ("M5416") and dagger/asterisk marks are forgiven.
    """
    text = str(raw or "").strip().upper().translate(_LATIN)
    text = re.sub(r"[\s†*+]", "", text).rstrip(".-")
    match = _CODE_SHAPE.match(text)
    if not match:
        return None, "unknown"
    category, rest = match.groups()
    code = f"{category}.{rest}" if rest else category
    if code in codes:
        return code, "exact"
    for end in range(len(code) - 1, 2, -1):
        parent = code[:end].rstrip(".")
        if parent in codes:
            return parent, "parent"
    return None, "unknown"


# ------------------------------------------------------------------------------------------------------ values

SEX = {
    "male": "male", "m": "male", "man": "male", "м": "male", "муж": "male", "мужской": "male", "мужчина": "male",
    "female": "female", "f": "female", "woman": "female", "ж": "female", "жен": "female", "женский": "female",
    "женщина": "female",
}  # fmt: skip
MARITAL = {
    "married": "married", "single": "single", "divorced": "divorced", "widowed": "widowed",
    "1": "married", "true": "married", "0": "single", "false": "single",
    "женат": "married", "женатый": "married", "замужем": "married", "замужняя": "married", "замужний": "married",
    "холост": "single", "холостой": "single", "не замужем": "single", "незамужняя": "single",
    "незамужний": "single", "неженатый": "single", "не женат": "single",
    "разведен": "divorced", "разведена": "divorced", "разведенный": "divorced", "разведенная": "divorced",
    "вдовец": "widowed", "вдова": "widowed", "вдовый": "widowed", "вдовая": "widowed",
}  # fmt: skip
SMOKING = {
    "true": True, "1": True, "yes": True, "да": True, "smoker": True, "курящий": True, "курящая": True,
    "курит": True, "false": False, "0": False, "no": False, "нет": False, "non-smoker": False,
    "nonsmoker": False, "некурящий": False, "некурящая": False, "не курит": False,
}  # fmt: skip


def is_null(value: object) -> bool:
    return value is None or (isinstance(value, float) and value != value) or (isinstance(value, str) and not value.strip())


def choice(record: readers.Record, column: str, table: dict) -> Any:
    value = record.values.get(column)
    if is_null(value):
        return None
    key = str(value).strip().lower().replace("ё", "е")
    if isinstance(value, bool):
        key = str(value).lower()
    elif isinstance(value, float) and value.is_integer():
        key = str(int(value))
    if key not in table:
        raise located(record.file, record.line, f"column {column!r}: unrecognised value {value!r}; expected one of "
                      f"{', '.join(sorted({str(k) for k in table}))}")  # fmt: skip
    return table[key]


def age(record: readers.Record, column: str) -> int | None:
    value = record.values.get(column)
    if is_null(value):
        return None
    try:
        years = int(float(str(value).strip()))
    except ValueError:
        raise located(record.file, record.line, f"column {column!r}: age {value!r} is not a number") from None
    if not 0 <= years <= 130:
        raise located(record.file, record.line, f"column {column!r}: age {years} is out of range 0-130")
    return years


def symptom_labels(record: readers.Record, column: str) -> list[str] | None:
    """A list of labels, a JSON array in a string (CSV), or a string separated by ';' (else ',')."""
    value = record.values.get(column)
    if value is None or (isinstance(value, float) and value != value):
        return None
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            try:
                value = json.loads(text)
            except json.JSONDecodeError:
                raise located(record.file, record.line, f"column {column!r}: not a valid JSON list") from None
        else:
            value = [part for part in re.split(";" if ";" in text else ",", text)]
    if not isinstance(value, (list, tuple)):
        raise located(record.file, record.line, f"column {column!r}: expected a list of symptom strings")
    labels = [" ".join(str(label).split()) for label in value if not is_null(label)]
    return list(dict.fromkeys(label for label in labels if label))


def messages(record: readers.Record, column: str) -> list[dict] | None:
    """A prompt string becomes one user message; a list of {role, content} is taken as the chat it was."""
    value = record.values.get(column)
    if is_null(value):
        return None
    if isinstance(value, str):
        return [{"role": "user", "content": value.strip()}]
    if isinstance(value, (list, tuple)) and all(isinstance(m, dict) and "role" in m and "content" in m for m in value):
        return [{"role": str(m["role"]), "content": str(m["content"])} for m in value]
    raise located(record.file, record.line, f"column {column!r}: expected a prompt string or a list of chat messages")
