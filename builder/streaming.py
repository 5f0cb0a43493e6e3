"""Token-by-token generation for interactive use (the Space): each streamer yields the growing note text.

The batch backends (backend_openai, backend_transformers) are built for throughput and return whole notes; a
person watching a note being written needs the text as it arrives, so these streamers wrap the same three ways of
generating: the offline template composer (word by word), an OpenAI-compatible server (`stream=True`), and a local
model (`TextIteratorStreamer` fed by `generate` in a thread).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from typing import Protocol

from medsyn.builder.backends import SamplingParams
from medsyn.builder.template_notes import compose_note
from medsyn.errors import MedsynError

_WORD_RE = re.compile(r"\S+\s*")


class Streamer(Protocol):
    name: str  # "template" | "openai" | "transformers"
    model: str

    def stream_note(
        self, messages: list[dict[str, str]], prior: dict, template: str | None, seed: int, params: SamplingParams
    ) -> Iterator[str]:
        """Yield the note text so far, growing, ending with the whole note."""
        ...

    def close(self) -> None: ...


class TemplateStreamer:
    """The offline composer, revealed one word at a time (the note itself is the batch backend's note)."""

    name = "template"
    model = "template"

    def stream_note(
        self, messages: list[dict[str, str]], prior: dict, template: str | None, seed: int, params: SamplingParams
    ) -> Iterator[str]:
        text = compose_note(prior, seed, template)
        pieces = _WORD_RE.findall(text)[: params.max_new_tokens]
        shown = ""
        for piece in pieces:
            shown += piece
            yield shown.rstrip()

    def close(self) -> None:
        pass


class OpenAIStreamer:
    """Chat completions with `stream=True` from an OpenAI-compatible server (vLLM, `transformers serve`, ...)."""

    name = "openai"

    def __init__(self, model: str, base_url: str, api_key: str | None = None, timeout: float = 120.0) -> None:
        import openai

        from medsyn.builder.backend_openai import normalise_url

        self.model = model
        self.base_url = normalise_url(base_url)
        self._openai = openai
        # No retries: a person is waiting and sees the error; the batch backend is the one that retries.
        self._client = openai.OpenAI(base_url=self.base_url, api_key=api_key or "EMPTY", timeout=timeout, max_retries=0)

    def stream_note(
        self, messages: list[dict[str, str]], prior: dict, template: str | None, seed: int, params: SamplingParams
    ) -> Iterator[str]:
        text = ""
        try:
            chunks = self._client.chat.completions.create(
                model=self.model,
                messages=messages,
                stream=True,
                seed=seed,
                temperature=params.temperature,
                top_p=params.top_p,
                max_tokens=params.max_new_tokens,
            )
            for chunk in chunks:
                if not chunk.choices:
                    continue
                delta = chunk.choices[0].delta.content
                if delta:
                    text += delta
                    yield text
        except self._openai.APIStatusError as err:
            raise MedsynError(f"the model server at {self.base_url} answered {err.status_code}: {_short(err)}") from None
        except self._openai.APIError as err:
            raise MedsynError(f"cannot reach the model server at {self.base_url}: {_short(err)}") from None
        if not text:
            yield ""

    def close(self) -> None:
        self._client.close()


class TransformersStreamer:
    """A local causal LM (optionally with a PEFT adapter), loaded once, streaming through `TextIteratorStreamer`."""

    name = "transformers"

    def __init__(self, model: str, adapter: str | None = None, device: str | None = None) -> None:
        from medsyn.builder.backend_transformers import TransformersBackend

        self._backend = TransformersBackend(model, adapter=adapter, batch_size=1, device=device)
        self.model = self._backend.model
        self._lock = threading.Lock()  # the seed is global torch state: one generation at a time

    def stream_note(
        self, messages: list[dict[str, str]], prior: dict, template: str | None, seed: int, params: SamplingParams
    ) -> Iterator[str]:
        import torch
        from transformers import TextIteratorStreamer

        backend = self._backend
        tokenizer, network = backend.tokenizer, backend.network
        inputs = tokenizer(backend.prompt(messages), return_tensors="pt", add_special_tokens=not backend.uses_chat_template)
        inputs = {key: value.to(network.device) for key, value in inputs.items()}
        streamer = TextIteratorStreamer(tokenizer, skip_prompt=True, skip_special_tokens=True, timeout=600)
        failure: list[BaseException] = []

        def work() -> None:
            try:
                with self._lock:
                    torch.manual_seed(seed)
                    network.generate(
                        **inputs,
                        streamer=streamer,
                        do_sample=True,
                        temperature=params.temperature,
                        top_p=params.top_p,
                        max_new_tokens=params.max_new_tokens,
                        pad_token_id=tokenizer.pad_token_id,
                    )
            except BaseException as err:  # surfaced in the caller's thread below
                failure.append(err)
                streamer.end()

        thread = threading.Thread(target=work, daemon=True)
        thread.start()
        text = ""
        for piece in streamer:
            if piece:
                text += piece
                yield text
        thread.join()
        if failure:
            raise MedsynError(f"generation with {self.model} failed: {failure[0]}")
        if not text:
            yield ""

    def close(self) -> None:
        pass


def _short(err: Exception, limit: int = 300) -> str:
    message = str(getattr(err, "message", None) or err)
    return message if len(message) <= limit else message[:limit] + "…"


def open_streamer(
    backend: str,
    model: str | None = None,
    base_url: str | None = None,
    adapter: str | None = None,
    api_key: str | None = None,
    timeout: float = 120.0,
) -> Streamer:
    """The streamer for a backend name; loads the local model now, so a bad path fails at start, not on a click."""
    if backend == "template":
        return TemplateStreamer()
    if backend == "openai":
        if not model or not base_url:
            raise MedsynError("the openai backend needs a model name and a base URL (e.g. http://127.0.0.1:8000/v1)")
        return OpenAIStreamer(model, base_url, api_key=api_key, timeout=timeout)
    if backend == "transformers":
        if not model:
            raise MedsynError("the transformers backend needs a model (a local folder or a hub id)")
        return TransformersStreamer(model, adapter=adapter)
    raise MedsynError(f"backend {backend!r} unknown; choose one of template, openai, transformers")


def stream_note(
    streamer: Streamer,
    messages: list[dict[str, str]],
    prior: dict,
    template: str | None = None,
    seed: int = 0,
    params: SamplingParams | None = None,
) -> Iterator[str]:
    """The growing text of one note from `streamer` (see `open_streamer`)."""
    return streamer.stream_note(messages, prior, template, seed, params or SamplingParams())


def count_tokens(text: str) -> int:
    """Whitespace words: the unit the template backend reports, and a backend-neutral one for the page."""
    return len(text.split())


__all__ = [
    "OpenAIStreamer",
    "Streamer",
    "TemplateStreamer",
    "TransformersStreamer",
    "count_tokens",
    "open_streamer",
    "stream_note",
]
