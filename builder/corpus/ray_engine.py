"""`medsyn build --engine ray`: the build's stages as Ray Data pipelines, on a cluster or a local Ray instance.

The same functions as the local engine, run batch by batch in `map_batches` workers: priors and prompts
(`PriorSampler.sample` from the batch's first index, `PromptBuilder.build`), generation (the configured backend,
opened in each worker; the openai backend through `ray.data.llm`'s HTTP request processor, `ray_llm`), scores
(`pipeline.score`, with the graph and a `SymptomScorer` (navec vectors, matchers) loaded once per worker actor),
near-duplicates over the whole corpus (`ray_dedup`: signatures in the workers, band keys hash-partitioned across
the cluster, the candidate pairs checked in the workers, only the keep-the-first pass on the driver) and verdicts. Rows
travel between the driver and the workers pickled, so a row comes back exactly as it went (Arrow would turn
tuples into lists and widen integers), and the driver puts them back in prior order: the corpus is the local
engine's, row for row.

Resumption is the local engine's too: the generation run (`run.run_generations`) drives the Ray pipeline as it
drives any backend, committing each result to the SQLite store in the work dir as it arrives; a rerun sends Ray
only the notes not yet finished. The store lives on the driver's disk; the workers read the graph and the
examples file, so on a cluster those must be on storage every node sees (and medsyn installed on every node).
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import pickle
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from medsyn.builder.corpus import build, pipeline
from medsyn.builder.corpus.build import BuildReport, Setup
from medsyn.builder.corpus.config import NO_RAY, BuildConfig
from medsyn.builder.corpus.ray_dedup import ray_near_duplicates
from medsyn.builder.corpus.ray_llm import HttpGeneration
from medsyn.builder.corpus.ray_vllm import VllmGeneration, load_engine_config, require_gpus
from medsyn.builder.corpus.run import run_generations
from medsyn.builder.corpus.store import GenerationStore
from medsyn.builder.generate.backends import Backend, GenerationOptions, Request, Result, open_backend
from medsyn.builder.generate.prompts import Prompt, PromptBuilder, PromptConfig
from medsyn.builder.generate.sampling import PriorSampler, SamplingConfig
from medsyn.builder.generate.template import knowledge
from medsyn.builder.kg.graph import KnowledgeGraph, load_graph
from medsyn.builder.kg.sources import read_notes
from medsyn.builder.quality import filters, judge
from medsyn.builder.quality.real_notes import RealNotes
from medsyn.builder.quality.scorers import restore_filter_config
from medsyn.errors import MedsynError

log = logging.getLogger(__name__)

PLAN_BATCH = 1024  # priors per batch: drawing one takes ~50 us, so a batch is worth a task
GENERATE_BATCH = 256  # template notes per batch (~0.4 ms each)
SCORE_BATCH = 512  # notes per scoring batch (a few ms each)


def import_ray() -> Any:
    """Ray, or the one-line error that says how to get it (checked again here for a caller that skipped
    `EngineOptions.validate`)."""
    try:
        import ray
        import ray.data
    except ImportError:
        raise MedsynError(NO_RAY) from None
    return ray


@contextlib.contextmanager
def ray_session(ray: Any, address: str | None, progress: bool) -> Iterator[dict]:
    """Ray connected (to `address`, else a Ray instance on this machine), with what the cluster offers; a session
    this function started is shut down on leaving, one already connected is left as it was."""
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")  # medsyn never reports home, nor makes Ray do so
    started = not ray.is_initialized()
    if started:
        try:
            ray.init(address=address, include_dashboard=False, log_to_driver=progress,
                     logging_level=logging.INFO if progress else logging.WARNING)
        except (ConnectionError, RuntimeError, ValueError) as err:
            raise MedsynError(f"--ray-address {address}: cannot connect to a Ray cluster there ({err}); start one "
                              "with `ray start --head`, or drop --ray-address for a Ray instance on this machine") \
                from None
    context = ray.data.DataContext.get_current()
    context.enable_progress_bars = progress
    context.execution_options.preserve_order = True
    try:
        yield cluster_record(ray, address)
    finally:
        if started:
            ray.shutdown()


def cluster_record(ray: Any, address: str | None) -> dict:
    """build_info.json's `engine`: which engine and what the cluster had (nodes, CPUs, GPUs, memory) when it ran;
    never the address (a private host name)."""
    resources = ray.cluster_resources()
    nodes = [node for node in ray.nodes() if node.get("Alive")]
    return {"name": "ray", "ray_version": ray.__version__, "cluster": "existing" if address else "local",
            "nodes": len(nodes), "cpus": resources.get("CPU", 0), "gpus": resources.get("GPU", 0),
            "memory_gb": round(resources.get("memory", 0) / 2**30, 1)}


def build_corpus_ray(config: BuildConfig, progress: bool = True,
                     extra_files: Callable[[Path], object] | None = None) -> BuildReport:
    """`build.build_corpus` on Ray: the same folder, rows and columns; build_info adds `engine`."""
    ray = import_ray()
    setup = build.prepare(config, progress)
    settings = load_engine_config(config.engine.engine_config) if config.engine.engine_config else None
    # Checked on the driver: an unreachable server fails now. A local model under --engine-config loads only in
    # the vLLM engines on the GPU workers.
    backend = None if settings else open_backend(config.generation)
    with ray_session(ray, config.engine.ray_address, progress) as record:
        if settings:
            require_gpus(record, settings)
            backend = VllmGeneration(ray, config.generation, settings)
            record["vllm"] = dataclasses.asdict(backend.settings)
        prompts = plan(ray, config)
        requests = [build.make_request(prompt, config, backend.name, backend.model, setup.graph)
                    for prompt in prompts]
        engine = ray_generation(ray, backend, config)
        with GenerationStore(setup.work_dir / "generations.sqlite") as store:
            summary = run_generations(requests, engine, store, progress)
            results = store.get_many([request.key for request in requests])
        stages = lambda rows, setup_: ray_stages(ray, config, rows, setup_)  # noqa: E731
        return build.finish(config, setup, prompts, requests, results, summary, backend, stages, extra_files,
                            engine=record, progress=progress)


def _cpus(ray: Any) -> int:
    return max(1, int(ray.cluster_resources().get("CPU", 1)))


# ------------------------------------------------------------------------------------------- priors -> prompts


class _Planner:
    """A worker's sampler and prompt builder: the graph and the examples are read once per worker."""

    def __init__(self, sampling: SamplingConfig, prompts: PromptConfig):
        graph = load_graph(sampling.graph)
        self.sampler = PriorSampler(graph, sampling)
        self.builder = PromptBuilder(prompts, read_notes(prompts.examples) if prompts.examples else [], graph)
        self.seed = sampling.seed

    def __call__(self, batch: dict) -> dict:
        indices = [int(i) for i in batch["id"]]
        prompts: list[bytes] = []
        for start, count in _runs(indices):
            prompts += [pickle.dumps(self.builder.build(prior)) for prior in self.sampler.sample(count, self.seed, start)]
        return {"index": indices, "prompt": prompts}


