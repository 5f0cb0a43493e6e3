"""Synthetic notes the benchmark builds itself, from each real fraction's own real notes.

A generator learnt from all real notes and scored at 10% of them would carry the other 90% into the synthetic
notes. Here each (real fraction, seed) gets the real notes its classifier is given (`sets.subsample`, the same
draw), a graph built from them with the knowledge-only sources (МКБ-10, MedSyn's tables, HSDN, the symptom markup
joined only to these notes) and the generator's wordings and openers learnt from them
(`builder/kg/generator_tables.py`), and a corpus built from that graph with the build defaults (or
`--generate-config`). All real notes give one corpus whatever the seed. Nothing here reads the evaluation file.
"""

from __future__ import annotations

import logging
from pathlib import Path

from tqdm.auto import tqdm

from medsyn.builder.corpus.build import build_corpus
from medsyn.builder.corpus.config import GROUPS as BUILD_GROUPS
from medsyn.builder.corpus.config import BuildConfig, groups
from medsyn.builder.kg import generator_tables
from medsyn.builder.kg.graph import MkgSources, save_graph
from medsyn.builder.kg.sources import Note
from medsyn.config import ConfigParser
from medsyn.dataset_card.card import write_card
from medsyn.io import write_jsonl
from medsyn.training.benchmark.config import BenchmarkConfig
from medsyn.training.benchmark.sets import subsample

log = logging.getLogger(__name__)


def corpus_key(fraction: float, seed: int) -> tuple[float, int]:
    """Every seed shares the corpus of all real notes (the subsample is then the whole file)."""
    return (fraction, 0) if fraction >= 1 else (fraction, seed)


def build_config(config: BenchmarkConfig, out: Path, graph: Path, seed: int, n: int, codes: list[str]) -> BuildConfig:
    """The build settings: defaults < --generate-config < what the benchmark fixes (out, graph, seed, n, codes)."""
    argv = ["--out", str(out), "--graph", str(graph), "--seed", str(seed), "--n", str(n), "--quiet",
            "--backend", config.generation.generate, "--codes", *codes]
    values = ConfigParser(list(groups().values()), prog="--generate-config").parse(
        argv, environ={}, config=config.generation.generate_config)
    built = BuildConfig(**dict(zip(BUILD_GROUPS, values)))
    built.validate()
    return built


def generate_corpora(config: BenchmarkConfig, real: list[Note], work: Path) -> dict[tuple[float, int], Path]:
    """(real fraction, seed) -> a corpus folder built from that fraction's real notes only."""
    design, gen = config.design, config.generation
    codes = sorted({note.code for note in real})
    n = gen.generate_n or len(real)
    keys = sorted({corpus_key(f, s) for f in design.fraction_values() for s in range(design.seeds)})
    folders = {}
    for fraction, seed in tqdm(keys, desc="building synthetic corpora per real fraction", unit="corpus"):
        name = f"real{fraction:g}_seed{seed}"
        notes = work / f"train_{name}.jsonl"
        subset = subsample(real, fraction, seed)
        write_jsonl(notes, ({"idx": note.note_id, "symptoms": note.text, "code": note.code} for note in subset))
        src = MkgSources.from_shared(gen.knowledge_sources)
        src.notes = [notes]
        graph, provenance = generator_tables.build(src, progress=False)
        graph_path = work / f"mkg_{name}.json.gz"
        save_graph(graph, provenance, graph_path)
        folder = work / f"corpus_{name}"
        report = build_corpus(build_config(config, folder, graph_path, seed, n, codes), progress=False,
                              extra_files=write_card)  # a corpus folder as `medsyn build` writes it
        log.info("%s: %d real notes -> graph and wordings -> %d synthetic notes kept", name, len(subset), report.kept)
        folders[(fraction, seed)] = folder
        notes.unlink()  # the real notes' copy goes; the corpus and the graph hold only derived facts
    return folders
