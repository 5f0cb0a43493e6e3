"""Corpus assembly: priors -> prompts -> generations -> scores -> a Hub-layout dataset folder.

The folder is exactly what the Hub repo holds (README.md with `configs`, parquet shards), so
`datasets.load_dataset(DIR)` reads a local build through the same code path as the published dataset.
It is written into a temporary sibling and renamed into place: a crash never leaves a half-written corpus.
"""

from __future__ import annotations

import json
import logging
import math
import time
import weakref
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from tqdm.auto import tqdm

from medsyn import __version__
from medsyn.builder.quality import dedup, filters, names
from medsyn.builder.generate.backends import Backend, Request, SamplingParams, open_backend
from medsyn.builder.corpus.config import BuildConfig
from medsyn.builder.kg.graph import KnowledgeGraph, load_graph
from medsyn.builder.quality.parallel import build_pool, worker_count
from medsyn.builder.generate.prompts import Prompt, PromptBuilder
from medsyn.builder.corpus.run import RunSummary, failure_reason, request_key, request_seed, run_generations
from medsyn.builder.generate.sampling import PriorSampler
from medsyn.builder.quality.scoring import NoteToScore, score_notes
from medsyn.builder.corpus.schema import FEATURES
from medsyn.builder.kg.sources import Note, read_notes, refuse_held_out
from medsyn.builder.corpus.store import GenerationStore
from medsyn.errors import MedsynError
from medsyn.builder.corpus.provenance import public
from medsyn.io import atomic_dir, check_writable, prepare_output, write_digest_named

log = logging.getLogger(__name__)

# What a corpus folder held before medsyn wrote manifests: such a folder may still be replaced by --overwrite.
LEGACY_CORPUS = ("build_info.json", ("README.md", "build_info.json", "data", "unfiltered", "assets"))


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


