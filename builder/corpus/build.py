"""Corpus assembly: priors -> prompts -> generations, then the pipeline's stages (`pipeline`: scores ->
near-duplicates -> verdict) and the one folder writer (`writer`), as for `medsyn import` and `medsyn merge`.

Generation is the only step of its own: resumable through the store of finished generations (`store`, `run`).
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from tqdm.auto import tqdm

from medsyn import __version__
from medsyn.builder.corpus import pipeline, writer
from medsyn.builder.corpus.config import RUN_SETTINGS, BuildConfig
from medsyn.builder.corpus.provenance import public
from medsyn.builder.corpus.real import real_notes_for_build
from medsyn.builder.corpus.run import RunSummary, failure_reason, request_key, request_seed, run_generations
from medsyn.builder.corpus.store import GenerationStore
from medsyn.builder.generate.backends import Backend, Request, Result, open_backend
from medsyn.builder.generate.prompts import Prompt, PromptBuilder
from medsyn.builder.generate.sampling import PriorSampler, code_budget_record
from medsyn.builder.generate.template import knowledge
from medsyn.builder.kg.generator_tables import generator_notes
from medsyn.builder.kg.graph import KnowledgeGraph, load_graph
from medsyn.builder.kg.sources import Note, read_notes, refuse_held_out
from medsyn.builder.quality import filters
from medsyn.builder.quality.parallel import build_pool, worker_count
from medsyn.builder.quality.real_notes import RealNotes
from medsyn.errors import MedsynError
from medsyn.io import check_writable

log = logging.getLogger(__name__)


@dataclass
class BuildReport:
    out: Path
    run: RunSummary
    generated: int = 0
    kept: int = 0
    near_duplicates: int = 0
    cost: float = 0.0  # of every generation in the corpus, this run's and earlier runs'
    reject_reasons: Counter = field(default_factory=Counter)
    duplicates_only: int = 0  # rejected only for being a near-duplicate (disjoint from `filtered`)
    example_fallbacks: int = 0  # prompts of the `example` family that fell back to `symptoms` (no example note)
    skipped_codes: tuple[str, ...] = ()  # codes without notes too poor in complaints to draw (`PriorSampler.skipped`)

    @property
    def failed(self) -> int:
        return self.run.requested - self.generated

    @property
    def filtered(self) -> int:
        """Rejected by at least one quality filter (a near-duplicate that also failed one counts here)."""
        return self.generated - self.kept - self.duplicates_only


def plan(config: BuildConfig, graph: KnowledgeGraph, examples: list[Note], progress: bool = False,
         sampler: PriorSampler | None = None) -> list[Prompt]:
    """Every prompt of the build, in prior order (checks codes and families before anything is generated)."""
    sampler = sampler or PriorSampler(graph, config.sampling)
    builder = PromptBuilder(config.prompts, examples, graph)
    n = config.output.n
    priors = tqdm(sampler.sample(n, config.sampling.seed), total=n, desc="preparing prompts", unit="prompt",
                  disable=not progress)
    return [builder.build(prior) for prior in priors]


@dataclass
class Setup:
    """What every engine has before the first prior is drawn: checked outputs, the graph, the style examples."""

    out: Path
    work_dir: Path
    graph: KnowledgeGraph
    examples: list[Note]
    sampler: PriorSampler
    filter_config: filters.FilterConfig  # the build's, with the judge's cache in the work dir
    real: RealNotes | None = None  # the real notes the generator learnt from (copies of them are rejected)
    real_record: dict = field(default_factory=dict)  # what build_info.json says of them
    records: dict = field(default_factory=dict)  # what scorers report of the whole run (the judge's usage)

    @property
    def example_text(self) -> dict[str, str]:
        return {note.note_id: note.text for note in self.examples}


def prepare(config: BuildConfig, progress: bool) -> Setup:
    """Everything checked before any work: the output can be written (and replaced, if it is medsyn's), and so can
    the work dir; then the graph, the examples and the sampler (which may leave poor codes undrawn)."""
    out, overwrite = Path(config.output.out), config.output.overwrite
    config.validate()
    writer.prepare(out, overwrite)
    work_dir = Path(config.output.work_dir) if config.output.work_dir else out.with_name(out.name + ".work")
    check_writable(work_dir / "generations.sqlite", "--work-dir")
    filter_config = config.filters
    if filter_config.judge_model and not filter_config.judge_cache:
        filter_config = dataclasses.replace(filter_config, judge_cache=str(work_dir / "judge.sqlite"))
    say = log.info if progress else log.debug  # what happens between progress bars; --quiet silences it too
    say("loading the knowledge graph")
    graph = load_graph(config.sampling.graph)
    knowledge.activate(config.sampling.graph, graph)  # the template's wordings and openers: this graph's
    examples: list[Note] = []
    if config.prompts.examples:
        refuse_held_out(config.prompts.examples)
        examples = read_notes(config.prompts.examples)
    elif config.prompts.family_shares().get("example", 0) > 0:
        say("no --examples given: the 'example' prompt family is skipped")
    sampler = PriorSampler(graph, config.sampling)
    if sampler.skipped:
        say("%d codes without real notes keep too few complaints for a note and are not drawn: %s",
            len(sampler.skipped), " ".join(sampler.skipped))
    real, real_record = real_notes_for_build(filter_config.real, graph, config.prompts.examples)
    if real is None:
        say("real notes the generator learnt from not found (%s): copies of real notes are not checked; pass "
            "--real FILES", ", ".join(real_record["missing"]) or "none recorded")
    return Setup(out, work_dir, graph, examples, sampler, filter_config, real, real_record)


def make_request(prompt: Prompt, config: BuildConfig, backend: str, model: str, graph: KnowledgeGraph) -> Request:
    """The request of a prompt: its seed depends on the prior alone, its key on all that determines the note."""
    gen = config.generation
    seed = request_seed(config.sampling.seed, prompt.prior_id)
    # Template notes also depend on the tables learnt from the graph's notes: a resumed build with another graph's
    # tables must not find this one's notes.
    learnt = [f["sha256"] for f in graph.provenance.get("generator", {}).get("notes", [])]
    model = f"{model}:{','.join(learnt)}" if backend == "template" and learnt else model
    key = request_key(prompt.messages, backend, model, gen.adapter, gen.params, seed, prompt.prior)
    return Request(key, prompt.messages, seed, gen.params, prompt.prior, prompt.prompt_template)


def build_corpus(config: BuildConfig, progress: bool = True,
                 extra_files: Callable[[Path], object] | None = None) -> BuildReport:
    """Write the corpus folder `config.output.out` (data, unfiltered scores, build_info.json). The card is the
    command's: `extra_files(folder)` runs inside the folder before it appears (`writer.write_corpus`)."""
    setup = prepare(config, progress)
    prompts = plan(config, setup.graph, setup.examples, progress, setup.sampler)
    backend = open_backend(config.generation)
    requests = [make_request(prompt, config, backend.name, backend.model, setup.graph) for prompt in prompts]
    with GenerationStore(setup.work_dir / "generations.sqlite") as store:
        summary = run_generations(requests, backend, store, progress)
        results = store.get_many([request.key for request in requests])
    return finish(config, setup, prompts, requests, results, summary, backend, _local_stages(config, progress),
                  extra_files, progress=progress)


def _local_stages(config: BuildConfig, progress: bool) -> Callable[[list[dict], Setup], None]:
    """The pipeline's stages in this process and its pool: near-duplicates in one process while others score."""
    def stages(rows: list[dict], setup: Setup) -> None:
        say = log.info if progress else log.debug
        filter_config, example_text = setup.filter_config, setup.example_text
        ids, texts = [row["id"] for row in rows], [row["text"] for row in rows]
        with build_pool(worker_count(config.generation.workers), len(rows)) as pool:
            if pool is not None:  # near-duplicates need only the texts: one process looks for them while others score
                say("looking for near-duplicates among %d notes, alongside scoring", len(rows))
                duplicates_job = pool.submit(pipeline.find_near_duplicates, ids, texts, filter_config)
            pipeline.score(rows, setup.graph, filter_config, example_text, pool, progress, real=setup.real,
                           records=setup.records)
            pipeline.bertscore(rows, example_text, filter_config, progress)
            if pool is not None:
                found = duplicates_job.result()
            else:
                say("looking for near-duplicates among %d notes", len(rows))
                found = pipeline.find_near_duplicates(ids, texts, filter_config, progress=progress)
        pipeline.verdict(pipeline.mark_near_duplicates(rows, found))

    return stages


def finish(config: BuildConfig, setup: Setup, prompts: list[Prompt], requests: list[Request],
           results: dict[str, Result], summary: RunSummary, backend: Backend,
           stages: Callable[[list[dict], Setup], None], extra_files: Callable[[Path], object] | None = None,
           engine: dict | None = None, progress: bool = True) -> BuildReport:
    """From the finished generations to the folder, whichever engine ran them: the failure check, the rows,
    `stages` (the pipeline's scores, near-duplicates and verdicts), the counts, build_info (with `engine`, the
    record of a non-local engine) and the write."""
    out, work_dir, filter_config = setup.out, setup.work_dir, setup.filter_config
    say = log.info if progress else log.debug
    missing = [results.get(r.key) for r in requests if not (results.get(r.key) and results[r.key].ok)]
    n, max_failure_rate = config.output.n, config.output.max_failure_rate
    if len(missing) / n > max_failure_rate:
        raise MedsynError(_failed_message(missing, n, max_failure_rate, summary, work_dir))

    done = [(prompt, request, results[request.key]) for prompt, request in zip(prompts, requests)
            if request.key in results and results[request.key].ok]
    rows = [_row(prompt, request, result, setup.graph, backend.model, backend.name)
            for prompt, request, result in done]
    stages(rows, setup)

    counts = pipeline.count(rows)
    if not counts.kept:
        raise pipeline.nothing_kept(counts, "generated", f"The generations are kept in {work_dir}: loosen the filters "
                                    "(e.g. --min-symptom-recall 0.2) and rerun the same command, nothing is generated "
                                    "again")
    report = BuildReport(out, summary, generated=counts.rows, kept=counts.kept, near_duplicates=counts.near_duplicates,
                         cost=sum(r.cost for r in results.values() if r.ok))
    report.reject_reasons = counts.reject_reasons
    # Disjoint counts: a note rejected by a quality filter and also a near-duplicate counts as filtered.
    report.duplicates_only = counts.duplicates_only
    report.example_fallbacks = sum(prompt.fallback_from == "example" for prompt in prompts)
    report.skipped_codes = setup.sampler.skipped
    say("writing %d notes (%d kept) to %s", len(rows), report.kept, out)
    info = build_info(config, report, backend, setup.graph, filter_config, rows)
    info["real_notes"] = public(setup.real_record)
    if "judge" in setup.records:
        info["judge"] = setup.records["judge"]
    if engine is not None:  # a local build's record stays as it was: no key means the local engine
        info["engine"] = engine
    writer.write_corpus(out, rows, info, config.output.rows_per_shard, config.output.overwrite, extra_files)
    return report


def _failed_message(missing: list, n: int, max_failure_rate: float, run: RunSummary, work_dir: Path) -> str:
    """Why the build stops, in one line: a refusal with the server's words and what to change (a rerun alone would
    be refused again), and the rerun advice only for failures that a retry can fix."""
    refused = run.refused.total()
    if run.unsent:
        reason, _ = run.refused.most_common(1)[0]
        return (f"the server refused all {refused} requests answered and accepted none, so the build stopped without "
                f"generating the other {run.unsent}: {run.first_refusal[reason]}")
    head = f"{len(missing)} of {n} generations failed (over max_failure_rate {max_failure_rate})"
    parts = []
    if refused:
        groups = run.refused.most_common()
        parts.append(f"the server refused {refused} (" + "; ".join(f"{g}: {k}" for g, k in groups[:5])
                     + f") and will again until something changes: {run.first_refusal[groups[0][0]]}")
    retryable = Counter(failure_reason(r.error if r else "not generated") for r in missing) - run.refused
    if retryable:
        parts.append(f"{retryable.total()} failed in ways a retry can fix ("
                     + "; ".join(f"{reason}: {count}" for reason, count in retryable.most_common(5))
                     + f"): rerun the same command to retry them, the finished generations are kept in {work_dir}")
    return head + ": " + ". ".join(parts)


def _row(prompt: Prompt, request: Request, result, graph: KnowledgeGraph, model: str, backend: str) -> dict:
    """A generated note's row before the pipeline's stages add its scores and verdict."""
    prior = prompt.prior
    return {
        "id": prompt.prior_id,
        "icd10_code": prompt.icd10_code,
        "icd10_name": prior["icd10_name"],
        "icd10_chapter": graph.chapter(prompt.icd10_code)["code"],
        "generation_model": model,
        "backend": backend,
        "prompt_family": prompt.prompt_family,
        "prompt_template": prompt.prompt_template,
        "messages": prompt.messages,
        "prior": {key: prior[key] for key in ("symptoms", "sex", "age", "marital_status", "smoking")},
        "example_id": prompt.example_id,
        "text": result.text.strip(),
        "seed": request.seed,
        "prompt_tokens": result.prompt_tokens,
        "completion_tokens": result.completion_tokens,
        "source": None,
        "source_code": None,
    }


def build_info(config: BuildConfig, report: BuildReport, backend: Backend, graph: KnowledgeGraph,
               filter_config: filters.FilterConfig, rows: list[dict]) -> dict:
    """What the card and the benchmark need to say how the corpus was made (stored next to the data)."""
    kept = [row for row in rows if row["keep"]]
    sampling, gen, output = config.sampling, config.generation, config.output
    # Published with the data: local paths are reduced to file names (nothing names the maintainer's machine).
    return public({
        "format": "medsyn-corpus",
        "medsyn_version": __version__,
        "created": time.strftime("%Y-%m-%d", time.gmtime()),
        "seed": sampling.seed,
        "n_requested": output.n,
        "backend": {"name": backend.name, "model": backend.model, "adapter": gen.adapter},
        "models": dict(Counter(row["generation_model"] for row in kept)),
        "prompt_families": dict(Counter(row["prompt_family"] for row in kept)),
        "prompt_templates": dict(Counter(row["prompt_template"] for row in kept)),
        "example_fallback_to_symptoms": report.example_fallbacks,
        "sampling": {
            "code_strategy": sampling.code_strategy,
            "k_min": sampling.k_min,
            "k_max": sampling.k_max,
            "symptom_temperature": sampling.symptom_temperature,
            "codes": sampling.codes,
            "skipped_codes": list(report.skipped_codes),
            "code_budget": code_budget_record(sampling.code_budget) if sampling.code_budget else None,
        },
        "generation": {"temperature": gen.temperature, "top_p": gen.top_p, "max_new_tokens": gen.max_new_tokens},
        "mkg": {"path": str(sampling.graph) if sampling.graph else "embedded", "sources": graph.provenance["sources"]},
        "generator_notes": generator_notes(graph),
        **filters.settings_record(filter_config),
        "summary": {
            "requested": output.n,
            "generated": report.generated,
            "failed": report.failed,
            "kept": report.kept,
            "filtered": report.filtered,
            "near_duplicates": report.duplicates_only,
            "prompt_tokens": sum(row["prompt_tokens"] for row in rows),
            "completion_tokens": sum(row["completion_tokens"] for row in rows),
            "cost": round(report.cost, 6),
        },
        "reject_reasons": dict(report.reject_reasons),
        "pretty_name": output.pretty_name,
        **({"license": output.license} if output.license else {}),
        # The settings to rebuild it (API key variable, server addresses and process count are the builder's own
        # business: the corpus is the same for any number of processes).
        "config": {key: str(value) if isinstance(value, Path) else value for key, value in config.flat().items()
                   if key not in ("api_key_env", "base_url", "workers", "judge_base_url", "judge_api_key_env", *RUN_SETTINGS)},
    })
