"""The generation run (`builder/corpus/run.py`): resumable through the store, a summary of what this run did, and a
stop when the server refuses everything. Real backends: `template`, and `openai` against the loopback fault server."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import pytest

from medsyn.builder.corpus.build import plan
from medsyn.builder.corpus.config import BuildConfig, GenerationOptions
from medsyn.builder.corpus.run import STOP_AFTER_REFUSALS, failure_reason, request_key, request_seed, run_generations
from medsyn.builder.corpus.store import GenerationStore
from medsyn.builder.generate.backends import Backend, Request, Result, SamplingParams, open_backend
from tests.fault_server import OK, TOO_LONG, UNAVAILABLE, FaultServer

SEED = 5


def requests_for(graph, n: int, backend: str, model: str) -> list[Request]:
    """The requests a build of `n` notes sends (`build.plan`, then keys and seeds as `build_corpus` makes them)."""
    config = BuildConfig.of(out="unused", n=n, seed=SEED, codes=["J06", "M54"], backend=backend)
    params = SamplingParams()
    requests = []
    for prompt in plan(config, graph, []):
        seed = request_seed(SEED, prompt.prior_id)
        key = request_key(prompt.messages, backend, model, None, params, seed, prompt.prior)
        requests.append(Request(key, prompt.messages, seed, params, prompt.prior, prompt.prompt_template))
    return requests


class Sent:
    """A real backend, and the requests each run handed it (what a resumed run must not send again)."""

    def __init__(self, backend: Backend):
        self.backend, self.name, self.model = backend, backend.name, backend.model
        self.sent: list[str] = []

    def generate(self, requests: Iterable[Request]) -> Iterator[Result]:
        requests = list(requests)
        self.sent += [request.key for request in requests]
        return self.backend.generate(requests)

    def close(self) -> None:
        self.backend.close()


def openai(server: FaultServer) -> Sent:
    return Sent(open_backend(GenerationOptions(backend="openai", model="fake-model", base_url=[server.base_url],
                                               max_retries=0, concurrency=2, timeout=5)))  # fmt: skip


def test_a_second_run_generates_nothing_again(graph, tmp_path):
    requests = requests_for(graph, 12, "template", "template")
    path = tmp_path / "work" / "generations.sqlite"
    first = Sent(open_backend(GenerationOptions(workers=1)))
    with GenerationStore(path) as store:
        summary = run_generations(requests, first, store, progress=False)
        texts = {key: result.text for key, result in store.get_many([r.key for r in requests]).items()}
    assert (summary.requested, summary.ok, summary.cached, summary.failed) == (12, 12, 0, 0)
    assert sorted(first.sent) == sorted(r.key for r in requests) and all(texts.values())
    again = Sent(open_backend(GenerationOptions(workers=1)))
    with GenerationStore(path) as store:
        summary = run_generations(requests, again, store, progress=False)
        assert {key: result.text for key, result in store.get_many(list(texts)).items()} == texts
    assert again.sent == [] and (summary.ok, summary.cached, summary.completion_tokens) == (0, 12, 0)


def test_a_rerun_sends_only_what_failed(graph, tmp_path):
    requests = requests_for(graph, 6, "openai", "fake-model")
    failing = {request.seed for request in requests[:2]}
    path = tmp_path / "generations.sqlite"
    with FaultServer(script=lambda body, attempt: UNAVAILABLE if body["seed"] in failing else OK) as server:
        first = openai(server)
        with GenerationStore(path) as store:
            summary = run_generations(requests, first, store, progress=False)
    assert (summary.ok, summary.failed) == (4, 2) and summary.failure_reasons == {"HTTP 503": 2}
    assert not summary.refused and not summary.unsent  # a retry can fix these
    with FaultServer() as server:
        again = openai(server)
        with GenerationStore(path) as store:
            summary = run_generations(requests, again, store, progress=False)
            assert store.finished() == {r.key for r in requests}
    assert sorted(again.sent) == sorted(r.key for r in requests[:2])
    assert (summary.ok, summary.cached, summary.failed) == (2, 4, 0)


def test_a_server_refusing_everything_stops_the_run(graph, tmp_path):
    requests = requests_for(graph, STOP_AFTER_REFUSALS + 15, "openai", "fake-model")
    with FaultServer(script=lambda body, attempt: TOO_LONG) as server:
        backend = openai(server)
        with GenerationStore(tmp_path / "generations.sqlite") as store:
            summary = run_generations(requests, backend, store, progress=False)
            assert store.finished() == set()
    assert summary.ok == 0 and summary.refused == {"HTTP 400": summary.failed}
    assert summary.failed >= STOP_AFTER_REFUSALS and summary.unsent == len(requests) - summary.failed > 0
    assert "HTTP 400" in summary.first_refusal["HTTP 400"] and len(summary.first_refusal["HTTP 400"]) > 20


def test_keys_change_with_what_determines_the_text_and_seeds_are_per_note():
    messages, params = [{"role": "user", "content": "Жалобы?"}], SamplingParams()
    key = request_key(messages, "openai", "m", None, params, 7, {"code": "J06"})
    assert key == request_key(list(messages), "openai", "m", None, SamplingParams(), 7, {"code": "J06"})
    for changed in (request_key(messages, "openai", "m2", None, params, 7, {"code": "J06"}),
                    request_key(messages, "openai", "m", None, params, 8, {"code": "J06"}),
                    request_key(messages, "openai", "m", None, SamplingParams(temperature=0.1), 7, {"code": "J06"}),
                    request_key(messages, "openai", "m", "adapter", params, 7, {"code": "J06"})):  # fmt: skip
        assert changed != key
    assert request_seed(3, "p000001") == request_seed(3, "p000001") != request_seed(4, "p000001")
    assert 0 <= request_seed(3, "p000002") < 2**31


@pytest.mark.parametrize("error, reason", [
    ("HTTP 429 after 6 retries: too many requests", "HTTP 429 after 6 retries"),
    (None, "unknown error"),
    ("x" * 200, "x" * 80),
])  # fmt: skip
def test_failures_are_grouped_by_their_first_clause(error, reason):
    assert failure_reason(error) == reason
