"""Scorers: the filters every corpus goes through, plug-ins like the generation backends.

A scorer declares what the pipeline, the schema, the flags, the dataset card and the Space need to know of a
filter, so that none of them names a filter of its own: the columns it adds and their types (`Column`), the
reasons it rejects a note for and how a row's value compares to its threshold (`Rule`), its settings (`Setting`:
a flag of `medsyn build` and `medsyn import`, a YAML key, a key of build_info.json's `filters`), the card's row,
and `score`: a function of a batch of rows (a list of dicts) and a `Context` that returns each row's values of its
columns. A scorer reads nothing but its arguments, so the same function can run batch by batch on a distributed
engine (Ray Data's `map_batches`).

Built-in: the text filters of `filters` (symptom recall, leakage, copying, Cyrillic share, length) and the
people's names of `names`. A package adds its own by exposing a `Scorer` under the entry-point group
`medsyn.scorers`, named as the scorer is, e.g. in its pyproject.toml:

    [project.entry-points."medsyn.scorers"]
    myscorer = "mypackage.medsyn_scorer:SCORER"

Its columns come after every built-in column and its reasons after the built-in ones (`near_duplicate`, which
needs the whole corpus, stays the pipeline's own and comes last), plug-ins in the order of their names. The
registry is read when asked (parsing flags, writing or reading a corpus, rendering a card), not at import.
"""

from __future__ import annotations

import copyreg
import dataclasses
import functools
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field
from importlib.metadata import EntryPoint, entry_points
from typing import Any

from medsyn.builder.kg.graph import KnowledgeGraph
from medsyn.builder.quality import filters, judge, names, pii
from medsyn.builder.quality.real_notes import RealNotes
from medsyn.builder.quality.scoring import NoteToScore, complaint_labels, score_notes
from medsyn.errors import MedsynError
from medsyn.options import option

ENTRY_POINT_GROUP = "medsyn.scorers"
DTYPES = ("bool", "int32", "int64", "float32", "float64", "string")  # `datasets.Value` dtypes a column may have
AT_LEAST, AT_MOST, NONE = "at_least", "at_most", "none"  # how a kept row's value compares (`Rule.keep`)
SETTING_TYPES = {bool: "true or false", int: "a whole number", float: "a number"}
_FILTER_FIELDS = {f.name: f for f in dataclasses.fields(filters.FilterConfig)}
REAL_CHUNK = 4096  # notes compared with the real notes at a time


@dataclass(frozen=True)
class Column:
    """A column a scorer fills in every row: its type is a `datasets.Value` dtype (`many`: a list of them), and
    `about` says what it holds (the card's Fields table)."""

    name: str
    dtype: str
    many: bool = False
    about: str = ""


@dataclass(frozen=True)
class Setting:
    """A threshold or switch of a scorer. Its type is its default's: a float, an int or a bool."""

    name: str
    default: float | int | bool
    help: str


@dataclass(frozen=True)
class Rule:
    """A reason a scorer rejects a note for: the row's `column` against the setting `setting`. `AT_LEAST` keeps a
    value >= the setting, `AT_MOST` a value <= it, `NONE` (no setting) a value that is false or empty. A null value
    is not measured (an import without symptoms, a detector switched off) and never rejects."""

    reason: str
    column: str
    keep: str
    setting: str | None = None
    label: str = ""  # how the Space names the check (default: the reason)

    def rejects(self, row: Mapping[str, Any], thresholds: Mapping[str, Any]) -> bool:
        value = row.get(self.column)
        if value is None:
            return False
        if self.keep == NONE:
            return bool(value)
        threshold = thresholds[self.setting]
        return value < threshold if self.keep == AT_LEAST else value > threshold

    def shown(self, thresholds: Mapping[str, Any]) -> str:
        """The threshold as the card and the Space write it: `≥ 0.5`, `≤ 8`, or '' for `NONE`."""
        if self.keep == NONE:
            return ""
        return f"{'≥' if self.keep == AT_LEAST else '≤'} {thresholds[self.setting]}"


