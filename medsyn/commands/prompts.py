"""`medsyn prompts`: turn priors into Russian chat prompts (three families)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def add_prompt_arguments(parser: argparse.ArgumentParser) -> None:
    """Prompt flags shared by `prompts` and `build`."""
    parser.add_argument("--examples", type=Path, help="RuMedTop3-format notes used as style examples (train split)")
    parser.add_argument(
        "--families",
        nargs="+",
        metavar="FAMILY=SHARE",
        help="prompt family shares, e.g. symptoms=0.6 example=0.3 code=0.1 (default); 'example' needs --examples",
    )


def prompt_builder(args: argparse.Namespace, graph):
    from medsyn.builder.prompts import PromptBuilder, PromptConfig
    from medsyn.builder.sources import read_notes, refuse_held_out
    from medsyn.errors import MedsynError

    config = PromptConfig()
    if args.families:
        shares = {}
        for item in args.families:
            family, sep, share = item.partition("=")
            try:
                shares[family] = float(share) if sep else 1.0
            except ValueError:
                raise MedsynError(f"--families {item!r}: expected FAMILY=SHARE with a number, e.g. symptoms=0.5") from None
        config = PromptConfig(families=shares)
    examples = []
    if args.examples:
        refuse_held_out(args.examples)
        examples = read_notes(args.examples)
    elif config.families.get("example", 0) > 0 and args.families:
        raise MedsynError("--families asks for 'example' prompts but no --examples file was given")
    return PromptBuilder(config, examples, graph)


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "prompts",
        help="build chat prompts from priors",
        description="Build Russian chat prompts (OpenAI messages) from priors: 'symptoms' (five templates), "
        "'example' (a real note of the same code as style example) and 'code' (code and name only).",
    )
    parser.add_argument("--priors", type=Path, required=True, help="priors JSON lines from `medsyn sample`")
    parser.add_argument("--graph", type=Path, help="graph file (default: the embedded graph)")
    add_prompt_arguments(parser)
    parser.add_argument("--out", type=Path, help="output JSON-lines file (default: standard output)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import json

    from medsyn.builder.mkg import load_graph
    from medsyn.builder.sampling import Prior
    from medsyn.errors import MedsynError
    from medsyn.io import check_output_file, read_jsonl, write_jsonl

    if args.out is not None:
        check_output_file(args.out)
    graph = load_graph(args.graph)
    builder = prompt_builder(args, graph)
    required = ("id", "icd10_code", "icd10_name", "symptoms", "sex", "age", "marital_status", "smoking", "seed")
    records = read_jsonl(args.priors, required=required)
    prompts = []
    for line, record in enumerate(records, 1):
        try:
            prior = Prior.from_dict(record)
            graph.node(prior.icd10_code)
        except MedsynError as err:
            raise MedsynError(f"{args.priors}: record {line}: {err}") from None
        except (KeyError, TypeError, ValueError) as err:
            raise MedsynError(f"{args.priors}: record {line}: malformed prior ({err})") from None
        prompts.append(builder.build(prior).to_dict())
    if args.out is None:
        for prompt in prompts:
            sys.stdout.write(json.dumps(prompt, ensure_ascii=False) + "\n")
    else:
        write_jsonl(args.out, prompts)
        print(f"wrote {len(prompts)} prompts to {args.out}", file=sys.stderr)
    return 0
