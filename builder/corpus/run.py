"""The generation run: requests through a backend into the durable store, with progress and a summary.

The run is the only place that knows about resumption: it asks the store what is finished, sends the rest, and
commits each result the moment the backend yields it.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from functools import lru_cache

from tqdm.auto import tqdm

from medsyn.builder.generate.backends import Backend, Request, Result, SamplingParams
from medsyn.builder.corpus.store import GenerationStore

# Refusals, with no success yet in this run, after which the run stops: the server refuses the requests as medsyn
# sends them (a key, a model, a prompt over the context), and sending the rest would only repeat the answer.
STOP_AFTER_REFUSALS = 20


def request_key(messages: list[dict], backend: str, model: str, adapter: str | None, params: SamplingParams,
                seed: int, prior: dict | None) -> str:
    """Deterministic in what determines the output: a rerun with the same inputs finds its finished work."""
    payload = {
        "messages": messages,
        "backend": backend,
        "model": model,
        "adapter": adapter,
        "params": _plain(params),
        "seed": seed,
        "prior": prior,
    }
    return hashlib.sha256(json.dumps(payload, ensure_ascii=False, sort_keys=True).encode()).hexdigest()


@lru_cache(maxsize=64)
def _plain(params: SamplingParams) -> dict:
    """Every request of a build has the same params: `asdict` (a deep copy) once, not 41,185 times."""
    return asdict(params)


def request_seed(build_seed: int, prior_id: str) -> int:
    """A per-note seed, so one note's text does not depend on which other notes were generated."""
    digest = hashlib.blake2b(f"{build_seed}/{prior_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") % 2**31


@dataclass
class RunSummary:
    requested: int = 0
    cached: int = 0
    ok: int = 0
    failed: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost: float = 0.0
    seconds: float = 0.0
    failure_reasons: Counter = field(default_factory=Counter)
    refused: Counter = field(default_factory=Counter)  # the failures a rerun cannot fix, by reason
    first_refusal: dict[str, str] = field(default_factory=dict)  # reason -> the whole error of its first refusal
    unsent: int = 0  # requests not sent because the server refused everything (see STOP_AFTER_REFUSALS)


def run_generations(requests: list[Request], backend: Backend, store: GenerationStore, progress: bool = True) -> RunSummary:
    """Generate every request not yet finished in the store; return what this run did."""
    finished = store.finished()
    todo = [request for request in requests if request.key not in finished]
    summary = RunSummary(requested=len(requests), cached=len(requests) - len(todo))
    start = time.monotonic()
    bar = tqdm(
        total=len(requests),
        initial=summary.cached,
        desc=f"generating ({backend.name})",
        unit="note",
        disable=not progress,
        smoothing=0.1,
    )
    results: Iterator[Result] = iter(())
    try:
        results = backend.generate(todo)
        for result in results:
            store.put(result)
            if result.ok:
                summary.ok += 1
                summary.prompt_tokens += result.prompt_tokens
                summary.completion_tokens += result.completion_tokens
                summary.cost += result.cost
            else:
                summary.failed += 1
                reason = failure_reason(result.error)
                summary.failure_reasons[reason] += 1
                if result.refused:
                    summary.refused[reason] += 1
                    summary.first_refusal.setdefault(reason, result.error or reason)
            bar.update(1)
            elapsed = max(time.monotonic() - start, 1e-9)
            bar.set_postfix(
                tok_s=f"{summary.completion_tokens / elapsed:.0f}", failed=summary.failed, refresh=False
            )
            if not summary.ok and summary.refused.total() >= STOP_AFTER_REFUSALS:
                summary.unsent = len(todo) - summary.failed
                break
    finally:
        bar.close()
        close = getattr(results, "close", None)
        if close is not None:  # a generator: its own cleanup (cancelling what is in flight) before the backend's
            close()
        backend.close()
    summary.seconds = time.monotonic() - start
    return summary


def failure_reason(error: str | None) -> str:
    """Group failures by their first clause, so the summary says '429 after 6 retries: 12', not 12 lines."""
    return (error or "unknown error").split(":")[0][:80]