@dataclass(frozen=True)
class Scorer:
    """One filter. `score(rows, context)` returns, for each row in order, a dict of its columns' values (a column
    left out is null). `about` and `threshold` are the card's row: `threshold` is a `str.format` pattern over the
    settings a corpus records (or a function of them); without one the rules' thresholds are shown."""

    name: str
    columns: tuple[Column, ...]
    score: Callable[[list[dict], Context], list[dict]]
    rules: tuple[Rule, ...] = ()
    settings: tuple[Setting, ...] = ()
    about: str = ""
    threshold: str | Callable[[Mapping[str, Any]], str] | None = None

    def reasons(self, row: Mapping[str, Any], thresholds: Mapping[str, Any]) -> list[str]:
        return [rule.reason for rule in self.rules if rule.rejects(row, thresholds)]

    def card_row(self, recorded: Mapping[str, Any]) -> tuple[str, str] | None:
        """(what it checks, its threshold) when the corpus records every setting of this scorer; a scorer without
        settings (leakage) has no threshold to show, and its reason is counted in the card's reasons table."""
        if not self.settings or any(setting.name not in recorded for setting in self.settings):
            return None
        if callable(self.threshold):
            shown = self.threshold(recorded)
        elif self.threshold:
            shown = self.threshold.format(**recorded)
        else:
            shown = ", ".join(rule.shown(recorded) for rule in self.rules if rule.setting)
        return self.about or self.name, shown


@dataclass
class Context:
    """What scoring a batch takes besides its rows: the settings (a `FilterConfig`, with the plug-ins' settings as
    its fields: `filter_config_class`), and for the built-in text filters the knowledge graph (each code's
    complaints), the style examples' texts by id, a process pool and a `SymptomScorer` to reuse (the Space's)."""

    config: filters.FilterConfig
    graph: KnowledgeGraph | None = None
    examples: Mapping[str, str] = field(default_factory=dict)
    pool: Executor | None = None
    progress: bool = False
    symptom_scorer: filters.SymptomScorer | None = None
    real: RealNotes | None = None  # the real notes the generator learnt from, where known (`real_copies`)
    records: dict = field(default_factory=dict)  # what scorers report of the whole run (build_info.json: `judge`)
    _measured: tuple[list[dict] | None, list[filters.NoteScores]] = field(default=(None, []), init=False, repr=False)

    def measure(self, rows: list[dict]) -> list[filters.NoteScores]:
        """`filters.score_note` of each row, once per batch for all the built-in text filters: one matcher run of a
        note gives both its symptom recall and its leakage."""
        if self._measured[0] is not rows:
            notes = [NoteToScore(row["text"], tuple(symptom_labels(row) or ()), row["icd10_code"],
                                 row["icd10_name"] or "",
                                 self.examples.get(row["example_id"]) if row.get("example_id") else None,
                                 complaint_labels(self.graph, row["icd10_code"]) if self.graph else ())
                     for row in rows]  # fmt: skip
            self._measured = (rows, score_notes(notes, self.pool, self.progress, self.symptom_scorer))
        return self._measured[1]


def symptom_labels(row: Mapping[str, Any]) -> list[str] | None:
    """The labels of the row's prior symptoms; None where the source recorded none."""
    symptoms = row["prior"]["symptoms"]
    return None if symptoms is None else [symptom["label"] for symptom in symptoms]


def thresholds(config: filters.FilterConfig, scorers: Sequence[Scorer]) -> dict[str, Any]:
    """Every scorer's settings from `config`; one it lacks (a plain `FilterConfig`) is at its default."""
    return {setting.name: getattr(config, setting.name, setting.default)
            for scorer in scorers for setting in scorer.settings}  # fmt: skip


def score_batch(rows: list[dict], context: Context, scorers: Sequence[Scorer]) -> list[dict]:
    """Each scorer's columns on every row, then `reject_reasons`: the reasons of the rules a row fails, in the
    order of the scorers and of their rules."""
    limits = thresholds(context.config, scorers)
    for scorer in scorers:
        values = scorer.score(rows, context)
        if len(values) != len(rows):
            raise MedsynError(f"scorer {scorer.name} gave {len(values)} results for {len(rows)} rows")
        for row, value in zip(rows, values):
            row.update({column.name: value.get(column.name) for column in scorer.columns})
    for row in rows:
        row["reject_reasons"] = [reason for scorer in scorers for reason in scorer.reasons(row, limits)]
    return rows


# --- the registry -------------------------------------------------------------------------------------------


def registry() -> tuple[Scorer, ...]:
    """The built-in scorers, then those installed packages register under `medsyn.scorers` (by name)."""
    return BUILTIN + plugins(entry_points(group=ENTRY_POINT_GROUP))


