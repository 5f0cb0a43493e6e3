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

import json
import logging
import os
from collections.abc import Iterator
from typing import Any

from medsyn.builder.generate.backends import Backend, GenerationOptions, Request, Result
from medsyn.builder.generate.backends.openai import normalise_url
from medsyn.builder.generate.backends.openai_errors import server_message, what_to_change

log = logging.getLogger(__name__)

# The HTTP stage (Ray 2.60, `HttpRequestUDF.udf`) creates a batch's requests with `session.post` but awaits them one
# after another, and aiohttp starts a request only when it is awaited: a batch's requests go out one by one. So
# each batch is one request, and an actor keeps WINDOW of them in flight: Ray Data runs up to
# RAY_DATA_DEFAULT_ASYNC_BATCH_UDF_MAX_CONCURRENCY batches of an async stage at once within a task (default 4),
# set for the stage's workers through its runtime_env, and refills that window as each batch ends. A task's results
# come back to the driver (and into the store a rerun resumes from) when the task ends, so a block is only
# BLOCK_ROUNDS windows of rows: the actor's next task is queued behind it and starts at once.
HTTP_BATCH = 1
WINDOW = 16  # requests an actor of the HTTP stage keeps in flight
BLOCK_ROUNDS = 2  # a block (one task of an actor) holds this many windows of rows
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
        # Each block a task that keeps an actor's window full for BLOCK_ROUNDS rounds, at least one per actor.
        actors = self._actors()
        blocks = max(actors, -(-len(requests) // (WINDOW * BLOCK_ROUNDS)))
        blocks = min(blocks, max(1, len(requests) // WINDOW))
        return self.ray.data.from_items([{"key": r.key, "payload": json.dumps(self._body(r), ensure_ascii=False)}
                                         for r in requests], override_num_blocks=blocks)

    def _body(self, request: Request) -> dict:
        params = request.params
        return {"model": self.model, "messages": request.messages, "seed": request.seed,
                "temperature": params.temperature, "top_p": params.top_p, "max_tokens": params.max_new_tokens}

    def _processors(self) -> list[Any]:
        from ray.data.llm import HttpRequestProcessorConfig, build_processor

        actors = self._actors()
        window = max(1, min(WINDOW, self.options.concurrency // (actors * len(self.urls)) or 1))
        return [build_processor(
            HttpRequestProcessorConfig(
                url=url, headers={"Authorization": f"Bearer {self.api_key}"}, batch_size=HTTP_BATCH,
                concurrency=(actors, actors),  # a fixed pool: all of them from the start, not scaled up slowly
                max_retries=self.options.max_retries, base_retry_wait_time_in_s=RETRY_WAIT,
                # Waiting on the network, not computing; `window` batches (requests) in flight per actor.
                http_request_stage={"num_cpus": LIGHT, "runtime_env": {"env_vars": {
                    "RAY_DATA_DEFAULT_ASYNC_BATCH_UDF_MAX_CONCURRENCY": str(window)}}}),
            # Reading and writing JSON: a tenth of a CPU each, so that they never hold back the requests.
            preprocess=_preprocess, postprocess=_postprocess, preprocess_map_kwargs={"num_cpus": LIGHT},
            postprocess_map_kwargs={"num_cpus": LIGHT},
        ) for url in self.urls]

    def _actors(self) -> int:
        """Actors per processor: `--concurrency`'s share of one URL in windows of WINDOW requests."""
        share = max(1, self.options.concurrency // len(self.urls))
        return max(1, -(-share // WINDOW))

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


def _preprocess(row: dict) -> dict:
    return {"key": row["key"], "payload": json.loads(row["payload"])}


def _postprocess(row: dict) -> dict:
    return {"key": row["key"], "response": json.dumps(row.get("http_response"), ensure_ascii=False)}
