"""`medsyn sample`: draw priors (code, symptoms, demographics) from the knowledge graph."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path

from tqdm.auto import tqdm

from medsyn.builder.generate.sampling import PriorSampler, SamplingConfig
from medsyn.builder.kg.graph import load_graph
from medsyn.config import ConfigParser
from medsyn.errors import MedsynError
from medsyn.io import check_output_file, write_jsonl
from medsyn.options import option

HELP = "sample priors as JSON lines"
DESCRIPTION = (
    "Sample priors: an ICD-10 code, k symptoms drawn without replacement with p = softmax(w/T), and demographics "
    "(sex, age, marital status, smoking). The same seed gives the same priors."
)


@dataclass
class SampleOutput:
    n: int = option(help="number of priors")
    out: Path | None = option(None, "output JSON-lines file (default: standard output)")

    def validate(self) -> None:
        if self.n < 1:  # 0 would write an empty file and call it done
            raise MedsynError(f"--n must be >= 1 (the number of priors to draw), got {self.n}")


def main(argv: list[str], prog: str = "medsyn sample") -> int:
    sampling, output = ConfigParser([SamplingConfig, SampleOutput], prog=prog, description=DESCRIPTION).parse(argv)
    if output.out is not None:
        check_output_file(output.out)  # before any work: a file in the way, a read-only place
    sampler = PriorSampler(load_graph(sampling.graph), sampling)
    priors = (prior.to_dict() for prior in sampler.sample(output.n, sampling.seed))
    if output.out is None:
        for record in priors:
            sys.stdout.write(json.dumps(record, ensure_ascii=False) + "\n")
        return 0
    progress = tqdm(priors, total=output.n, desc="sampling priors", unit="prior")
    count = write_jsonl(output.out, progress)
    print(f"wrote {count} priors to {output.out}", file=sys.stderr)
    return 0
