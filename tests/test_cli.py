"""The command line: every subcommand is there, helps, and is documented in README."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from medsyn.cli import COMMANDS, command_module, main

README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("command", COMMANDS)
def test_every_subcommand_helps_and_is_documented(command, capsys):
    with pytest.raises(SystemExit) as exit_:
        main([command, "--help"])
    assert exit_.value.code == 0 and f"medsyn {command}" in capsys.readouterr().out
    assert re.search(rf"^### `medsyn {command}", README, re.M) or f"`medsyn {command}`" in README


def test_quickstart_is_two_commands_and_ci_runs_the_second():
    quickstart = README.split("## Quickstart", 1)[1].split("\n## ", 1)[0]
    commands = re.findall(r"```bash\n(.*?)\n```", quickstart, re.S)
    assert len(commands) == 2 and all("\n" not in c for c in commands)
    ci = (Path(__file__).resolve().parent.parent / ".ci" / "run").read_text(encoding="utf-8")
    assert commands[1] in ci


def test_version_and_entry_point():
    done = subprocess.run([sys.executable, "-m", "medsyn.cli", "--version"], capture_output=True, text=True)
    assert done.returncode == 0 and done.stdout.startswith("medsyn ")


# The quick answers of the command line (help, a typo) must not wait on the libraries that do the work, nor print
# their warnings before the one line that matters; nor import the modules of the commands not asked for.
HEAVY = ("torch", "transformers", "trl", "peft", "accelerate", "evaluate", "datasets", "gradio", "sklearn", "scipy",
         "matplotlib", "pandas", "pyarrow")
ACTION = {"mkg": "build", "ift": "build"}  # commands that pick an action first: that action's flags
PROBE = (
    "import json, sys\n"
    "from medsyn.cli import main\n"
    "try:\n"
    "    status = main(sys.argv[1:])\n"
    "except SystemExit as exit_:\n"
    "    status = exit_.code\n"
    f"print(json.dumps({{'status': status, 'heavy': [m for m in {HEAVY!r} if m in sys.modules], "
    "'commands': sorted(m for m in sys.modules if m.startswith('medsyn.commands.'))}))\n"
)


def run_probe(argv: list[str]) -> tuple[dict, str, str]:
    """(exit status, heavy and command modules imported, stdout before that report, stderr) of `medsyn ARGV`."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONWARNINGS"}  # warnings shown as a user sees them
    done = subprocess.run([sys.executable, "-c", PROBE, *argv], capture_output=True, text=True, env=env, timeout=300)
    *out, report = done.stdout.rstrip("\n").split("\n")
    return json.loads(report), "\n".join(out), done.stderr


def prefix(command: str) -> list[str]:
    return [command, ACTION[command]] if command in ACTION else [command]


def modules(command: str) -> list[str]:
    """The command modules `medsyn COMMAND ...` may import: its own."""
    return [command_module(command).__name__] if command else []


@pytest.mark.parametrize("command", ["", *COMMANDS])
def test_help_answers_without_the_heavy_libraries(command):
    argv = [*prefix(command), "--help"] if command else ["--help"]
    report, out, err = run_probe(argv)
    assert report == {"status": 0, "heavy": [], "commands": modules(command)} and err == ""
    assert out.startswith(f"usage: medsyn {' '.join(argv[:-1])}".rstrip())


@pytest.mark.parametrize("command", COMMANDS)
def test_an_argument_error_is_one_line_without_warnings_or_heavy_libraries(command):
    report, out, err = run_probe([*prefix(command), "--no-such-flag", "1"])
    assert report == {"status": 2, "heavy": [], "commands": modules(command)} and out == ""
    assert err.count("\n") == 1 and err.startswith(f"medsyn {command}: error: ") and "Warning" not in err


def test_train_refuses_its_settings_before_trl_loads_and_without_warnings(tmp_path):
    report, _, err = run_probe(["train", "--data", str(tmp_path / "d"), "--out", str(tmp_path / "o")])
    assert report == {"status": 2, "heavy": [], "commands": ["medsyn.commands.train"]}
    assert err.count("\n") == 1 and "Warning" not in err and "--base-model" in err


def test_train_builds_trl_configs_without_deprecation_warnings(tmp_path):
    """MedSyn's defaults use transformers' current names (`activation_checkpointing`), not the deprecated ones."""
    import warnings

    from medsyn.commands.train import parse

    with warnings.catch_warnings():
        warnings.simplefilter("error", FutureWarning)
        config = parse(["--data", str(tmp_path / "d"), "--out", str(tmp_path / "o"), "--base-model", "org/model"])
    assert config.sft.activation_checkpointing is True


def test_prompts_help_lists_the_builders_templates(capsys):
    from medsyn.builder.generate.prompts import SYMPTOM_TEMPLATES

    with pytest.raises(SystemExit):
        main(["prompts", "--help"])
    shown = " ".join(capsys.readouterr().out.split())
    assert f"{len(SYMPTOM_TEMPLATES)} templates: {', '.join(SYMPTOM_TEMPLATES)}" in shown
