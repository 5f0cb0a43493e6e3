"""The `openai` backend against a real loopback HTTP server that misbehaves on purpose (tests/fault_server.py)."""

from __future__ import annotations

import email.utils
import threading
import time

import pytest

from medsyn.builder.generate.backends.openai import OpenAIBackend, backoff_delay, retry_after_seconds
from medsyn.builder.generate.backends import Request, SamplingParams
from medsyn.errors import MedsynError
from tests.fault_server import (
    BAD_REQUEST,
    EMPTY,
    FINAL_ERROR,
    HANG,
    INVALID,
    MALFORMED,
    NO_CHOICES,
    OK,
    RATE_LIMIT,
    RESET,
    SERVER_ERROR,
    TOO_LARGE,
    TOO_LONG,
    TOO_LONG_DETAIL,
    UNAVAILABLE,
    FaultServer,
    default_reply,
)

FAST = {"backoff_base": 0.01, "backoff_max": 0.05}  # keep retries quick; Retry-After is honoured regardless


def make_requests(n: int, params: SamplingParams | None = None) -> list[Request]:
    return [
        Request(
            key=f"k{i:03d}",
            messages=[
                {"role": "system", "content": "Ты врач. Напиши жалобы пациента."},
                {"role": "user", "content": f"Симптомы: головная боль, слабость. Номер {i}."},
            ],
            seed=1000 + i,
            params=params or SamplingParams(),
        )
        for i in range(n)
    ]


@pytest.fixture(params=["aiohttp", "httpx2"])
def transport(request, monkeypatch):
    """Both HTTP transports: aiohttp where `openai[aiohttp]` is installed, httpx2's own otherwise."""
    import openai

    if request.param == "httpx2":

        def missing(**kwargs):
            raise RuntimeError("To use the aiohttp client you must have installed the package with the `aiohttp` extra")

        monkeypatch.setattr(openai, "DefaultAioHttpClient", missing)
    else:
        pytest.importorskip("aiohttp")
    return request.param


def test_every_request_ends_ok_despite_every_kind_of_fault(transport):
    faults = [RATE_LIMIT, SERVER_ERROR, RESET, EMPTY, MALFORMED, NO_CHOICES, HANG]
    requests = make_requests(6)
    with FaultServer(
        script=lambda body, attempt: faults[attempt] if attempt < len(faults) else OK,
        retry_after="0",
        hang_seconds=10,
    ) as server:
        with OpenAIBackend("fake-model", [server.base_url], concurrency=4, timeout=0.5, max_retries=8, **FAST) as be:
            results = list(be.generate(requests))
            http_client = be._clients[0]._client
        seen = server.requests_seen
    assert ("aiohttp" in type(http_client).__name__.lower()) == (transport == "aiohttp")

    assert sorted(r.key for r in results) == [r.key for r in requests]
    assert all(r.ok for r in results), [r.error for r in results if not r.ok]
    by_key = {r.key: r for r in results}
    for request in requests:
        body = {"messages": request.messages, "seed": request.seed}
        assert by_key[request.key].text == default_reply(body)
        assert by_key[request.key].prompt_tokens > 0 and by_key[request.key].completion_tokens > 0
    # each request met every fault once, then succeeded
    assert len(seen) == len(requests) * (len(faults) + 1)
    assert {s.action for s in seen} == set(faults) | {OK}
    assert be.usage.requests == 6 and be.usage.failed == 0 and be.usage.retries == 6 * len(faults)


def test_sampling_parameters_seed_and_extra_body_are_sent():
    params = SamplingParams(temperature=0.3, top_p=0.8, max_new_tokens=77)
    with FaultServer() as server:
        backend = OpenAIBackend("fake-model", [server.base_url], extra_body={"top_k": 5, "repetition_penalty": 1.1})
        try:
            [result] = list(backend.generate(make_requests(1, params)))
        finally:
            backend.close()
        [seen] = server.requests_seen
    assert result.ok
    body = seen.body
    assert (body["temperature"], body["top_p"], body["max_tokens"], body["seed"]) == (0.3, 0.8, 77, 1000)
    assert body["top_k"] == 5 and body["repetition_penalty"] == 1.1
    assert body["model"] == "fake-model" and body["messages"][0]["role"] == "system"


