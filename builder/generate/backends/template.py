"""The `template` backend: notes composed from the prior by `template_notes.compose_note`, no LLM.

What `medsyn build` and the Space use when no LLM is configured (so the quickstart runs offline in seconds), and the
no-LLM baseline of the benchmark. Streaming reveals the same note one word at a time.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

from medsyn.builder.generate.backends.base import Request, Result, SamplingParams
from medsyn.builder.generate.template import knowledge
from medsyn.builder.generate.template.notes import compose_note
from medsyn.pools import process_map, worker_count

_WORD_RE = re.compile(r"\S+\s*")
CHUNK = 256  # notes per hand-over to a worker: a note takes ~0.4 ms, pickling it a few microseconds


class TemplateBackend:
    """Reports whitespace-separated words as completion tokens. Notes are composed in `workers` processes (0: one
    per core); a note depends only on its prior and seed, so the split changes nothing."""

    name = "template"
    model = "template"

    def __init__(self, workers: int = 1):
        self.workers = worker_count(workers)

    def generate(self, requests: Iterable[Request]) -> Iterator[Result]:
        requests = list(requests)
        graph = knowledge.active_path()  # a spawned worker learns which graph's tables to read from the job
        jobs = [(r.prior, r.seed, r.template, graph) for r in requests if r.prior and r.prior.get("symptoms")]
        texts = process_map(_compose, jobs, self.workers, CHUNK)
        for request in requests:
            if not request.prior:
                yield Result(request.key, None, error="the template backend needs the prior of each request")
                continue
            if not request.prior.get("symptoms"):
                yield Result(request.key, None, error="the template backend needs at least one symptom in the prior")
                continue
            text = next(texts)
            yield Result(request.key, text, prompt_tokens=0, completion_tokens=len(text.split()))

    def stream_note(self, messages: list[dict[str, str]], prior: dict, template: str | None, seed: int,
                    params: SamplingParams) -> Iterator[str]:
        text = compose_note(prior, seed, template)
        shown = ""
        for piece in _WORD_RE.findall(text)[: params.max_new_tokens]:
            shown += piece
            yield shown.rstrip()

    def close(self) -> None:
        pass


def _compose(job: tuple[dict, int, str | None, str | None]) -> str:
    prior, seed, template, graph = job
    if knowledge.active_path() != graph:
        knowledge.activate(graph)
    return compose_note(prior, seed, template)
