"""Shared fixtures: where the open data is, the embedded graph, and an environment that never phones home."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

# Before any test imports huggingface_hub, datasets or gradio: no telemetry, no analytics, a private cache.
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HOME", tempfile.mkdtemp(prefix="medsyn-hf-home-"))
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = Path(os.environ.get("MEDSYN_SHARED_DATA", ROOT.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not (SHARED_DATA / "mkb10_nsi").is_dir():
        pytest.fail(f"open data not found at {SHARED_DATA}; set MEDSYN_SHARED_DATA to the shared/data folder")
    return SHARED_DATA


@pytest.fixture(scope="session")
def graph():
    from medsyn.builder.kg.graph import load_graph

    return load_graph()


@pytest.fixture
def offline_hf_home(tmp_path_factory, monkeypatch):
    """A Hub cache of the test session's own and no network: what `load_dataset` of a Hub id finds is what a
    test put there."""
    home = tmp_path_factory.getbasetemp() / "hf_home"
    monkeypatch.setenv("HF_HOME", str(home))
    monkeypatch.setenv("HF_DATASETS_CACHE", str(home / "datasets"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