def test_retry_after_is_honoured_before_the_next_attempt():
    with FaultServer(script=[RATE_LIMIT], retry_after="1") as server:
        with OpenAIBackend("fake-model", [server.base_url], **FAST) as backend:
            [result] = list(backend.generate(make_requests(1)))
        first, second = server.requests_seen
    assert result.ok
    assert (first.action, second.action) == (RATE_LIMIT, OK)
    assert second.arrived - first.arrived >= 1.0  # the exponential backoff alone would wait < 0.05 s


def test_retry_after_header_forms():
    now = time.time()
    assert retry_after_seconds("3") == 3.0
    assert retry_after_seconds("0.25") == 0.25
    assert retry_after_seconds(email.utils.formatdate(now + 30, usegmt=True), now=now) == pytest.approx(30, abs=1)
    assert retry_after_seconds(email.utils.formatdate(now - 30, usegmt=True), now=now) == 0.0
    assert retry_after_seconds("soon") is None
    assert retry_after_seconds(None) is None


def test_backoff_grows_exponentially_with_jitter_and_a_cap():
    import random

    rng = random.Random(1)
    delays = [[backoff_delay(a, 0.5, 8.0, rng) for a in range(7)] for _ in range(50)]
    for row in delays:
        for attempt, delay in enumerate(row):
            step = min(8.0, 0.5 * 2**attempt)
            assert step / 2 <= delay <= step
    assert len({row[3] for row in delays}) > 1  # jittered


def test_non_retryable_error_is_reported_at_once_with_the_servers_message():
    with FaultServer(script=lambda body, attempt: BAD_REQUEST if body["seed"] == 1001 else OK) as server:
        with OpenAIBackend("fake-model", [server.base_url], **FAST) as backend:
            results = {r.key: r for r in backend.generate(make_requests(3))}
        seen = server.requests_seen
    assert results["k000"].ok and results["k002"].ok
    failed = results["k001"]
    assert not failed.ok and failed.text is None
    assert failed.error.startswith("HTTP 400:") and "prompt is too long" in failed.error  # category first
    assert sum(1 for s in seen if s.body["seed"] == 1001) == 1  # not retried
    assert backend.usage.failed == 1


@pytest.mark.parametrize(
    "action, status, words, change",
    [
        (TOO_LONG, 400, TOO_LONG_DETAIL, "lower --max-new-tokens"),  # transformers serve, FastAPI's {"detail": ...}
        (INVALID, 422, "temperature: Input should be less than or equal to 2", "check --model, --temperature"),
        (TOO_LARGE, 413, "413 Request Entity Too Large 413 Request Entity Too Large nginx", "use shorter prompts"),
        (FINAL_ERROR, 500, "the model failed on this input", "check --model"),  # x-should-retry: false
    ],
)
def test_a_refusal_is_sent_once_and_carries_the_servers_own_words_and_what_to_change(action, status, words, change):
    with FaultServer(script=lambda body, attempt: action) as server:
        with OpenAIBackend("fake-model", [server.base_url], max_retries=3, **FAST) as backend:
            [result] = list(backend.generate(make_requests(1)))
        seen, url = server.requests_seen, server.base_url
    assert len(seen) == 1 and backend.usage.retries == 0  # a retry would be refused the same way
    assert result.refused and not result.ok
    assert result.error.startswith(f"HTTP {status}: {words} ({url})") and change in result.error
    assert "\n" not in result.error and "<" not in result.error


def test_the_servers_words_are_read_from_every_common_error_body():
    from medsyn.builder.generate.backends.openai_errors import retryable, server_message

    assert server_message({"error": {"message": "Incorrect API key", "type": "invalid_request_error"}}) == \
        "Incorrect API key"
    assert server_message({"error": "Input validation error: `inputs` must have less than 4096 tokens"}) == \
        "Input validation error: `inputs` must have less than 4096 tokens"
    assert server_message({"object": "error", "message": "maximum context length is 4096 tokens", "code": 400}) == \
        "maximum context length is 4096 tokens"
    assert server_message({"error": True, "message": "over quota"}) == "over quota"
    assert server_message({"detail": [{"loc": ["body", "top_p"], "msg": "Input should be <= 1"},
                                      {"loc": ["body", "n"], "msg": "Extra inputs are not permitted"}]}) == \
        "top_p: Input should be <= 1; n: Extra inputs are not permitted"
    assert server_message(b"upstream\n   timed out\r\n") == "upstream timed out"
    assert server_message(None) == ""
    long = server_message("слово " * 200)
    assert len(long) == 300 and long.endswith("…") and "\n" not in long
    # the server's x-should-retry wins, as in the openai client; otherwise only what a retry can fix
    assert retryable(400, {"x-should-retry": "true"}) and not retryable(503, {"x-should-retry": "false"})
    assert all(retryable(status, {}) for status in (408, 409, 425, 429, 500, 502, 503, 504))
    assert not any(retryable(status, {}) for status in (400, 401, 403, 404, 413, 422))


