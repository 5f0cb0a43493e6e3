"""One configuration system: every command's flags documented, YAML keys = flags with paths against the file, one-line
errors with exit 2, train taking any SFTConfig field, and backends registered through the entry-point group."""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from medsyn.cli import COMMANDS, command_module, main
from medsyn.config import ConfigError, ConfigParser
from medsyn.flags import to_bool
from medsyn.options import option

# Commands whose settings are read by one parser; mkg and ift pick an action first.
ACTIONS = {"mkg": ["build", "stats", "show"], "ift": ["build"]}
INVOCATIONS = [[c, a] for c in COMMANDS for a in ACTIONS.get(c, [None])]


def parsers():
    """(argv prefix, parser) for every command and action: the parser that `main` builds for it."""
    from medsyn.commands import benchmark, card, ift, mkg, prompts, push, sample, space, train
    from medsyn.commands import build as build_cmd
    from medsyn.builder.generate.prompts import PromptConfig
    from medsyn.builder.generate.sampling import SamplingConfig

    yield ["sample"], ConfigParser([SamplingConfig, sample.SampleOutput], prog="medsyn sample")
    yield ["prompts"], ConfigParser([prompts.PromptsIO, PromptConfig], prog="medsyn prompts")
    yield ["build"], build_cmd.parser()
    yield ["benchmark"], benchmark.parser()
    yield ["card"], ConfigParser([card.CardOptions], prog="medsyn card")
    yield ["push"], ConfigParser([push.PushOptions], prog="medsyn push")
    yield ["ift", "build"], ConfigParser([ift.IftBuildOptions], prog="medsyn ift build")
    yield ["space"], space.parser()
    yield ["mkg", "build"], ConfigParser([mkg.MkgBuildOptions], prog="medsyn mkg build")
    yield ["mkg", "stats"], ConfigParser([mkg.MkgStatsOptions], prog="medsyn mkg stats")
    yield ["mkg", "show"], ConfigParser([mkg.MkgShowOptions], prog="medsyn mkg show")
    yield ["train"], train.parser()
    yield ["import"], command_module("import").parser()
    from medsyn.commands.merge import MergeOptions

    yield ["merge"], ConfigParser([MergeOptions], prog="medsyn merge")
    from medsyn.builder.corpus.audit import AuditLimits
    from medsyn.commands.audit import AuditOptions

    yield ["audit"], ConfigParser([AuditOptions, AuditLimits], prog="medsyn audit")
    from medsyn.commands.budget import BudgetOptions

    yield ["budget"], ConfigParser([BudgetOptions], prog="medsyn budget")


ALL_PARSERS = list(parsers())


def test_the_parsers_above_cover_every_command():
    assert {tuple(p) for p, _ in ALL_PARSERS} == {tuple(x for x in inv if x) for inv in INVOCATIONS}


@pytest.mark.parametrize("prefix, parser", ALL_PARSERS, ids=[" ".join(p) for p, _ in ALL_PARSERS])
def test_every_flag_is_documented(prefix, parser, capsys):
    undocumented = [a.option_strings[0] for a in parser._actions
                    if a.option_strings and a.dest != "help" and not (a.help or "").strip()]
    assert undocumented == []
    with pytest.raises(SystemExit) as exit_:
        main([*prefix, "--help"])
    shown = capsys.readouterr().out
    assert exit_.value.code == 0
    assert all(a.option_strings[0] in shown for a in parser._actions if a.option_strings)


