"""The `openai` backend: chat completions from any OpenAI-compatible server (OpenAI, vLLM, TGI, llama.cpp,
`transformers serve`), many requests in flight, faults retried, results handed over the moment they finish.

Why it looks like this:
- The run is synchronous and stores each note durably as it arrives, so `generate` is a plain iterator fed from an
  asyncio loop in a worker thread. The caller's request iterable is read on the caller's thread (it may be a
  database cursor), at most `2 * concurrency` ahead of the results, so memory stays flat on long runs.
- Retries are ours, not the SDK's (`max_retries=0` there): empty or malformed completions must be retried too, a
  retry may go to another base URL, and each failure's reason must reach the corpus' error column.
- Only what a retry can fix is retried (the statuses the openai client itself retries, and 425); any other 4xx is
  the server refusing the request as sent, so it fails at once with the server's own words and what to change.
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import logging
import math
import os
import queue
import random
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import islice
from typing import Any
from urllib.parse import urlsplit

import tenacity

from medsyn.builder.generate.backends.base import Request, Result
from medsyn.builder.generate.backends.openai_errors import error_message, retryable, what_to_change
from medsyn.errors import MedsynError

log = logging.getLogger(__name__)


@dataclass
class Usage:
    """Totals over every result this backend has yielded: requests, permanent failures, extra attempts (retries),
    and the token usage and cost the server reported for successful ones."""

    requests: int = 0
    failed: int = 0
    retries: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost: float = 0.0


class _Transient(Exception):
    """A failure worth another try; `retry_after` is the server's wish in seconds, if it said one."""

    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