def plugins(entries: Iterable[EntryPoint]) -> tuple[Scorer, ...]:
    """The scorers of these entry points, checked against the built-ins and each other: a plug-in that fails to
    load or clashes is one line naming its entry point, before any note is scored (a build without a filter its
    user installed would be a wrong corpus, not a smaller one)."""
    found: list[Scorer] = []
    for entry in sorted(entries, key=lambda e: e.name):
        where = f"scorer plug-in {entry.name} = {entry.value} ({ENTRY_POINT_GROUP})"
        try:
            scorer = entry.load()
            if callable(scorer) and not isinstance(scorer, Scorer):
                scorer = scorer()
        except Exception as exc:  # a plug-in's own bug: say which one, not a traceback of its import
            raise MedsynError(f"{where} failed to load: {type(exc).__name__}: {exc}") from None
        if not isinstance(scorer, Scorer):
            raise MedsynError(f"{where} is not a medsyn Scorer but {type(scorer).__name__}")
        if scorer.name != entry.name:
            raise MedsynError(f"{where} names its scorer {scorer.name!r}; name the entry point as the scorer")
        check(scorer, (*BUILTIN, *found), where)
        found.append(scorer)
    return tuple(found)


def check(scorer: Scorer, others: Sequence[Scorer], where: str) -> None:
    """A scorer's declarations are complete and clash with no other scorer's (names, columns, reasons, settings)."""
    def taken(kind: str, mine: Iterable[str], theirs: Iterable[str]) -> None:
        clash = sorted(set(mine) & set(theirs))
        if clash:
            raise MedsynError(f"{where}: {kind} {clash[0]!r} is another scorer's already; rename it")

    columns = {column.name for column in scorer.columns}
    settings = {setting.name for setting in scorer.settings}
    taken("the name", [scorer.name], [other.name for other in others])
    taken("the column", columns, [column.name for other in others for column in other.columns])
    taken("the reason", [rule.reason for rule in scorer.rules],
          [filters.NEAR_DUPLICATE, *(rule.reason for other in others for rule in other.rules)])
    taken("the setting", settings, [*_FILTER_FIELDS, *(s.name for other in others for s in other.settings)])
    for column in scorer.columns:
        if column.dtype not in DTYPES:
            raise MedsynError(f"{where}: column {column.name} has type {column.dtype!r}; use one of "
                              f"{', '.join(DTYPES)}")
    for setting in scorer.settings:
        if type(setting.default) not in SETTING_TYPES or not setting.name.isidentifier():
            raise MedsynError(f"{where}: setting {setting.name!r} has a default of type "
                              f"{type(setting.default).__name__}; a setting is a float, an int or a bool named like a "
                              "Python variable")
    for rule in scorer.rules:
        if rule.column not in columns or rule.keep not in (AT_LEAST, AT_MOST, NONE):
            raise MedsynError(f"{where}: rule {rule.reason} must compare one of its columns ({', '.join(columns)}) "
                              f"by {AT_LEAST}, {AT_MOST} or {NONE}")
        if (rule.keep == NONE) != (rule.setting is None) or (rule.setting and rule.setting not in settings):
            raise MedsynError(f"{where}: rule {rule.reason} compares with {rule.setting!r}, not one of its settings "
                              f"({', '.join(settings) or 'none'}); {NONE} takes no setting")


def filter_config_class(scorers: Sequence[Scorer] | None = None) -> type[filters.FilterConfig]:
    """`FilterConfig` with a field for each plug-in scorer's setting (the built-ins' are its own fields): what
    `medsyn build` and `medsyn import` parse, so a plug-in's setting is a flag, a YAML key, an attribute the
    pipeline reads and a key build_info.json records, like any other. `FilterConfig` itself when there is none."""
    scorers = registry() if scorers is None else scorers
    return _config_class(tuple(s for scorer in scorers for s in scorer.settings if s.name not in _FILTER_FIELDS))


@functools.lru_cache(maxsize=None)
def _config_class(settings: tuple[Setting, ...]) -> type[filters.FilterConfig]:
    if not settings:
        return filters.FilterConfig
    made = dataclasses.make_dataclass(
        "FilterConfig", [(s.name, type(s.default), option(s.default, s.help)) for s in settings],
        bases=(filters.FilterConfig,), frozen=True,
        namespace={"__post_init__": _check_settings, "scorer_settings": settings},
    )  # fmt: skip
    made.__module__ = __name__
    copyreg.pickle(made, _reduce)  # to a process pool by its values: the class is made anew in each process
    return made