@pytest.mark.parametrize("prefix, parser", ALL_PARSERS, ids=[" ".join(p) for p, _ in ALL_PARSERS])
def test_unknown_key_or_bad_value_is_one_line_and_exit_2(prefix, parser, tmp_path, capsys):
    known = next(a.dest for a in parser._actions if a.option_strings and a.dest not in ("help", "config"))
    config = tmp_path / "bad.yaml"
    config.write_text(f"{known}x: 1\n", encoding="utf-8")
    assert main([*prefix, "--config", str(config)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"unknown key '{known}x'" in err and f"did you mean {known}" in err
    typed = [a for a in parser._actions if a.option_strings and (a.type in (int, float) or a.choices)]
    for action in typed[:1]:  # card, push and prompts have only paths and strings
        assert main([*prefix, action.option_strings[0], "not-a-number"]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "invalid" in err and "not-a-number" in err
    assert main([*prefix, "--no-such-flag", "1"]) == 2
    assert capsys.readouterr().err.count("\n") == 1


@pytest.mark.parametrize("prefix, parser", ALL_PARSERS, ids=[" ".join(p) for p, _ in ALL_PARSERS])
def test_help_says_each_thing_once_in_the_spelling_readme_uses(prefix, parser):
    shown = parser.format_help()
    flat = " ".join(shown.split())
    assert "(default: None)" not in flat
    assert not re.search(r"\(default[^()]*\) \(default", flat)  # a written default, then argparse's
    usage = " ".join(parser.format_usage().split())
    assert not re.search(r"--[a-z0-9-]*_", usage), usage  # --min-words, not --min_words
    actions = [a for a in parser._actions if a.option_strings]
    for action in actions:
        if action.type is to_bool:  # a switch: `--json`, not `--json [JSON]`
            metavar = rf"{action.option_strings[0]} \[?{action.dest.upper()}\b"
            assert not re.search(metavar, flat + " " + usage), action.dest
        if isinstance(action, argparse._StoreFalseAction):  # `--no-x` says what it does, not x's help again
            positive = next(a for a in actions if a.dest == action.dest and a is not action)
            assert action.help != positive.help and positive.option_strings[0] in action.help


def test_train_help_states_medsyns_defaults_not_trls(capsys):
    from medsyn.io import read_yaml
    from medsyn.training.train import DEFAULTS

    epochs = read_yaml(DEFAULTS)["num_train_epochs"]
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    shown = " ".join(capsys.readouterr().out.split())
    assert re.search(rf"--num-train-epochs, --epochs NUM_TRAIN_EPOCHS [^-]*\(default: {epochs}\)", shown)


def test_a_flag_with_a_word_added_suggests_the_flag(capsys):
    assert main(["build", "--n-notes", "5", "--out", "x"]) == 2
    assert capsys.readouterr().err.endswith("(did you mean --n?)\n")


def test_a_shortened_flag_is_not_taken_for_the_long_one(capsys):
    assert main(["sample", "--n", "1", "--symptom-temp", "0.1"]) == 2
    assert "did you mean --symptom-temperature" in capsys.readouterr().err


def test_yaml_paths_resolve_against_the_file_and_flags_win(tmp_path, monkeypatch, capsys):
    folder = tmp_path / "configs"
    folder.mkdir()
    (folder / "build.yaml").write_text("out: corpus\nn: 5\nwork_dir: work\nquiet: true\nmin-words: 0\n")
    monkeypatch.chdir(tmp_path)  # not the YAML's folder
    assert main(["build", "--config", "configs/build.yaml", "--n", "4"]) == 0
    assert (folder / "work" / "generations.sqlite").is_file() and not (tmp_path / "corpus").exists()
    assert pq.read_table(folder / "corpus" / "unfiltered").num_rows == 4  # --n beat the file's n
    (folder / "card.yaml").write_text("dataset: corpus\n")
    assert main(["card", "--config", "configs/card.yaml"]) == 0
    assert "configs/corpus/README.md" in capsys.readouterr().out


def test_same_value_from_flag_yaml_and_environment():
    from medsyn.space.config import load_config, parser

    assert load_config(environ={"MEDSYN_TOP_P": "0.5"}).generation.top_p == 0.5
    generation, _ = parser("t").parse(["--top-p", "0.25"], environ={"MEDSYN_TOP_P": "0.5"})
    assert generation.top_p == 0.25


def test_a_stored_group_is_checked_before_its_library_loads_and_built_after_every_other_group():
    """How `medsyn train` reads TRL's settings: `check` sees every value (defaults filled in) before the import,
    and the library's class is built from the values set once the other groups have passed their checks."""
    from types import SimpleNamespace

    from medsyn.config import Stored
    from medsyn.flags import Flag

    seen = []
    stored = Stored("Lib", [Flag("size", "int", default=3), Flag("name")], target="types:SimpleNamespace",
                    check=seen.append)
    parser = ConfigParser([Count, stored], prog="t")
    _, built = parser.parse(["--name", "x"])
    assert built == SimpleNamespace(name="x") and seen == [SimpleNamespace(size=3, name="x")]
    with pytest.raises(ConfigError, match="n must be >= 1"):  # the other group fails first: nothing is built
        parser.parse(["--n", "0", "--size", "4"])
    assert len(seen) == 1


def test_a_subset_takes_part_of_a_shared_group_with_the_commands_defaults():
    from medsyn.builder.generate.backends import GenerationOptions
    from medsyn.config import Subset

    part = Subset(GenerationOptions, ("model", "concurrency"), defaults={"concurrency": 2},
                  help={"model": "the served model"})
    parser = ConfigParser([part], prog="t")
    assert set(parser.settings) == {"model", "concurrency"}
    assert "the served model" in parser.format_help() and "(default: 2)" in parser.format_help()
    (options,) = parser.parse(["--model", "m"])
    assert options == GenerationOptions(model="m", concurrency=2)
    with pytest.raises(Exception, match="unrecognized.*--batch-size"):
        parser.parse(["--batch-size", "4"])


@dataclass
class Count:
    n: int = option(1, "how many")

    def validate(self) -> None:
        if self.n < 1:
            raise ConfigError(f"n must be >= 1, got {self.n}")


def test_train_flags_are_stored_for_the_installed_trl():
    """`medsyn train` reads TRL's flags from a file (no torch import to parse): they must be the installed TRL's."""
    from medsyn.training import trl_settings

    stored = json.loads(trl_settings.STORE.read_text(encoding="utf-8"))
    assert stored["versions"] == trl_settings.installed(), "refresh: python -m medsyn.training.trl_settings"
    derived = trl_settings.derived()
    assert [(g.name, g.flags) for g in trl_settings.trl_settings()] == [(g.name, g.flags) for g in derived]


def test_train_takes_any_sft_and_model_config_field(tmp_path):
    from trl import SFTConfig

    from medsyn.commands.train import parse
    from medsyn.training.train import sft_config

    yaml_file = tmp_path / "train.yaml"
    yaml_file.write_text("adam_beta2: 0.95\nlora_r: 4\ndata: ift\n")
    config = parse(["--config", str(yaml_file), "--base-model", "org/model", "--out", str(tmp_path / "a"),
                    "--weight_decay", "0.01", "--optim", "adamw_torch", "--use_rslora", "true"])
    assert config.args.data == tmp_path / "ift"
    assert (config.sft.weight_decay, config.sft.adam_beta2, config.sft.optim) == (0.01, 0.95, "adamw_torch")
    assert (config.model.lora_r, config.model.lora_alpha, config.model.use_rslora) == (4, 16, True)
    final = sft_config(config, tmp_path / "ckpt", "fp32", world_size=1)
    assert isinstance(final, SFTConfig) and final.weight_decay == 0.01 and final.gradient_accumulation_steps == 64
    assert final.num_train_epochs == 5 and final.learning_rate == 2e-5  # MedSyn's defaults underneath
    with pytest.raises(Exception, match="unrecognized.*--sft"):
        parse(["--base-model", "m", "--data", "d", "--out", "o", "--sft", "weight_decay=0.01"])


TOY_BACKEND = textwrap.dedent(
    """
    from medsyn.builder.generate.backends import BackendSpec, GenerationOptions, Result

    class Toy:
        name = "toy"

        def __init__(self, options):
            # the build and the Space both open a backend with the typed generation group
            if not isinstance(options, GenerationOptions):
                raise TypeError(f"the toy backend was opened with {type(options).__name__}, not GenerationOptions")
            self.model = f"toy-{options.model or 'plain'}"

        def generate(self, requests):
            for r in requests:
                labels = ", ".join(s["label"] for s in r.prior["symptoms"])
                yield Result(r.key, f"Пациент жалуется: {labels}. Игрушечная запись номер {r.seed % 97}.",
                             completion_tokens=7)

        def stream_note(self, messages, prior, template, seed, params):
            for n in range(1, 4):
                yield "игрушка " * n

        def close(self):
            pass

    SPEC = BackendSpec("toy", Toy, Toy, description="a test plug-in")
    """
)


@pytest.fixture
def toy_env(tmp_path):
    """A package with a `medsyn.backends` entry point, installed the way pip lays it out (module + dist-info)."""
    site = tmp_path / "site"
    (site / "toy_backend-0.1.dist-info").mkdir(parents=True)
    (site / "toy_backend.py").write_text(TOY_BACKEND, encoding="utf-8")
    (site / "toy_backend-0.1.dist-info" / "METADATA").write_text("Metadata-Version: 2.1\nName: toy-backend\n"
                                                                 "Version: 0.1\n")
    (site / "toy_backend-0.1.dist-info" / "entry_points.txt").write_text("[medsyn.backends]\ntoy = toy_backend:SPEC\n")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")]))
    return env


def test_entry_point_backend_builds_a_corpus(toy_env, tmp_path):
    out = tmp_path / "corpus"
    done = subprocess.run([sys.executable, "-m", "medsyn.cli", "build", "--backend", "toy", "--n", "5", "--out",
                           str(out), "--quiet", "--min-words", "0"], env=toy_env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    rows = pq.read_table(out / "unfiltered").to_pylist()
    assert len(rows) == 5 and {r["backend"] for r in rows} == {"toy"}
    assert {r["generation_model"] for r in rows} == {"toy-plain"}
    assert all(r["text"].startswith("Пациент жалуется:") for r in rows)
    assert json.loads((out / "build_info.json").read_text())["backend"]["name"] == "toy"


def test_entry_point_backend_streams_in_the_space(toy_env):
    script = textwrap.dedent(
        """
        import json
        from medsyn.space.session import Space
        from medsyn.space.config import load_config

        space = Space(load_config(environ={"MEDSYN_BACKEND": "toy"}))
        texts = [step[0] for step in space.generate("J06", 1, "кашель", "symptoms", "short")]
        print(json.dumps({"texts": texts, "model": space.streamer.model}))
        """
    )
    done = subprocess.run([sys.executable, "-c", script], env=toy_env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["model"] == "toy-plain" and report["texts"][:3] == ["игрушка ", "игрушка " * 2, "игрушка " * 3]


def test_an_unregistered_backend_is_refused_with_the_known_ones(capsys, tmp_path):
    assert main(["build", "--backend", "toy", "--out", str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err
    assert "unknown backend 'toy'" in err and "template, openai, transformers" in err


def test_no_module_over_450_lines():
    root = Path(__file__).resolve().parent.parent
    long = [str(p.relative_to(root)) for folder in ("medsyn", "builder", "training", "dataset_card", "space")
            for p in (root / folder).rglob("*.py") if len(p.read_text(encoding="utf-8").splitlines()) > 450]
    assert long == []


@pytest.mark.parametrize("module", ["medsyn.space.app", "medsyn.builder.quality.filters", "medsyn.builder.generate.backends"])
def test_importing_changes_no_environment(module):
    code = (f"import os; before = dict(os.environ); import {module}; "
            "print(sorted(set(os.environ.items()) ^ set(before.items())))")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GRADIO_", "HF_HUB_DISABLE"))}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.strip() == "[]", done.stderr[-1000:]


def test_command_modules_expose_help_and_main():
    for name, help_ in COMMANDS.items():
        module = command_module(name)
        assert module.HELP == help_ and callable(module.main)  # `medsyn --help` reads the table, not the module
