"""`medsyn build`: the main job — sample, prompt, generate, filter, deduplicate, write a dataset folder.

Every field of `BuildConfig` is a flag (generated from the dataclass, so flags and YAML keys never drift apart):
`--config CONFIG.yaml` sets any of them, and flags given on the command line win.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from medsyn.commands.dataclass_flags import add_dataclass_flags, dataclass_overrides
from medsyn.commands.sample import split_codes

HELP = {
    "n": "number of notes to generate (default 200)",
    "seed": "random seed of priors, prompts and generation (default 0)",
    "graph": "knowledge graph file (default: the embedded graph)",
    "codes": "restrict to these ICD-10 codes",
    "code_strategy": "uniform | frequency | budget (MedSyn's J3 weights, default) | medsyn (MedSyn's code probabilities)",
    "symptom_temperature": "T of the symptom draw softmax(weight / T) (default 0.1)",
    "examples": "RuMedTop3-format training notes used as style examples (enables the 'example' family)",
    "families": "prompt family shares, e.g. symptoms=0.6 example=0.3 code=0.1",
    "backend": "template (default, no LLM) | openai | transformers",
    "model": "model name (openai) or local path / hub id (transformers)",
    "adapter": "PEFT adapter folder for the transformers backend",
    "base_url": "OpenAI-compatible base URL, e.g. http://127.0.0.1:8000/v1; repeat to spread requests",
    "api_key_env": "environment variable holding the API key (default OPENAI_API_KEY; never a flag value)",
    "concurrency": "in-flight requests for the openai backend (default 16)",
    "timeout": "per-request timeout in seconds (default 120)",
    "max_retries": "retries of transient errors per request (default 6)",
    "batch_size": "batch size of the transformers backend (default 8)",
    "filters": "filter thresholds, e.g. min_symptom_recall=0.5 max_words=400",
    "max_failure_rate": "share of failed generations above which the build fails (default 0.05)",
    "rows_per_shard": "rows per parquet shard (default 20000)",
    "work_dir": "where finished generations are stored for resuming (default OUT.work)",
}


def add_parser(subparsers) -> None:
    from medsyn.builder.config import BuildConfig

    parser = subparsers.add_parser(
        "build",
        help="build a corpus dataset folder (the main job)",
        description="Sample priors from the knowledge graph, build prompts, generate notes with a backend "
        "(template | openai | transformers), score and filter them, remove near-duplicates, and write a dataset "
        "folder that datasets.load_dataset(OUT) reads like the Hub repo. Interrupted runs resume from OUT.work.",
    )
    parser.add_argument("--config", type=Path, help="YAML file with any of the options below")
    parser.add_argument("--out", type=Path, required=True, help="output dataset folder")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing output folder")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    add_dataclass_flags(parser, BuildConfig, HELP)
    parser.set_defaults(func=run)


def overrides(args: argparse.Namespace) -> dict:
    from medsyn.builder.config import BuildConfig

    values = dataclass_overrides(args, BuildConfig)
    if "codes" in values:
        values["codes"] = split_codes(values["codes"])
    return values


def run(args: argparse.Namespace) -> int:
    from medsyn.builder.config import BuildConfig
    from medsyn.builder.corpus import build_corpus

    config = BuildConfig.from_sources(args.config, overrides(args))
    report = build_corpus(config, args.out, overwrite=args.overwrite, progress=not args.quiet)
    run_ = report.run
    print(
        f"\nbuilt {args.out}: {report.kept} notes kept of {report.generated} generated "
        f"({run_.requested} requested, {report.failed} failed, {report.generated - report.kept} filtered, "
        f"{report.near_duplicates} near-duplicates); this run: {run_.ok} new, {run_.cached} resumed, "
        f"{run_.completion_tokens} completion tokens, cost {report.cost:.4f}",
        file=sys.stderr,
    )
    if report.reject_reasons:
        print("filtered by: " + ", ".join(f"{k} {v}" for k, v in report.reject_reasons.most_common()), file=sys.stderr)
    if run_.failure_reasons:
        print("failures: " + ", ".join(f"{k} {v}" for k, v in run_.failure_reasons.most_common()), file=sys.stderr)
    print(
        "load it with:\n"
        f'  python -c "from datasets import load_dataset; print(load_dataset(\'{args.out}\'))"\n'
        f"  (all notes with scores: load_dataset('{args.out}', 'unfiltered'))",
        file=sys.stderr,
    )
    return 0
