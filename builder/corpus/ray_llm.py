"""The openai backend on Ray: chat completions through `ray.data.llm`'s HTTP request processor.

The processor (Ray 2.60: `build_processor(HttpRequestProcessorConfig(...))`) sends each row's payload from a pool
of actors and retries 429, 408, 502-504 and dropped connections itself, with exponential backoff. What it does not
do, this module does around it: a 500 comes back as the server's error body, and is retried here in further rounds
(up to `--max-retries`); a request the server refuses (400, 401, 404, 413, 422) is not retried and says what to
change; a round cut short (the processor gives up on a row by failing its whole batch) leaves its unanswered rows
for the next round. Each success keeps its token usage and cost. Several `--base-url`s each get a processor and an
equal share of the rows.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from collections.abc import Iterator
from typing import Any

from medsyn.builder.generate.backends import Backend, GenerationOptions, Request, Result
from medsyn.builder.generate.backends.openai import normalise_url
from medsyn.builder.generate.backends.openai_errors import server_message, what_to_change

log = logging.getLogger(__name__)

# The HTTP stage (Ray 2.60, `HttpRequestUDF.udf`) creates a batch's requests with `session.post` and then awaits
# them one after another; aiohttp starts a request only when it is awaited, so with a plain session a batch's
# requests would go out one by one. The stage's `session_factory` gives it an `EagerSession`, whose `post` starts
# the request at once: a batch's requests are all in flight together. An actor runs ASYNC_BATCHES batches at once
# (Ray Data's default for async batch functions), starting the next as one ends, so an actor holds up to
# HTTP_BATCH x ASYNC_BATCHES requests in flight (`_layout` fits them to `--concurrency`). A task's rows are
# BLOCK_ROUNDS such rounds: long enough that the gap between an actor's tasks costs little, short enough that
# results reach the driver (and the store a rerun resumes from) every few rounds.
HTTP_BATCH = 8
ASYNC_BATCHES = 4
BLOCK_ROUNDS = 4
RETRY_WAIT = 0.5  # seconds: the processor's base backoff (doubling per retry)
LIGHT = 0.1  # CPUs a task of waiting or JSON work reserves
# Server error bodies that mean "the request itself is refused": what `openai_errors.what_to_change` advises on.
REFUSED_WORDS = ("invalid", "not found", "does not exist", "too long", "context", "api key", "unauthor")


class HttpGeneration:
    """A `Backend` for the generation run whose requests go through `ray.data.llm` (see the module docstring)."""

    def __init__(self, ray: Any, backend: Backend, options: GenerationOptions):
        self.ray, self.backend, self.options = ray, backend, options
        self.name, self.model = backend.name, backend.model
        self.urls = [normalise_url(url) + "/chat/completions" for url in options.base_url]
        self.api_key = os.environ.get(options.api_key_env) or "EMPTY"

    def generate(self, requests: list[Request]) -> Iterator[Result]:
        pending = {request.key: request for request in requests}
        for round_ in range(self.options.max_retries + 1):
            if not pending:
                return
            last = round_ == self.options.max_retries
            retry: dict[str, Request] = {}
            for result in self._round(list(pending.values())):
                if result.ok or result.refused or last:
                    pending.pop(result.key, None)
                    yield result
                else:
                    retry[result.key] = pending.pop(result.key)
            for key, request in pending.items():  # never answered: the round was cut short
                retry[key] = request
            pending = retry
            if pending:
                log.info("retrying %d requests (round %d of %d)", len(pending), round_ + 2,
                         self.options.max_retries + 1)
        for request in pending.values():
            yield Result(request.key, None, error=f"no answer after {self.options.max_retries + 1} rounds")

    def _round(self, requests: list[Request]) -> Iterator[Result]:
        """One pass of `requests` through the processors; a pass the processor abandons ends what it yields."""
        outputs = [processor(self._dataset(requests[i::len(self.urls)]))
                   for i, processor in enumerate(self._processors())]
        ds = outputs[0].union(*outputs[1:]) if len(outputs) > 1 else outputs[0]
        try:
            for row in ds.iter_rows():
                yield self._result(row)
        except Exception as exc:  # the processor gave up on a row (retries spent): that batch failed as a whole
            log.warning("a batch of the HTTP processor failed, its requests go to the next round: %s",
                        str(exc).splitlines()[0][:300])

    def _dataset(self, requests: list[Request]) -> Any:
        batch, _ = self._layout()
        blocks = max(1, -(-len(requests) // (batch * ASYNC_BATCHES * BLOCK_ROUNDS)))
        return self.ray.data.from_items([{"key": r.key, "payload": json.dumps(self._body(r), ensure_ascii=False)}
                                         for r in requests], override_num_blocks=blocks)

    def _body(self, request: Request) -> dict:
        params = request.params
        return {"model": self.model, "messages": request.messages, "seed": request.seed,
                "temperature": params.temperature, "top_p": params.top_p, "max_tokens": params.max_new_tokens}

    def _processors(self) -> list[Any]:
        from ray.data.llm import HttpRequestProcessorConfig, build_processor

        batch, actors = self._layout()
        return [build_processor(
            HttpRequestProcessorConfig(
                url=url, headers={"Authorization": f"Bearer {self.api_key}"}, batch_size=batch,
                concurrency=(actors, actors),  # a fixed pool: all of them from the start, not scaled up slowly
                max_retries=self.options.max_retries, base_retry_wait_time_in_s=RETRY_WAIT,
                session_factory=EagerSession,  # a batch's requests in flight together (see HTTP_BATCH)
                http_request_stage={"num_cpus": LIGHT}),  # waiting on the network, not computing
            # Reading and writing JSON: a tenth of a CPU each, so that they never hold back the requests.
            preprocess=_preprocess, postprocess=_postprocess, preprocess_map_kwargs={"num_cpus": LIGHT},
            postprocess_map_kwargs={"num_cpus": LIGHT},
        ) for url in self.urls]

    def _layout(self) -> tuple[int, int]:
        """(rows per batch, actors) of each URL's processor: `--concurrency`'s share of the URL in flight (at least
        ASYNC_BATCHES requests)."""
        share = max(1, self.options.concurrency // len(self.urls))
        batch = max(1, min(HTTP_BATCH, share // ASYNC_BATCHES))
        return batch, max(1, share // (batch * ASYNC_BATCHES))

    def _result(self, row: dict) -> Result:
        """The run's `Result` of one processor row: text and usage, or the reason it failed."""
        key, response = row["key"], json.loads(row["response"])
        choices = response.get("choices") if isinstance(response, dict) else None
        if choices:
            text = (choices[0].get("message") or {}).get("content")
            if isinstance(text, str) and text.strip():
                usage = response.get("usage") or {}
                prompt, completion = int(usage.get("prompt_tokens") or 0), int(usage.get("completion_tokens") or 0)
                cost = (prompt * self.options.price_per_1k_input + completion * self.options.price_per_1k_output) / 1000
                return Result(key, text.strip(), prompt, completion, cost)
            return Result(key, None, error="empty completion: no content")
        message = server_message(response) or "no choices in the answer"
        if any(word in message.lower() for word in REFUSED_WORDS):
            change = what_to_change(400, message, self.model, self.options.api_key_env,
                                    self.options.max_new_tokens)
            return Result(key, None, error=f"refused: {message}; {change}", refused=True)
        return Result(key, None, error=f"server error: {message}")

    def close(self) -> None:
        self.backend.close()


