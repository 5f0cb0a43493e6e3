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
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from tqdm.auto import tqdm

from medsyn import __version__
from medsyn.builder import filters
from medsyn.builder.backends import Backend, Request, SamplingParams
from medsyn.builder.config import BuildConfig
from medsyn.builder.mkg import KnowledgeGraph, load_graph
from medsyn.builder.prompts import Prompt, PromptBuilder, PromptConfig
from medsyn.builder.run import RunSummary, failure_reason, request_key, request_seed, run_generations
from medsyn.builder.sampling import PriorSampler, SamplingConfig
from medsyn.builder.schema import FEATURES
from medsyn.builder.sources import Note, read_notes, refuse_held_out
from medsyn.builder.store import GenerationStore
from medsyn.errors import MedsynError
from medsyn.io import atomic_dir

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
    example_fallbacks: int = 0  # prompts of the `example` family that fell back to `symptoms` (no example note)

    @property
    def failed(self) -> int:
        return self.run.requested - self.generated


def make_backend(config: BuildConfig) -> Backend:
    """The configured backend; heavy libraries are imported only for the backend in use."""
    if config.backend == "template":
        from medsyn.builder.template_notes import TemplateBackend

        return TemplateBackend()
    if config.backend == "openai":
        import os

        from medsyn.builder.backend_openai import OpenAIBackend

        backend = OpenAIBackend(
            model=config.model,
            base_urls=list(config.base_url),
            api_key=os.environ.get(config.api_key_env),
            concurrency=config.concurrency,
            timeout=config.timeout,
            max_retries=config.max_retries,
            price_per_1k_input=config.price_per_1k_input,
            price_per_1k_output=config.price_per_1k_output,
        )
        backend.check()  # an unreachable server, a refused key or an unknown model fails now, not after retries
        return backend
    from medsyn.builder.backend_transformers import TransformersBackend

    return TransformersBackend(model=config.model, adapter=config.adapter, batch_size=config.batch_size)


def plan(config: BuildConfig, graph: KnowledgeGraph, examples: list[Note]) -> list[Prompt]:
    """Every prompt of the build, in prior order (checks codes and families before anything is generated)."""
    sampler = PriorSampler(
        graph,
        SamplingConfig(
            code_strategy=config.code_strategy,
            k_min=config.k_min,
            k_max=config.k_max,
            temperature=config.symptom_temperature,
            codes=tuple(config.codes) if config.codes else None,
        ),
    )
    builder = PromptBuilder(PromptConfig(families=dict(config.families)), examples, graph)
    return [builder.build(prior) for prior in sampler.sample(config.n, config.seed)]


