"""Flags generated from a config dataclass, so that flags, YAML keys and the dataclass never drift apart.

Used by `build` (BuildConfig) and `train` (TrainConfig): every field becomes `--field-name`, with its value read
into `cfg_<field>` and left `None` when not given, so that only flags the user typed override the YAML file.
"""

from __future__ import annotations

import argparse
import dataclasses
import types
import typing

from medsyn.errors import MedsynError


def _bool(raw: str) -> bool:
    value = raw.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {raw!r}")


def _kind(tp) -> tuple[str, type | None]:
    """('dict' | 'list' | 'bool' | 'scalar', scalar type) of a field annotation, Optional unwrapped."""
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        tp = next(arg for arg in typing.get_args(tp) if arg is not type(None))
    origin = typing.get_origin(tp)
    if origin is dict:
        return "dict", None
    if origin is list:
        return "list", None
    if tp is bool:
        return "bool", None
    return "scalar", tp


def add_dataclass_flags(parser: argparse.ArgumentParser, cls, help: dict[str, str]) -> None:
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        kind, scalar = _kind(hints[f.name])
        kwargs = {
            "dict": {"nargs": "+", "action": "extend", "metavar": "KEY=VALUE"},
            "list": {"nargs": "+", "metavar": "VALUE"},
            "bool": {"type": _bool, "metavar": "BOOL"},
            "scalar": {"type": scalar, "metavar": f.name.upper()},
        }[kind]
        parser.add_argument(
            f"--{f.name.replace('_', '-')}", dest=f"cfg_{f.name}", default=None, help=help.get(f.name), **kwargs
        )


def dataclass_overrides(args: argparse.Namespace, cls) -> dict:
    """The fields the user gave as flags; KEY=VALUE items parsed as YAML scalars ("0.5" -> 0.5, "true" -> True)."""
    import yaml

    hints = typing.get_type_hints(cls)
    values = {}
    for f in dataclasses.fields(cls):
        value = getattr(args, f"cfg_{f.name}")
        if value is None:
            continue
        if _kind(hints[f.name])[0] == "dict":
            parsed = {}
            for item in value:
                key, sep, raw = item.partition("=")
                if not sep:
                    raise MedsynError(f"--{f.name.replace('_', '-')} {item!r}: expected KEY=VALUE")
                parsed[key.strip().replace("-", "_")] = yaml.safe_load(raw)
            value = parsed
        values[f.name] = value
    return values
