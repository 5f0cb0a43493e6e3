"""One way to configure every command and the Space: typed dataclasses, read by one argument parser.

Each command declares its settings as dataclasses whose fields carry their help text (`option(...)`); the parser
turns every field into `--field-name` (also `--field_name`), and the same names are the keys of a `--config`
YAML file and, for the Space, of `MEDSYN_<NAME>` environment variables. Order of precedence: defaults, the YAML
file, the environment (Space only), flags. YAML and environment values go through the same type conversion as
flags, and relative paths in a YAML file (fields typed `Path`) are resolved against the file's folder.

Checks live in the dataclasses (`__post_init__` or `validate()`), so a bad value fails before any work, with one
line naming the setting and, for an unknown one, the closest known names. The parser is the standard library's
(`medsyn.flags`), so reading flags imports no heavy library; a library's own settings (TRL's, for `medsyn train`)
come in as stored `Flag`s (`Stored`) and the parser builds the library's classes from them once every setting has
been checked. A group is one concern, declared once and reused wherever its settings appear: a command that takes
only part of another command's group (the Space, of the build's generation settings) names that part (`Subset`).
Whatever a command's groups are, `parse` returns them as typed objects, which the work takes as they are.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import json
import typing
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from medsyn.errors import MedsynError
from medsyn.flags import Flag, Formatter, flags_of, jsonable, suggest
from medsyn.io import read_yaml
from medsyn.options import option  # noqa: F401  (re-exported: the one way to declare a setting)

CONFIG_HELP = (
    "YAML file whose keys are the flag names of this command (`batch-size:` or `batch_size:`); relative paths in "
    "it are relative to the file; flags given on the command line win"
)
SPELLINGS = "Every flag is also accepted with underscores (--min_words for --min-words) and as a --config YAML key."


class ConfigError(MedsynError):
    """A setting that is unknown or has a bad value (the command exits with status 2)."""


@dataclass
class Stored:
    """Settings of a library read without importing it (its `Flag`s, stored). `parse` runs `check` on every value
    (the defaults filled in) before the library is imported, so that a missing setting fails in a fraction of a
    second rather than after seconds of importing; then it builds `target` ("module:Class") from the values set,
    after every other group has been checked too. Without a target `parse` gives the values set, as a dict."""

    name: str
    flags: list[Flag]
    target: str | None = None
    check: Callable[[SimpleNamespace], None] | None = None

    def build(self, values: dict[str, Any]) -> Any:
        if not self.target:
            return values
        module, _, name = self.target.partition(":")
        cls = getattr(importlib.import_module(module), name)  # the library itself: only now, the flags being right
        try:
            return cls(**values)
        except (TypeError, ValueError) as err:
            raise ConfigError(str(err).splitlines()[0]) from None


@dataclass
class Subset:
    """Some settings of a group that a command shares with another, with this command's own defaults and help:
    the Space takes the build's generation settings that streaming uses (not batch sizes, retries or prices), and
    two generations at a time, not 16. `parse` gives the whole group, its other settings at their defaults, and
    leaves checking it to the command's config, which knows the limits of its own use (the Space's)."""

    dtype: type
    names: tuple[str, ...]
    defaults: Mapping[str, Any] = field(default_factory=dict)
    help: Mapping[str, str] = field(default_factory=dict)

    @property
    def flags(self) -> list[Flag]:
        known = {flag.dest: flag for flag in flags_of(self.dtype)}
        flags = []
        for name in self.names:
            flag = dataclasses.replace(known[name], help=self.help.get(name, known[name].help))
            if name in self.defaults:
                flag.default = jsonable(self.defaults[name])
            flags.append(flag)
        return flags

    def make(self, **values: Any) -> Any:
        """The group with this command's defaults under `values`."""
        return self.dtype(**{**self.defaults, **values})


