"""The Gradio Space: pick a diagnosis, see what the knowledge graph knows, watch a note being written, judge it.

The handlers are plain functions of their inputs (code, seed, symptoms, family, template), not of hidden session
state, so the page and the HTTP API (`gradio_client`) do exactly the same thing and every result is reproducible
from what the caller sent.
"""

from __future__ import annotations

import os
import dataclasses
import functools
import inspect
import json
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import gradio as gr

import logging

from medsyn.builder.backends import SamplingParams, Streamer, count_tokens, open_streamer
from medsyn.builder.filters import FilterConfig, SymptomScorer, reject_reasons, score_note
from medsyn.builder.matching import SymptomMatcher
from medsyn.builder.mkg import KnowledgeGraph, load_graph
from medsyn.builder.prompts import SYMPTOM_TEMPLATES, Prompt, PromptBuilder, PromptConfig
from medsyn.builder.sampling import Prior, PriorSampler, SamplingConfig, SymptomDraw
from medsyn.errors import MedsynError
from medsyn.space.config import SpaceConfig, load_config
from medsyn.space.corpus import Corpus, load_corpus  # noqa: F401  (Corpus: part of the app's API)

# Limits on what a visitor may send (the API takes the same inputs as the page).
MAX_CODE_CHARS = 16
MAX_QUERY_CHARS = 100
MAX_SYMPTOMS = 20
MAX_SYMPTOM_CHARS = 120
MAX_SEED = 2**31 - 1
SEARCH_LIMIT = 50
BROWSE_ROWS = 200
ALL = "all"
FILTERS = FilterConfig()
PREVIEW_CHARS = 160  # of a note in the browse table; the whole note is one click away in the download
# Gradio's highlighted text breaks lines anywhere (`word-break: break-all`), cutting Russian words in two.
CSS = "#marked .textfield { word-break: normal; overflow-wrap: anywhere; display: block; }"
PASS, FAIL = "pass", "**fail**"  # words, not emoji: they render on machines without an emoji font

log = logging.getLogger("medsyn.space")


def _user_error(fn_name: str, err: MedsynError) -> gr.Error:
    """A visitor's mistake: one log line (no traceback in the server log) and a message on the page."""
    log.warning("%s: %s", fn_name, err)
    return gr.Error(str(err), print_exception=False)


