"""The `template` backend: notes composed from the prior by `template_notes.compose_note`, no LLM.

What `medsyn build` and the Space use when no LLM is configured (so the quickstart runs offline in seconds), and the
no-LLM baseline of the benchmark. Streaming reveals the same note one word at a time.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

from medsyn.builder.backends.base import Request, Result, SamplingParams
from medsyn.builder.template_notes import compose_note

_WORD_RE = re.compile(r"\S+\s*")


class TemplateBackend:
    """Reports whitespace-separated words as completion tokens."""

    name = "template"
    model = "template"

    def generate(self, requests: Iterable[Request]) -> Iterator[Result]:
        for request in requests:
            if not request.prior:
                yield Result(request.key, None, error="the template backend needs the prior of each request")
                continue
            if not request.prior.get("symptoms"):
                yield Result(request.key, None, error="the template backend needs at least one symptom in the prior")
                continue
            text = compose_note(request.prior, request.seed, request.template)
            yield Result(request.key, text, prompt_tokens=0, completion_tokens=len(text.split()))

    def stream_note(self, messages: list[dict[str, str]], prior: dict, template: str | None, seed: int,
                    params: SamplingParams) -> Iterator[str]:
        text = compose_note(prior, seed, template)
        shown = ""
        for piece in _WORD_RE.findall(text)[: params.max_new_tokens]:
            shown += piece
            yield shown.rstrip()

    def close(self) -> None:
        pass
