"""Importing notes generated elsewhere into a medsyn corpus folder: map columns, check codes against МКБ-10, score,
judge and deduplicate exactly as `medsyn build` does, and write the same folder layout with the same writer.

What the source does not record stays null (no made-up seeds, families or token counts), and `build_info.json`
lists those fields so the card can say so. Nothing depends on the clock or on hash randomness: importing the same
source twice gives byte-identical folders.
"""

from __future__ import annotations

import difflib
import json
import logging
from collections import Counter
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from tqdm.auto import tqdm

from medsyn import __version__
from medsyn.builder.corpus import readers
from medsyn.builder.quality import dedup, filters, names
from medsyn.builder.corpus.values import MARITAL, SEX, SMOKING, age, choice, is_null, messages, resolve_code
from medsyn.builder.corpus.values import symptom_labels
from medsyn.builder.kg.graph import KnowledgeGraph, load_graph
from medsyn.builder.corpus.provenance import public
from medsyn.errors import MedsynError
from medsyn.io import atomic_dir, prepare_output
from medsyn.options import option

log = logging.getLogger(__name__)

COLUMN_FIELDS = (
    "text_column", "code_column", "id_column", "symptoms_column", "prompt_column", "model_column",
    "sex_column", "age_column", "marital_status_column", "smoking_column",
)  # fmt: skip
# Column layouts of known generators' outputs. MedSyn (milteam/MedSyn, data/data_raw/chatgpt_generated): one JSON
# array per file of {desease_code, symptoms, prompt, response, gender, marital_state (1 married, 0 not), smoking
# ("курящий"/"некурящая"...), desease_name, UID}.
PRESETS: dict[str, dict[str, str]] = {
    "medsyn": {
        "text_column": "response",
        "code_column": "desease_code",
        "id_column": "UID",
        "symptoms_column": "symptoms",
        "prompt_column": "prompt",
        "sex_column": "gender",
        "marital_status_column": "marital_state",
        "smoking_column": "smoking",
    },
}
# A preset's columns that some files of its own generator lack: MedSyn's GPT-4 results (0_0.5k_gpt4) have no UID.
# A preset must read every file its generator wrote, so where such a column is missing the field is filled as if
# no column had been given (ids: FILE#LINE). A column the user names is still required.
PRESET_OPTIONAL: dict[str, frozenset[str]] = {"medsyn": frozenset({"id_column"})}
# Schema fields an import fills only from a column; without it they are null in every row.
OPTIONAL_FIELDS = {
    "symptoms_column": ["prior.symptoms", "symptom_recall", "matched_symptoms"],
    "prompt_column": ["messages"],
    "sex_column": ["prior.sex"],
    "age_column": ["prior.age"],
    "marital_status_column": ["prior.marital_status"],
    "smoking_column": ["prior.smoking"],
}
ALWAYS_NULL = ["backend", "prompt_family", "prompt_template", "example_id", "seed", "prompt_tokens",
               "completion_tokens", "prior.symptoms.weight"]  # fmt: skip


