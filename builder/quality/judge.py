"""An LLM judge of notes: a rubric scored by any OpenAI-compatible model, one score per criterion and a reason.

Filters see what patterns can see; whether a note reads as a plausible outpatient record of its code, agrees with
the prior it was asked for, and is fluent Russian takes a reader. Generators of synthetic data (NeMo Data Designer,
distilabel) ask an LLM for that; so does this scorer, off by default (`--judge-model`), through the `openai`
backend (retries, concurrency, refusals in one line). Scores are columns, never a verdict: a judge's scale drifts
with the model, so the card reports its means and a user re-thresholds.

Every answer is kept in an SQLite cache keyed by model, messages and sampling settings, so a rerun (or a rebuild of
the same notes) pays nothing; build_info.json records the requests, tokens and cost of this run and how many
answers came from the cache.
"""

from __future__ import annotations

import hashlib
import json
import re
import sqlite3
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from medsyn.builder.generate.backends.base import Request, SamplingParams
from medsyn.builder.generate.backends.openai import OpenAIBackend

CRITERIA = ("plausibility", "agreement", "fluency")
SYSTEM = (
    "Ты опытный врач-терапевт и редактор медицинских текстов. Ты оцениваешь синтетические (не реальные) "
    "амбулаторные записи пациентов. Отвечай только JSON-объектом без пояснений вне его."
)
RUBRIC = """Оцени запись по трём критериям, каждый целым числом от 1 (плохо) до 5 (отлично):
- plausibility: клиническая правдоподобность: так мог бы выглядеть реальный амбулаторный случай с этим диагнозом;
- agreement: согласие с заданием: диагноз {code} ({name}), симптомы ({symptoms}), пол ({sex}) и возраст ({age});
- fluency: грамотность и естественность русского языка.
Ответ: {{"plausibility": N, "agreement": N, "fluency": N, "reason": "одно короткое предложение"}}

Запись:
{text}"""
SEX = {"male": "мужской", "female": "женский"}
_OBJECT = re.compile(r"\{.*\}", re.S)


@dataclass
class JudgeUsage:
    """What build_info.json says of the judge."""

    model: str
    notes: int = 0
    cached: int = 0  # answers read from the cache (paid for by an earlier run)
    requests: int = 0
    failed: int = 0  # no answer, or an answer without the scores
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost: float = 0.0
    means: dict = field(default_factory=dict)


def messages(row: dict) -> list[dict[str, str]]:
    """The rubric prompt for one corpus row."""
    prior = row.get("prior") or {}
    symptoms = ", ".join(s["label"] for s in prior.get("symptoms") or []) or "не заданы"
    user = RUBRIC.format(code=row["icd10_code"], name=row.get("icd10_name") or "", symptoms=symptoms,
                         sex=SEX.get(prior.get("sex"), "не задан"), age=prior.get("age") or "не задан",
                         text=row["text"])  # fmt: skip
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": user}]


def parse(text: str | None) -> dict | None:
    """The scores (integers 1-5) and reason of an answer; None when it has not all of them."""
    found = _OBJECT.search(text or "")
    if not found:
        return None
    try:
        answer = json.loads(found.group())
    except json.JSONDecodeError:
        return None
    scores = {name: answer.get(name) for name in CRITERIA}
    if not all(isinstance(v, int) and not isinstance(v, bool) and 1 <= v <= 5 for v in scores.values()):
        return None
    return {**{f"judge_{name}": value for name, value in scores.items()}, "judge_reason": str(answer.get("reason", ""))}


class Cache:
    """Answers by request key, in SQLite (one file; committed as they arrive, so a killed run keeps what it paid)."""

    def __init__(self, path: str | Path) -> None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(str(path))
        self.db.execute("CREATE TABLE IF NOT EXISTS answers (key TEXT PRIMARY KEY, text TEXT)")

    def get(self, key: str) -> str | None:
        row = self.db.execute("SELECT text FROM answers WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def put(self, key: str, text: str) -> None:
        self.db.execute("INSERT OR REPLACE INTO answers VALUES (?, ?)", (key, text))
        self.db.commit()

    def close(self) -> None:
        self.db.close()


def request_key(model: str, chat: list[dict[str, str]], params: SamplingParams) -> str:
    payload = json.dumps([model, chat, params.temperature, params.top_p, params.max_new_tokens], ensure_ascii=False)
    return hashlib.sha256(payload.encode()).hexdigest()


def judge(rows: Sequence[dict], model: str, base_urls: list[str], cache_path: str | Path, api_key_env: str,
          price_per_1k_input: float = 0.0, price_per_1k_output: float = 0.0,
          concurrency: int = 16) -> tuple[list[dict], JudgeUsage]:
    """Each row's judge columns (empty where the judge gave no usable answer) and the run's usage."""
    params = SamplingParams(temperature=0.0, top_p=1.0, max_new_tokens=200)
    chats = [messages(row) for row in rows]
    keys = [request_key(model, chat, params) for chat in chats]
    usage = JudgeUsage(model, notes=len(rows))
    cache = Cache(cache_path)
    try:
        answers = {key: cache.get(key) for key in keys}
        usage.cached = sum(text is not None for text in answers.values())
        todo = {key: chat for key, chat in zip(keys, chats) if answers[key] is None}
        if todo:
            backend = OpenAIBackend(model, base_urls, api_key_env=api_key_env, concurrency=concurrency,
                                    price_per_1k_input=price_per_1k_input, price_per_1k_output=price_per_1k_output)
            with backend:
                backend.check()
                for result in backend.generate([Request(key, chat, 0, params) for key, chat in todo.items()]):
                    if result.text is not None:
                        answers[result.key] = result.text
                        cache.put(result.key, result.text)
            usage.requests = backend.usage.requests
            usage.prompt_tokens, usage.completion_tokens = backend.usage.prompt_tokens, backend.usage.completion_tokens
            usage.cost = round(backend.usage.cost, 6)
    finally:
        cache.close()
    values = [parse(answers.get(key)) or {} for key in keys]
    usage.failed = sum(not value for value in values)
    usage.means = means(values)
    return values, usage


def means(rows: Sequence[dict]) -> dict[str, float]:
    """Each criterion's mean over the rows the judge scored."""
    found = {}
    for name in CRITERIA:
        scored = [row[f"judge_{name}"] for row in rows if row.get(f"judge_{name}") is not None]
        if scored:
            found[name] = round(sum(scored) / len(scored), 3)
    return found


def combined(usages: Sequence[dict], rows: Sequence[dict]) -> dict:
    """One run's usage from the usages of its parts (`JudgeUsage` as dicts: a Ray build judges each scoring batch
    in its own actor): counts, tokens and cost added, the means taken again over all the scored `rows`, since a
    mean of rounded batch means is not the run's mean."""
    total = JudgeUsage(usages[0]["model"])
    for usage in usages:
        for name in ("notes", "cached", "requests", "failed", "prompt_tokens", "completion_tokens", "cost"):
            setattr(total, name, getattr(total, name) + usage[name])
    total.cost = round(total.cost, 6)
    total.means = means(rows)
    return asdict(total)
