"""Time to first token and tokens/s of the Space's generate endpoint, called over HTTP like a visitor's browser.

Two backends: `template` (offline) and `openai` against a `transformers serve` tiny LLaMA on 127.0.0.1 (built here,
no downloads). Tokens are whitespace words of the note (the unit every backend shares). Figures per backend: the
app's own measurement (first streamed piece, words/s) and the client's (first streamed update over SSE, whole call).

    .venv/bin/python benchmarks/bench_space.py [--runs 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # tests.tiny_models

from tests.tiny_models import free_port, served_tiny_llama  # noqa: E402


def measure(config, runs: int) -> dict:
    from gradio_client import Client

    from medsyn.space.app import make_demo

    demo = make_demo(config)
    port = free_port()
    demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True)
    client = Client(f"http://127.0.0.1:{port}/", verbose=False)
    app_ttft, app_rate, client_ttft, client_total = [], [], [], []
    try:
        for i in range(runs + 1):  # run 0 warms up
            symptoms = client.predict("M54", i, api_name="/sample_prior")[2]
            start = time.perf_counter()
            job = client.submit("M54", i, symptoms, "symptoms", "anamnesis", api_name="/generate")
            first = None
            while not job.done():
                if first is None and job.outputs():
                    first = time.perf_counter() - start
                time.sleep(0.001)
            result = job.result()
            total = time.perf_counter() - start
            stats = result[3]["generation"]
            if i:
                app_ttft.append(stats["time_to_first_token_s"])
                app_rate.append(stats["words_per_s"])
                client_ttft.append(first if first is not None else total)
                client_total.append(total)
    finally:
        demo.close()
    return {
        "app time to first token (s)": statistics.median(app_ttft),
        "app tokens/s (words)": statistics.median(app_rate),
        "client time to first update (s)": statistics.median(client_ttft),
        "client whole call (s)": statistics.median(client_total),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5, help="measured generations per backend (median reported)")
    args = parser.parse_args()
    from medsyn.space.config import GENERATION, SpaceConfig

    with tempfile.TemporaryDirectory() as tmp:
        os.environ["HF_HOME"] = str(Path(tmp) / "hf")
        results = {"template": measure(SpaceConfig(), args.runs)}
        with served_tiny_llama(Path(tmp)) as (base_url, model):
            results["openai (transformers serve, tiny LLaMA, CPU)"] = measure(
                SpaceConfig(GENERATION.make(backend="openai", model=model, base_url=[base_url], max_new_tokens=64)),
                args.runs
            )
    for backend, figures in results.items():
        print(f"{backend}:")
        for name, value in figures.items():
            print(f"  {name:34s} {value:10.4f}")


if __name__ == "__main__":
    main()
