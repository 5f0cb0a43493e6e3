"""`medsyn sample`: draw priors (code, symptoms, demographics) from the knowledge graph."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def add_sampling_arguments(parser: argparse.ArgumentParser) -> None:
    """Sampling flags shared by `sample` and `build`."""
    parser.add_argument("--graph", type=Path, help="graph file (default: the embedded graph)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--codes", nargs="+", help="restrict to these ICD-10 codes (space or comma separated)")
    parser.add_argument(
        "--code-strategy",
        choices=["uniform", "frequency", "budget", "medsyn"],
        default="budget",
        help="how codes are picked among all codes with Russian symptoms: uniform, by real-note frequency, "
        "MedSyn's J3(examples) x J3(symptoms) budget (default), or MedSyn's own code probabilities (medsyn)",
    )
    parser.add_argument("--k-min", type=int, default=3, help="fewest symptoms per prior (default 3)")
    parser.add_argument("--k-max", type=int, default=6, help="most symptoms per prior (default 6)")
    parser.add_argument(
        "--temperature", type=float, default=0.1, help="T in p = softmax(weight / T) for symptom draws (default 0.1)"
    )


def split_codes(items: list[str]) -> list[str]:
    """`--codes M54,J06` as well as `--codes M54 J06` (and a mix of both)."""
    return [code for item in items for code in item.replace(",", " ").split()]


def sampling_config(args: argparse.Namespace):
    from medsyn.builder.sampling import SamplingConfig

    codes = tuple(split_codes(args.codes)) if args.codes else None
    return SamplingConfig(
        code_strategy=args.code_strategy, k_min=args.k_min, k_max=args.k_max, temperature=args.temperature, codes=codes
    )


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "sample",
        help="sample priors as JSON lines",
        description="Sample priors: an ICD-10 code, k symptoms drawn without replacement with p = softmax(w/T), "
        "and demographics (sex, age, marital status, smoking). The same seed gives the same priors.",
    )
    parser.add_argument("--n", type=int, required=True, help="number of priors")
    add_sampling_arguments(parser)
    parser.add_argument("--out", type=Path, help="output JSON-lines file (default: standard output)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from tqdm.auto import tqdm

    from medsyn.builder.mkg import load_graph
    from medsyn.builder.sampling import PriorSampler
    from medsyn.errors import MedsynError
    from medsyn.io import write_jsonl

    if args.n < 0:
        raise MedsynError(f"--n must be >= 0, got {args.n}")
    sampler = PriorSampler(load_graph(args.graph), sampling_config(args))
    priors = (prior.to_dict() for prior in sampler.sample(args.n, args.seed))
    if args.out is None:
        for record in priors:
            sys.stdout.write(json.dumps(record, ensure_ascii=False) + "\n")
        return 0
    progress = tqdm(priors, total=args.n, desc="sampling priors", unit="prior")
    count = write_jsonl(args.out, progress)
    print(f"wrote {count} priors to {args.out}", file=sys.stderr)
    return 0
