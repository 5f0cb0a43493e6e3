"""`option()`: a dataclass field that is also a documented setting (flag, YAML key, MEDSYN_* variable).

Kept apart from `medsyn.config` (the argument parser) so that the stage configs (`FilterConfig`, `SamplingConfig`,
`GenerationOptions`, ...) declare their settings where the stage lives, without importing the parser.
"""

from __future__ import annotations

import dataclasses
from typing import Any


def option(default: Any = dataclasses.MISSING, help: str = "", **kwargs: Any) -> Any:
    """A dataclass field with its help text; a list default is copied per instance."""
    if isinstance(default, (list, dict)):
        value = default
        return dataclasses.field(default_factory=lambda: type(value)(value), metadata={"help": help, **kwargs})
    return dataclasses.field(default=default, metadata={"help": help, **kwargs})
