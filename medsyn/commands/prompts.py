"""`medsyn prompts`: turn priors into Russian chat prompts (three families)."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path

from medsyn.builder.generate.prompts import SYMPTOM_TEMPLATES, PromptBuilder, PromptConfig
from medsyn.builder.generate.sampling import Prior
from medsyn.builder.kg.graph import load_graph
from medsyn.builder.kg.sources import read_notes, refuse_held_out
from medsyn.config import ConfigParser
from medsyn.errors import MedsynError
from medsyn.io import check_output_file, read_jsonl, write_jsonl
from medsyn.options import option

HELP = "build chat prompts from priors"


def description() -> str:
    """Read from the builder's templates, so that the help never counts them differently from the code."""
    return (
        f"Build Russian chat prompts (OpenAI messages) from priors: 'symptoms' ({len(SYMPTOM_TEMPLATES)} templates: "
        f"{', '.join(SYMPTOM_TEMPLATES)}), 'example' (a real note of the same code as style example) and 'code' "
        "(code and name only)."
    )


@dataclass
class PromptsIO:
    priors: Path = option(help="priors JSON lines from `medsyn sample`")
    graph: Path | None = option(None, "knowledge graph file (default: the embedded graph)")
    out: Path | None = option(None, "output JSON-lines file (default: standard output)")


def main(argv: list[str], prog: str = "medsyn prompts") -> int:
    io, config = ConfigParser([PromptsIO, PromptConfig], prog=prog, description=description()).parse(argv)
    if io.out is not None:
        check_output_file(io.out)  # before any work: a file in the way, a read-only place
    graph = load_graph(io.graph)
    examples = []
    if config.examples:
        refuse_held_out(config.examples)
        examples = read_notes(config.examples)
    builder = PromptBuilder(config, examples, graph)
    required = ("id", "icd10_code", "icd10_name", "symptoms", "sex", "age", "marital_status", "smoking", "seed")
    records = read_jsonl(io.priors, required=required)
    prompts = []
    for line, record in enumerate(records, 1):
        try:
            prior = Prior.from_dict(record)
            graph.node(prior.icd10_code)
        except MedsynError as err:
            raise MedsynError(f"{io.priors}: record {line}: {err}") from None
        except (KeyError, TypeError, ValueError) as err:
            raise MedsynError(f"{io.priors}: record {line}: malformed prior ({err})") from None
        prompts.append(builder.build(prior).to_dict())
    if io.out is None:
        for prompt in prompts:
            sys.stdout.write(json.dumps(prompt, ensure_ascii=False) + "\n")
    else:
        write_jsonl(io.out, prompts)
        print(f"wrote {len(prompts)} prompts to {io.out}", file=sys.stderr)
    return 0
