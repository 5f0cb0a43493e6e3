"""`medsyn build`: the main job — sample, prompt, generate, filter, deduplicate, write a dataset folder + card.

The settings are the groups of `builder/corpus/config.py` (sampling, prompts, generation, filters, output; the
filters' group with the settings of every registered scorer): every field is a flag and a `--config` YAML key;
flags given on the command line win.
"""

from __future__ import annotations

from medsyn.builder.corpus.build import build_corpus
from medsyn.builder.corpus.ray_engine import build_corpus_ray
from medsyn.builder.corpus.config import GROUPS, BuildConfig, groups
from medsyn.builder.kg.coherence import MIN_USABLE
from medsyn.config import ConfigParser
from medsyn.dataset_card.card import write_card

HELP = "build a corpus dataset folder (the main job)"
DESCRIPTION = (
    "Sample priors from the knowledge graph, build prompts, generate notes with a backend (template | openai | "
    "transformers | a registered plug-in), score and filter them, remove near-duplicates, and write a dataset "
    "folder with its card that datasets.load_dataset(OUT) reads like the Hub repo. Interrupted runs resume from "
    "OUT.work. --engine ray runs the same stages as a Ray Data pipeline on a cluster (medsyn[ray])."
)


def parser(prog: str = "medsyn build"):
    built = ConfigParser(list(groups().values()), prog=prog, description=DESCRIPTION)
    built.alias("mkg", "graph")  # the graph of `medsyn mkg build`, e.g. one learnt from a subset of the notes
    return built


def parse(argv: list[str], prog: str = "medsyn build"):
    values = parser(prog).parse(argv)
    config = BuildConfig(**dict(zip(GROUPS, values)))
    config.validate()
    return config


def main(argv: list[str], prog: str = "medsyn build") -> int:
    config = parse(argv, prog)
    out = config.output.out
    # The card is written inside the corpus's temporary folder, so that it appears together with the data.
    engine = build_corpus_ray if config.engine.engine == "ray" else build_corpus
    report = engine(config, progress=not config.output.quiet, extra_files=write_card)
    run_ = report.run
    # The result is what the command is for, so it goes to stdout; progress and log lines go to stderr.
    print(
        f"built {out}: {report.kept} notes kept of {report.generated} generated "
        f"({run_.requested} requested, {report.failed} failed, {report.filtered} rejected by filters, "
        f"{report.duplicates_only} as near-duplicates); this run: {run_.ok} new, {run_.cached} resumed, "
        f"{run_.completion_tokens} completion tokens, cost {report.cost:.4f}"
    )
    if report.skipped_codes:
        print(f"not drawn: {len(report.skipped_codes)} codes without real notes whose lists give fewer than "
              f"{MIN_USABLE} complaints ({' '.join(report.skipped_codes)}); --codes draws them anyway")
    if report.reject_reasons:
        print("reasons (a note may have several): "
              + ", ".join(f"{k} {v}" for k, v in report.reject_reasons.most_common()))
    if run_.failure_reasons:
        print("failures: " + ", ".join(f"{k} {v}" for k, v in run_.failure_reasons.most_common()))
        for reason, error in run_.first_refusal.items():  # the server's words: a rerun alone is refused again
            print(f"  {reason} refused by the server: {error}")
    print(
        "load it with:\n"
        f'  python -c "from datasets import load_dataset; print(load_dataset(\'{out}\'))"\n'
        f"  (all notes with scores: load_dataset('{out}', 'unfiltered'))"
    )
    return 0
