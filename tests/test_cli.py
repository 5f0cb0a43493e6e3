"""The command line: every subcommand is there, helps, and is documented in README."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from medsyn.cli import COMMANDS, main

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
