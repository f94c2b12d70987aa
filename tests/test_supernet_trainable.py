"""SupernetTrainable: a Ray Tune class trainable training the NAS-Bench-Graph supernet on real Cora."""

from __future__ import annotations

import math

import pytest

pytest.importorskip("ray")
from nas_meta_tune.integrations.trainables import SupernetTrainable, supernet_resources  # noqa: E402

CONFIG = {"dataset": "cora", "hidden": 16, "steps_per_iter": 2, "probe_archs": 3, "seed": 0}


def test_checkpoint_restores_the_run_exactly(data_root, tmp_path):
    config = dict(CONFIG, data_root=str(data_root))
    a = SupernetTrainable(config=config)
    first = a.train()
    assert (
        math.isfinite(first["loss"])
        and 0 <= first["probe_valid_acc"] <= 100
        and first["steps"] == 2
    )
    checkpoint = a.save(str(tmp_path / "ckpt"))
    expected = a.train()
    b = SupernetTrainable(config=config)
    b.restore(checkpoint)
    got = b.train()
    assert got["steps"] == expected["steps"] == 4
    assert got["loss"] == pytest.approx(expected["loss"], rel=1e-6)
    assert got["probe_valid_acc"] == pytest.approx(expected["probe_valid_acc"], rel=1e-6)
    a.stop()
    b.stop()


def test_leaf_of_a_split_tree_runs_as_a_tune_trial(ray_cluster, data_root, tmp_path):
    from ray import tune

    leaf = [["gcn", "sage"], ["gcn", "skip"], ["gat", "gcn"], ["gcn", "fc"]]
    tuner = tune.Tuner(
        supernet_resources(),
        param_space=dict(CONFIG, data_root=str(data_root), op_choices=leaf),
        tune_config=tune.TuneConfig(metric="probe_valid_acc", mode="max", num_samples=1),
        run_config=tune.RunConfig(
            storage_path=str(tmp_path), stop={"training_iteration": 2}, verbose=0
        ),
    )
    results = tuner.fit()
    assert not results.errors
    r = results[0].metrics
    assert r["training_iteration"] == 2 and r["device"] == "cpu" and math.isfinite(r["loss"])
