"""`medsyn space`: run the Gradio demo (the Space in space/) on this machine."""

from __future__ import annotations

import os
from dataclasses import dataclass

from medsyn.errors import MedsynError
from medsyn.options import option

HELP = "run the Gradio demo locally"
DESCRIPTION = (
    "Launch the Gradio Space: pick an ICD-10 code, inspect and edit the sampled prior, stream a note and see the "
    "filter verdicts. Offline `template` backend unless configured. Settings: defaults < --config YAML (default "
    "$MEDSYN_SPACE_CONFIG) < MEDSYN_<SETTING> environment variables < flags (see space/README.md)."
)


@dataclass
class ServeOptions:
    host: str = option("127.0.0.1", "interface to listen on")
    port: int = option(7860, "port")

    def validate(self) -> None:
        if not 1 <= self.port <= 65535:
            raise MedsynError(f"--port must be in 1..65535, got {self.port}")


def main(argv: list[str], prog: str = "medsyn space") -> int:
    from medsyn.config import ConfigParser
    from medsyn.space.config import CONFIG_ENV, SpaceConfig

    parser = ConfigParser([ServeOptions, SpaceConfig], prog=prog, description=DESCRIPTION)
    serve, config = parser.parse(argv, environ=os.environ, config=os.environ.get(CONFIG_ENV) or None)
    from medsyn.space.app import make_demo

    demo = make_demo(config)
    demo.launch(server_name=serve.host, server_port=serve.port)
    return 0