def test_an_unavailable_server_is_retried_until_it_answers():
    with FaultServer(script=[UNAVAILABLE, UNAVAILABLE]) as server:
        with OpenAIBackend("fake-model", [server.base_url], max_retries=3, **FAST) as backend:
            [result] = list(backend.generate(make_requests(1)))
        seen = server.requests_seen
    assert [s.action for s in seen] == [UNAVAILABLE, UNAVAILABLE, OK] and backend.usage.retries == 2
    assert result.ok and not result.refused


def test_a_server_error_that_persists_names_the_servers_words_and_is_not_a_refusal():
    with FaultServer(script=lambda body, attempt: UNAVAILABLE) as server:
        with OpenAIBackend("fake-model", [server.base_url], max_retries=1, **FAST) as backend:
            [result] = list(backend.generate(make_requests(1)))
        assert len(server.requests_seen) == 2
    assert not result.ok and not result.refused
    assert result.error.startswith("HTTP 503: upstream connect error") and "gave up after 2 attempts" in result.error


def test_the_streamer_shows_the_servers_own_words():
    from medsyn.builder.generate.backends.openai_stream import OpenAIStreamer

    request = make_requests(1)[0]
    with FaultServer(script=[TOO_LONG]) as server:
        streamer = OpenAIStreamer("fake-model", server.base_url)
        try:
            with pytest.raises(MedsynError, match="answered 400: The prompt has 600 tokens, but the model takes at"):
                list(streamer.stream_note(request.messages, {}, None, request.seed, request.params))
        finally:
            streamer.close()


def test_persistent_fault_becomes_a_permanent_failure_with_its_reason():
    with FaultServer(script=lambda body, attempt: EMPTY) as server:
        with OpenAIBackend("fake-model", [server.base_url], max_retries=2, **FAST) as backend:
            [result] = list(backend.generate(make_requests(1)))
        assert len(server.requests_seen) == 3
    assert not result.ok
    assert result.error.startswith("empty completion:") and "gave up after 3 attempts" in result.error


def test_requests_are_spread_over_base_urls_and_survive_a_dead_one():
    pool = FaultServer.pool(3, latency=0.02)
    for server in pool:
        server.start()
    try:
        urls = [server.base_url for server in pool]
        with OpenAIBackend("fake-model", urls, concurrency=6, **FAST) as backend:
            results = list(backend.generate(make_requests(30)))
        ports = [s.port for s in pool[0].requests_seen]
        counts = [ports.count(server.port) for server in pool]
    finally:
        for server in pool:
            server.close()
    assert all(r.ok for r in results) and len(results) == 30
    assert all(c >= 5 for c in counts), counts

    with FaultServer() as alive:
        dead = FaultServer().start()
        dead_url = dead.base_url
        dead.close()  # nothing listens there any more: connection refused
        with OpenAIBackend("fake-model", [dead_url, alive.base_url], max_retries=4, **FAST) as backend:
            results = list(backend.generate(make_requests(8)))
    assert all(r.ok for r in results), [r.error for r in results]


def test_concurrency_limit_is_respected_at_the_server():
    with FaultServer(latency=0.05) as server:
        with OpenAIBackend("fake-model", [server.base_url], concurrency=5, **FAST) as backend:
            results = list(backend.generate(make_requests(40)))
        assert server.max_in_flight == 5  # reached, never exceeded
    assert len(results) == 40 and all(r.ok for r in results)


