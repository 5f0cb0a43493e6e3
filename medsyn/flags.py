"""How a setting becomes a command-line flag, with the standard library's argparse only.

Settings used to be read by `transformers.HfArgumentParser`, which costs importing transformers (and, for TRL's
settings, torch) before a single flag is read: seconds before `--help` or a typo's error. Its help also wrote a
written default twice, showed switches as taking a value (`--json [JSON]`), repeated a switch's help on its
`--no-x` twin and led usage lines with underscore spellings. Here a setting is first described as a `Flag` (plain
data, so that a library's settings can be stored as JSON and read without importing it) and then added to a parser.
Semantics stay those of HfArgumentParser: `--x-y` and `--x_y`, switches that take an optional true/false, lists as
one or more values, `--no-x` for a switch that is on by default.
"""

from __future__ import annotations

import argparse
import dataclasses
import difflib
import enum
import json
import re
import types
import typing
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

KINDS: dict[str, Any] = {"str": str, "int": int, "float": float, "path": Path}
STATES_DEFAULT = re.compile(r"\(default\b|\bdefaults? (to|is)\b", re.I)
TRUE, FALSE = ("true", "yes", "t", "y", "1"), ("false", "no", "f", "n", "0")


def to_bool(value: str | bool) -> bool:
    """`--flag true|false` (also yes/no, 1/0), as YAML values and HfArgumentParser's switches take them."""
    if isinstance(value, bool):
        return value
    if value.lower() in TRUE:
        return True
    if value.lower() in FALSE:
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {value!r}")


@dataclass
class Flag:
    """One setting as the command line sees it; JSON-able, so that a library's settings can be stored and read
    without importing the library."""

    dest: str
    kind: str = "str"  # a key of KINDS, "bool" (a switch) or "choice"
    help: str = ""
    many: bool = False  # one or more values
    choices: list | None = None
    required: bool = False
    default: Any = None  # shown in --help and read by checks that run before the settings' class is imported
    negation: bool = False  # also `--no-x` (a switch on by default)
    nargs: str | None = None  # other than the above, as the library declares it (e.g. "?" with `const`)
    const: Any = None

    @property
    def names(self) -> list[str]:
        """The dash spelling first: it is what usage lines, README and error messages show."""
        dashed = f"--{self.dest.replace('_', '-')}"
        return [dashed] if dashed == f"--{self.dest}" else [dashed, f"--{self.dest}"]

    def add_to(self, parser: argparse._ActionsContainer) -> None:
        """Added with no default: an absent flag leaves the setting to its class (or to the YAML files read first)."""
        kwargs: dict[str, Any] = {"dest": self.dest, "help": self.help, "default": argparse.SUPPRESS}
        if self.kind == "bool":
            kwargs.update(type=to_bool, nargs="?", const=True)
        elif self.kind == "choice":
            kwargs.update(type=_choice_type(self.choices or []), choices=self.choices)
        else:
            kwargs["type"] = KINDS[self.kind]
        if self.many:
            kwargs["nargs"] = "+"
        elif self.nargs is not None:
            kwargs.update(nargs=self.nargs, const=self.const)
        if self.required:
            kwargs["required"] = True
        action = parser.add_argument(*self.names, **kwargs)
        action.shown_default = self.default
        action.switch = self.kind == "bool"
        if self.negation:
            positive = self.names[0]
            parser.add_argument(f"--no-{positive[2:]}", f"--no_{self.dest}", dest=self.dest, action="store_false",
                                default=argparse.SUPPRESS, help=f"the opposite of {positive}")


def _choice_type(choices: Sequence[Any]):
    """A string to the choice it spells (choices may be numbers); anything else is left for argparse to refuse."""
    by_text = {str(choice): choice for choice in choices}
    return lambda text: by_text.get(text, text)


def flags_of(dtype: type) -> list[Flag]:
    """The flags of a dataclass's init fields, help from the field's metadata (`medsyn.options.option`)."""
    hints = typing.get_type_hints(dtype)
    return [_flag(f, hints[f.name]) for f in dataclasses.fields(dtype) if f.init]


def _flag(f: dataclasses.Field, hint: Any) -> Flag:
    default = f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default
    required = default is dataclasses.MISSING
    flag = Flag(f.name, help=f.metadata.get("help", ""), required=required,
                default=None if required else jsonable(default))
    hint = _without_none(hint)
    if typing.get_origin(hint) is list:
        flag.many = True
        (hint,) = typing.get_args(hint) or (str,)
    if hint is bool:
        flag.kind, flag.negation = "bool", default is True
    elif typing.get_origin(hint) is typing.Literal:
        flag.kind, flag.choices = "choice", list(typing.get_args(hint))
    elif isinstance(hint, type) and issubclass(hint, enum.Enum):
        flag.kind, flag.choices = "choice", [member.value for member in hint]
    else:
        flag.kind = next((kind for kind, tp in KINDS.items() if hint is tp), "str")
    return flag


def _without_none(hint: Any) -> Any:
    args = typing.get_args(hint)
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        rest = [arg for arg in args if arg is not type(None)]
        return rest[0] if len(rest) == 1 else str
    return hint


def jsonable(value: Any) -> Any:
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, (list, tuple)):
        return [jsonable(item) for item in value]
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return str(value)
    return value


class Formatter(argparse.HelpFormatter):
    """Each flag once, dash spelling and aliases, switches without a value, a default only where the help does
    not already state one."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        default = getattr(action, "shown_default", None)
        if STATES_DEFAULT.search(text) or default in (None, "", [], False):
            return text
        if default is True:
            shown = "true"
        elif isinstance(default, list):
            shown = " ".join(map(str, default))
        else:
            shown = json.dumps(default) if isinstance(default, dict) else default
        return f"{text} (default: {str(shown).replace('%', '%%')})"

    def _format_args(self, action: argparse.Action, default_metavar: str) -> str:
        return "" if getattr(action, "switch", False) else super()._format_args(action, default_metavar)

    def _format_action_invocation(self, action: argparse.Action) -> str:
        if not action.option_strings:
            return super()._format_action_invocation(action)
        names = [name for name in action.option_strings
                 if "_" not in name or name.replace("_", "-") not in action.option_strings]
        args = self._format_args(action, self._get_default_metavar_for_optional(action)) if action.nargs != 0 else ""
        return ", ".join(names) + (f" {args}" if args else "")


def suggest(given: str, known: Sequence[str]) -> str:
    """` (did you mean X?)` for a misspelt flag or key: names it starts with or abbreviates first (`--n-notes` ->
    `--n`, `--symptom-temp` -> `--symptom-temperature`), then close spellings; dash and underscore are one, and a
    flag is suggested as the user spelt theirs."""
    prefix = "--" if given.startswith("--") else ""
    word = given.removeprefix(prefix).replace("_", "-")
    names = list(dict.fromkeys(name.removeprefix("--").replace("_", "-") for name in known))
    starts = sorted((n for n in names if word.startswith(n + "-") or (n.startswith(word) and n != word)),
                    key=lambda n: abs(len(n) - len(word)))
    close = difflib.get_close_matches(word, names, n=3)
    found = list(dict.fromkeys(starts + close))[:3]
    if not prefix:  # a YAML key: shown as the field is named
        lookup = {name.removeprefix("--").replace("_", "-"): name.removeprefix("--") for name in known}
        found = [lookup[name] for name in found]
    elif "_" in given:  # in the user's own spelling
        found = [name.replace("-", "_") for name in found]
    return f" (did you mean {' or '.join(prefix + name for name in found)}?)" if found else ""
