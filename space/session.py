"""What the Space does, apart from how the page shows it: the graph, prompt builder, streamer and corpus built once
at start (`Space`), and the checks on what a visitor sends.

The handlers are plain functions of their inputs (code, seed, symptoms, family, template), not of hidden session
state, so the page and the HTTP API (`gradio_client`) do exactly the same thing and every result is reproducible
from what the caller sent. Keeping them here, out of the Blocks layout in `app.py`, lets tests and scripts drive
the Space without building a page.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from medsyn.builder.generate.backends import Streamer, count_tokens, open_streamer
from medsyn.builder.kg.sources import read_notes, refuse_held_out
from medsyn.builder.quality.filters import SymptomScorer
from medsyn.builder.quality.scorers import NONE, Context, Rule, filter_config_class, registry, score_batch, thresholds
from medsyn.builder.text.matching import SymptomMatcher
from medsyn.builder.kg.graph import KnowledgeGraph, load_graph
from medsyn.builder.generate.prompts import SYMPTOM_TEMPLATES, Prompt, PromptBuilder, PromptConfig
from medsyn.builder.generate.sampling import Prior, PriorSampler, SamplingConfig, SymptomDraw
from medsyn.errors import MedsynError
from medsyn.space.config import SpaceConfig
from medsyn.space.corpus import load_corpus

# Limits on what a visitor may send (the API takes the same inputs as the page).
MAX_CODE_CHARS = 16
MAX_QUERY_CHARS = 100
MAX_SYMPTOMS = 20
MAX_SYMPTOM_CHARS = 120
MAX_SEED = 2**31 - 1
SEARCH_LIMIT = 50
BROWSE_ROWS = 200
ALL = "all"
PREVIEW_CHARS = 160  # of a note in the browse table; the whole note is one click away in the download
PASS, FAIL = "pass", "**fail**"  # words, not emoji: they render on machines without an emoji font


# --- inputs -----------------------------------------------------------------------------------------------------


def _text(value: object, what: str, limit: int) -> str:
    text = "" if value is None else str(value).strip()
    if len(text) > limit:
        raise MedsynError(f"{what} is too long ({len(text)} characters; at most {limit})")
    return text


def parse_seed(value: object) -> int:
    try:
        seed = int(float(value if value not in (None, "") else 0))
    except (TypeError, ValueError):
        raise MedsynError(f"seed must be a whole number from 0 to {MAX_SEED}, got {value!r}") from None
    if not 0 <= seed <= MAX_SEED:
        raise MedsynError(f"seed must be from 0 to {MAX_SEED}, got {seed}")
    return seed


def parse_symptoms(text: object) -> list[str]:
    """One symptom per line (commas in a label are kept: labels like 'боль, жжение' exist)."""
    raw = "" if text is None else str(text)
    labels = list(dict.fromkeys(line.strip() for line in raw.splitlines() if line.strip()))
    if not labels:
        raise MedsynError("the symptom list is empty: enter at least one symptom, one per line, or resample the prior")
    if len(labels) > MAX_SYMPTOMS:
        raise MedsynError(f"too many symptoms ({len(labels)}; at most {MAX_SYMPTOMS}): remove some lines")
    for i, label in enumerate(labels, 1):
        if len(label) > MAX_SYMPTOM_CHARS:
            raise MedsynError(f"symptom {i} is too long ({len(label)} characters; at most {MAX_SYMPTOM_CHARS})")
    return labels


def format_messages(messages: list[dict[str, str]]) -> str:
    return "\n\n".join(f"[{m['role']}]\n{m['content']}" for m in messages)


# --- the app's model of one session ---------------------------------------------------------------------------------


class Space:
    """Everything the handlers need, built once at start: graph, prompt builder, streamer, corpus."""

    def __init__(self, config: SpaceConfig) -> None:
        config.validate()
        self.config = config
        own = config.options
        self.graph: KnowledgeGraph = load_graph(own.graph)
        examples = []
        if own.examples:
            refuse_held_out(own.examples)
            examples = read_notes(own.examples)
        self.families = ["symptoms", "code"] + (["example"] if examples else [])
        self.prompts = PromptBuilder(PromptConfig(families=[f"{family}=1" for family in self.families]), examples,
                                     self.graph)
        self.example_text = {note.note_id: note.text for note in examples}
        self.scorer = SymptomScorer()
        # The build's filters at their defaults: every registered scorer, plug-ins included.
        self.scorers = registry()
        self.filters = filter_config_class(self.scorers)()
        self.thresholds = thresholds(self.filters, self.scorers)
        self.streamer: Streamer = open_streamer(config.generation)
        self.corpus = load_corpus(own.dataset, own.dataset_version) if own.dataset else None
        # Every code with Russian symptoms: the categories the sampler draws and the full codes with their own lists.
        self.codes = sorted(set(self.graph.codes_with_symptoms) | set(self.graph.full_codes_with_symptoms))
        self.chapter_of = {code: self.graph.chapter(code) for code in self.codes}
        self.out_dir = Path(tempfile.mkdtemp(prefix="medsyn-space-"))
        self.params = config.generation.params

    # -- codes --------------------------------------------------------------------------------------------------
    def code_choices(self, chapter: str = ALL) -> list[tuple[str, str]]:
        return [
            (f"{code} — {self.graph.name(code)}", code)
            for code in self.codes
            if chapter in (ALL, None, "") or self.chapter_of[code]["code"] == chapter
        ]

    def chapter_choices(self) -> list[tuple[str, str]]:
        chapters = {c["code"]: c for c in self.chapter_of.values()}
        order = sorted(chapters, key=lambda code: self.graph.graph.nodes[f"chapter:{code}"].get("range", code))
        choices = [("all chapters", ALL)]
        for code in order:
            node = self.graph.graph.nodes[f"chapter:{code}"]
            choices.append((f"{code} ({node.get('range', '')}) {node['name']}", code))
        return choices

    def resolve_code(self, raw: object) -> str:
        """'M54', ' m54 ' or 'M54 — Дорсалгия' -> 'M54'; unknown codes raise with close matches."""
        text = _text(raw, "ICD-10 code", MAX_CODE_CHARS + 300)
        if not text:
            raise MedsynError("choose an ICD-10 code: type a code like M54 or part of its Russian name")
        code = text.split()[0]
        if len(code) > MAX_CODE_CHARS:
            raise MedsynError(f"ICD-10 code is too long ({len(code)} characters; at most {MAX_CODE_CHARS})")
        try:
            code = self.graph.node(code)["code"]
        except MedsynError:
            raise MedsynError(f"unknown ICD-10 code {code!r}; {self._suggest(code)}") from None
        if code[:3] not in self.codes:
            raise MedsynError(
                f"{code} ({self.graph.name(code)}) has no Russian symptoms in the knowledge graph, so no note can be "
                f"prompted from it; {self._suggest(code)}"
            )
        return code

    def _suggest(self, code: str) -> str:
        """Only codes that can be picked (they have Russian symptoms), else how to find one."""
        pickable = [c for c in self.graph.close_matches(code, limit=20) if c[:3] in self.codes][:5]
        if pickable:
            return "close matches: " + ", ".join(pickable)
        return "type a code such as M54 or J06, or part of a Russian diagnosis name (e.g. гастрит)"

    def search(self, query: str) -> list[list[str]]:
        query = _text(query, "search query", MAX_QUERY_CHARS)
        hits = self.graph.search(query, limit=10 * SEARCH_LIMIT) if query else []
        return [[code, name] for code, name in hits if code[:3] in self.codes][:SEARCH_LIMIT]

    # -- priors and prompts -------------------------------------------------------------------------------------
    def prior(self, code: object, seed: object, symptoms: object = None) -> Prior:
        code, seed = self.resolve_code(code), parse_seed(seed)
        prior = next(iter(_sampler(self.graph, code).sample(1, seed)))
        if symptoms is None:
            return prior
        weights = {link.label: link.weight for link in self.graph.symptoms(code)}
        labels = parse_symptoms(symptoms)
        return dataclasses.replace(prior, symptoms=[SymptomDraw(label, weights.get(label, 0.0)) for label in labels])

    def prompt(self, prior: Prior, family: object, template: object) -> Prompt:
        family = family or "symptoms"
        if family not in self.families:
            hint = " (set MEDSYN_EXAMPLES to a notes file to enable it)" if family == "example" else ""
            raise MedsynError(f"prompt family {family!r} is not available{hint}; choose {', '.join(self.families)}")
        if family == "symptoms" and template not in SYMPTOM_TEMPLATES:
            raise MedsynError(f"template {template!r} unknown; choose one of {', '.join(SYMPTOM_TEMPLATES)}")
        return self.prompts.build(prior, family=family, template=template if family == "symptoms" else None)

    def describe(self, prior: Prior) -> str:
        code = prior.icd10_code
        chain = " › ".join(f"{p['code']} {p['name']}" for p in reversed(self.graph.parents(code)))
        links = self.graph.symptoms(code)
        sex = {"male": "male", "female": "female"}[prior.sex]
        smoking = "smoker" if prior.smoking else "non-smoker"
        return (
            f"### {code} — {prior.icd10_name}\n{chain}\n\n"
            f"**Knowledge graph:** {len(links)} linked Russian symptoms. "
            f"**Patient:** {sex}, {prior.age} years, {prior.marital_status}, {smoking} (seed {prior.seed})."
        )

    def symptom_table(self, prior: Prior) -> list[list]:
        """Heaviest first: the symptoms the graph ties most specifically to the code lead."""
        ranked = sorted(prior.symptoms, key=lambda s: (-s.weight, s.label))
        return [[s.label, round(s.weight, 4)] for s in ranked]

    # -- verdicts -----------------------------------------------------------------------------------------------
    def verdicts(self, text: str, prompt: Prompt, prior: Prior) -> tuple[list[tuple[str, str | None]], str, dict]:
        """The note scored as a build scores it (every registered scorer, at the default thresholds): a table line
        per check, and the scores with the verdict."""
        labels = [s.label for s in prior.symptoms]
        row = {"text": text, "icd10_code": prior.icd10_code, "icd10_name": prior.icd10_name,
               "example_id": prompt.example_id, "prior": {"symptoms": [{"label": label} for label in labels]}}
        context = Context(self.filters, self.graph, self.example_text, symptom_scorer=self.scorer)
        (row,) = score_batch([row], context, self.scorers)
        reasons = row["reject_reasons"]
        lines = [
            f"**Verdict: {'kept' if not reasons else 'rejected (' + ', '.join(reasons) + ')'}**",
            "",
            "| check | value | passes |",
            "|---|---|---|",
            *(self._check(rule, row) for scorer in self.scorers for rule in scorer.rules
              if row.get(rule.column) is not None),
        ]
        columns = [column.name for scorer in self.scorers for column in scorer.columns]
        record = {**{name: row[name] for name in columns}, "keep": not reasons, "reject_reasons": reasons}
        return highlight(text, labels), "\n".join(lines), record

    def _check(self, rule: Rule, row: dict) -> str:
        value = row[rule.column]
        if isinstance(value, bool):
            shown = "yes" if value else "no"
        elif isinstance(value, float):
            shown = f"{value:.2f}"
        elif isinstance(value, list):
            shown = ", ".join(value) or "none"
        else:
            shown = str(value)
        limit = f" ({rule.shown(self.thresholds)})" if rule.keep != NONE else ""
        passes = FAIL if rule.rejects(row, self.thresholds) else PASS
        return f"| {rule.label or rule.reason} | {shown}{limit} | {passes} |"

    # -- generation ---------------------------------------------------------------------------------------------
    def generate(self, code, seed, symptoms, family, template) -> Iterator[tuple]:
        import gradio as gr

        prior = self.prior(code, seed, symptoms)
        prompt = self.prompt(prior, family, template)
        start = time.perf_counter()
        first = None
        text = ""
        for text in self.streamer.stream_note(
            prompt.messages, prior.to_dict(), prompt.prompt_template, prior.seed, self.params
        ):
            if first is None:
                first = time.perf_counter() - start
            yield text, gr.skip(), gr.skip(), gr.skip(), gr.skip()
        elapsed = time.perf_counter() - start
        if not text.strip():
            raise MedsynError(f"the {self.streamer.name} backend returned an empty note; try another seed")
        highlighted, table, scores = self.verdicts(text, prompt, prior)
        tokens = count_tokens(text)
        stats = {
            "backend": self.streamer.name,
            "model": self.streamer.model,
            "time_to_first_token_s": round(first or elapsed, 4),
            "seconds": round(elapsed, 4),
            "words": tokens,
            "words_per_s": round(tokens / elapsed, 2) if elapsed > 0 else None,
        }
        record = {
            "icd10_code": prior.icd10_code,
            "icd10_name": prior.icd10_name,
            "generation_model": self.streamer.model,
            "backend": self.streamer.name,
            "prompt_family": prompt.prompt_family,
            "prompt_template": prompt.prompt_template,
            "messages": prompt.messages,
            "prior": prior.to_dict(),
            "example_id": prompt.example_id,
            "text": text,
            "scores": scores,
            "generation": stats,
        }
        path = self.out_dir / f"note-{prior.icd10_code}-s{prior.seed}-{time.time_ns()}.json"
        path.write_text(json.dumps(record, ensure_ascii=False, indent=2), encoding="utf-8")
        yield text, highlighted, table, {**scores, "generation": stats}, str(path)

    # -- corpus -------------------------------------------------------------------------------------------------
    def browse(self, code: object, verdict: object, min_recall: object) -> list[list]:
        if self.corpus is None:
            raise MedsynError("no corpus configured: set MEDSYN_DATASET to a built corpus folder or Hub dataset id")
        code = _text(code, "code filter", MAX_CODE_CHARS) or ALL
        verdict = verdict or ALL
        if verdict not in (ALL, "kept", "rejected"):
            raise MedsynError(f"verdict filter must be all, kept or rejected, got {verdict!r}")
        try:
            floor = float(min_recall or 0.0)
        except (TypeError, ValueError):
            raise MedsynError(f"minimum symptom recall must be a number from 0 to 1, got {min_recall!r}") from None
        rows = []
        for row in self.corpus.rows:
            if code != ALL and row["icd10_code"] != code.upper():
                continue
            if verdict != ALL and row["keep"] != (verdict == "kept"):
                continue
            if row["symptom_recall"] < floor:
                continue
            rows.append([
                row["id"], row["icd10_code"], row["generation_model"], row["prompt_family"],
                round(row["symptom_recall"], 3), row["n_words"], "kept" if row["keep"] else "rejected",
                ", ".join(row["reject_reasons"]), _preview(row["text"]),
            ])
            if len(rows) >= BROWSE_ROWS:
                break
        return rows


def _preview(text: str) -> str:
    return text if len(text) <= PREVIEW_CHARS else text[:PREVIEW_CHARS].rsplit(" ", 1)[0] + " …"


@functools.lru_cache(maxsize=256)
def _sampler(graph: KnowledgeGraph, code: str) -> PriorSampler:
    return PriorSampler(graph, SamplingConfig(codes=(code,)))


def highlight(text: str, labels: list[str]) -> list[tuple[str, str | None]]:
    """Segments of `text` for gr.HighlightedText: prompt symptoms found ('symptom') or negated ('negated')."""
    segments: list[tuple[str, str | None]] = []
    at = 0
    for mention in SymptomMatcher(labels).mentions(text):
        if mention.start < at:
            continue  # overlapping labels: the first one wins
        if mention.start > at:
            segments.append((text[at : mention.start], None))
        segments.append((text[mention.start : mention.end], "negated" if mention.negated else "symptom"))
        at = mention.end
    if at < len(text):
        segments.append((text[at:], None))
    return segments