def test_results_are_yielded_as_they_complete_not_at_the_end():
    release = threading.Event()

    def reply(body):
        if body["seed"] == 1000:
            release.wait(10)  # the first request finishes only when the caller has seen the others
        return default_reply(body)

    with FaultServer(reply=reply) as server:
        with OpenAIBackend("fake-model", [server.base_url], concurrency=4, **FAST) as backend:
            order = []
            for result in backend.generate(make_requests(4)):
                order.append(result.key)
                if len(order) == 3:
                    release.set()
    assert order[-1] == "k000" and sorted(order) == ["k000", "k001", "k002", "k003"]


def test_requests_are_read_lazily_on_the_callers_thread():
    caller = threading.get_ident()
    threads = []

    def source():
        for request in make_requests(50):
            threads.append(threading.get_ident())
            yield request

    with FaultServer() as server:
        with OpenAIBackend("fake-model", [server.base_url], concurrency=2, **FAST) as backend:
            stream = backend.generate(source())
            next(stream)
            read_before_first = len(threads)
            rest = list(stream)
    assert set(threads) == {caller}
    assert read_before_first <= 2 * 2 + 1  # a bounded window ahead, not the whole list
    assert len(rest) == 49


def test_usage_and_cost_are_summed_per_run():
    with FaultServer() as server:
        with OpenAIBackend(
            "fake-model", [server.base_url], price_per_1k_input=2.0, price_per_1k_output=10.0, **FAST
        ) as backend:
            results = list(backend.generate(make_requests(5)))
    prompt = sum(r.prompt_tokens for r in results)
    completion = sum(r.completion_tokens for r in results)
    assert backend.usage.prompt_tokens == prompt and backend.usage.completion_tokens == completion
    assert backend.usage.cost == pytest.approx((prompt * 2.0 + completion * 10.0) / 1000)
    assert all(r.cost == pytest.approx((r.prompt_tokens * 2 + r.completion_tokens * 10) / 1000) for r in results)


def test_check_reports_unreachable_server_and_unknown_model():
    with FaultServer() as server:
        OpenAIBackend("fake-model", [server.base_url.removesuffix("/v1")]).check()  # /v1 added, model listed
        with pytest.raises(MedsynError, match="does not serve model 'gpt-x'.*fake-model"):
            OpenAIBackend("gpt-x", [server.base_url]).check()
        dead = FaultServer().start()
        dead_url = dead.base_url
        dead.close()
    with pytest.raises(MedsynError, match=f"cannot reach the server at {dead_url}"):
        OpenAIBackend("fake-model", [dead_url]).check(timeout=2)


def test_unknown_model_at_generation_is_a_permanent_failure():
    with FaultServer() as server:
        with OpenAIBackend("gpt-x", [server.base_url], **FAST) as backend:
            [result] = list(backend.generate(make_requests(1)))
        assert len(server.requests_seen) == 1
    assert result.error.startswith("HTTP 404:") and "gpt-x" in result.error


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"base_urls": []}, "at least one base URL"),
        ({"base_urls": ["localhost:8000"]}, "not an http"),
        ({"model": " "}, "needs a model name"),
        ({"concurrency": 0}, "concurrency must be an integer >= 1"),
        ({"max_retries": -1}, "max_retries must be an integer >= 0"),
        ({"timeout": 0}, "timeout must be > 0"),
        ({"price_per_1k_input": -1.0}, "price_per_1k_input must be >= 0"),
    ],
)
def test_bad_configuration_fails_before_any_work(kwargs, message):
    args = {"model": "m", "base_urls": ["http://127.0.0.1:9/v1"], **kwargs}
    with pytest.raises(MedsynError, match=message):
        OpenAIBackend(**args)


def test_api_key_comes_from_the_environment_and_is_never_shown(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-secret-123")
    backend = OpenAIBackend("m", ["http://127.0.0.1:9"])
    assert backend._api_key == "sk-secret-123"
    assert "sk-secret" not in repr(backend) and backend.base_urls == ["http://127.0.0.1:9/v1"]
    monkeypatch.delenv("OPENAI_API_KEY")
    assert OpenAIBackend("m", ["http://127.0.0.1:9"])._api_key == "EMPTY"
    assert OpenAIBackend("m", ["http://127.0.0.1:9"], api_key="k2")._api_key == "k2"
