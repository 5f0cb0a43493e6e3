"""Measures of how real template notes look: sentence-pattern variety, clinical consistency, valid vitals.

Shared by `benchmarks/bench_realism.py` (which prints them for a 10,000-note build) and the tests. They read the
note text only (and the prior's code and symptoms), so they apply to any backend's notes written in the same
conventions.
"""

from __future__ import annotations

import re
from collections import Counter
from functools import lru_cache

from medsyn.builder.generate.template import clinical
from medsyn.builder.kg.graph import load_graph
from medsyn.builder.kg.wordings import load_wordings
from medsyn.builder.text.morphology import STOPWORDS, lemma, lemmatize

VITAL_PATTERNS = {
    "temperature": re.compile(r"(?:температура(?: тела)?(?: до)?|\bt|\bТ тела)\s+(\d{2}[,.]\d)", re.IGNORECASE),
    "blood_pressure": re.compile(r"\b(\d{2,3})/(\d{2,3})\b"),
    "pulse": re.compile(r"(?:ЧСС|[Пп]ульс)\s+(\d{2,3})"),
    "respiratory_rate": re.compile(r"ЧДД\s+(\d{1,2})"),
    "spo2": re.compile(r"сатурация\s+(\d{2,3})%"),
}
UNIT_DAYS = {"день": 1, "дня": 1, "дней": 1, "неделю": 7, "недели": 7, "недель": 7, "месяц": 30, "месяца": 30,
             "месяцев": 30, "год": 365, "года": 365, "лет": 365}
DURATION = re.compile(
    r"(?:в течение|около|на протяжении|болеет|больн(?:ым|ой)|болен|больна|беспокоят|заболел[а]?)\s+(?:уже\s+)?"
    r"(?:(\d+)\s+)?(день|дня|дней|неделю|недели|недель|месяц|месяца|месяцев|год|года|лет)\b",
    re.IGNORECASE,
)
SENTENCE = re.compile(r"[^.!?]+[.!?]?")
TOKEN = re.compile(r"[а-яёa-z]+|\d+|[^\sа-яёa-z\d]", re.IGNORECASE)


@lru_cache(maxsize=1)
def symptom_lemmas() -> frozenset[str]:
    graph = load_graph()
    phrases = set(graph.symptom_labels)
    for rows in load_wordings().values():
        phrases |= {w for w, _ in rows}
    return frozenset(lem for phrase in phrases for lem in lemmatize(phrase) if lem not in STOPWORDS)


def note_symptom_lemmas(labels: list[str]) -> frozenset[str]:
    """The words a note's own symptoms may be said with (its labels and their learnt wordings): masking only those,
    not every word of a lexicon that MedSyn's lists made large, keeps the template's frame visible."""
    wordings = load_wordings()
    phrases = set(labels) | {w for label in labels for w, _ in wordings.get(label, ())}
    return frozenset(lem for phrase in phrases for lem in lemmatize(phrase) if lem not in STOPWORDS)


def sentence_patterns(text: str, masked: set[str]) -> set[str]:
    """Each sentence with numbers -> 0 and symptom words -> * (runs of them, with the commas, prepositions and
    "и" between them, collapse into one *): what is left is the template's frame."""
    patterns = set()
    for sentence in SENTENCE.findall(text.replace("рт. ст.", "рт ст")):
        out: list[str] = []
        for tok in TOKEN.findall(sentence.lower()):
            if tok.isdigit():
                tok = "0"
            elif tok.isalpha() and lemma(tok) in masked:
                tok = "*"
            if tok == "*" and out:
                while len(out) > 1 and out[-1] in {",", "и"} | STOPWORDS and out[-2] == "*":
                    out.pop()
                if out[-1] == "*":
                    continue
            out.append(tok)
        if out:
            patterns.add(" ".join(out))
    return patterns


def vitals(text: str) -> dict[str, float]:
    """The vital signs a note states (first mention of each)."""
    values: dict[str, float] = {}
    if m := VITAL_PATTERNS["temperature"].search(text):
        values["temperature"] = float(m.group(1).replace(",", "."))
    if m := VITAL_PATTERNS["blood_pressure"].search(text):
        values["systolic"], values["diastolic"] = int(m.group(1)), int(m.group(2))
    for name in ("pulse", "respiratory_rate", "spo2"):
        if m := VITAL_PATTERNS[name].search(text):
            values[name] = int(m.group(1))
    return values


def duration_days(text: str) -> int | None:
    """How long the note says the illness has lasted, in days (None when it does not say)."""
    if m := DURATION.search(text):
        return int(m.group(1) or 1) * UNIT_DAYS[m.group(2)]
    return None


def realism(rows: list[dict]) -> dict:
    """The measures over notes given as corpus rows (`text`, `icd10_code`, `prior`)."""
    pattern_notes: Counter = Counter()
    fever = [0, 0]
    acute = [0, 0]
    invalid = 0
    distinct: dict[str, set] = {k: set() for k in ("temperature", "systolic", "diastolic", "pulse",
                                                    "respiratory_rate", "spo2", "duration_days")}
    for row in rows:
        text = row["text"]
        labels = [s["label"] for s in row["prior"]["symptoms"]]
        pattern_notes.update(sentence_patterns(text, note_symptom_lemmas(labels)))
        values = vitals(text)
        for name, value in values.items():
            distinct[name].add(value)
        invalid += bool(clinical.check_vitals(values))
        if "fever" in clinical.prior_findings(row["icd10_code"], labels) and "temperature" in values:
            fever[0] += 1
            fever[1] += values["temperature"] >= 37.5
        if (days := duration_days(text)) is not None:
            distinct["duration_days"].add(days)
            if clinical.acuity(row["icd10_code"]) == "acute":
                acute[0] += 1
                acute[1] += days <= 28
    pattern, count = pattern_notes.most_common(1)[0]
    return {
        "notes": len(rows),
        "top_pattern": pattern,
        "top_pattern_share": count / len(rows),
        "fever_notes_with_temperature": fever[0],
        "fever_consistency": fever[1] / fever[0] if fever[0] else None,
        "acute_notes_with_duration": acute[0],
        "acute_duration_consistency": acute[1] / acute[0] if acute[0] else None,
        "invalid_vitals": invalid,
        "distinct_values": {k: len(v) for k, v in distinct.items()},
    }