class _Permanent(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def retry_after_seconds(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header: delay-seconds (floats tolerated) or an HTTP date; None if absent
    or unreadable. A date in the past means "now" (0)."""
    if value is None or not value.strip():
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:  # RFC 9110 dates are GMT
            return None
        seconds = when.timestamp() - (time.time() if now is None else now)
    if not math.isfinite(seconds):
        return None
    return max(0.0, seconds)


def backoff_delay(attempt: int, base: float, cap: float, rng: random.Random) -> float:
    """Exponential backoff with "equal jitter": half the exponential step is fixed, half random, so retries of many
    requests that failed together spread out without ever retrying immediately."""
    step = min(cap, base * (2**attempt))
    return step / 2 + rng.uniform(0, step / 2)


def normalise_url(url: str) -> str:
    """Accept `http://host:8000` as well as `http://host:8000/v1`: every OpenAI-compatible server serves /v1."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise MedsynError(
            f"base URL {url!r} is not an http(s) URL; pass e.g. --base-url http://127.0.0.1:8000/v1"
        )
    url = url.rstrip("/")
    return url + "/v1" if parts.path in ("", "/") else url


class OpenAIBackend:
    """Chat completions from one or several OpenAI-compatible servers (see the module docstring).

    `concurrency` bounds the requests in flight over all base URLs together; each request goes to the least-loaded
    URL (ties in turn), and a retry may go elsewhere. `timeout` bounds one attempt from send to the last byte.
    A request that still fails after `max_retries` retries yields `Result(error=reason)`; one the server refuses
    (400, 401, 404, 413, 422...: see `openai_errors.retryable`) is not retried and yields `Result(error=reason, refused=True)`,
    the reason naming what to change. The run goes on. Prices are per 1,000 tokens, in whatever currency you like.
    """

    name = "openai"

    def __init__(
        self,
        model: str,
        base_urls: list[str] | str,
        api_key: str | None = None,
        api_key_env: str = "OPENAI_API_KEY",
        concurrency: int = 16,
        timeout: float = 60.0,
        max_retries: int = 6,
        price_per_1k_input: float = 0.0,
        price_per_1k_output: float = 0.0,
        extra_body: dict[str, Any] | None = None,
        backoff_base: float = 0.5,
        backoff_max: float = 30.0,
        max_retry_after: float = 300.0,
    ) -> None:
        if not model or not model.strip():
            raise MedsynError("the openai backend needs a model name (--model), as the server lists it in /v1/models")
        if isinstance(base_urls, str):
            base_urls = [base_urls]
        if not base_urls:
            raise MedsynError("the openai backend needs at least one base URL (--base-url http://HOST:PORT/v1)")
        for label, value, low in (
            ("concurrency", concurrency, 1),
            ("max_retries", max_retries, 0),
        ):
            if not isinstance(value, int) or value < low:
                raise MedsynError(f"{label} must be an integer >= {low}, got {value!r}")
        for label, number in (
            ("price_per_1k_input", price_per_1k_input),
            ("price_per_1k_output", price_per_1k_output),
            ("backoff_base", backoff_base),
            ("backoff_max", backoff_max),
            ("max_retry_after", max_retry_after),
        ):
            if not number >= 0:
                raise MedsynError(f"{label} must be >= 0, got {number!r}")
        if not timeout > 0:
            raise MedsynError(f"timeout must be > 0 seconds, got {timeout!r}")
        self.model = model
        self.base_urls = [normalise_url(url) for url in base_urls]
        # Only the variable --api-key-env names, never OPENAI_API_KEY behind its back; local servers (vLLM, TGI,
        # transformers serve) accept any key, so none means "EMPTY".
        self._api_key = api_key or os.environ.get(api_key_env) or "EMPTY"
        self.api_key_env = api_key_env
        self.concurrency = concurrency
        self.timeout = float(timeout)
        self.max_retries = max_retries
        self.price_per_1k_input = float(price_per_1k_input)
        self.price_per_1k_output = float(price_per_1k_output)
        self.extra_body = dict(extra_body or {})
        self.backoff_base = float(backoff_base)
        self.backoff_max = float(backoff_max)
        self.max_retry_after = float(max_retry_after)
        self.usage = Usage()
        self._rng = random.Random(0)  # jitter only; never touches the notes
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._clients: list[Any] = []
        self._loads: list[int] = []
        self._turn = 0
        self._slots: asyncio.Semaphore | None = None

    def __repr__(self) -> str:  # never shows the key
        return f"OpenAIBackend(model={self.model!r}, base_urls={self.base_urls!r}, concurrency={self.concurrency})"

    # --- before a run -------------------------------------------------------------------------------------------

    def check(self, timeout: float = 10.0) -> None:
        """Fail early and clearly when a server is unreachable, refuses the key, or does not serve `model`.

        One GET /models per base URL. Servers without that route (404/405) are given the benefit of the doubt.
        """
        import openai

        for url in self.base_urls:
            client = openai.OpenAI(base_url=url, api_key=self._api_key, timeout=timeout, max_retries=0)
            try:
                served = [m.id for m in client.models.list()]
            except openai.APIConnectionError as exc:
                raise MedsynError(
                    f"cannot reach the server at {url} ({exc.__cause__ or exc}); start it or fix --base-url"
                ) from None
            except openai.AuthenticationError:
                raise MedsynError(
                    f"{url} refused the API key (401); put the key in ${self.api_key_env}"
                    + ("" if self.api_key_env != "OPENAI_API_KEY" else " (or name another variable with --api-key-env)")
                ) from None
            except openai.APIStatusError as exc:
                if exc.status_code in (404, 405):
                    continue
                raise MedsynError(f"{url}/models answered {exc.status_code}: {error_message(exc)}") from None
            finally:
                client.close()
            if served and self.model not in served:
                listed = ", ".join(served[:10]) + (" ..." if len(served) > 10 else "")
                raise MedsynError(f"{url} does not serve model {self.model!r}; it serves: {listed}. Fix --model")

    # --- the run ------------------------------------------------------------------------------------------------

    def generate(self, requests: Iterable[Request]) -> Iterator[Result]:
        """Yield one Result per request in completion order; see the class docstring for what may fail how."""
        loop = self._start()
        done: queue.SimpleQueue[tuple[Result | None, BaseException | None]] = queue.SimpleQueue()
        tasks: set[asyncio.Task[Result]] = set()  # touched on the loop's thread only
        window = 2 * self.concurrency  # requests handed to the loop ahead of their results, at most
        source = iter(requests)
        in_flight = 0
        exhausted = False

        def finished(task: asyncio.Task[Result]) -> None:
            tasks.discard(task)
            if not task.cancelled():
                error = task.exception()
                done.put((None, error) if error else (task.result(), None))

        def submit(batch: list[Request]) -> None:
            for request in batch:
                task = loop.create_task(self._generate_one(request))
                tasks.add(task)
                task.add_done_callback(finished)

        def cancel_all() -> None:
            for task in list(tasks):
                task.cancel()

        try:
            while True:
                # Refill in chunks, once half the window has drained: one wake-up of the loop per chunk rather than
                # per request keeps the hand-over cheap at thousands of requests per second.
                if not exhausted and in_flight <= self.concurrency:
                    batch = list(islice(source, window - in_flight))
                    exhausted = len(batch) < window - in_flight
                    if batch:
                        loop.call_soon_threadsafe(submit, batch)
                        in_flight += len(batch)
                if not in_flight:
                    return
                result, error = done.get()
                in_flight -= 1
                if error is not None:
                    raise error
                assert result is not None
                self._account(result)
                yield result
        finally:
            if in_flight:  # the caller stopped early: drop what is still running
                loop.call_soon_threadsafe(cancel_all)

    def _account(self, result: Result) -> None:
        self.usage.requests += 1
        self.usage.failed += 0 if result.ok else 1
        self.usage.prompt_tokens += result.prompt_tokens
        self.usage.completion_tokens += result.completion_tokens
        self.usage.cost += result.cost

    def close(self) -> None:
        """Close the HTTP clients and stop the worker thread; the backend can be started again by `generate`."""
        if self._loop is None:
            return
        loop, self._loop = self._loop, None

        async def shutdown() -> None:
            for client in self._clients:
                await client.close()

        try:
            asyncio.run_coroutine_threadsafe(shutdown(), loop).result(timeout=10)
        finally:
            loop.call_soon_threadsafe(loop.stop)
            if self._thread is not None:
                self._thread.join(timeout=10)
            loop.close()
            self._clients, self._thread, self._slots = [], None, None

    def __enter__(self) -> OpenAIBackend:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- inside the worker thread -------------------------------------------------------------------------------

    def _start(self) -> asyncio.AbstractEventLoop:
        if self._loop is not None:
            return self._loop
        loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=loop.run_forever, name="medsyn-openai", daemon=True)
        self._thread.start()
        self._loop = loop
        asyncio.run_coroutine_threadsafe(self._open_clients(), loop).result()
        return loop

    async def _open_clients(self) -> None:
        import openai

        self._slots = asyncio.Semaphore(self.concurrency)
        self._clients = [
            openai.AsyncOpenAI(
                base_url=url,
                api_key=self._api_key,
                timeout=self.timeout,
                max_retries=0,
                http_client=self._http_client(),
            )
            for url in self.base_urls
        ]
        self._loads = [0] * len(self._clients)

    def _http_client(self) -> Any:
        """aiohttp's transport where installed (`openai[aiohttp]`): at hundreds of requests per second httpcore's
        connection pool costs more CPU than the requests themselves; httpx2's own transport otherwise."""
        import httpx2
        import openai

        limits = httpx2.Limits(max_connections=self.concurrency, max_keepalive_connections=self.concurrency)
        try:
            return openai.DefaultAioHttpClient(limits=limits, timeout=self.timeout)
        except RuntimeError:  # the SDK's stand-in when aiohttp is missing
            return openai.DefaultAsyncHttpxClient(limits=limits, timeout=self.timeout)

    def _pick(self, avoid: int | None) -> int:
        """The least-loaded base URL; ties go round-robin so that an idle pool is still spread evenly. A retry
        avoids the URL that just failed (a dead server fails fast, so it would otherwise look least loaded)."""
        n = len(self._loads)
        order = [(self._turn + i) % n for i in range(n) if n == 1 or (self._turn + i) % n != avoid]
        self._turn = (self._turn + 1) % n
        return min(order, key=lambda i: self._loads[i])

    async def _generate_one(self, request: Request) -> Result:
        """Retries (tenacity) of transient failures; each retry goes to another server where there is one."""
        index: int | None = None
        retrying = tenacity.AsyncRetrying(
            stop=tenacity.stop_after_attempt(self.max_retries + 1),
            retry=tenacity.retry_if_exception_type(_Transient),
            wait=self._wait,
            before_sleep=lambda state: log.debug("request %s: %s; retrying in %.2fs", request.key,
                                                 state.outcome.exception().reason, state.upcoming_sleep),
            reraise=True,
        )
        try:
            async for attempt in retrying:
                with attempt:
                    if attempt.retry_state.attempt_number > 1:
                        self.usage.retries += 1
                    assert self._slots is not None
                    async with self._slots:
                        index = self._pick(avoid=index)  # our switch of server: a retry avoids the one that failed
                        self._loads[index] += 1
                        try:
                            return await self._attempt(self._clients[index], request)
                        finally:
                            self._loads[index] -= 1
        except _Permanent as exc:
            return Result(key=request.key, text=None, error=exc.reason, refused=True)
        except _Transient as exc:
            return Result(key=request.key, text=None,
                          error=f"{exc.reason}; gave up after {self.max_retries + 1} attempts")
        raise AssertionError("tenacity ended without an outcome")

    def _wait(self, state: Any) -> float:
        """The server's Retry-After when it sent one (capped), else exponential backoff with jitter."""
        exc = state.outcome.exception()
        if getattr(exc, "retry_after", None) is not None:
            return min(exc.retry_after, self.max_retry_after) + self._rng.uniform(0, 0.1)
        return backoff_delay(state.attempt_number - 1, self.backoff_base, self.backoff_max, self._rng)

    def _body(self, request: Request) -> dict[str, Any]:
        params = request.params
        return {
            **self.extra_body,
            "model": self.model,
            "messages": request.messages,
            "seed": request.seed,
            "temperature": params.temperature,
            "top_p": params.top_p,
            "max_tokens": params.max_new_tokens,
        }

    async def _attempt(self, client: Any, request: Request) -> Result:
        import httpx2
        import openai

        url = str(client.base_url).rstrip("/")
        try:
            async with asyncio.timeout(self.timeout):
                # `post` with a plain body and the raw response (the SDK's documented way to custom requests)
                # rather than `chat.completions.create`: its parameter transform and response model cost a quarter
                # of the client's CPU, which sets the pace at high request rates. Errors and statuses are the SDK's.
                response = await client.post("/chat/completions", body=self._body(request), cast_to=httpx2.Response)
                payload = json.loads(response.content)
        except (TimeoutError, openai.APITimeoutError):
            raise _Transient(f"timeout: no answer within {self.timeout:g}s from {url}") from None
        except openai.APIConnectionError as exc:
            raise _Transient(f"connection error: {exc.__cause__ or exc} ({url})") from None
        except openai.APIStatusError as exc:
            status, message = exc.status_code, error_message(exc)
            reason = f"HTTP {status}: {message} ({url})"
            if retryable(status, exc.response.headers):
                raise _Transient(reason, retry_after_seconds(exc.response.headers.get("retry-after"))) from None
            change = what_to_change(status, message, self.model, self.api_key_env, request.params.max_new_tokens)
            raise _Permanent(f"{reason}; {change}") from None
        except (ValueError, TypeError) as exc:  # a 200 whose body is not JSON
            raise _Transient(f"malformed response: {exc} ({url})") from None
        return self._to_result(request, payload, url)

    def _to_result(self, request: Request, payload: Any, url: str) -> Result:
        try:
            text = payload["choices"][0]["message"]["content"]
        except (KeyError, IndexError, TypeError):
            raise _Transient(f"malformed response: no choices[0].message.content ({url})") from None
        if text is None:
            raise _Transient(f"empty completion: no content ({url})")
        if not isinstance(text, str):
            raise _Transient(f"malformed response: content is {type(text).__name__} ({url})")
        if not text.strip():
            raise _Transient(f"empty completion: only whitespace ({url})")
        usage = payload.get("usage") or {}
        prompt_tokens = int(usage.get("prompt_tokens") or 0) if isinstance(usage, dict) else 0
        completion_tokens = int(usage.get("completion_tokens") or 0) if isinstance(usage, dict) else 0
        cost = (prompt_tokens * self.price_per_1k_input + completion_tokens * self.price_per_1k_output) / 1000
        return Result(
            key=request.key,
            text=text.strip(),
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            cost=cost,
        )
