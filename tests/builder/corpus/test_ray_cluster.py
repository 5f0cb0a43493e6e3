"""`medsyn build --engine ray --ray-address ADDR` on a simulated two-node cluster (`ray.cluster_utils.Cluster`):
a head and a worker node joined by address as on a real cluster; the corpus loads with `load_dataset`. A module of
its own: the cluster is its own Ray session, apart from `test_ray_engine.py`'s local instance.
"""

from __future__ import annotations

import json
import os
import tempfile

import pytest

from medsyn.cli import main

pytest.importorskip("ray")
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")


def test_two_node_cluster_builds_a_corpus_load_dataset_reads(tmp_path, capsys):
    """A head and a worker node (`ray.cluster_utils.Cluster`), joined by address as on a real cluster."""
    import ray
    from ray.cluster_utils import Cluster

    if ray.is_initialized():  # a session another module left open: the cluster must be this test's own
        ray.shutdown()
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "include_dashboard": False})
    try:
        cluster.add_node(num_cpus=1)
        cluster.wait_for_nodes()
        out = tmp_path / "corpus"
        assert main(["build", "--out", str(out), "--n", "40", "--seed", "2", "--quiet", "--engine", "ray",
                     "--ray-address", cluster.address]) == 0
    finally:
        if ray.is_initialized():
            ray.shutdown()
        cluster.shutdown()
    from datasets import load_dataset

    dataset = load_dataset(str(out), cache_dir=tempfile.mkdtemp(prefix="medsyn-ds-"))
    assert 0 < len(dataset["train"]) <= 40 and all(dataset["train"]["keep"])
    engine = json.loads((out / "build_info.json").read_text(encoding="utf-8"))["engine"]
    assert (engine["nodes"], engine["cpus"], engine["cluster"]) == (2, 2, "existing")