def build_corpus(config: BuildConfig, out: str | Path, overwrite: bool = False, progress: bool = True) -> BuildReport:
    out = Path(out)
    if out.exists() and not overwrite:
        raise MedsynError(f"{out} already exists; pass --overwrite to replace it or choose another --out")
    config.validate()
    filter_config = filters.FilterConfig(**config.filters) if config.filters else filters.FilterConfig()
    graph = load_graph(config.graph)
    examples: list[Note] = []
    if config.examples:
        refuse_held_out(config.examples)
        examples = read_notes(config.examples)
    elif config.families.get("example", 0) > 0:
        log.info("no --examples given: the 'example' prompt family is skipped")
    prompts = plan(config, graph, examples)
    example_text = {note.note_id: note.text for note in examples}

    backend = make_backend(config)
    model = backend.model
    params = SamplingParams(config.temperature, config.top_p, config.max_new_tokens)
    requests = []
    for prompt in prompts:
        seed = request_seed(config.seed, prompt.prior_id)
        key = request_key(prompt.messages, backend.name, model, config.adapter, params, seed, prompt.prior)
        requests.append(Request(key, prompt.messages, seed, params, prompt.prior, prompt.prompt_template))

    work_dir = Path(config.work_dir) if config.work_dir else out.with_name(out.name + ".work")
    with GenerationStore(work_dir / "generations.sqlite") as store:
        summary = run_generations(requests, backend, store, progress)
        results = store.get_many([request.key for request in requests])

    missing = [results.get(r.key) for r in requests if not (results.get(r.key) and results[r.key].ok)]
    if len(missing) / config.n > config.max_failure_rate:
        reasons = Counter(failure_reason(r.error if r else "not generated") for r in missing)
        raise MedsynError(
            f"{len(missing)} of {config.n} generations failed (over max_failure_rate {config.max_failure_rate}): "
            + "; ".join(f"{reason}: {count}" for reason, count in reasons.most_common(5))
            + f". Finished generations are kept in {work_dir}; rerun the same command to retry the failed ones."
        )

    rows = []
    for prompt, request in tqdm(list(zip(prompts, requests)), desc="scoring notes", unit="note", disable=not progress):
        result = results.get(request.key)
        if result is None or not result.ok:
            continue
        rows.append(_row(prompt, request, result, graph, model, backend.name, example_text, filter_config))
    _add_bertscore(rows, example_text, filter_config, progress)
    duplicates = filters.near_duplicates([r["id"] for r in rows], [r["text"] for r in rows], filter_config, progress)
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
            + f"); nothing written. The generations are kept in {work_dir}: loosen --filters (e.g. "
            "min_symptom_recall=0.2) and rerun the same command, nothing is generated again"
        )
    report = BuildReport(out, summary, generated=len(rows), kept=sum(r["keep"] for r in rows),
                         near_duplicates=len(duplicates), cost=sum(r.cost for r in results.values() if r.ok))
    report.reject_reasons = Counter(reason for row in rows for reason in row["reject_reasons"])
    report.example_fallbacks = sum(prompt.fallback_from == "example" for prompt in prompts)
    with atomic_dir(out, overwrite=overwrite) as tmp:
        write_shards(tmp / "data", [r for r in rows if r["keep"]], config.rows_per_shard)
        write_shards(tmp / "unfiltered", rows, config.rows_per_shard)
        info = build_info(config, report, backend, graph, filter_config, rows)
        (tmp / "build_info.json").write_text(json.dumps(info, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        from medsyn.dataset_card.card import write_card

        write_card(tmp)
    return report


def _row(prompt: Prompt, request: Request, result, graph: KnowledgeGraph, model: str, backend: str,
         example_text: dict[str, str], filter_config: filters.FilterConfig) -> dict:
    prior = prompt.prior
    text = result.text.strip()
    scores = filters.score_note(
        text,
        [s["label"] for s in prior["symptoms"]],
        prompt.icd10_code,
        prior["icd10_name"],
        example_text.get(prompt.example_id) if prompt.example_id else None,
    )
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
        "leakage": scores.leakage,
        "example_overlap": scores.example_overlap,
        "example_longest_ngram": scores.example_longest_ngram,
        "cyrillic_share": scores.cyrillic_share,
        "n_words": scores.n_words,
        "reject_reasons": filters.reject_reasons(scores, filter_config),
    }


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
    """`<split>-NNNNN-of-NNNNN.parquet` shards with the declared features (at least one, possibly empty)."""
    folder.mkdir(parents=True, exist_ok=True)
    schema = FEATURES.arrow_schema
    n_shards = max(1, math.ceil(len(rows) / rows_per_shard))
    paths = []
    for i in range(n_shards):
        chunk = rows[i * rows_per_shard : (i + 1) * rows_per_shard]
        path = folder / f"{split}-{i:05d}-of-{n_shards:05d}.parquet"
        pq.write_table(pa.Table.from_pylist(chunk, schema=schema), path)
        paths.append(path)
    return paths


def build_info(config: BuildConfig, report: BuildReport, backend: Backend, graph: KnowledgeGraph,
               filter_config: filters.FilterConfig, rows: list[dict]) -> dict:
    """What the card and the benchmark need to say how the corpus was made (stored next to the data)."""
    kept = [row for row in rows if row["keep"]]
    filter_values = asdict(filter_config)
    return {
        "format": "medsyn-corpus",
        "medsyn_version": __version__,
        "created": time.strftime("%Y-%m-%d", time.gmtime()),
        "seed": config.seed,
        "n_requested": config.n,
        "backend": {"name": backend.name, "model": backend.model, "adapter": config.adapter},
        "models": dict(Counter(row["generation_model"] for row in kept)),
        "prompt_families": dict(Counter(row["prompt_family"] for row in kept)),
        "prompt_templates": dict(Counter(row["prompt_template"] for row in kept)),
        "example_fallback_to_symptoms": report.example_fallbacks,
        "sampling": {
            "code_strategy": config.code_strategy,
            "k_min": config.k_min,
            "k_max": config.k_max,
            "symptom_temperature": config.symptom_temperature,
            "codes": config.codes,
        },
        "generation": {"temperature": config.temperature, "top_p": config.top_p, "max_new_tokens": config.max_new_tokens},
        "mkg": {"path": config.graph or "embedded", "sources": graph.provenance["sources"]},
        "filters": {
            key: filter_values[key]
            for key in ("min_symptom_recall", "max_example_longest_ngram", "min_cyrillic_share", "min_words", "max_words")
        },
        "dedup": {
            "method": "minhash-lsh",
            "threshold": filter_config.dedup_threshold,
            "num_perm": filter_config.num_perm,
            "shingle_size": filter_config.shingle_size,
        },
        "summary": {
            "requested": config.n,
            "generated": report.generated,
            "failed": report.failed,
            "kept": report.kept,
            "filtered": report.generated - report.kept,
            "near_duplicates": report.near_duplicates,
            "prompt_tokens": sum(row["prompt_tokens"] for row in rows),
            "completion_tokens": sum(row["completion_tokens"] for row in rows),
            "cost": round(report.cost, 6),
        },
        "reject_reasons": dict(report.reject_reasons),
        "pretty_name": config.pretty_name,
        **({"license": config.license} if config.license else {}),
    }
