"""The `openai` backend's streaming variant, for the Space: one chat completion with `stream=True`.

The batch backend (`openai.py`) is built for throughput and returns whole notes; a person watching a note being
written needs the text as it arrives, and sees errors at once instead of waiting through retries.
"""

from __future__ import annotations

from collections.abc import Iterator

from medsyn.builder.generate.backends.base import SamplingParams
from medsyn.builder.generate.backends.openai import normalise_url
from medsyn.builder.generate.backends.openai_errors import error_message
from medsyn.errors import MedsynError


class OpenAIStreamer:
    """Chat completions with `stream=True` from an OpenAI-compatible server (vLLM, `transformers serve`, ...)."""

    name = "openai"

    def __init__(self, model: str, base_url: str, api_key: str | None = None, timeout: float = 120.0) -> None:
        import openai

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
            raise MedsynError(
                f"the model server at {self.base_url} answered {err.status_code}: {error_message(err)}") from None
        except self._openai.APIError as err:
            raise MedsynError(f"cannot reach the model server at {self.base_url}: {_short(err)}") from None
        if not text:
            yield ""

    def close(self) -> None:
        self._client.close()


def _short(err: Exception, limit: int = 300) -> str:
    message = str(getattr(err, "message", None) or err)
    return message if len(message) <= limit else message[:limit] + "…"
