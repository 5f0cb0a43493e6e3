"""Wall time of the full TF-IDF benchmark: 6 settings x 3 seeds on RuMedTop3 train -> dev (target: < 10 minutes).

    .venv/bin/python benchmarks/benchmark_tfidf.py [--synthetic CORPUS_DIR] [--seeds 3] [--out DIR]
                                                   [--data ../shared/data]

Without --synthetic it first builds a corpus with the offline `template` backend (`medsyn build`), as many notes
as the real training file, one code per RuMedTop3 code; that build is timed separately. Prints the wall time of
the benchmark, the real-only dev scores, and the results table.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--synthetic", type=Path, help="corpus folder (default: build one with the template backend)")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--out", type=Path, help="results folder to keep (default: a temporary one)")
    args = parser.parse_args()

    from medsyn.cli import main as medsyn

    top3 = args.data / "rumedbench" / "RuMedTop3"
    train, dev = top3 / "train_v1.jsonl", top3 / "dev_v1.jsonl"
    work = Path(tempfile.mkdtemp(prefix="medsyn-bench-"))
    corpus = args.synthetic
    if corpus is None:
        real = [json.loads(line) for line in open(train, encoding="utf-8")]
        codes = sorted({note["code"] for note in real})
        corpus = work / "corpus"
        start = time.perf_counter()
        code = medsyn(["build", "--out", str(corpus), "--quiet", "--n", str(len(real)), "--seed", "0",
                       "--code-strategy", "uniform", "--codes", *codes])
        if code:
            return code
        print(f"template corpus build ({len(real)} notes): {time.perf_counter() - start:.1f} s", flush=True)
    out = args.out or work / "results"
    start = time.perf_counter()
    # No --dev: dev is the evaluation file here, and hard codes chosen on the notes they are scored on would
    # regress to the mean under any setting; they are chosen on a held-out split of train instead.
    code = medsyn(["benchmark", "--train", str(train), "--eval", str(dev),
                   "--synthetic", str(corpus), "--seeds", str(args.seeds), "--out", str(out), "--overwrite"])
    elapsed = time.perf_counter() - start
    if code:
        return code
    results = json.loads((out / "results.json").read_text(encoding="utf-8"))
    real = next(row for row in results["summary"] if row["name"] == "real")["metrics"]
    runs = len(results["settings"])
    print(f"full TF-IDF benchmark ({runs} fits + hard-code fit + bootstrap): {elapsed:.1f} s wall "
          f"({elapsed / 60:.2f} min; target < 10 min)")
    print(f"real-only on dev: accuracy {100 * real['accuracy']['mean']:.2f}, hit@3 {100 * real['hit@3']['mean']:.2f} "
          "(reference RuMedBench config: 46.9 / 71.1)")
    print(f"results: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
