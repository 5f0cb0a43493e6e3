"""The Gradio Space: pick a diagnosis, see what the knowledge graph knows, watch a note being written, judge it.

This module is the page: the Blocks layout, its events and API names, and how a visitor's mistake reaches the page
(one log line and a message, no traceback). What the handlers compute lives in `medsyn.space.session`. The Space
runtime and the exported Space folder import `make_demo`, `launch` and `demo` from here.
"""

from __future__ import annotations

import functools
import inspect
import logging
import os

from medsyn.builder.generate.prompts import SYMPTOM_TEMPLATES
from medsyn.errors import MedsynError
from medsyn.space.config import SpaceConfig, load_config
from medsyn.space.corpus import Corpus  # noqa: F401  (part of the app's API)
from medsyn.space.session import (
    ALL,
    BROWSE_ROWS,
    MAX_SEED,
    MAX_SYMPTOM_CHARS,
    MAX_SYMPTOMS,
    Space,
    format_messages,
    parse_seed,
)

# Gradio's highlighted text breaks lines anywhere (`word-break: break-all`), cutting Russian words in two.
CSS = "#marked .textfield { word-break: normal; overflow-wrap: anywhere; display: block; }"

log = logging.getLogger("medsyn.space")


def _user_error(fn_name: str, err: MedsynError) -> gr.Error:
    """A visitor's mistake: one log line (no traceback in the server log) and a message on the page."""
    import gradio as gr

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
    import gradio as gr

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
    import gradio as gr

    for block in demo.blocks.values():
        preprocess = getattr(block, "preprocess", None)
        if preprocess is None:
            continue

        def checked(payload, _preprocess=preprocess, _name=getattr(block, "label", None) or type(block).__name__):
            import gradio as gr

            try:
                return _preprocess(payload)
            except gr.Error as err:
                if not err.print_exception:
                    raise
                raise _user_error(str(_name), MedsynError(err.message)) from None

        block.preprocess = checked


def launch(demo: gr.Blocks, **kwargs):
    """`demo.launch` with the app's CSS (Gradio 6 takes it at launch, not in the Blocks constructor)."""
    import gradio as gr

    return demo.launch(css=CSS, **kwargs)


BROWSE_HEADERS = ["id", "code", "model", "family", "recall", "words", "verdict", "reasons", "text"]
# Narrow columns get about their header's width, so that headers never wrap letter by letter; the note gets the rest.
BROWSE_WIDTHS = ["9%", "5%", "9%", "7%", "6%", "5%", "7%", "11%", "41%"]


# --- the page ------------------------------------------------------------------------------------------------------


def make_demo(config: SpaceConfig | None = None) -> gr.Blocks:
    """The Blocks app for `config` (default: MEDSYN_* variables / $MEDSYN_SPACE_CONFIG, else offline template).

    A Space must run with no network access: gradio's analytics (read when the Blocks are made and launched) and
    Hub telemetry are off unless the environment says otherwise."""
    import gradio as gr

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
        import gradio as gr

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
        import gradio as gr

        choices = space.code_choices(chapter)
        return gr.Dropdown(choices=choices, value=choices[0][1] if choices else None)

    @_user_errors
    def on_browse(code, verdict, min_recall):
        return space.browse(code, verdict, min_recall)

    backend_line = f"**Backend:** `{space.streamer.name}` · **model:** `{space.streamer.model}` · " \
                   f"**max new tokens:** {cfg.generation.max_new_tokens}"
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
                api_name="generate", concurrency_limit=cfg.generation.concurrency, concurrency_id="generate",
            )
            gr.api(on_search, api_name="search")
        if space.corpus is not None:
            with gr.Tab("Browse corpus"):
                at = f" at version `{space.corpus.revision}`" if space.corpus.revision else ""
                gr.Markdown(f"Notes of `{space.corpus.source}`{at} ({len(space.corpus.rows)} generated; "
                            f"first {BROWSE_ROWS} matches shown).")
                with gr.Row():
                    b_code = gr.Dropdown([ALL, *space.corpus.codes], value=ALL, label="Code", filterable=True)
                    b_verdict = gr.Radio([ALL, "kept", "rejected"], value=ALL, label="Verdict")
                    b_recall = gr.Slider(0, 1, value=0, step=0.05, label="Minimum symptom recall")
                rows = gr.Dataframe(headers=BROWSE_HEADERS, interactive=False, wrap=True, elem_id="corpus",
                                    column_widths=BROWSE_WIDTHS, max_height=1200)
                gr.on([b_code.change, b_verdict.change, b_recall.release, demo.load], on_browse,
                      [b_code, b_verdict, b_recall], rows, api_name="browse")
    demo.queue(default_concurrency_limit=cfg.generation.concurrency, max_size=cfg.options.queue_size)
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
