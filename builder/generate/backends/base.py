"""The one small interface every generation backend implements: requests in, texts and token usage out.

A backend yields results in completion order (not request order) so that the run can store each generation
durably the moment it arrives; the run, not the backend, owns resumption, keys and bookkeeping.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True)
class SamplingParams:
    temperature: float = 0.7
    top_p: float = 0.95
    max_new_tokens: int = 512


@dataclass(frozen=True)
class Request:
    """One note to generate.

    `key` is deterministic in (messages, model, params, seed), so a rerun recognises finished work.
    `prior` (the sampled prior as a plain dict) and `template` are read only by the `template` backend; LLMs read
    `messages`.
    """

    key: str
    messages: list[dict[str, str]]
    seed: int
    params: SamplingParams = field(default_factory=SamplingParams)
    prior: dict[str, Any] | None = None
    template: str | None = None  # the prompt template's name, for the template backend


@dataclass(frozen=True)
class Result:
    """The outcome of one request: `text` on success, `error` (a reason) once the backend has given up.

    `refused` marks a failure that resending the same request cannot fix (the server rejected the request itself:
    a prompt over the model's context, a refused key...): the run does not advise a rerun for it, and stops when
    the server refuses everything it sends. Its `error` then says what to change.
    """

    key: str
    text: str | None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost: float = 0.0
    error: str | None = None
    refused: bool = False

    @property
    def ok(self) -> bool:
        return self.error is None and self.text is not None


class Backend(Protocol):
    name: str  # the registry name: "openai" | "transformers" | "template" | a third-party one
    model: str  # what goes into the corpus' `generation_model` column

    def generate(self, requests: Iterable[Request]) -> Iterator[Result]:
        """Yield one Result per request, in completion order. Transient errors are retried inside."""
        ...

    def close(self) -> None: ...


class Streamer(Protocol):
    """Interactive generation (the Space): the note's text as it grows, for a person watching it being written."""

    name: str
    model: str

    def stream_note(self, messages: list[dict[str, str]], prior: dict, template: str | None, seed: int,
                    params: SamplingParams) -> Iterator[str]:
        """Yield the note text so far, growing, ending with the whole note."""
        ...

    def close(self) -> None: ...