@dataclass
class ImportConfig:
    """How source columns map onto the corpus schema, and where the notes came from (each field is a flag of
    `medsyn import`; the filter thresholds are `FilterConfig`'s flags, as for `medsyn build`)."""

    preset: str | None = option(None, "column layout of a known generator: medsyn (desease_code, symptoms, prompt, "
                                "response, gender, marital_state, smoking, UID where a file has it)")
    text_column: str | None = option(None, "column holding the note")
    code_column: str | None = option(None, "column holding the note's ICD-10 code (checked against МКБ-10; "
                                     "ICD-10-CM codes map to their МКБ-10 parent)")
    id_column: str | None = option(None, "column with a unique note id (default: FILE#LINE)")
    symptoms_column: str | None = option(None, "column with the prompt's symptoms (a list, a JSON list, or "
                                         "';'-separated); enables symptom recall")
    prompt_column: str | None = option(None, "column with the prompt sent (a string or a list of chat messages)")
    model_column: str | None = option(None, "column naming the model that wrote each note")
    generation_model: str | None = option(None, "the model that wrote every note (instead of --model-column)")
    sex_column: str | None = option(None, "column with the patient's sex (male/female, м/ж, ...)")
    age_column: str | None = option(None, "column with the patient's age")
    marital_status_column: str | None = option(None, "column with marital status (married/single/divorced/widowed, "
                                               "or 1/0 for married)")
    smoking_column: str | None = option(None, "column with smoking status (true/false, курящий/некурящий, ...)")
    hub_split: str = option("train", "split to read from a Hub dataset source")
    source_name: str | None = option(None, "name of the source in the `source` column and the card (default: "
                                     "from the sources)")
    source_url: str | None = option(None, "where the notes come from (recorded in build_info.json and the card)")
    license: str | None = option(None, "license of the notes (card metadata, e.g. mit)")
    pretty_name: str | None = option(None, "title of the dataset card")
    against: list[Path] = option([], "existing corpus folder(s): also remove near-duplicates of their notes")
    graph: Path | None = option(None, "knowledge graph file (default: the embedded graph)")
    rows_per_shard: int = option(20_000, "rows per parquet shard")

    def validate(self) -> None:
        self.resolved()

    def resolved(self) -> "ImportConfig":
        """The preset's columns under the flags given (flags win), checked before any file is read."""
        values = asdict(self)
        if self.preset is not None:
            if self.preset not in PRESETS:
                close = difflib.get_close_matches(self.preset, PRESETS, n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                raise MedsynError(f"unknown preset {self.preset!r}{hint}; choose one of {', '.join(sorted(PRESETS))}")
            for key, column in PRESETS[self.preset].items():
                if values[key] is None:
                    values[key] = column
        config = replace(self, **values)
        missing = [f"--{name.replace('_', '-')}" for name in ("text_column", "code_column") if not values[name]]
        if missing:
            raise MedsynError(
                f"{' and '.join(missing)} needed: which source column holds the note and which its ICD-10 code "
                f"(or a --preset: {', '.join(sorted(PRESETS))})"
            )
        if config.model_column and config.generation_model:
            raise MedsynError("give either --model-column or --generation-model, not both")
        if config.rows_per_shard < 1:
            raise MedsynError(f"rows_per_shard must be an integer >= 1, got {config.rows_per_shard}")
        return config

    def columns(self) -> dict[str, str]:
        return {name: getattr(self, name) for name in COLUMN_FIELDS if getattr(self, name)}

    def optional_columns(self) -> frozenset[str]:
        """The preset's columns a file may lack, less those the user named (call before `resolved`, which cannot
        tell a preset's column from the same column given as a flag)."""
        return frozenset(name for name in PRESET_OPTIONAL.get(self.preset or "", ()) if getattr(self, name) is None)


@dataclass
class ImportReport:
    out: Path
    read: int = 0
    imported: int = 0
    kept: int = 0
    near_duplicates: int = 0
    against_duplicates: int = 0
    reject_reasons: Counter = field(default_factory=Counter)
    skipped: Counter = field(default_factory=Counter)
    codes: dict = field(default_factory=dict)


# -------------------------------------------------------------------------------------------------------- rows


def _check_columns(source: readers.SourceFile, records: list[readers.Record], config: ImportConfig,
                   optional: frozenset[str] = frozenset()) -> None:
    found = list(dict.fromkeys(key for record in records for key in record.values))
    for name, column in config.columns().items():
        if column not in found and name not in optional:
            raise MedsynError(
                f"{source.path or source.name}: no column {column!r} (--{name.replace('_', '-')}); columns found: "
                f"{', '.join(map(str, found))}"
            )


def _row(record: readers.Record, config: ImportConfig, graph: KnowledgeGraph, code: str, source: str) -> dict:
    columns = config.columns()
    text = str(record.values[config.text_column]).strip()
    row_id = record.values.get(config.id_column) if config.id_column else None
    model = record.values.get(config.model_column) if config.model_column else config.generation_model
    symptoms = symptom_labels(record, columns["symptoms_column"]) if "symptoms_column" in columns else None
    return {
        "id": str(row_id).strip() if not is_null(row_id) else f"{record.file}#{record.line}",
        "icd10_code": code[:3],
        "icd10_name": graph.name(code[:3]),
        "icd10_chapter": graph.chapter(code[:3])["code"],
        "generation_model": None if is_null(model) else str(model).strip(),
        "backend": None,
        "prompt_family": None,
        "prompt_template": None,
        "messages": messages(record, columns["prompt_column"]) if "prompt_column" in columns else None,
        "prior": {
            "symptoms": None if symptoms is None else [{"label": label, "weight": None} for label in symptoms],
            "sex": choice(record, columns["sex_column"], SEX) if "sex_column" in columns else None,
            "age": age(record, columns["age_column"]) if "age_column" in columns else None,
            "marital_status": (
                choice(record, columns["marital_status_column"], MARITAL) if "marital_status_column" in columns else None
            ),
            "smoking": choice(record, columns["smoking_column"], SMOKING) if "smoking_column" in columns else None,
        },
        "example_id": None,
        "text": text,
        "seed": None,
        "prompt_tokens": None,
        "completion_tokens": None,
        "source": source,
        "source_code": str(record.values[config.code_column]).strip(),
    }


def _score(row: dict, graph: KnowledgeGraph, config: filters.FilterConfig, scorer: filters.SymptomScorer) -> None:
    from medsyn.builder.corpus.build import complaint_labels  # imports datasets: not at `medsyn import --help`

    code = row["icd10_code"]
    labels = [s["label"] for s in row["prior"]["symptoms"]] if row["prior"]["symptoms"] is not None else []
    scores = filters.score_note(row["text"], labels, code, row["icd10_name"], None, scorer,
                                complaints=complaint_labels(graph, code))
    reasons = filters.reject_reasons(scores, config)
    measured = row["prior"]["symptoms"] is not None
    row.update(
        symptom_recall=scores.symptom_recall if measured else None,
        matched_symptoms=scores.matched_symptoms if measured else None,
        semantic_symptom_recall=scores.semantic_symptom_recall if measured else None,
        leakage=scores.leakage,
        example_overlap=scores.example_overlap,
        example_longest_ngram=scores.example_longest_ngram,
        cyrillic_share=scores.cyrillic_share,
        n_words=scores.n_words,
        bertscore_precision=None,
        bertscore_recall=None,
        bertscore_f1=None,
        reject_reasons=reasons,
    )


def read_against(folders: list[str]) -> list[tuple[str, list[str], list[str]]]:
    """(folder, ids, texts) of the kept notes of each existing corpus to deduplicate against."""
    import pyarrow.parquet as pq

    from medsyn.dataset_card.validate import DATA_GLOB, shard_paths

    result = []
    for folder in folders:
        path = Path(folder)
        shards = shard_paths(path, DATA_GLOB) if path.is_dir() else []
        if not shards:
            raise MedsynError(f"--against {folder}: not a corpus folder (no {DATA_GLOB}); pass a `medsyn build` output")
        ids, texts = [], []
        for shard in shards:
            try:
                table = pq.read_table(shard, columns=["id", "text"])
            except Exception as err:  # a damaged or foreign parquet file
                raise MedsynError(f"{shard}: cannot read id and text ({err})") from None
            ids += table.column("id").to_pylist()
            texts += table.column("text").to_pylist()
        result.append((folder, ids, texts))
    return result


def default_source_name(sources: list[str]) -> str:
    names_ = [Path(src.rstrip("/")).stem if Path(src).exists() else readers.HUB_ID.match(src).group(1)
              for src in sources]  # fmt: skip
    return "+".join(dict.fromkeys(names_))


def import_corpus(
    sources: list[str], out: str | Path, config: ImportConfig, filter_config: filters.FilterConfig | None = None,
    overwrite: bool = False, progress: bool = True,
) -> ImportReport:
    """Write the corpus folder `out` from the notes of `sources` (files, folders or a Hub dataset id)."""
    from medsyn.builder.corpus.build import LEGACY_CORPUS, write_shards

    out = Path(out)
    optional = config.optional_columns()
    config = config.resolved()
    prepare_output(out, overwrite, legacy=LEGACY_CORPUS)  # before reading and scoring, not after
    filter_config = filter_config or filters.FilterConfig()
    graph = load_graph(config.graph)
    files = readers.expand(sources, config.hub_split)
    against = read_against(config.against)
    source = config.source_name or default_source_name(sources)
    known_codes = set(graph.codes)
    report = ImportReport(out)
    mapped: dict[str, str] = {}
    unknown: Counter = Counter()
    exact = 0
    rows: list[dict] = []
    seen: dict[str, str] = {}
    for source_file in tqdm(files, desc="reading", unit="file", disable=not progress or len(files) < 2):
        records = readers.read(source_file)
        if not records:
            continue
        _check_columns(source_file, records, config, optional)
        for record in records:
            report.read += 1
            text = record.values.get(config.text_column)
            if is_null(text):
                report.skipped["empty_text"] += 1
                continue
            raw_code = record.values.get(config.code_column)
            code, how = resolve_code(raw_code, known_codes)
            if code is None:
                unknown[str(raw_code).strip()] += 1
                report.skipped["unknown_code"] += 1
                continue
            if how == "parent":
                mapped[str(raw_code).strip()] = code
            else:
                exact += 1
            row = _row(record, config, graph, code, source)
            where = f"{record.file}:{record.line}"
            if row["id"] in seen:
                raise MedsynError(f"{where}: id {row['id']!r} again (first at {seen[row['id']]}); ids in "
                                  f"{config.id_column!r} must be unique")  # fmt: skip
            seen[row["id"]] = where
            rows.append(row)
    if not report.read:
        raise MedsynError(f"{', '.join(sources)}: empty source (no records); nothing written")
    if not rows:
        raise MedsynError(
            f"{', '.join(sources)}: none of the {report.read} records could be imported ("
            + ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in report.skipped.most_common())
            + (f"; unknown codes: {', '.join(list(unknown)[:5])}" if unknown else "")
            + "); nothing written"
        )
    if unknown:
        log.warning("%d records with codes МКБ-10 does not have (not imported): %s", sum(unknown.values()),
                    ", ".join(f"{c} ({n})" for c, n in unknown.most_common(10)))  # fmt: skip
    report.codes = {
        "exact": exact,
        "mapped_to_parent": sum(1 for row in rows if row["source_code"] in mapped),
        "mapped": dict(sorted(mapped.items())),
        "unknown": dict(sorted(unknown.items())),
    }

    scorer = filters.SymptomScorer()
    for row in tqdm(rows, desc="scoring notes", unit="note", disable=not progress):
        _score(row, graph, filter_config, scorer)
    names.add_person_names(rows, filter_config, progress)
    before = [(f"\0against{k}\0{id_}", text) for k, (_, ids, texts) in enumerate(against) for id_, text in zip(ids, texts)]
    duplicates = dedup.near_duplicates(
        [key for key, _ in before] + [row["id"] for row in rows],
        [text for _, text in before] + [row["text"] for row in rows],
        filter_config,
        progress,
    )
    for row in rows:
        original = duplicates.get(row["id"])
        row["near_duplicate_of"] = original.rpartition("\0")[2] if original else None
        if original:
            row["reject_reasons"].append(filters.NEAR_DUPLICATE)
            report.against_duplicates += original.startswith("\0against")
        row["keep"] = not row["reject_reasons"]
    report.imported = len(rows)
    report.kept = sum(row["keep"] for row in rows)
    report.near_duplicates = sum(1 for row in rows if row["near_duplicate_of"])
    report.reject_reasons = Counter(reason for row in rows for reason in row["reject_reasons"])
    if not report.kept:
        raise MedsynError(
            f"all {len(rows)} imported notes were filtered out ("
            + ", ".join(f"{reason} {count}" for reason, count in report.reject_reasons.most_common())
            + "); nothing written. Loosen the filters (e.g. --min-symptom-recall 0.2) to keep some"
        )
    files_info = [{"name": f.name, "kind": f.kind} for f in files]
    info = import_build_info(config, report, filter_config, rows, source, files, files_info, against, graph)
    from medsyn.dataset_card.card import write_card

    with atomic_dir(out, overwrite=overwrite, legacy=LEGACY_CORPUS) as tmp:
        write_shards(tmp / "data", [row for row in rows if row["keep"]], config.rows_per_shard)
        write_shards(tmp / "unfiltered", rows, config.rows_per_shard)
        (tmp / "build_info.json").write_text(json.dumps(info, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        write_card(tmp)
    return report


def import_build_info(config: ImportConfig, report: ImportReport, filter_config: filters.FilterConfig,
                      rows: list[dict], source: str, files: list, files_info: list[dict], against: list,
                      graph: KnowledgeGraph) -> dict:  # fmt: skip
    """build_info.json of an imported corpus: the keys `build` writes where they apply, and `import` with the
    provenance (files, fingerprint, URL, license), the column mapping, code mapping and the fields left null."""
    kept = [row for row in rows if row["keep"]]
    columns = config.columns()
    missing = list(ALWAYS_NULL)
    for name, fields_ in OPTIONAL_FIELDS.items():
        if name not in columns:
            missing += fields_
    if not config.model_column and not config.generation_model:
        missing.append("generation_model")
    models = Counter(row["generation_model"] for row in kept)
    # Published with the data: local paths are reduced to file names (nothing names the maintainer's machine).
    return public({
        "format": "medsyn-corpus",
        "medsyn_version": __version__,
        "backend": {"name": "import", "model": config.generation_model},
        "models": {str(k): v for k, v in sorted(models.items(), key=lambda kv: (-kv[1], str(kv[0])))},
        "import": {
            "source_name": source,
            "sources": files_info,
            "sha256": readers.fingerprint(files),
            "source_url": config.source_url,
            "license": config.license,
            "preset": config.preset,
            "columns": columns,
            "generation_model": config.generation_model,
            "null_fields": sorted(missing),
            "records": report.read,
            "skipped": dict(sorted(report.skipped.items())),
            "codes": report.codes,
            "against": [{"path": str(path), "notes": len(ids)} for path, ids, _ in against],
            "against_duplicates": report.against_duplicates,
        },
        "mkg": {"path": str(config.graph) if config.graph else "embedded", "sources": graph.provenance["sources"]},
        **filters.settings_record(filter_config),
        "summary": {
            "requested": report.read,
            "generated": report.imported,
            "failed": report.read - report.imported,
            "kept": report.kept,
            "filtered": report.imported - report.kept,
            "near_duplicates": report.near_duplicates,
        },
        "reject_reasons": dict(sorted(report.reject_reasons.items(), key=lambda kv: (-kv[1], kv[0]))),
        "pretty_name": config.pretty_name or f"{source}: imported notes, scored by medsyn",
        **({"license": config.license} if config.license else {}),
        **({"source_url": config.source_url} if config.source_url else {}),
    })
