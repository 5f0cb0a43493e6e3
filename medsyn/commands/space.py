"""`medsyn space`: run the Gradio demo (the Space in space/) on this machine."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "space",
        help="run the Gradio demo locally",
        description="Launch the Gradio Space: pick an ICD-10 code, inspect and edit the sampled prior, stream a note "
        "and see the filter verdicts. Offline `template` backend unless configured by MEDSYN_* environment "
        "variables or a YAML config (see space/README.md).",
    )
    parser.add_argument("--host", default="127.0.0.1", help="interface to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=7860, help="port (default 7860)")
    parser.add_argument("--config", type=Path, help="YAML settings file (default: $MEDSYN_SPACE_CONFIG if set)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from medsyn.errors import MedsynError

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