class EagerSession:
    """An aiohttp session for the HTTP stage whose `post` sends the request now, not when it is awaited: the stage
    awaits a batch's requests in order, and by then all of them are on their way. Awaiting gives the response, as
    awaiting aiohttp's own `post` does; retries go through `post` again and start at once too.

    The stage opens a session per batch and closes it after; a fresh aiohttp session would open a fresh connection
    per request, a TCP handshake and a server thread each time, which cost the benchmark a third of its time on two
    cores. So every batch of an actor's event loop shares one session, and its keep-alive connections, for the
    actor's life; leaving the `async with` does not close it."""

    _shared: dict[int, tuple[asyncio.AbstractEventLoop, Any]] = {}  # id of the event loop -> (loop, its session)

    def __init__(self) -> None:
        import aiohttp

        loop = asyncio.get_running_loop()
        owner, session = self._shared.get(id(loop), (None, None))
        if owner is not loop or session.closed:  # a new loop may reuse a dead one's id
            session = aiohttp.ClientSession()
            self._shared[id(loop)] = (loop, session)
        self.session = session

    async def __aenter__(self) -> "EagerSession":
        return self

    async def __aexit__(self, *exc: object) -> None:
        return None

    def post(self, url: str, **kwargs: Any) -> asyncio.Future:
        return asyncio.ensure_future(self.session.post(url, **kwargs))


def _preprocess(row: dict) -> dict:
    return {"key": row["key"], "payload": json.loads(row["payload"])}


def _postprocess(row: dict) -> dict:
    return {"key": row["key"], "response": json.dumps(row.get("http_response"), ensure_ascii=False)}
