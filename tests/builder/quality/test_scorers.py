"""Scorers as plug-ins (builder/quality/scorers.py): the built-in filters through the registry, and a toy scorer
installed the way pip installs a package (its module and a dist-info folder with entry_points.txt), with no change
to medsyn.

All note texts here are written for the tests; none comes from a real patient.
"""

from __future__ import annotations

import importlib.util
import json
import os
import pickle
import re
import subprocess
import sys
import textwrap
from importlib.metadata import EntryPoint
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from medsyn.builder.corpus.readers import read_corpus
from medsyn.builder.corpus.schema import FEATURES, features
from medsyn.builder.quality import filters
from medsyn.builder.quality.scorers import (
    AT_LEAST,
    AT_MOST,
    BUILTIN,
    ENTRY_POINT_GROUP,
    NONE,
    Context,
    Rule,
    filter_config_class,
    plugins,
    registry,
    score_batch,
)
from medsyn.dataset_card.stats import filter_table, scorer_fields
from medsyn.dataset_card.validate import check_schema, validate_folder
from medsyn.errors import MedsynError
from medsyn.flags import flags_of

TOY_SCORER = textwrap.dedent(
    '''
    """A scorer plug-in for the tests: a note's commas, and the reason `too_many_commas` above --max-commas."""
    from medsyn.builder.quality.scorers import AT_MOST, Column, Rule, Scorer, Setting


    def count(rows, context):
        return [{"n_commas": row["text"].count(",")} for row in rows]


    SCORER = Scorer(
        "commas", (Column("n_commas", "int32", about="commas in the note"),), count,
        rules=(Rule("too_many_commas", "n_commas", AT_MOST, "max_commas", "commas"),),
        settings=(Setting("max_commas", 1000, "most commas a kept note may have"),),
        about="commas in the note",
    )
    '''
)
NOTES = [
    "Третий день беспокоит боль в шейном отделе позвоночника, тошнота, головокружение по утрам, хуже после сна.",
    "Жалобы на тошноту. Боль в шее. Диагноз: дорсалгия, M54.",
    "Pain in the neck, nausea and dizziness since Monday, worse in the mornings, no fever at all.",
    "Боль в шее.",
]


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """A folder laid out as pip lays out an installed package: its module and its dist-info."""
    folder = tmp_path_factory.mktemp("site")
    (folder / "toy_scorer.py").write_text(TOY_SCORER, encoding="utf-8")
    info = folder / "toy_scorer-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: toy-scorer\nVersion: 0.1\n", encoding="utf-8")
    (info / "entry_points.txt").write_text(f"[{ENTRY_POINT_GROUP}]\ncommas = toy_scorer:SCORER\n", encoding="utf-8")
    return folder


@pytest.fixture
def installed(site, monkeypatch):
    """The toy scorer installed in this process: the registry reads it from its entry point."""
    monkeypatch.syspath_prepend(str(site))
    return registry()


def rows_of(texts: list[str], symptoms: list[str] | None = None) -> list[dict]:
    labels = None if symptoms is None else [{"label": label} for label in symptoms]
    return [{"id": str(i), "text": text, "icd10_code": "M54", "icd10_name": "Дорсалгия", "example_id": None,
             "prior": {"symptoms": labels}} for i, text in enumerate(texts)]  # fmt: skip


# --- the built-in scorers --------------------------------------------------------------------------------------


def test_the_built_in_filters_are_the_registry_with_their_reasons_in_order():
    assert registry() == BUILTIN  # nothing installed in this environment
    reasons = [rule.reason for scorer in BUILTIN for rule in scorer.rules]
    assert reasons == [reason for reason in filters.REASONS if reason != filters.NEAR_DUPLICATE]
    columns = [column.name for scorer in BUILTIN for column in scorer.columns]
    assert [name for name in FEATURES if name in columns] == columns  # the schema types them as declared


@pytest.mark.parametrize("config", [filters.FilterConfig(detect_person_names=False),
                                    filters.FilterConfig(min_words=14, max_words=16, min_symptom_recall=0.9,
                                                         min_cyrillic_share=0.99, detect_person_names=False)])