def _user_errors(fn):
    """Turn MedsynError into gr.Error, for plain functions and generators alike."""
    if inspect.isgeneratorfunction(fn):

        @functools.wraps(fn)
        def wrapped_gen(*args, **kwargs):
            try:
                yield from fn(*args, **kwargs)
            except MedsynError as err:
                raise _user_error(fn.__name__, err) from None

        return wrapped_gen

    @functools.wraps(fn)
    def wrapped(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except MedsynError as err:
            raise _user_error(fn.__name__, err) from None

    return wrapped


def _numeric_seed(number: gr.Number) -> None:
    """Let the seed's API input be any JSON value: a string that is not a number becomes a readable message, where
    Gradio's Number would fail inside its range check with a TypeError. (Wrapped on the instance: a gr.Number
    subclass would make Gradio write a .pyi stub next to this module.)"""
    preprocess = number.preprocess

    def checked(payload):
        if isinstance(payload, str):
            try:
                payload = float(payload)
            except ValueError:
                raise _user_error("seed", MedsynError(
                    f"seed must be a whole number from 0 to {MAX_SEED}, got {payload!r}")) from None
        elif payload is not None and (isinstance(payload, bool) or not isinstance(payload, (int, float))):
            raise _user_error("seed", MedsynError(f"seed must be a whole number from 0 to {MAX_SEED}, got {payload!r}"))
        return preprocess(payload)

    number.preprocess = checked


def _one_line_input_errors(demo: gr.Blocks) -> None:
    """Gradio's own input checks (a number out of range, a value not among the choices) raise gr.Error, which
    Gradio logs with a traceback: a visitor's mistake, so one log line instead."""
    for block in demo.blocks.values():
        preprocess = getattr(block, "preprocess", None)
        if preprocess is None:
            continue

        def checked(payload, _preprocess=preprocess, _name=getattr(block, "label", None) or type(block).__name__):
            try:
                return _preprocess(payload)
            except gr.Error as err:
                if not err.print_exception:
                    raise
                raise _user_error(str(_name), MedsynError(err.message)) from None

        block.preprocess = checked


def launch(demo: gr.Blocks, **kwargs):
    """`demo.launch` with the app's CSS (Gradio 6 takes it at launch, not in the Blocks constructor)."""
    return demo.launch(css=CSS, **kwargs)


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
        self.graph: KnowledgeGraph = load_graph(config.graph)
        examples = []
        if config.examples:
            from medsyn.builder.sources import read_notes, refuse_held_out

            refuse_held_out(config.examples)
            examples = read_notes(config.examples)
        self.families = ["symptoms", "code"] + (["example"] if examples else [])
        self.prompts = PromptBuilder(PromptConfig(families=dict.fromkeys(self.families, 1.0)), examples, self.graph)
        self.example_text = {note.note_id: note.text for note in examples}
        self.scorer = SymptomScorer()
        self.streamer: Streamer = open_streamer(config)
        self.corpus = load_corpus(config.dataset) if config.dataset else None
        # Every code with Russian symptoms: the categories the sampler draws and the full codes with their own lists.
        self.codes = sorted(set(self.graph.codes_with_symptoms) | set(self.graph.full_codes_with_symptoms))
        self.chapter_of = {code: self.graph.chapter(code) for code in self.codes}
        self.out_dir = Path(tempfile.mkdtemp(prefix="medsyn-space-"))
        self.params = SamplingParams(config.temperature, config.top_p, config.max_new_tokens)

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
        labels = [s.label for s in prior.symptoms]
        example = self.example_text.get(prompt.example_id) if prompt.example_id else None
        scores = score_note(text, labels, prior.icd10_code, prior.icd10_name, example, self.scorer)
        reasons = reject_reasons(scores, FILTERS)
        highlighted = highlight(text, labels)
        tick = {True: PASS, False: FAIL}
        lines = [
            f"**Verdict: {'kept' if not reasons else 'rejected (' + ', '.join(reasons) + ')'}**",
            "",
            "| check | value | passes |",
            "|---|---|---|",
            f"| symptom recall | {scores.symptom_recall:.2f} ({len(scores.matched_symptoms)}/{len(labels)}) | "
            f"{tick[scores.symptom_recall >= FILTERS.min_symptom_recall]} |",
            f"| diagnosis leakage | {'yes' if scores.leakage else 'no'} | {tick[not scores.leakage]} |",
            f"| Cyrillic share (Russian) | {scores.cyrillic_share:.2f} | "
            f"{tick[scores.cyrillic_share >= FILTERS.min_cyrillic_share]} |",
            f"| length | {scores.n_words} words ({FILTERS.min_words}–{FILTERS.max_words}) | "
            f"{tick[FILTERS.min_words <= scores.n_words <= FILTERS.max_words]} |",
        ]
        if example is not None:
            lines.append(f"| longest span copied from the example | {scores.example_longest_ngram} words | "
                         f"{tick[scores.example_longest_ngram <= FILTERS.max_example_longest_ngram]} |")
        record = {**dataclasses.asdict(scores), "keep": not reasons, "reject_reasons": reasons}
        return highlighted, "\n".join(lines), record

    # -- generation ---------------------------------------------------------------------------------------------
    def generate(self, code, seed, symptoms, family, template) -> Iterator[tuple]:
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


BROWSE_HEADERS = ["id", "code", "model", "family", "recall", "words", "verdict", "reasons", "text"]
# Narrow columns get about their header's width, so that headers never wrap letter by letter; the note gets the rest.
BROWSE_WIDTHS = ["9%", "5%", "9%", "7%", "6%", "5%", "7%", "11%", "41%"]


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


# --- the page ------------------------------------------------------------------------------------------------------


def make_demo(config: SpaceConfig | None = None) -> gr.Blocks:
    """The Blocks app for `config` (default: MEDSYN_* variables / $MEDSYN_SPACE_CONFIG, else offline template).

    A Space must run with no network access: gradio's analytics (read when the Blocks are made and launched) and
    Hub telemetry are off unless the environment says otherwise."""
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
    space = Space(config or load_config())
    cfg = space.config

    @_user_errors
    def on_sample(code, seed):
        prior = space.prior(code, seed)
        return space.describe(prior), space.symptom_table(prior), "\n".join(s.label for s in prior.symptoms)

    @_user_errors
    def on_prompt(code, seed, symptoms, family, template):
        prior = space.prior(code, seed, symptoms)
        return format_messages(space.prompt(prior, family, template).messages)

    @_user_errors
    def on_generate(code, seed, symptoms, family, template):
        yield from space.generate(code, seed, symptoms, family, template)

    @_user_errors
    def on_search(query: str) -> list[list[str]]:
        """Codes (with Russian symptoms in the graph) whose code starts with or whose name contains the query."""
        return space.search(query)

    def on_pick(code, seed, last):
        """The page's guard before sampling: a code or seed that cannot be used keeps the last good state on the
        page (header, symptoms, prompt, note all of one code) and says why; a new good pick clears the old note."""
        try:
            picked = [space.resolve_code(code), parse_seed(seed)]
        except MedsynError as err:
            log.warning("pick: %s", err)
            message = f"**{err}**. Still showing {last[0]} (seed {last[1]})."
            return message, last, last[0], *[gr.skip()] * 5
        if picked == list(last):
            return gr.skip(), last, gr.skip(), *[gr.skip()] * 5
        return "", picked, gr.skip(), "", [], "", None, None

    def on_chapter(chapter):
        choices = space.code_choices(chapter)
        return gr.Dropdown(choices=choices, value=choices[0][1] if choices else None)

    @_user_errors
    def on_browse(code, verdict, min_recall):
        return space.browse(code, verdict, min_recall)

    backend_line = f"**Backend:** `{space.streamer.name}` · **model:** `{space.streamer.model}` · " \
                   f"**max new tokens:** {cfg.max_new_tokens}"
    with gr.Blocks(title="MedSyn-ru: synthetic Russian clinical notes") as demo:
        gr.Markdown(
            "# MedSyn-ru: synthetic Russian clinical notes\n"
            "Pick an ICD-10 diagnosis, look at what the medical knowledge graph knows about it, watch a note being "
            "written from a sampled patient, and see whether the corpus filters would keep it.\n\n" + backend_line,
            elem_id="backend",
        )
        with gr.Tab("Generate"):
            with gr.Row():
                chapter = gr.Dropdown(space.chapter_choices(), value=ALL, label="Chapter", scale=1)
                choices = space.code_choices()
                code = gr.Dropdown(
                    choices, value="M54" if "M54" in space.codes else choices[0][1], label="ICD-10 code",
                    info=f"{len(space.codes)} codes with symptoms; type a code or part of its Russian name", filterable=True, allow_custom_value=True,
                    scale=3, elem_id="code",
                )
                seed = gr.Number(0, label="Seed", precision=0, minimum=0, maximum=MAX_SEED, scale=1)
                _numeric_seed(seed)
                resample = gr.Button("Resample", scale=1)
            status = gr.Markdown(elem_id="status")
            last_pick = gr.State(["M54" if "M54" in space.codes else choices[0][1], 0])
            about = gr.Markdown(elem_id="about")
            with gr.Row():
                table = gr.Dataframe(headers=["symptom", "weight"], label="Sampled symptoms (graph weights)",
                                     interactive=False, scale=1)
                symptoms = gr.Textbox(label="Symptoms for the prompt (one per line; edit freely)", lines=7,
                                      max_length=MAX_SYMPTOMS * (MAX_SYMPTOM_CHARS + 1), scale=1, elem_id="symptoms")
            with gr.Row():
                family = gr.Radio(space.families, value="symptoms", label="Prompt family")
                template = gr.Dropdown(list(SYMPTOM_TEMPLATES), value="anamnesis", label="Template (symptoms family)")
            prompt = gr.Textbox(label="Exact prompt sent to the model", lines=8, interactive=False, elem_id="prompt")
            generate = gr.Button("Generate", variant="primary", elem_id="generate")
            note = gr.Textbox(label="Generated note", lines=8, interactive=False, elem_id="note")
            with gr.Row():
                marked = gr.HighlightedText(label="Matched symptoms", color_map={"symptom": "green", "negated": "red"},
                                            show_legend=True, elem_id="marked")
                verdict = gr.Markdown(elem_id="verdict")
            with gr.Row():
                scores = gr.JSON(label="Scores")
                download = gr.File(label="Note with its prior (JSON)")

            prompt_inputs = [code, seed, symptoms, family, template]
            chapter.change(on_chapter, chapter, code, api_visibility="private")
            picked = gr.on(
                [code.change, seed.change, demo.load], on_pick, [code, seed, last_pick],
                [status, last_pick, code, note, marked, verdict, scores, download], api_visibility="private",
            )
            sampled = picked.success(on_sample, [code, seed], [about, table, symptoms], api_name="sample_prior")
            sampled.then(on_prompt, prompt_inputs, prompt, api_visibility="private")
            resample.click(
                lambda s: (int(s or 0) + 1) % (MAX_SEED + 1), seed, seed, api_visibility="private"
            )
            gr.on([symptoms.blur, family.change, template.change], on_prompt, prompt_inputs, prompt,
                  api_name="prompt")
            generate.click(
                on_generate, prompt_inputs, [note, marked, verdict, scores, download],
                api_name="generate", concurrency_limit=cfg.concurrency, concurrency_id="generate",
            )
            gr.api(on_search, api_name="search")
        if space.corpus is not None:
            with gr.Tab("Browse corpus"):
                gr.Markdown(f"Notes of `{space.corpus.source}` ({len(space.corpus.rows)} generated; "
                            f"first {BROWSE_ROWS} matches shown).")
                with gr.Row():
                    b_code = gr.Dropdown([ALL, *space.corpus.codes], value=ALL, label="Code", filterable=True)
                    b_verdict = gr.Radio([ALL, "kept", "rejected"], value=ALL, label="Verdict")
                    b_recall = gr.Slider(0, 1, value=0, step=0.05, label="Minimum symptom recall")
                rows = gr.Dataframe(headers=BROWSE_HEADERS, interactive=False, wrap=True, elem_id="corpus",
                                    column_widths=BROWSE_WIDTHS, max_height=1200)
                gr.on([b_code.change, b_verdict.change, b_recall.release, demo.load], on_browse,
                      [b_code, b_verdict, b_recall], rows, api_name="browse")
    demo.queue(default_concurrency_limit=cfg.concurrency, max_size=cfg.queue_size)
    _one_line_input_errors(demo)
    return demo


def __getattr__(name: str) -> gr.Blocks:
    """`demo`, built on first access: the Space runtime reads it, while tests import `make_demo` without it."""
    if name == "demo":
        globals()["demo"] = make_demo()
        return globals()["demo"]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


if __name__ == "__main__":
    launch(make_demo())