class ConfigParser(argparse.ArgumentParser):
    """argparse over dataclasses (and `Stored` and `Subset` settings), with `--config FILE.yaml`, environment
    variables, and one-line errors (ConfigError)."""

    def __init__(self, dataclass_types: Sequence[type | Stored | Subset], prog: str, description: str | None = None,
                 positional: str | None = None, maybe_paths: Sequence[str] = (), **kwargs: Any):
        """`positional`: the setting a leading bare word sets (`medsyn push DIR` for `--dir DIR`); `maybe_paths`:
        settings that take a path or a name (a Hub id), resolved against a YAML file only where that path exists."""
        # No abbreviations: `--learning_rat` must be an error naming --learning_rate, not silently that flag.
        super().__init__(prog=prog, description=description, epilog=SPELLINGS, allow_abbrev=False,
                         formatter_class=Formatter, **kwargs)
        self.dataclass_types = list(dataclass_types)
        self.positional = positional
        self.aliases: dict[str, str] = {}
        if positional:
            self.usage = f"{prog} {positional.upper()} [options]  (or --{positional.replace('_', '-')} {positional.upper()})"
        flags = [flag for group in self.dataclass_types
                 for flag in (group.flags if isinstance(group, (Stored, Subset)) else flags_of(group))]
        for flag in flags:
            flag.add_to(self)
        self.add_argument("--config", metavar="FILE.yaml", help=CONFIG_HELP)
        self._paths = {flag.dest for flag in flags if flag.kind == "path"}
        self._maybe_paths = set(maybe_paths)

    def alias(self, name: str, dest: str) -> None:
        """Also accept `--name` (and the YAML key `name`) for the setting `dest`."""
        action = self.settings[dest]
        for flag in dict.fromkeys([f"--{name.replace('_', '-')}", f"--{name}"]):
            action.option_strings.append(flag)
            self._option_string_actions[flag] = action
        self.aliases[name] = dest

    def error(self, message: str) -> typing.NoReturn:
        raise ConfigError(message)

    @property
    def settings(self) -> dict[str, Any]:
        """dest -> the action that sets it (the first one, i.e. `--x` rather than its `--no_x` complement)."""
        found: dict[str, Any] = {}
        for action in self._actions:
            if action.option_strings and action.dest not in ("help", "config"):
                found.setdefault(action.dest, action)
        return found

    def tokens(self, values: Mapping[str, Any], where: str, base: Path | None = None) -> list[str]:
        """Command-line tokens for a mapping of settings, so that they are converted and checked like flags."""
        settings = self.settings
        tokens: list[str] = []
        for key, value in values.items():
            key = str(key).replace("-", "_")
            key = self.aliases.get(key, key)
            action = settings.get(key)
            if action is None:
                raise ConfigError(f"{where}: unknown key {key!r}{suggest(key, [*settings, *self.aliases])}")
            if value is None:
                continue
            flag = action.option_strings[0]
            many = action.nargs in ("+", "*")
            if isinstance(value, Mapping):
                items = [f"{k}={v}" for k, v in value.items()] if many else [json.dumps(value)]
            elif isinstance(value, (list, tuple)):
                if not many:
                    raise ConfigError(f"{where}: {key} takes one value, got a list {value!r}")
                items = [str(v) for v in value]
            elif isinstance(value, bool):
                items = ["true" if value else "false"]
            else:
                items = str(value).split() if many and isinstance(value, str) else [str(value)]
            if key in self._paths and base is not None:
                items = [str(base / Path(item).expanduser()) for item in items]
            elif key in self._maybe_paths and base is not None:
                items = [str(base / item) if (base / item).exists() else item for item in items]
            tokens += [flag, *items] if many else [f"{flag}={items[0]}"]
        return tokens

    def _show_defaults(self, values: Mapping[str, Any]) -> None:
        """--help states the defaults a command's defaults file sets, not those of the classes underneath."""
        settings = self.settings
        for key, value in values.items():
            key = str(key).replace("-", "_")
            action = settings.get(self.aliases.get(key, key))
            if action is not None:
                action.shown_default = jsonable(value)

    def env_tokens(self, environ: Mapping[str, str], prefix: str = "MEDSYN_") -> list[str]:
        """Tokens from `MEDSYN_<SETTING>` variables; empty ones are ignored (a Space's blank variable)."""
        values = {dest: environ[f"{prefix}{dest.upper()}"] for dest in self.settings
                  if environ.get(f"{prefix}{dest.upper()}", "").strip()}
        return self.tokens(values, "environment") if values else []

    def parse(self, argv: Sequence[str] = (), environ: Mapping[str, str] | None = None,
              config: str | Path | None = None, defaults: str | Path | None = None) -> tuple:
        """The dataclasses, from field defaults < `defaults` YAML < `--config` YAML (or `config`) < environment
        < `argv`; validated."""
        argv = list(argv)
        if self.positional and argv and not argv[0].startswith("-"):
            argv = [f"--{self.positional}", argv[0], *argv[1:]]
        if "--config" in argv or any(a.startswith("--config=") for a in argv):
            config = _pop_config(argv)
        tokens: list[str] = []
        sources: dict[str, str] = {}
        if defaults:
            values = read_yaml(defaults)
            tokens += self.tokens(values, str(defaults), base=Path(defaults).parent)
            self._show_defaults(values)
        if config:
            config = Path(config)
            from_file = self.tokens(read_yaml(config), str(config), base=config.parent)
            tokens += from_file
            sources.update({t.split("=", 1)[0]: str(config) for t in from_file if t.startswith("--")})
        if environ is not None:
            from_env = self.env_tokens(environ)
            tokens += from_env
            sources.update({t.split("=", 1)[0]: "environment" for t in from_env if t.startswith("--")})
        try:
            namespace, rest = self.parse_known_args(tokens + argv)
        except ConfigError as err:
            flag = str(err).removeprefix("argument ").split(":", 1)[0].split("/", 1)[0]
            given = any(a.split("=", 1)[0] in flag.split("/") for a in argv if a.startswith("--"))
            if flag in sources and not given:
                raise ConfigError(f"{err} (set in {sources[flag]})") from None
            raise
        if rest:
            options = [s for a in self._actions for s in a.option_strings if s not in ("-h", "--help")]
            unknown = [a for a in rest if a.startswith("-")] or rest
            hint = suggest(unknown[0].split("=", 1)[0], options) if unknown[0].startswith("--") else ""
            raise ConfigError(f"unrecognized argument(s): {' '.join(rest)}{hint}")
        outputs: list[Any] = []
        for group in self.dataclass_types:
            if isinstance(group, Stored):
                values = {f.dest: getattr(namespace, f.dest) for f in group.flags if hasattr(namespace, f.dest)}
                if group.check is not None:
                    group.check(SimpleNamespace(**{**{f.dest: f.default for f in group.flags}, **values}))
                outputs.append(values)
                continue
            names = group.names if isinstance(group, Subset) else [f.name for f in dataclasses.fields(group) if f.init]
            values = {name: getattr(namespace, name) for name in names if hasattr(namespace, name)}
            try:
                obj = group.make(**values) if isinstance(group, Subset) else group(**values)
            except (TypeError, ValueError) as err:
                raise ConfigError(str(err).splitlines()[0]) from None
            if hasattr(obj, "validate") and not isinstance(group, Subset):
                obj.validate()
            outputs.append(obj)
        # A library's classes last, so that nothing waits on importing it only to fail on another setting.
        return tuple(group.build(value) if isinstance(group, Stored) else value
                     for group, value in zip(self.dataclass_types, outputs))