def test_the_registry_rejects_what_reject_reasons_rejects(config):
    """The pipeline's verdicts (rules of the registry) and `filters.reject_reasons` (the Python API) agree."""
    symptoms = ["боль в шейном отделе позвоночника", "тошнота", "головокружение"]
    rows = score_batch(rows_of(NOTES, symptoms), Context(config), BUILTIN)
    expected = [filters.reject_reasons(filters.score_note(text, symptoms, "M54", "Дорсалгия"), config)
                for text in NOTES]  # fmt: skip
    assert [row["reject_reasons"] for row in rows] == expected
    assert any(expected) and not all(expected)
    assert all(row["person_names"] is None for row in rows)  # the detector is off: not measured


def test_a_note_without_prompt_symptoms_is_not_measured_and_not_rejected_for_recall():
    (row,) = score_batch(rows_of(NOTES[:1]), Context(filters.FilterConfig(detect_person_names=False)), BUILTIN)
    assert row["symptom_recall"] is None and row["matched_symptoms"] is None
    assert filters.LOW_SYMPTOM_RECALL not in row["reject_reasons"] and row["n_words"] > 0


@pytest.mark.parametrize(("keep", "value", "rejected"), [
    (AT_LEAST, 0.5, False), (AT_LEAST, 0.49, True), (AT_MOST, 8, False), (AT_MOST, 9, True),
    (AT_LEAST, None, False), (NONE, True, True), (NONE, [], False), (NONE, ["Анна"], True), (NONE, None, False),
])  # fmt: skip
def test_a_rule_keeps_the_threshold_itself_and_never_rejects_a_null(keep, value, rejected):
    rule = Rule("r", "x", keep, None if keep == NONE else "t")
    assert rule.rejects({"x": value}, {"t": 0.5 if keep == AT_LEAST else 8}) is rejected


# --- a plug-in -------------------------------------------------------------------------------------------------


def test_an_installed_scorer_adds_its_column_reason_and_setting(installed):
    toy = installed[-1]
    assert installed[:-1] == BUILTIN and toy.name == "commas"
    schema = features(installed)
    assert list(schema) == [*FEATURES, "n_commas"] and str(schema["n_commas"].dtype) == "int32"
    config_class = filter_config_class(installed)
    assert issubclass(config_class, filters.FilterConfig) and config_class is filter_config_class()
    flag = {f.dest: f for f in flags_of(config_class)}["max_commas"]
    assert (flag.kind, flag.default, flag.names[0]) == ("int", 1000, "--max-commas")
    config = config_class(max_commas=1, detect_person_names=False)
    assert pickle.loads(pickle.dumps(config)) == config  # how it reaches a build's process pool
    assert filters.settings_record(config)["filters"]["max_commas"] == 1
    rows = score_batch(rows_of([NOTES[0], NOTES[1], "Без запятых и всё"]), Context(config), installed)
    assert [row["n_commas"] for row in rows] == [3, 1, 0]
    assert rows[0]["reject_reasons"][-1] == "too_many_commas" and "too_many_commas" not in rows[1]["reject_reasons"]


def test_a_wrong_value_of_a_plug_in_setting_is_one_line(installed):
    with pytest.raises(MedsynError, match=r"^filter setting max_commas='many': expected a whole number, e\.g\. "
                                          r"--max-commas 1000$"):
        filter_config_class(installed)(max_commas="many")


def test_the_card_lists_a_scorer_s_threshold_and_its_columns(installed):
    recorded = filters.settings_record(filter_config_class(installed)(max_commas=3))["filters"]
    rows = filter_table(recorded, installed)
    assert rows[-1] == ("commas in the note", "≤ 3")
    assert rows[:7] == filter_table(recorded, BUILTIN)[:7] and len(filter_table(recorded, BUILTIN)) == 8
    # rendered where the plug-in is not installed: the recorded setting still has its row
    assert filter_table(recorded, BUILTIN)[-1] == ("`max_commas`", "3")
    assert scorer_fields(["text", "n_commas"], installed) == [
        ("`n_commas`", "n_commas: commas in the note (scorer `commas`; a failing note is rejected as "
                       "`too_many_commas`)")]
    assert scorer_fields(["text"], installed) == []


