"""`medsyn space`: run the Gradio demo (the Space in space/) on this machine, or export it as a Space folder."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import yaml

from medsyn.config import ConfigParser, _pop_config
from medsyn.errors import MedsynError
from medsyn.options import option
from medsyn.space.app import launch, make_demo
from medsyn.space.config import CONFIG_ENV, SpaceConfig, space_settings
from medsyn.space.config import parser as space_parser
from medsyn.space.export import export_space, refuse_secrets, resolve_dataset

HELP = "run the Gradio demo locally, or export it as a Hugging Face Space folder"
DESCRIPTION = (
    "Launch the Gradio Space: pick an ICD-10 code, inspect and edit the sampled prior, stream a note and see the "
    "filter verdicts. Offline `template` backend unless configured. Settings: defaults < --config YAML (default "
    "$MEDSYN_SPACE_CONFIG) < MEDSYN_<SETTING> environment variables < flags (see space/README.md). With --export "
    "DIR, write a self-contained Space folder (app.py, README.md with the Space YAML, settings.yaml, "
    "requirements.txt and the medsyn wheel) for `medsyn push DIR --repo-id ORG/NAME --space --version vX.Y`."
)


@dataclass
class ServeOptions:
    host: str = option("127.0.0.1", "interface to listen on")
    port: int = option(7860, "port")

    def validate(self) -> None:
        if not 1 <= self.port <= 65535:
            raise MedsynError(f"--port must be in 1..65535, got {self.port}")


@dataclass
class ExportOptions:
    export: Path | None = option(None, "write the Space folder DIR (with the settings below) instead of launching")
    vcs: str | None = option(None, "export: install medsyn from this pinned VCS URL (git+https://github.com/ORG/"
                             "medsyn@TAG) instead of shipping a wheel built from this checkout")
    title: str = option("MedSyn-ru synthetic clinical notes", "export: the Space's title")
    gpu: bool = option(False, "export: for GPU Space hardware: torch from PyPI (its CUDA build) instead of the "
                       "pinned CPU build")
    overwrite: bool = option(False, "export: replace an existing DIR")


def parser(prog: str = "medsyn space") -> ConfigParser:
    return space_parser(prog, (ServeOptions, ExportOptions), DESCRIPTION)


def main(argv: list[str], prog: str = "medsyn space") -> int:
    argv = list(argv)
    config_path = os.environ.get(CONFIG_ENV) or None
    if "--config" in argv or any(a.startswith("--config=") for a in argv):
        config_path = _pop_config(argv)
    if config_path and "--export" in " ".join(argv):
        _refuse_secret_keys(config_path)  # a key in the file is refused as a secret before it is called unknown
    serve, export, *groups = parser(prog).parse(argv, environ=os.environ, config=config_path)
    config = SpaceConfig(*groups)
    config.validate()
    if export.export is not None:
        return _export(export, config)
    for name in ("vcs", "gpu"):
        if getattr(export, name):
            raise MedsynError(f"--{name} applies to --export DIR only")
    # Waits on space/app.py and space/session.py, which import gradio at import (see WAITING in
    # tests/test_layers.py); until then here, so that --help and --export do not load gradio.

    demo = make_demo(config)
    # quiet: Gradio's banner suggests `share=True`, which a command-line user cannot pass; say what matters here.
    launch(demo, server_name=serve.host, server_port=serve.port, quiet=True, prevent_thread_lock=True)
    print(f"medsyn space: running on {demo.local_url} (Ctrl+C to stop)", flush=True)
    try:
        demo.block_thread()
    finally:
        demo.close()
    return 0


def _refuse_secret_keys(config_path: str) -> None:
    try:
        raw = yaml.safe_load(Path(config_path).read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError, UnicodeDecodeError):
        return  # the config parser reports what is wrong with the file
    if isinstance(raw, dict):
        refuse_secrets(raw, str(config_path))


def _export(options: ExportOptions, config: SpaceConfig) -> int:
    """The settings exactly as `medsyn space` reads them (file, MEDSYN_* variables, flags), written as a Space."""
    values = space_settings(config)
    dataset = resolve_dataset(values.get("dataset"), values.get("dataset_version"))
    if dataset is not None:
        values["dataset"] = dataset.repo_id
    out = export_space(options.export, values, dataset=dataset, vcs=options.vcs, title=options.title,
                       overwrite=options.overwrite, gpu=options.gpu)
    print(f"wrote {out}")
    print(f"deploy it with: medsyn push {out} --repo-id ORG/NAME --space --version v1.0")
    return 0
