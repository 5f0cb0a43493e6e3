"""Generation backends: the interface (`base`), the built-in backends and the one registry that names them.

Built-in: `template` (no LLM), `openai` (OpenAI-compatible servers: vLLM, TGI, `transformers serve`) and
`transformers` (a local model). A package adds its own by exposing a `BackendSpec` under the entry-point group
`medsyn.backends`, e.g. in its pyproject.toml:

    [project.entry-points."medsyn.backends"]
    mybackend = "mypackage.medsyn_backend:SPEC"

after which `medsyn build --backend mybackend` and the Space (`MEDSYN_BACKEND=mybackend`) use it. The registry is
read when asked, not at import, and built-ins always win a name clash.
"""

from __future__ import annotations

import difflib
import os
from importlib.metadata import entry_points
from typing import Any

from medsyn.builder.generate.backends.base import Backend, BackendSpec, Request, Result, SamplingParams, Streamer
from medsyn.errors import MedsynError

ENTRY_POINT_GROUP = "medsyn.backends"


def _open_template(options: Any) -> Backend:
    from medsyn.builder.generate.backends.template import TemplateBackend

    return TemplateBackend(getattr(options, "workers", 1))


def _urls(options: Any) -> list[str]:
    value = getattr(options, "base_url", None) or []
    return [value] if isinstance(value, str) else list(value)


def _api_key(options: Any) -> str | None:
    return os.environ.get(getattr(options, "api_key_env", None) or "OPENAI_API_KEY")


def _open_openai(options: Any) -> Backend:
    from medsyn.builder.generate.backends.openai import OpenAIBackend

    backend = OpenAIBackend(
        model=options.model, base_urls=_urls(options), api_key=_api_key(options),
        api_key_env=getattr(options, "api_key_env", None) or "OPENAI_API_KEY", concurrency=options.concurrency, timeout=options.timeout, max_retries=options.max_retries,
        price_per_1k_input=options.price_per_1k_input, price_per_1k_output=options.price_per_1k_output,
    )
    backend.check()  # an unreachable server, a refused key or an unknown model fails now, not after retries
    return backend


def _open_openai_streamer(options: Any) -> Streamer:
    from medsyn.builder.generate.backends.openai_stream import OpenAIStreamer

    return OpenAIStreamer(options.model, _urls(options)[0], api_key=_api_key(options), timeout=options.timeout)


def _open_transformers(options: Any) -> Backend:
    from medsyn.builder.generate.backends.transformers import TransformersBackend

    return TransformersBackend(model=options.model, adapter=options.adapter,
                               batch_size=getattr(options, "batch_size", 1))


def _check_local(value: str, flag: str) -> None:
    """A value that looks like a path must exist; a hub id (ORG/NAME) is left to the loader (offline cache)."""
    from pathlib import Path

    looks_local = value.startswith((".", "/", "~")) or Path(value).exists() or value.count("/") != 1
    if looks_local and not Path(value).expanduser().exists():
        raise MedsynError(f"{flag} {value}: no such directory; pass a local model folder or a hub id like ORG/NAME")


def _check_transformers(options: Any) -> None:
    _check_local(options.model, "--model")
    if getattr(options, "adapter", None):
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
    def fail(options: Any) -> Backend:
        raise MedsynError(f"backend plug-in {where} failed to load: {exc}")

    return fail


def get_backend(name: str) -> BackendSpec:
    known = registry()
    if name not in known:
        close = difflib.get_close_matches(name, list(known), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise MedsynError(f"unknown backend {name!r}{hint}; choose one of {', '.join(known)}")
    return known[name]


def open_backend(options: Any) -> Backend:
    """The batch backend `options.backend` names, checked and opened (heavy libraries load only for it)."""
    spec = get_backend(options.backend)
    spec.check(options)
    return spec.open(options)


def open_streamer(options: Any) -> Streamer:
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
    "ENTRY_POINT_GROUP", "Backend", "BackendSpec", "Request", "Result", "SamplingParams", "Streamer",
    "count_tokens", "get_backend", "open_backend", "open_streamer", "registry", "stream_note",
]
