"""TRL's settings of `medsyn train` (`SFTConfig`, `ModelConfig`) as stored flags, so that reading the flags imports
neither TRL nor torch.

`SFTConfig` is transformers' `TrainingArguments`, whose import pulls in torch: seconds before `--help` or a typo's
error could answer. The flags are stored in configs/trl_flags.json for the trl and transformers versions recorded
there (the locked ones), as `HfArgumentParser` derives them (TRL's own scripts parse with it). With other versions
installed they are derived from the classes themselves: slower, never stale. After a version change, refresh the
file with `python -m medsyn.training.trl_settings`; a test says when it is due.
"""

from __future__ import annotations

import argparse
import dataclasses
import enum
import json
from importlib import metadata
from pathlib import Path
from typing import Any

from medsyn.config import Stored
from medsyn.flags import KINDS, Flag, jsonable

STORE = Path(__file__).resolve().parent / "configs" / "trl_flags.json"
LIBRARIES = ("trl", "transformers")
TARGETS = {"SFTConfig": "trl:SFTConfig", "ModelConfig": "trl:ModelConfig"}  # what the parser builds from the values


def installed() -> dict[str, str]:
    return {name: metadata.version(name) for name in LIBRARIES}


def trl_settings() -> list[Stored]:
    """SFTConfig's and ModelConfig's flags: stored when they were stored for the installed versions, else derived.
    The parser builds TRL's own classes from them (`Stored.target`)."""
    try:
        stored = json.loads(STORE.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        stored = None
    if stored is not None and stored.get("versions") == installed():
        return [Stored(name, [Flag(**flag) for flag in flags], TARGETS[name])
                for name, flags in stored["settings"].items()]
    return derived()


def derived() -> list[Stored]:
    """The flags `HfArgumentParser` makes of the installed classes (imports TRL, transformers and torch)."""
    from transformers import HfArgumentParser
    from trl import ModelConfig, SFTConfig

    return [Stored(cls.__name__, flags_of_parser(HfArgumentParser([cls])), TARGETS[cls.__name__])
            for cls in (SFTConfig, ModelConfig)]


def flags_of_parser(parser: argparse.ArgumentParser) -> list[Flag]:
    """`Flag`s for an HfArgumentParser's actions: its `--no_x` complements become the switch's `negation`, an
    optional boolean a switch; a type argparse cannot get from a string (a dict, a config object) is read as text
    and left to the class to convert."""
    flags: dict[str, Flag] = {}
    for action in parser._actions:
        if not action.option_strings or action.dest == "help":
            continue
        if isinstance(action, argparse._StoreFalseAction):
            flags[action.dest].negation = True
            continue
        flags[action.dest] = _flag(action)
    return list(flags.values())


def _flag(action: argparse.Action) -> Flag:
    flag = Flag(action.dest, help=action.help or "", required=bool(action.required),
                default=None if action.default is argparse.SUPPRESS else jsonable(action.default))
    kind = action.type
    if getattr(kind, "__name__", "") == "string_to_bool":
        flag.kind = "bool"
        return flag
    if action.nargs == "+":
        flag.many = True
    elif action.nargs is not None:
        flag.nargs, flag.const = action.nargs, jsonable(action.const)
    if action.choices is not None:
        flag.kind, flag.choices = "choice", [jsonable(choice) for choice in action.choices]
    elif isinstance(kind, type) and issubclass(kind, enum.Enum):
        flag.kind, flag.choices = "choice", [member.value for member in kind]
    else:
        flag.kind = next((name for name, tp in KINDS.items() if kind is tp), "str")
    return flag


def write_store(path: Path = STORE) -> dict[str, Any]:
    """Store the flags of the installed versions."""
    blank = dataclasses.asdict(Flag(""))
    data = {"versions": installed(),
            "settings": {group.name: [{key: value for key, value in dataclasses.asdict(flag).items()
                                       if key == "dest" or value != blank[key]} for flag in group.flags]
                         for group in derived()}}
    path.write_text(json.dumps(data, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return data


if __name__ == "__main__":
    written = write_store()
    print(f"wrote {STORE} for {', '.join(f'{k} {v}' for k, v in written['versions'].items())}")
