"""`medsyn space`: run the Gradio demo (the Space in space/) on this machine, or export it as a Space folder."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "space",
        help="run the Gradio demo locally, or export it as a Hugging Face Space folder",
        description="Launch the Gradio Space: pick an ICD-10 code, inspect and edit the sampled prior, stream a note "
        "and see the filter verdicts. Offline `template` backend unless configured by MEDSYN_* environment "
        "variables or a YAML config (see space/README.md). With --export DIR, write a self-contained Space folder "
        "(app.py, README.md with the Space YAML, settings.yaml, requirements.txt and the medsyn wheel) for "
        "`medsyn push DIR --repo-id ORG/NAME --space --version vX.Y`.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="interface to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=7860, help="port (default 7860)")
    parser.add_argument("--config", type=Path, help="YAML settings file (default: $MEDSYN_SPACE_CONFIG if set)")
    export = parser.add_argument_group("export as a Space folder")
    export.add_argument("--export", type=Path, metavar="DIR", help="write the Space folder DIR instead of launching")
    export.add_argument("--backend", help="setting `backend` of the exported Space (template, openai, transformers)")
    export.add_argument("--model", help="setting `model`: a Hub id (listed under `models:`) or an openai model name")
    export.add_argument(
        "--dataset", metavar="ORG/NAME|DIR",
        help="the Hub dataset the Space browses and links to, or a corpus folder pushed with `medsyn push` (its "
        "repo id and latest version are read from its build_info.json)",
    )  # fmt: skip
    export.add_argument("--dataset-version", metavar="vX.Y", help="the dataset version the Space links to")
    export.add_argument(
        "--vcs", metavar="URL",
        help="install medsyn from this pinned VCS URL (git+https://github.com/ORG/medsyn@TAG) instead of shipping "
        "a wheel built from this checkout",
    )  # fmt: skip
    export.add_argument("--title", default="MedSyn-ru synthetic clinical notes", help="the Space's title")
    export.add_argument("--overwrite", action="store_true", help="replace an existing DIR")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from medsyn.errors import MedsynError

    if args.export is not None:
        return export(args)
    for flag in ("backend", "model", "dataset", "dataset_version", "vcs"):
        if getattr(args, flag):
            raise MedsynError(f"--{flag.replace('_', '-')} applies to --export DIR only")
    if not 1 <= args.port <= 65535:
        raise MedsynError(f"--port must be in 1..65535, got {args.port}")
    from medsyn.space.app import launch, make_demo
    from medsyn.space.config import load_config

    demo = make_demo(load_config(args.config))
    # quiet: Gradio's banner suggests `share=True`, which a command-line user cannot pass; say what matters here.
    launch(demo, server_name=args.host, server_port=args.port, quiet=True, prevent_thread_lock=True)
    print(f"medsyn space: running on {demo.local_url} (Ctrl+C to stop)", flush=True)
    try:
        demo.block_thread()
    finally:
        demo.close()
    return 0


def export(args: argparse.Namespace) -> int:
    import dataclasses
    import os

    from medsyn.space.config import ENV, load_config
    from medsyn.space.export import export_space, refuse_secrets, resolve_dataset

    config_path = args.config or os.environ.get("MEDSYN_SPACE_CONFIG") or None
    if config_path:  # a key in the file is refused as a secret before the config loader calls it unknown
        import yaml

        try:
            raw = yaml.safe_load(Path(config_path).read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError, UnicodeDecodeError):
            raw = {}  # load_config below reports what is wrong with the file
        if isinstance(raw, dict):
            refuse_secrets(raw, str(config_path))
    environ = {k: v for k, v in os.environ.items() if k in ENV}
    for flag, variable in (("backend", "MEDSYN_BACKEND"), ("model", "MEDSYN_MODEL")):
        if getattr(args, flag):
            environ[variable] = getattr(args, flag)
    if args.dataset:
        environ.pop("MEDSYN_DATASET", None)
    # the settings exactly as `medsyn space` reads them (file, then MEDSYN_* variables, then these flags), validated
    values = dataclasses.asdict(load_config(config_path, environ))
    dataset = resolve_dataset(args.dataset or values.get("dataset"), args.dataset_version)
    if dataset is not None:
        values["dataset"] = dataset.repo_id
    out = export_space(
        args.export, values, dataset=dataset, vcs=args.vcs, title=args.title, overwrite=args.overwrite
    )
    print(f"wrote {out}")
    print(f"deploy it with: medsyn push {out} --repo-id ORG/NAME --space --version v1.0")
    return 0

