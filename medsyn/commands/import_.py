"""`medsyn import`: bring notes generated elsewhere (an API batch job, MedSyn's GPT notes, a Hub dataset) into a
corpus folder with medsyn's scores, verdicts, near-duplicate removal and card.

Every field of `ImportConfig` (builder/importing.py) is a flag, generated from the dataclass.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from medsyn.commands.dataclass_flags import add_dataclass_flags, dataclass_overrides

HELP = {
    "preset": "column layout of a known generator: medsyn (desease_code, symptoms, prompt, response, gender, "
    "marital_state, smoking, UID)",
    "text_column": "column holding the note",
    "code_column": "column holding the note's ICD-10 code (checked against МКБ-10; ICD-10-CM codes map to their "
    "МКБ-10 parent)",
    "id_column": "column with a unique note id (default: FILE#LINE)",
    "symptoms_column": "column with the prompt's symptoms (a list, a JSON list, or ';'-separated); enables symptom recall",
    "prompt_column": "column with the prompt sent (a string or a list of chat messages)",
    "model_column": "column naming the model that wrote each note",
    "generation_model": "the model that wrote every note (instead of --model-column)",
    "sex_column": "column with the patient's sex (male/female, м/ж, ...)",
    "age_column": "column with the patient's age",
    "marital_status_column": "column with marital status (married/single/divorced/widowed, or 1/0 for married)",
    "smoking_column": "column with smoking status (true/false, курящий/некурящий, ...)",
    "hub_split": "split to read from a Hub dataset SRC (default train)",
    "source_name": "name of the source in the `source` column and the card (default: from SRC)",
    "source_url": "where the notes come from (recorded in build_info.json and the card)",
    "license": "license of the notes (card metadata, e.g. mit)",
    "pretty_name": "title of the dataset card",
    "against": "existing corpus folder(s): also remove near-duplicates of their notes",
    "filters": "filter thresholds, as for build, e.g. min_symptom_recall=0.5 detect_person_names=false",
    "graph": "knowledge graph file (default: the embedded graph)",
    "rows_per_shard": "rows per parquet shard (default 20000)",
}


def add_parser(subparsers) -> None:
    from medsyn.builder.importing import ImportConfig

    parser = subparsers.add_parser(
        "import",
        help="import notes generated elsewhere into a scored, deduplicated corpus folder",
        description="Read SRC (files or folders of JSON arrays, JSON lines, parquet or CSV, or a Hub dataset id), "
        "map its columns onto the corpus schema (fields the source lacks stay null), check codes against МКБ-10, "
        "score and judge every note and remove near-duplicates as `medsyn build` does, and write a corpus folder "
        "with card that load_dataset, `medsyn benchmark`, `medsyn card` and `medsyn push` accept.",
    )
    parser.add_argument("sources", nargs="+", metavar="SRC", help="file, folder or Hub dataset id (ORG/NAME)")
    parser.add_argument("--out", type=Path, required=True, help="output corpus folder")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing output folder")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    add_dataclass_flags(parser, ImportConfig, HELP)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from medsyn.builder.importing import ImportConfig, import_corpus

    config = ImportConfig(**dataclass_overrides(args, ImportConfig))
    report = import_corpus(args.sources, args.out, config, overwrite=args.overwrite, progress=not args.quiet)
    codes = report.codes
    print(
        f"\nimported {args.out}: {report.kept} notes kept of {report.imported} imported ({report.read} records read, "
        f"{report.read - report.imported} skipped, {report.imported - report.kept} filtered, "
        f"{report.near_duplicates} near-duplicates, {report.against_duplicates} of them of --against corpora)",
        file=sys.stderr,
    )
    if codes.get("mapped"):
        print(f"codes: {codes['mapped_to_parent']} notes with ICD-10-CM codes mapped to their МКБ-10 parent ("
              + ", ".join(f"{k}->{v}" for k, v in list(codes["mapped"].items())[:8])
              + (", ..." if len(codes["mapped"]) > 8 else "") + ")", file=sys.stderr)  # fmt: skip
    if codes.get("unknown"):
        print(f"codes not in МКБ-10 (records not imported): "
              + ", ".join(f"{k} {v}" for k, v in list(codes["unknown"].items())[:10]), file=sys.stderr)  # fmt: skip
    if report.reject_reasons:
        print("filtered by: " + ", ".join(f"{k} {v}" for k, v in report.reject_reasons.most_common()), file=sys.stderr)
    print(
        "load it with:\n"
        f'  python -c "from datasets import load_dataset; print(load_dataset(\'{args.out}\'))"',
        file=sys.stderr,
    )
    return 0