def _runs(indices: list[int]) -> Iterator[tuple[int, int]]:
    """(start, length) of each run of consecutive indices."""
    start = previous = None
    for index in indices:
        if previous is not None and index == previous + 1:
            previous = index
            continue
        if start is not None:
            yield start, previous - start + 1
        start = previous = index
    if start is not None:
        yield start, previous - start + 1


def plan(ray: Any, config: BuildConfig) -> list[Prompt]:
    """Every prompt of the build, in prior order, drawn on the cluster."""
    n = config.output.n
    ds = ray.data.range(n).map_batches(
        _Planner, fn_constructor_kwargs={"sampling": config.sampling, "prompts": config.prompts},
        batch_size=PLAN_BATCH, concurrency=(1, min(_cpus(ray), -(-n // PLAN_BATCH))))
    rows = sorted(ds.take_all(), key=lambda row: row["index"])
    return [pickle.loads(row["prompt"]) for row in rows]


# ---------------------------------------------------------------------------------------------------- generation


def ray_generation(ray: Any, backend: Backend, config: BuildConfig) -> Backend:
    """The backend as the generation run sees it, its work done on the cluster: the openai backend through
    `ray.data.llm` (`ray_llm.HttpGeneration`), a local model under --engine-config through vLLM engines
    (`ray_vllm.VllmGeneration`), any other opened in each worker for its batches."""
    if isinstance(backend, VllmGeneration):
        return backend
    if backend.name == "openai":
        return HttpGeneration(ray, backend, config.generation)
    return BatchGeneration(ray, backend, config.generation, config.sampling.graph)


class BatchGeneration:
    """A `Backend` whose `generate` is a Ray Data pipeline of `map_batches`: each worker actor opens the configured
    backend once (one process: the cluster is the pool); the results come back as batches finish."""

    def __init__(self, ray: Any, backend: Backend, options: GenerationOptions, graph: str | Path | None = None):
        self.ray, self.backend, self.options = ray, backend, dataclasses.replace(options, workers=1)
        self.graph = graph  # the template reads the wordings and openers learnt with this graph
        self.name, self.model = backend.name, backend.model

    def generate(self, requests: list[Request]) -> Iterator[Result]:
        if not requests:
            return
        ds = self.ray.data.from_items([{"request": pickle.dumps(request)} for request in requests])
        workers = max(1, min(_cpus(self.ray), -(-len(requests) // GENERATE_BATCH)))
        ds = ds.map_batches(_Generator, fn_constructor_kwargs={"options": self.options, "graph": self.graph},
                            batch_size=GENERATE_BATCH,
                            concurrency=(1, workers))
        for batch in ds.iter_batches(batch_size=None):
            for blob in batch["result"]:
                yield pickle.loads(blob)

    def close(self) -> None:
        self.backend.close()


class _Generator:
    """A worker's backend, opened once (a local model loads once per worker, not per batch)."""

    def __init__(self, options: GenerationOptions, graph: str | Path | None = None):
        knowledge.activate(graph)
        self.backend = open_backend(options)

    def __call__(self, batch: dict) -> dict:
        results = list(self.backend.generate([pickle.loads(blob) for blob in batch["request"]]))
        return {"result": [pickle.dumps(result) for result in results]}

    def __del__(self) -> None:
        self.backend.close()


# ---------------------------------------------------------------------- scores -> near-duplicates -> verdicts


class _Scorer:
    """A worker's graph, style examples and `SymptomScorer`, kept for every batch it scores."""

    def __init__(self, graph_path: Path | None, filter_values: dict, examples: dict[str, str],
                 real: RealNotes | None = None):
        self.graph: KnowledgeGraph = load_graph(graph_path)
        self.config = restore_filter_config(filter_values)
        self.examples = examples
        self.real = real
        self.symptom_scorer = filters.SymptomScorer()

    def __call__(self, batch: dict) -> dict:
        rows = [pickle.loads(blob) for blob in batch["row"]]
        records: dict = {}
        pipeline.score(rows, self.graph, self.config, self.examples, symptom_scorer=self.symptom_scorer,
                       real=self.real, records=records)
        pipeline.bertscore(rows, self.examples, self.config)
        # What the scorers report of this batch (the judge's usage) rides on its first row, to be added up.
        reports = [pickle.dumps(records)] + [b""] * (len(rows) - 1)
        return {"index": batch["index"], "row": [pickle.dumps(row) for row in rows], "records": reports}


def ray_stages(ray: Any, config: BuildConfig, rows: list[dict], setup: Setup) -> None:
    """Near-duplicates over the whole corpus (`ray_dedup`), scores in `map_batches` actors, then the marks and
    verdicts. `rows` is filled in place, in its order."""
    if not rows:
        return
    filter_values = dataclasses.asdict(setup.filter_config)
    duplicates = ray_near_duplicates(ray, [row["id"] for row in rows], [row["text"] for row in rows],
                                     setup.filter_config)
    ds = ray.data.from_items([{"index": i, "row": pickle.dumps(row)} for i, row in enumerate(rows)])
    actors = max(1, min(_cpus(ray), -(-len(rows) // SCORE_BATCH)))
    ds = ds.map_batches(_Scorer, fn_constructor_kwargs={"graph_path": config.sampling.graph,
                                                        "filter_values": filter_values,
                                                        "examples": setup.example_text,
                                                        "real": setup.real},
                        batch_size=SCORE_BATCH, concurrency=(1, actors))
    judged = []
    for scored in ds.iter_rows():
        rows[scored["index"]] = pickle.loads(scored["row"])
        if scored["records"] and "judge" in (records := pickle.loads(scored["records"])):
            judged.append(records["judge"])
    if judged:
        setup.records["judge"] = judge.combined(judged, rows)
    pipeline.verdict(pipeline.mark_near_duplicates(rows, duplicates))