def _check_settings(config: filters.FilterConfig) -> None:
    """The built-in checks, and each plug-in setting of its declared type (a YAML value or a Python caller's)."""
    filters.FilterConfig.__post_init__(config)
    for setting in config.scorer_settings:
        value, kind = getattr(config, setting.name), type(setting.default)
        fits = isinstance(value, bool) if kind is bool else (
            isinstance(value, (int, float) if kind is float else int) and not isinstance(value, bool))
        if not fits:
            raise MedsynError(f"filter setting {setting.name}={value!r}: expected {SETTING_TYPES[kind]}, e.g. "
                              f"--{setting.name.replace('_', '-')} {str(setting.default).lower()}")


def _reduce(config: filters.FilterConfig) -> tuple:
    return restore_filter_config, (dataclasses.asdict(config),)


def restore_filter_config(values: dict[str, Any]) -> filters.FilterConfig:
    """A `filter_config_class` instance from its values (how one reaches a pool's process)."""
    return filter_config_class()(**values)


# --- the built-in scorers -------------------------------------------------------------------------------------


def _own(name: str) -> Setting:
    """A built-in scorer's setting: the `FilterConfig` field, whose docs give the reasons for its default."""
    declared = _FILTER_FIELDS[name]
    return Setting(name, declared.default, declared.metadata["help"])


def _symptoms(rows: list[dict], context: Context) -> list[dict]:
    return [{"symptom_recall": s.symptom_recall, "matched_symptoms": s.matched_symptoms,
             "semantic_symptom_recall": s.semantic_symptom_recall} if row["prior"]["symptoms"] is not None else {}
            for row, s in zip(rows, context.measure(rows))]  # fmt: skip


def _leakage(rows: list[dict], context: Context) -> list[dict]:
    return [{"leakage": s.leakage} for s in context.measure(rows)]


def _copying(rows: list[dict], context: Context) -> list[dict]:
    return [{"example_overlap": s.example_overlap, "example_longest_ngram": s.example_longest_ngram}
            for s in context.measure(rows)]  # fmt: skip


def _russian(rows: list[dict], context: Context) -> list[dict]:
    return [{"cyrillic_share": s.cyrillic_share} for s in context.measure(rows)]


def _length(rows: list[dict], context: Context) -> list[dict]:
    return [{"n_words": s.n_words} for s in context.measure(rows)]


def _person_names(rows: list[dict], context: Context) -> list[dict]:
    if not context.config.detect_person_names:
        return [{} for _ in rows]
    return [{"person_names": found} for found in names.person_names([row["text"] for row in rows], context.progress)]


def _real_copies(rows: list[dict], context: Context) -> list[dict]:
    if context.real is None or not len(context.real):
        return [{} for _ in rows]
    config, found = context.config, []
    for start in range(0, len(rows), REAL_CHUNK):  # a chunk at a time: a corpus's vectors and words at once cost GBs
        texts = [row["text"] for row in rows[start : start + REAL_CHUNK]]
        closest, distance = context.real.closest(texts)
        longest = context.real.longest_shared(texts)
        found += [{"closest_real_id": id_, "dcr": float(d), "longest_shared_ngram": int(n),
                   "copies_real": bool(n > config.max_real_shared_words or d <= config.min_real_distance)}
                  for id_, d, n in zip(closest, distance, longest)]  # fmt: skip
    return found


def _pii(rows: list[dict], context: Context) -> list[dict]:
    if not context.config.detect_pii:
        return [{} for _ in rows]
    return [{"pii": found} for found in pii.find_all([row["text"] for row in rows])]


def _judge(rows: list[dict], context: Context) -> list[dict]:
    config = context.config
    if not config.judge_model:
        return [{} for _ in rows]
    values, usage = judge.judge(rows, config.judge_model, config.judge_base_url,
                                config.judge_cache or "judge.sqlite", config.judge_api_key_env,
                                config.judge_price_per_1k_input, config.judge_price_per_1k_output)
    context.records["judge"] = dataclasses.asdict(usage)
    return values


