"""A fixed random sample of template notes of codes without real notes, printed for judging by hand.

    .venv/bin/python benchmarks/sample_template_notes.py [--n 2000] [--seed 103] [--sample 100] [--sample-seed 107]
                                                         [--graph GRAPH.json.gz] [--out DIR]

Codes without RuMedTop3 train notes (about a third of a default build) draw their symptoms from MedSyn's lists
only, so their notes are where the template backend's symptom sets, lexicon labels and grammar show. This builds a
default template corpus (`medsyn build --n 2000 --seed 103`, unfiltered rows), keeps the rows whose 3-character code
has no real train note in the graph (`n_notes`), draws `--sample` of them with `random.Random(--sample-seed)` and
prints id, code, code name, the prior's symptom labels and the note text. The verdicts (id, code, plausible yes/no,
reason tag; no note text) are kept in benchmarks/data/template_judgements_{before,after}.csv.

Those verdicts were given blind: the 100 notes of the generator before issue 22 (be1cc8b) and the 100 after, drawn
with these same seeds, shuffled together and judged by a reviewer who saw only code, code name and text. Seeds 7/22,
11/5, 13/9, 21/17, 3/3, 5/8, 31/29, 53/59, 61/67, 71/73, 83/89 and 97/101 (its verdicts: the `_s97` files) were used
while changing the generator; judge a fresh pair of seeds to measure a later change.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
from pathlib import Path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=103)
    parser.add_argument("--sample", type=int, default=100)
    parser.add_argument("--sample-seed", type=int, default=107)
    parser.add_argument("--graph", type=Path, help="graph file (default: the embedded graph)")
    parser.add_argument("--out", type=Path, help="corpus folder to write and keep (default: a temporary one)")
    args = parser.parse_args()

    import pyarrow.parquet as pq

    from medsyn.builder.corpus.config import BuildConfig
    from medsyn.builder.corpus.build import build_corpus
    from medsyn.builder.kg.graph import load_graph

    out = args.out or Path(tempfile.mkdtemp(prefix="medsyn-sample-")) / "corpus"
    # a fresh work dir: a cached note of an earlier generator would be resumed, not composed again
    work = Path(tempfile.mkdtemp(prefix="medsyn-sample-work-"))
    config = BuildConfig.of(out=out, n=args.n, seed=args.seed, graph=args.graph, overwrite=True, work_dir=work)
    build_corpus(config, progress=False)
    rows = pq.read_table(out / "unfiltered").to_pylist()
    graph = load_graph(args.graph)
    without = [row for row in rows if not graph.node(row["icd10_code"][:3]).get("n_notes")]
    picked = random.Random(args.sample_seed).sample(without, min(args.sample, len(without)))
    print(f"{len(without)} of {len(rows)} notes are of codes without real notes; {len(picked)} drawn\n")
    for row in sorted(picked, key=lambda r: r["id"]):
        labels = "; ".join(s["label"] for s in row["prior"]["symptoms"])
        print(f"{row['id']}\t{row['icd10_code']}\t{row['icd10_name']}\n  [{labels}]\n  {row['text']}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
