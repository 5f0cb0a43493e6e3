"""Generation backends: the interface (`base`), the settings every backend is opened with (`GenerationOptions`),
the built-in backends and the one registry that names them.

Built-in: `template` (no LLM), `openai` (OpenAI-compatible servers: vLLM, TGI, `transformers serve`) and
`transformers` (a local model). A package adds its own by exposing a `BackendSpec` under the entry-point group
`medsyn.backends`, e.g. in its pyproject.toml:

    [project.entry-points."medsyn.backends"]
    mybackend = "mypackage.medsyn_backend:SPEC"

after which `medsyn build --backend mybackend` and the Space (`MEDSYN_BACKEND=mybackend`) use it. The registry is
read when asked, not at import, and built-ins always win a name clash. `medsyn build` and the Space both open
backends with a `GenerationOptions` (the Space with the subset of it that streaming uses), so a backend reads its
settings as typed attributes whatever opened it.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import entry_points
from pathlib import Path

from medsyn.builder.generate.backends.base import Backend, Request, Result, SamplingParams, Streamer
from medsyn.builder.generate.backends.openai import OpenAIBackend
from medsyn.builder.generate.backends.openai_stream import OpenAIStreamer
from medsyn.builder.generate.backends.template import TemplateBackend
from medsyn.builder.generate.backends.transformers import TransformersBackend
from medsyn.errors import MedsynError
from medsyn.options import option

ENTRY_POINT_GROUP = "medsyn.backends"


@dataclass
class GenerationOptions:
    """Which backend writes the notes, and how: flags of `medsyn build`, and (some of them) of the Space."""

    backend: str = option("template", "generation backend: template (no LLM), openai, transformers, or one "
                          "registered by a package under the `medsyn.backends` entry-point group")
    model: str | None = option(None, "model name (openai) or local path / hub id (transformers)")
    adapter: str | None = option(None, "PEFT adapter folder for the transformers backend")
    base_url: list[str] = option([], "OpenAI-compatible base URL(s), e.g. http://127.0.0.1:8000/v1; several "
                                 "spread the requests")
    api_key_env: str = option("OPENAI_API_KEY", "environment variable holding the API key (never a flag value)")
    concurrency: int = option(16, "requests in flight (openai backend)")
    timeout: float = option(120.0, "per-request timeout in seconds")
    max_retries: int = option(6, "retries of transient errors per request")
    batch_size: int = option(8, "batch size of the transformers backend")
    workers: int = option(0, "processes that compose template notes and score every backend's notes (0: one per "
                          "CPU core); the corpus is the same for any number")
    temperature: float = option(SamplingParams.temperature, "generation temperature")
    top_p: float = option(SamplingParams.top_p, "nucleus sampling top-p")
    max_new_tokens: int = option(SamplingParams.max_new_tokens, "most tokens generated per note")
    price_per_1k_input: float = option(0.0, "price of 1,000 prompt tokens, for the cost report")
    price_per_1k_output: float = option(0.0, "price of 1,000 completion tokens, for the cost report")

    @property
    def params(self) -> SamplingParams:
        """The decoding settings every request carries (and its key includes)."""
        return SamplingParams(self.temperature, self.top_p, self.max_new_tokens)

    def validate(self) -> None:
        spec = get_backend(self.backend)
        for name in ("concurrency", "batch_size", "max_new_tokens"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise MedsynError(f"{name} must be an integer >= 1, got {value!r}")
        if not isinstance(self.workers, int) or self.workers < 0:
            raise MedsynError(f"workers must be an integer >= 0 (0: one per CPU core), got {self.workers!r}")
        if not isinstance(self.temperature, (int, float)) or self.temperature < 0:
            raise MedsynError(f"temperature must be a number >= 0 (0: greedy), got {self.temperature!r}")
        if not isinstance(self.top_p, (int, float)) or not 0 < self.top_p <= 1:
            raise MedsynError(f"top_p must be in (0, 1] (1: no nucleus cut), got {self.top_p!r}")
        for name in ("price_per_1k_input", "price_per_1k_output"):
            if not isinstance(getattr(self, name), (int, float)) or getattr(self, name) < 0:
                raise MedsynError(f"{name} must be a number >= 0, got {getattr(self, name)!r}")
        if self.max_retries < 0 or self.timeout <= 0:
            raise MedsynError("max_retries must be >= 0 and timeout > 0")
        if not self.api_key_env:
            raise MedsynError("api_key_env must name the environment variable that holds the API key, e.g. "
                              "OPENAI_API_KEY")
        spec.check(self)


@dataclass(frozen=True)
class BackendSpec:
    """What the registry knows of a backend: how to open it for a build and for streaming, and what it needs.

    `open(options)` and `open_streamer(options)` receive the `GenerationOptions` of the build or of the Space. A
    third-party package registers a spec under the entry-point group `medsyn.backends`.
    """

    name: str
    open: Callable[[GenerationOptions], Backend]
    open_streamer: Callable[[GenerationOptions], Streamer] | None = None
    needs_model: bool = False
    needs_base_url: bool = False
    takes_adapter: bool = False
    description: str = ""
    validate: Callable[[GenerationOptions], None] | None = None  # further checks of the settings, before anything loads

    def check(self, options: GenerationOptions) -> None:
        """The settings this backend needs are there (before anything loads or connects)."""
        if self.needs_model and not options.model:
            raise MedsynError(f"the {self.name} backend needs --model")
        if self.needs_base_url and not options.base_url:
            raise MedsynError(f"the {self.name} backend needs --base-url (e.g. http://127.0.0.1:8000/v1)")
        if options.adapter and not self.takes_adapter:
            raise MedsynError(f"--adapter does not apply to the {self.name} backend")
        if self.validate is not None:
            self.validate(options)


def _open_template(options: GenerationOptions) -> Backend:
    return TemplateBackend(options.workers)


def _open_openai(options: GenerationOptions) -> Backend:
    backend = OpenAIBackend(
        model=options.model, base_urls=list(options.base_url), api_key=os.environ.get(options.api_key_env),
        api_key_env=options.api_key_env, concurrency=options.concurrency, timeout=options.timeout,
        max_retries=options.max_retries, price_per_1k_input=options.price_per_1k_input,
        price_per_1k_output=options.price_per_1k_output,
    )
    backend.check()  # an unreachable server, a refused key or an unknown model fails now, not after retries
    return backend


def _open_openai_streamer(options: GenerationOptions) -> Streamer:
    return OpenAIStreamer(options.model, options.base_url[0], api_key=os.environ.get(options.api_key_env),
                          timeout=options.timeout)


def _open_transformers(options: GenerationOptions) -> Backend:
    return TransformersBackend(model=options.model, adapter=options.adapter, batch_size=options.batch_size)


def _check_local(value: str, flag: str) -> None:
    """A value that looks like a path must exist; a hub id (ORG/NAME) is left to the loader (offline cache)."""
    looks_local = value.startswith((".", "/", "~")) or Path(value).exists() or value.count("/") != 1
    if looks_local and not Path(value).expanduser().exists():
        raise MedsynError(f"{flag} {value}: no such directory; pass a local model folder or a hub id like ORG/NAME")


def _check_transformers(options: GenerationOptions) -> None:
    _check_local(options.model, "--model")
    if options.adapter:
        _check_local(options.adapter, "--adapter")


BUILTIN = {
    "template": BackendSpec("template", _open_template, _open_template, description="notes composed from the prior, no LLM"),
    "openai": BackendSpec("openai", _open_openai, _open_openai_streamer, needs_model=True, needs_base_url=True,
                          description="OpenAI-compatible chat-completions servers (vLLM, TGI, transformers serve)"),
    "transformers": BackendSpec("transformers", _open_transformers, _open_transformers, needs_model=True,
                                takes_adapter=True, validate=_check_transformers,
                                description="a local causal LM, optionally with a PEFT adapter"),
}


def registry() -> dict[str, BackendSpec]:
    """Built-in backends, then those that installed packages register under `medsyn.backends`."""
    found = dict(BUILTIN)
    for entry in entry_points(group=ENTRY_POINT_GROUP):
        if entry.name in found:
            continue
        try:
            spec = entry.load()
        except Exception as exc:  # a broken plug-in must not take the built-ins down with it
            found[entry.name] = BackendSpec(entry.name, _broken(entry.value, exc))
            continue
        if callable(spec) and not isinstance(spec, BackendSpec):
            spec = spec()
        if not isinstance(spec, BackendSpec):
            raise MedsynError(f"entry point {entry.name} = {entry.value} ({ENTRY_POINT_GROUP}) is not a BackendSpec")
        found[entry.name] = spec
    return found


def _broken(where: str, exc: Exception):
    def fail(options: GenerationOptions) -> Backend:
        raise MedsynError(f"backend plug-in {where} failed to load: {exc}")

    return fail


def get_backend(name: str) -> BackendSpec:
    known = registry()
    if name not in known:
        close = difflib.get_close_matches(name, list(known), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise MedsynError(f"unknown backend {name!r}{hint}; choose one of {', '.join(known)}")
    return known[name]


def open_backend(options: GenerationOptions) -> Backend:
    """The batch backend `options.backend` names, checked and opened (heavy libraries load only for it)."""
    spec = get_backend(options.backend)
    spec.check(options)
    return spec.open(options)


def open_streamer(options: GenerationOptions) -> Streamer:
    """The streaming variant of `options.backend`; a local model loads now, so a bad path fails at start."""
    spec = get_backend(options.backend)
    spec.check(options)
    if spec.open_streamer is None:
        raise MedsynError(f"the {spec.name} backend cannot stream; it works in `medsyn build` only")
    return spec.open_streamer(options)


def stream_note(streamer: Streamer, messages: list[dict[str, str]], prior: dict, template: str | None = None,
                seed: int = 0, params: SamplingParams | None = None):
    """The growing text of one note from `streamer`."""
    return streamer.stream_note(messages, prior, template, seed, params or SamplingParams())


def count_tokens(text: str) -> int:
    """Whitespace words: the unit the template backend reports, and a backend-neutral one for the page."""
    return len(text.split())


__all__ = [
    "ENTRY_POINT_GROUP", "Backend", "BackendSpec", "GenerationOptions", "Request", "Result", "SamplingParams", "Streamer",
    "count_tokens", "get_backend", "open_backend", "open_streamer", "registry", "stream_note",
]
