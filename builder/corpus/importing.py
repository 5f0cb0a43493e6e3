"""Importing notes generated elsewhere into a medsyn corpus folder: map columns, check codes against МКБ-10, then
the stages `medsyn build` runs (`pipeline`: score, near-duplicates, verdict) and the same writer (`writer`).

What the source does not record stays null (no made-up seeds, families or token counts), and `build_info.json`
lists those fields so the card can say so. Nothing depends on the clock or on hash randomness: importing the same
source twice gives byte-identical folders.
"""

from __future__ import annotations

import dataclasses
import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from tqdm.auto import tqdm

from medsyn import __version__
from medsyn.builder.corpus import pipeline, readers, writer
from medsyn.builder.corpus.config import PRESETS, ImportConfig  # noqa: F401  (PRESETS re-exported)
from medsyn.builder.corpus.provenance import public
from medsyn.builder.corpus.real import read_real_notes
from medsyn.builder.corpus.values import MARITAL, SEX, SMOKING, age, choice, is_null, messages, resolve_code
from medsyn.builder.corpus.values import symptom_labels
from medsyn.builder.kg.graph import KnowledgeGraph, load_graph
from medsyn.builder.quality import filters
from medsyn.errors import MedsynError

log = logging.getLogger(__name__)

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


def default_source_name(sources: list[str]) -> str:
    names_ = [Path(src.rstrip("/")).stem if Path(src).exists() else readers.HUB_ID.match(src).group(1)
              for src in sources]  # fmt: skip
    return "+".join(dict.fromkeys(names_))


def import_corpus(
    sources: list[str], out: str | Path, config: ImportConfig, filter_config: filters.FilterConfig | None = None,
    overwrite: bool = False, progress: bool = True, extra_files: Callable[[Path], object] | None = None,
) -> ImportReport:
    """Write the corpus folder `out` from the notes of `sources` (files, folders or a Hub dataset id). The card is
    the command's: `extra_files(folder)` runs inside the folder before it appears (`writer.write_corpus`)."""
    out = Path(out)
    optional = config.optional_columns()
    config = config.resolved()
    writer.prepare(out, overwrite)  # before reading and scoring, not after
    filter_config = filter_config or filters.FilterConfig()
    graph = load_graph(config.graph)
    files = readers.expand(sources, config.hub_split)
    against = readers.read_against(config.against)
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

    # An import knows no generator's training notes: copies are checked against --real only.
    real = read_real_notes(filter_config.real) if filter_config.real else None
    if filter_config.judge_model and not filter_config.judge_cache:
        cache = out.with_name(out.name + ".work") / "judge.sqlite"
        filter_config = dataclasses.replace(filter_config, judge_cache=str(cache))
    records: dict = {}
    pipeline.score(rows, graph, filter_config, progress=progress, real=real, records=records)
    pipeline.verdict(pipeline.near_duplicates(rows, filter_config, against, progress))
    counts = pipeline.count(rows)
    report.imported, report.kept = counts.rows, counts.kept
    report.near_duplicates, report.against_duplicates = counts.near_duplicates, counts.against_duplicates
    report.reject_reasons = counts.reject_reasons
    if not report.kept:
        raise pipeline.nothing_kept(counts, "imported",
                                    "Loosen the filters (e.g. --min-symptom-recall 0.2) to keep some")
    files_info = [{"name": f.name, "kind": f.kind} for f in files]
    info = import_build_info(config, report, filter_config, rows, source, files, files_info, against, graph)
    if "judge" in records:
        info["judge"] = records["judge"]
    info["real_notes"] = {"checked": real is not None, "given": real is not None,
                          "sources": real.sources if real else [], "missing": []}
    writer.write_corpus(out, rows, info, config.rows_per_shard, overwrite, extra_files)
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
