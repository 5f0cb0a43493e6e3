"""What an OpenAI-compatible server's error answer means for a build: may a retry succeed, what did the server say,
and what must the user change when it refuses the request itself.

The openai SDK puts only a `message` field (OpenAI's `{"error": {"message": ...}}`) in its exception message, else
just "Error code: 400"; other servers answer `{"detail": ...}` (FastAPI's, e.g. `transformers serve`),
`{"error": "..."}` (TGI), plain text or a proxy's HTML page. A user who sees only the status cannot tell a prompt
over the model's context from a refused key.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

# And every 5xx. The openai client's own list (timeout, lock conflict, rate limit, server errors) plus 425 Too Early.
RETRYABLE_STATUS = frozenset({408, 409, 425, 429})
# How servers word a prompt that does not fit: vLLM and OpenAI ("maximum context length"), TGI ("`inputs` tokens +
# `max_new_tokens` must be <= ..."), llama.cpp ("exceeds the available context size"), `transformers serve`
# ("The prompt has N tokens, but the model takes at most M").
OVER_CONTEXT = re.compile(r"context|max.?model.?len|max_new_tokens|max_tokens|too long|too many tokens|\btokens\b",
                          re.IGNORECASE)


def retryable(status: int, headers: Mapping[str, str]) -> bool:
    """Whether another try of the same request may succeed: the server's `x-should-retry` where it sends one (as the
    openai client obeys it), else timeouts, conflicts, rate limits and server errors, never a request refused."""
    wish = (headers.get("x-should-retry") or "").strip().lower()
    if wish in ("true", "false"):
        return wish == "true"
    return status in RETRYABLE_STATUS or status >= 500


def server_message(body: object, limit: int = 300) -> str:
    """The server's own words from an error body, on one line and at most `limit` characters: OpenAI's
    `{"error": {"message": ...}}`, FastAPI's `{"detail": ...}` (a string or a list of field errors), a plain
    string, or the text of a non-JSON (even HTML) body. The SDK's own message keeps only the first of these."""
    if isinstance(body, Mapping):
        for key in ("error", "message", "detail", "msg"):
            value = body.get(key)
            if value and isinstance(value, (str, Mapping, list)):  # not `{"error": true, "message": ...}`'s flag
                return server_message(value, limit)
        text = json.dumps(body, ensure_ascii=False)
    elif isinstance(body, list):
        text = "; ".join(_field_error(item) for item in body)
    elif isinstance(body, (bytes, bytearray)):
        text = body.decode("utf-8", "replace")
    else:
        text = "" if body is None else str(body)
    if text.lstrip().startswith("<"):  # an HTML error page of a proxy: its words, not its markup
        text = re.sub(r"<(script|style)\b.*?</\1>|<[^>]+>", " ", text, flags=re.DOTALL | re.IGNORECASE)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _field_error(item: object) -> str:
    """One of FastAPI's validation errors, `{"loc": ["body", "temperature"], "msg": ...}`, as `temperature: msg`."""
    if not isinstance(item, Mapping):
        return str(item)
    where = ".".join(str(part) for part in item.get("loc") or () if part != "body")
    message = server_message(item.get("msg") or item.get("message") or {k: v for k, v in item.items() if k != "loc"})
    return f"{where}: {message}" if where else message


def error_message(exc: Any) -> str:
    """What the server said in its error answer `exc` (an openai APIStatusError), else the HTTP reason phrase."""
    response = exc.response
    try:
        content = response.content
    except Exception:  # a stream closed unread: only the SDK's parse of the body is left
        said = server_message(exc.body)
    else:
        try:
            said = server_message(json.loads(content))
        except ValueError:
            said = server_message(content)
    return said or response.reason_phrase or "no message"


def what_to_change(status: int, message: str, model: str, api_key_env: str, max_new_tokens: int) -> str:
    """The advice that goes with a refusal (`message` is the server's): it answers the same until one of these
    changes, so a rerun alone is never the advice."""
    if status == 401:
        other = " (or name another variable with --api-key-env)" if api_key_env == "OPENAI_API_KEY" else ""
        return f"the server refused the API key: put the right key in ${api_key_env}{other}"
    if status == 403:
        return f"the API key may not use model {model!r}: use a key with access to it (${api_key_env})"
    if status == 404:
        return f"fix --model (as the server's /v1/models lists it) or --base-url: {model!r} was not found"
    if status in (400, 413, 422) and OVER_CONTEXT.search(message):
        return (f"the prompt plus --max-new-tokens ({max_new_tokens}) is over the model's context: lower "
                "--max-new-tokens, use shorter prompts (--families, e.g. without example), or serve a model with a "
                "longer context")
    if status == 413:
        return "the request is over the server's size limit: use shorter prompts (--families) or raise the limit"
    return ("the server rejects the request as medsyn sends it: check --model, --temperature, --top-p and "
            "--max-new-tokens against what the server accepts")
