"""`medsyn benchmark`: ICD-10 classification with and without synthetic notes (RuMedTop3 format)."""

from __future__ import annotations

from pathlib import Path

from medsyn.config import ConfigParser
from medsyn.errors import MedsynError
from medsyn.io import prepare_output
from medsyn.training.benchmark.config import GROUPS, BenchmarkConfig
from medsyn.training.benchmark.run import run_benchmark

HELP = "ICD-10 classification benchmark: real vs real + synthetic notes"
DESCRIPTION = (
    "Train an ICD-10 code classifier on real notes, real + synthetic notes at several ratios, synthetic notes "
    "only (TSTR), and real notes upsampled with synthetic ones for the rarest codes, at each share of the real "
    "notes asked for; score each on --eval with several seeds; write results.json, results.md, plots and "
    "RuMedBench prediction files."
)


def check_shards(corpus: Path) -> None:
    """A damaged shard named once, here, rather than three times over by `datasets`' own logging."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    for shard in sorted(corpus.glob("data/*.parquet")):
        try:
            pq.ParquetFile(shard)
        except (pa.ArrowException, OSError) as err:
            reason = str(err).splitlines()[0] if str(err) else type(err).__name__
            raise MedsynError(f"{shard}: not a readable parquet file ({reason}); rebuild the corpus with "
                              "`medsyn build --overwrite`") from None


def parser(prog: str = "medsyn benchmark") -> ConfigParser:
    return ConfigParser(list(GROUPS.values()), prog=prog, description=DESCRIPTION, maybe_paths=["synthetic"])


def parse(argv: list[str], prog: str = "medsyn benchmark") -> BenchmarkConfig:
    config = BenchmarkConfig(*parser(prog).parse(argv))
    config.validate()
    return config


def main(argv: list[str], prog: str = "medsyn benchmark") -> int:
    config = parse(argv, prog)
    # Waits on builder/corpus/schema.py, which imports `datasets` at import (see WAITING in tests/test_layers.py).

    out = config.inputs.out
    prepare_output(out, config.inputs.overwrite)  # before hours of training, not after
    for source in config.inputs.synthetic:
        if Path(source).is_dir():
            check_shards(Path(source))
    run_benchmark(config)
    print((out / "results.md").read_text(encoding="utf-8"))
    print(f"wrote {out}/results.json, results.md, plots (*.png) and predictions/")
    return 0