SCORER_FILE = "from medsyn.builder.quality.scorers import *\nSCORER = {}\n"


@pytest.mark.parametrize(("source", "message"), [
    ("raise ImportError('no such thing')", "failed to load: ImportError: no such thing"),
    ("SCORER = 3", "is not a medsyn Scorer but int"),
    (SCORER_FILE.format("Scorer('other', (), lambda rows, c: [])"), "names its scorer 'other'"),
    (SCORER_FILE.format("Scorer('bad', (Column('n_words', 'int32'),), lambda rows, c: [])"),
     "the column 'n_words' is another scorer's"),
    (SCORER_FILE.format("Scorer('bad', (Column('x', 'int8'),), lambda rows, c: [])"), "has type 'int8'"),
    (SCORER_FILE.format("Scorer('bad', (), lambda rows, c: [], settings=(Setting('x', [1], ''),))"),
     "a setting is a float, an int or a bool"),
    (SCORER_FILE.format("Scorer('bad', (Column('x', 'bool'),), lambda rows, c: [], (Rule('leakage', 'x', NONE),))"),
     "the reason 'leakage' is another scorer's"),
    (SCORER_FILE.format("Scorer('bad', (Column('x', 'bool'),), lambda rows, c: [], (Rule('r', 'x', AT_MOST),))"),
     "compares with None, not one of its settings"),
])  # fmt: skip
def test_a_broken_or_clashing_plug_in_is_one_line_naming_its_entry_point(source, message, tmp_path, monkeypatch):
    module = "broken_" + re.sub(r"\W", "_", tmp_path.name)
    (tmp_path / f"{module}.py").write_text(source, encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(MedsynError) as error:
        plugins([EntryPoint("bad", f"{module}:SCORER", ENTRY_POINT_GROUP)])
    assert message in str(error.value) and f"{module}:SCORER" in str(error.value) and "\n" not in str(error.value)


# --- the toy scorer through the real command line ------------------------------------------------------------


@pytest.fixture(scope="module")
def toy_env(site) -> dict[str, str]:
    return dict(os.environ, PYTHONPATH=os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")]))


def medsyn(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "medsyn.cli", *args], env=env, capture_output=True, text=True,
                          timeout=600)


def unfiltered(folder: Path, config: str = "unfiltered") -> list[dict]:
    return [row for shard in sorted((folder / config).glob("*.parquet")) for row in pq.read_table(shard).to_pylist()]


@pytest.fixture(scope="module")
def toy_builds(toy_env, tmp_path_factory) -> tuple[Path, int]:
    """Two template builds of the same 30 notes with the toy scorer installed: at its default (1000 commas, which
    no note has) and, through a YAML config, at one comma fewer than the note with the most."""
    root = tmp_path_factory.mktemp("toy")
    done = medsyn(toy_env, "build", "--backend", "template", "--n", "30", "--out", str(root / "default"), "--quiet")
    assert done.returncode == 0, done.stderr[-2000:]
    counts = [row["n_commas"] for row in unfiltered(root / "default")]
    assert len(set(counts)) > 1, counts
    limit = max(counts) - 1
    (root / "build.yaml").write_text(f"max_commas: {limit}\n", encoding="utf-8")
    done = medsyn(toy_env, "build", "--backend", "template", "--n", "30", "--out", str(root / "strict"),
                  "--config", str(root / "build.yaml"), "--quiet")
    assert done.returncode == 0, done.stderr[-2000:]
    return root, limit


def test_a_plug_in_scorer_adds_its_column_reason_card_row_and_setting(toy_builds):
    root, limit = toy_builds
    default, strict = unfiltered(root / "default"), unfiltered(root / "strict")
    assert [row["text"] for row in strict] == [row["text"] for row in default]
    assert all(row["n_commas"] == row["text"].count(",") for row in default)
    assert not any("too_many_commas" in row["reject_reasons"] for row in default)
    rejected = [row for row in strict if "too_many_commas" in row["reject_reasons"]]
    assert rejected and {row["id"] for row in rejected} == {row["id"] for row in strict if row["n_commas"] > limit}
    for row in rejected:  # after the built-in scorers' reasons, before `near_duplicate`
        assert [r for r in row["reject_reasons"] if r != "near_duplicate"][-1] == "too_many_commas"
        assert not row["keep"]
    assert not {row["id"] for row in unfiltered(root / "strict", "data")} & {row["id"] for row in rejected}
    info = json.loads((root / "strict" / "build_info.json").read_text(encoding="utf-8"))
    assert info["filters"]["max_commas"] == limit and info["reject_reasons"]["too_many_commas"] == len(rejected)
    assert info["config"]["max_commas"] == limit  # the settings to rebuild it
    for folder, value in (("default", 1000), ("strict", limit)):
        card = (root / folder / "README.md").read_text(encoding="utf-8")
        assert f"| commas in the note | ≤ {value} |\n" in card
        assert "| `n_commas` | n_commas: commas in the note (scorer `commas`;" in card
    assert "| too_many_commas | " in (root / "strict" / "README.md").read_text(encoding="utf-8")


def test_the_setting_is_a_flag_and_a_wrong_value_is_one_line(toy_env, tmp_path):
    for command in ("build", "import"):
        done = medsyn(toy_env, command, "--help")
        assert done.returncode == 0 and "--max-commas MAX_COMMAS" in done.stdout
        assert "most commas a kept note may have (default: 1000)" in " ".join(done.stdout.split())
    done = medsyn(toy_env, "build", "--out", str(tmp_path / "corpus"), "--max-commas", "many")
    assert done.returncode == 2 and not (tmp_path / "corpus").exists()
    assert done.stderr.strip() == "medsyn build: error: argument --max-commas/--max_commas: invalid int value: 'many'"


def test_merge_keeps_the_plug_in_column_and_push_checks_it(toy_builds, toy_env, installed):
    root, _ = toy_builds
    done = medsyn(toy_env, "merge", str(root / "default"), str(root / "strict"), "--out", str(root / "merged"),
                  "--quiet")
    assert done.returncode == 0, done.stderr[-2000:]
    assert [row["n_commas"] for row in unfiltered(root / "merged")] == [
        row["n_commas"] for row in unfiltered(root / "default") + unfiltered(root / "strict")]
    assert validate_folder(root / "merged").kept > 0


def test_a_corpus_with_a_scorer_not_installed_here_is_refused_with_what_to_do(toy_builds):
    root, _ = toy_builds
    shard = next((root / "strict" / "unfiltered").glob("*.parquet"))
    with pytest.raises(MedsynError, match=r"unexpected column\(s\) n_commas \(no registered scorer declares them\)"):
        check_schema(shard)
    with pytest.raises(MedsynError, match="n_commas are not in the corpus schema .* install the scorer plug-in"):
        read_corpus(root / "strict")


@pytest.mark.skipif(importlib.util.find_spec("gradio") is None, reason="the Space needs gradio")
def test_the_space_checks_a_note_with_the_plug_in_scorer(toy_env):
    script = textwrap.dedent(
        """
        import json
        from medsyn.space.config import load_config
        from medsyn.space.session import Space

        space = Space(load_config(environ={}))
        prior = space.prior("M54", 1)
        prompt = space.prompt(prior, "symptoms", "short")
        _, table, record = space.verdicts("боль, " * 1001, prompt, prior)
        print(json.dumps({"table": table, "record": record}, ensure_ascii=False))
        """
    )
    done = subprocess.run([sys.executable, "-c", script], env=toy_env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    shown = json.loads(done.stdout.strip().splitlines()[-1])
    assert shown["record"]["n_commas"] == 1001 and not shown["record"]["keep"]
    assert shown["record"]["reject_reasons"][-1] == "too_many_commas"
    assert "| commas | 1001 (≤ 1000) | **fail** |" in shown["table"].splitlines()
    assert shown["table"].startswith("**Verdict: rejected (")
