"""The one small interface every generation backend implements: requests in, texts and token usage out.

A backend yields results in completion order (not request order) so that the run can store each generation
durably the moment it arrives; the run, not the backend, owns resumption, keys and bookkeeping.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Callable, Protocol

from medsyn.errors import MedsynError


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


@dataclass(frozen=True)
class BackendSpec:
    """What the registry knows of a backend: how to open it for a build and for streaming, and what it needs.

    `open(options)` and `open_streamer(options)` receive the generation settings (`GenerationOptions` in a build,
    `SpaceConfig` in the Space): `model`, `adapter`, `base_url` (a list in a build, one URL in the Space),
    `timeout`, and for a build `concurrency`, `max_retries`, `batch_size`, the prices and `api_key_env`. A
    third-party package registers a spec under the entry-point group `medsyn.backends`.
    """

    name: str
    open: Callable[[Any], Backend]
    open_streamer: Callable[[Any], Streamer] | None = None
    needs_model: bool = False
    needs_base_url: bool = False
    takes_adapter: bool = False
    description: str = ""
    validate: Callable[[Any], None] | None = None  # further checks of the settings, before anything loads

    def check(self, options: Any) -> None:
        """The settings this backend needs are there (before anything loads or connects)."""
        if self.needs_model and not getattr(options, "model", None):
            raise MedsynError(f"the {self.name} backend needs --model")
        if self.needs_base_url and not getattr(options, "base_url", None):
            raise MedsynError(f"the {self.name} backend needs --base-url (e.g. http://127.0.0.1:8000/v1)")
        if getattr(options, "adapter", None) and not self.takes_adapter:
            raise MedsynError(f"--adapter does not apply to the {self.name} backend")
        if self.validate is not None:
            self.validate(options)