BUILTIN: tuple[Scorer, ...] = (
    Scorer("symptoms", (Column("symptom_recall", "float32", about="share of the prompt's symptoms the note mentions, "
                                                                  "not negated"),
                        Column("matched_symptoms", "string", many=True, about="the prompt's symptoms found"),
                        # navec word vectors: a static-embedding analogue of BERTScore recall; never a verdict
                        Column("semantic_symptom_recall", "float32",
                               about="embedding recall of the prompt's symptoms")),
           _symptoms, (Rule(filters.LOW_SYMPTOM_RECALL, "symptom_recall", AT_LEAST, "min_symptom_recall",
                            "symptom recall"),),
           (_own("min_symptom_recall"),), "symptom recall (share of prior symptoms the note mentions, negation-aware)",
           "≥ {min_symptom_recall}"),
    Scorer("leakage", (Column("leakage", "bool", about="the note names its code or diagnosis"),), _leakage,
           (Rule(filters.LEAKAGE, "leakage", NONE, label="diagnosis leakage"),), about="diagnosis leakage"),
    Scorer("copying", (Column("example_overlap", "float32", about="share of the note's word 5-grams in its example"),
                       Column("example_longest_ngram", "int32", about="longest word sequence shared with its example")),
           _copying, (Rule(filters.COPYING, "example_longest_ngram", AT_MOST, "max_example_longest_ngram",
                           "longest span copied from the example"),),
           (_own("max_example_longest_ngram"),), "longest word n-gram shared with the real style example",
           "≤ {max_example_longest_ngram} words"),
    Scorer("russian", (Column("cyrillic_share", "float32", about="share of Cyrillic letters"),), _russian,
           (Rule(filters.NOT_RUSSIAN, "cyrillic_share", AT_LEAST, "min_cyrillic_share", "Cyrillic share (Russian)"),),
           (_own("min_cyrillic_share"),), "share of Cyrillic letters", "≥ {min_cyrillic_share}"),
    Scorer("length", (Column("n_words", "int32", about="words in the note"),), _length,
           (Rule(filters.TOO_SHORT, "n_words", AT_LEAST, "min_words", "length in words"),
            Rule(filters.TOO_LONG, "n_words", AT_MOST, "max_words", "length in words")),
           (_own("min_words"), _own("max_words")), "length", "{min_words}–{max_words} words"),
    # Null when the build skipped the detection (`--detect-person-names false`).
    Scorer("person_names", (Column("person_names", "string", many=True, about="people's names found in the note"),),
           _person_names, (Rule(filters.PERSON_NAME, "person_names", NONE, label="people's names"),),
           (_own("detect_person_names"),), "people's names (natasha NER, medical eponyms excepted)",
           lambda recorded: "none allowed" if recorded["detect_person_names"] else "not checked"),
    # Null where no real notes are known (an import without --real, the graph's notes not found).
    Scorer("real_copies",
           (Column("closest_real_id", "string", about="the real note the generator learnt from closest to this one"),
            Column("dcr", "float32", about="distance to the closest real note (character 3-gram TF-IDF cosine)"),
            Column("longest_shared_ngram", "int32", about="longest word run shared with any real note"),
            Column("copies_real", "bool", about="a near or partial copy of a real note")),
           _real_copies, (Rule(filters.COPIES_REAL, "copies_real", NONE, label="copies of real notes"),),
           (_own("max_real_shared_words"), _own("min_real_distance")),
           "copies of the real notes the generator learnt from",
           "≤ {max_real_shared_words} shared words, distance > {min_real_distance}"),
    Scorer("pii", (Column("pii", "string", many=True, about="personal data found: phone, e-mail, birth date, "
                                                            "СНИЛС, полис ОМС, passport, address"),),
           _pii, (Rule(filters.PII, "pii", NONE, label="personal data"),), (_own("detect_pii"),),
           "personal data (phone, e-mail, birth date, document numbers, address)",
           lambda recorded: "none allowed" if recorded["detect_pii"] else "not checked"),
    # A score, never a verdict; null unless --judge-model is given.
    Scorer("judge", tuple(Column(f"judge_{name}", "int32", about=f"LLM judge: {about} (1-5)") for name, about in
                          (("plausibility", "clinical plausibility"),
                           ("agreement", "agreement with the prior's code, symptoms, sex and age"),
                           ("fluency", "Russian fluency"))) + (Column("judge_reason", "string",
                                                                      about="LLM judge: its short reason"),),
           _judge, about="LLM judge (scores only)"),
)