def _pop_config(argv: list[str]) -> str:
    for i, arg in enumerate(argv):
        if arg.startswith("--config="):
            argv.pop(i)
            return arg.split("=", 1)[1]
        if arg == "--config":
            if i + 1 >= len(argv) or argv[i + 1].startswith("--"):
                raise ConfigError("argument --config: expected a YAML file")
            argv.pop(i)
            return argv.pop(i)
    raise AssertionError("no --config")


def dispatch(argv: Sequence[str], prog: str, description: str, actions: Mapping[str, tuple[str, Any]]) -> int:
    """`medsyn CMD ACTION ...`: the first word picks one of `actions` (name -> (help, run(argv, prog)))."""
    argv = list(argv)
    if not argv or argv[0] in ("-h", "--help"):
        lines = [f"usage: {prog} {{{','.join(actions)}}} ...", "", description, "", "actions:"]
        lines += [f"  {name:<10} {help}" for name, (help, _) in actions.items()]
        print("\n".join(lines))
        if not argv:
            raise ConfigError(f"choose an action: {', '.join(actions)}")
        raise SystemExit(0)
    name = argv.pop(0)
    if name not in actions:
        raise ConfigError(f"unknown action {name!r}{suggest(name, list(actions))}; choose one of {', '.join(actions)}")
    return actions[name][1](argv, f"{prog} {name}")