def build_corpus(config: BuildConfig, progress: bool = True, finish: Callable[[Path], None] | None = None) -> BuildReport:
    """Write the corpus folder `config.output.out` (data, unfiltered scores, build_info.json; the card is the
    caller's, through `finish(folder)`: `medsyn build` passes `dataset_card.card.write_card`)."""
    out, overwrite = Path(config.output.out), config.output.overwrite
    config.validate()
    # Before any work: the output can be written (and replaced, if it is medsyn's), and so can the work dir.
    prepare_output(out, overwrite, legacy=LEGACY_CORPUS)
    work_dir = Path(config.output.work_dir) if config.output.work_dir else out.with_name(out.name + ".work")
    check_writable(work_dir / "generations.sqlite", "--work-dir")
    filter_config = config.filters
    gen = config.generation
    say = log.info if progress else log.debug  # what happens between progress bars; --quiet silences it too
    say("loading the knowledge graph")
    graph = load_graph(config.sampling.graph)
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
    prompts = plan(config, graph, examples, progress, sampler)
    example_text = {note.note_id: note.text for note in examples}

    backend = open_backend(gen)
    model = backend.model
    params = SamplingParams(gen.temperature, gen.top_p, gen.max_new_tokens)
    requests = []
    for prompt in prompts:
        seed = request_seed(config.sampling.seed, prompt.prior_id)
        key = request_key(prompt.messages, backend.name, model, gen.adapter, params, seed, prompt.prior)
        requests.append(Request(key, prompt.messages, seed, params, prompt.prior, prompt.prompt_template))

    with GenerationStore(work_dir / "generations.sqlite") as store:
        summary = run_generations(requests, backend, store, progress)
        results = store.get_many([request.key for request in requests])

    missing = [results.get(r.key) for r in requests if not (results.get(r.key) and results[r.key].ok)]
    n, max_failure_rate = config.output.n, config.output.max_failure_rate
    if len(missing) / n > max_failure_rate:
        raise MedsynError(_failed_message(missing, n, max_failure_rate, summary, work_dir))

    done = [(prompt, request, results[request.key]) for prompt, request in zip(prompts, requests)
            if request.key in results and results[request.key].ok]
    to_score = [
        NoteToScore(result.text.strip(), tuple(s["label"] for s in prompt.prior["symptoms"]), prompt.icd10_code,
                    prompt.prior["icd10_name"] or "",
                    example_text.get(prompt.example_id) if prompt.example_id else None,
                    complaint_labels(graph, prompt.icd10_code))
        for prompt, request, result in done
    ]
    ids, texts = [prompt.prior_id for prompt, _, _ in done], [note.text for note in to_score]
    with build_pool(worker_count(gen.workers), len(done)) as pool:
        if pool is not None:  # near-duplicates need only the texts: one process looks for them while others score
            say("looking for near-duplicates among %d notes, alongside scoring", len(done))
            duplicates_job = pool.submit(dedup.near_duplicates, ids, texts, filter_config)
        scores = score_notes(to_score, pool, progress)
        rows = [_row(prompt, request, result, note_scores, graph, model, backend.name, filter_config)
                for (prompt, request, result), note_scores in zip(done, scores)]
        _add_bertscore(rows, example_text, filter_config, progress)
        names.add_person_names(rows, filter_config, progress)
        if pool is not None:
            duplicates = duplicates_job.result()
        else:
            say("looking for near-duplicates among %d notes", len(rows))
            duplicates = dedup.near_duplicates(ids, texts, filter_config, progress)
    for row in rows:
        row["near_duplicate_of"] = duplicates.get(row["id"])
        if row["near_duplicate_of"]:
            row["reject_reasons"].append(filters.NEAR_DUPLICATE)
        row["keep"] = not row["reject_reasons"]

    if not any(row["keep"] for row in rows):
        reasons = Counter(reason for row in rows for reason in row["reject_reasons"])
        raise MedsynError(
            f"all {len(rows)} generated notes were filtered out ("
            + ", ".join(f"{reason} {count}" for reason, count in reasons.most_common())
            + f"); nothing written. The generations are kept in {work_dir}: loosen the filters (e.g. "
            "--min-symptom-recall 0.2) and rerun the same command, nothing is generated again"
        )
    report = BuildReport(out, summary, generated=len(rows), kept=sum(r["keep"] for r in rows),
                         near_duplicates=len(duplicates), cost=sum(r.cost for r in results.values() if r.ok))
    report.reject_reasons = Counter(reason for row in rows for reason in row["reject_reasons"])
    # Disjoint counts: a note rejected by a quality filter and also a near-duplicate counts as filtered.
    report.duplicates_only = sum(row["reject_reasons"] == [filters.NEAR_DUPLICATE] for row in rows)
    report.example_fallbacks = sum(prompt.fallback_from == "example" for prompt in prompts)
    report.skipped_codes = sampler.skipped
    say("writing %d notes (%d kept) to %s", len(rows), report.kept, out)
    with atomic_dir(out, overwrite=overwrite, legacy=LEGACY_CORPUS) as tmp:
        write_shards(tmp / "data", [r for r in rows if r["keep"]], config.output.rows_per_shard)
        write_shards(tmp / "unfiltered", rows, config.output.rows_per_shard)
        info = build_info(config, report, backend, graph, filter_config, rows)
        (tmp / "build_info.json").write_text(json.dumps(info, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        if finish is not None:
            finish(tmp)  # e.g. the dataset card, written inside the temporary folder so it appears with the data
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


def _row(prompt: Prompt, request: Request, result, scores: filters.NoteScores, graph: KnowledgeGraph, model: str,
         backend: str, filter_config: filters.FilterConfig) -> dict:
    prior = prompt.prior
    text = result.text.strip()
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
        "text": text,
        "seed": request.seed,
        "prompt_tokens": result.prompt_tokens,
        "completion_tokens": result.completion_tokens,
        "symptom_recall": scores.symptom_recall,
        "matched_symptoms": scores.matched_symptoms,
        "semantic_symptom_recall": scores.semantic_symptom_recall,
        "leakage": scores.leakage,
        "example_overlap": scores.example_overlap,
        "example_longest_ngram": scores.example_longest_ngram,
        "cyrillic_share": scores.cyrillic_share,
        "n_words": scores.n_words,
        "reject_reasons": filters.reject_reasons(scores, filter_config),
        "source": None,
        "source_code": None,
    }


def complaint_labels(graph: KnowledgeGraph, code: str) -> tuple[str, ...]:
    """The code's Russian MKG symptoms: the words real notes of the code use for complaints (see score_note).

    Kept per graph (weakly, so a graph is not held alive): every note of a code asks, and walking the code's edges
    was a fifth of a template build."""
    per_graph = _COMPLAINTS.setdefault(graph, {})
    if code not in per_graph:
        per_graph[code] = tuple(link.label for link in graph.symptoms(code))
    return per_graph[code]


_COMPLAINTS: "weakref.WeakKeyDictionary[KnowledgeGraph, dict[str, tuple[str, ...]]]" = weakref.WeakKeyDictionary()


def _add_bertscore(rows: list[dict], example_text: dict[str, str], config: filters.FilterConfig, progress: bool) -> None:
    """BERTScore of each note against its style example, or the prompt's symptom list where there was none."""
    if not config.bertscore_model:
        for row in rows:
            row.update(bertscore_precision=None, bertscore_recall=None, bertscore_f1=None)
        return
    references = [
        example_text.get(row["example_id"]) if row["example_id"] else ", ".join(s["label"] for s in row["prior"]["symptoms"])
        for row in rows
    ]
    scores = filters.bertscore([row["text"] for row in rows], references, config.bertscore_model, progress=progress)
    for row, precision, recall, f1 in zip(rows, *scores):
        row.update(bertscore_precision=precision, bertscore_recall=recall, bertscore_f1=f1)


def write_shards(folder: Path, rows: list[dict], rows_per_shard: int, split: str = "train") -> list[Path]:
    """`<split>-NNNNN-of-NNNNN-<digest>.parquet` shards with the declared features (at least one, possibly empty).

    The digest of each shard's bytes is what keeps a user's plain `datasets.load_dataset(FOLDER)` on this folder's
    rows (see `medsyn.io.write_digest_named`); the card lists the shards by name (`dataset_card.card.default_configs`).
    """
    folder.mkdir(parents=True, exist_ok=True)
    schema = FEATURES.arrow_schema
    n_shards = max(1, math.ceil(len(rows) / rows_per_shard))
    paths = []
    for i in range(n_shards):
        chunk = rows[i * rows_per_shard : (i + 1) * rows_per_shard]
        sink = pa.BufferOutputStream()
        pq.write_table(pa.Table.from_pylist(chunk, schema=schema), sink)
        paths.append(write_digest_named(folder, f"{split}-{i:05d}-of-{n_shards:05d}", sink.getvalue().to_pybytes()))
    return paths


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
        },
        "generation": {"temperature": gen.temperature, "top_p": gen.top_p, "max_new_tokens": gen.max_new_tokens},
        "mkg": {"path": str(sampling.graph) if sampling.graph else "embedded", "sources": graph.provenance["sources"]},
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
                   if key not in ("api_key_env", "base_url", "workers")},
    })
