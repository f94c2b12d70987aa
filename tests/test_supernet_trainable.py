"""SupernetTrainable: a Ray Tune class trainable training the NAS-Bench-Graph supernet on real Cora."""

from __future__ import annotations

import math

import pytest

pytest.importorskip("ray")
from nas_meta_tune.integrations.trainables import SupernetTrainable, supernet_resources  # noqa: E402

# minutes of real training, real clusters or real processes: deselect with -m "not slow"
pytestmark = pytest.mark.slow

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


def test_darts_trainable_checkpoints_exactly_and_reports_its_derived_cell(data_root, tmp_path):
    from nas_meta_tune import get_space

    config = dict(CONFIG, data_root=str(data_root), strategy="darts", arch_lr=3e-3)
    a = SupernetTrainable(config=config)
    first = a.train()
    get_space("nasbench_graph").from_string(first["derived_arch"])  # a valid cell
    checkpoint = a.save(str(tmp_path / "ckpt"))
    expected = a.train()
    b = SupernetTrainable(config=config)
    b.restore(checkpoint)
    got = b.train()
    assert (got["loss"], got["probe_valid_acc"], got["derived_arch"]) == (
        expected["loss"],
        expected["probe_valid_acc"],
        expected["derived_arch"],
    )
    a.stop()
    b.stop()
    with pytest.raises(ValueError, match="SPOS, not DARTS"):
        SupernetTrainable(config=dict(config, op_choices=[["gcn"], ["gcn"], ["gcn"], ["gcn"]]))


def test_supernet_optuna_objective_reports_and_prunes(data_root):
    optuna = pytest.importorskip("optuna")
    from nas_meta_tune.integrations.objectives import supernet_objective

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    objective = supernet_objective(
        "cora", iterations=3, steps_per_iter=2, probe_archs=3, data_root=data_root,
        suggest=lambda t: {"lr": t.suggest_float("lr", 1e-3, 3e-2, log=True), "hidden": 16},
    )  # fmt: skip
    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.RandomSampler(seed=0))
    study.optimize(objective, n_trials=2)
    for t in study.trials:
        assert t.state == optuna.trial.TrialState.COMPLETE and 0 <= t.value <= 100
        assert sorted(t.intermediate_values) == [1, 2, 3] and t.user_attrs["steps"] == 6
        assert t.value == t.intermediate_values[3]
    # a pruner that stops everything after the first report: trials end PRUNED, the study goes on
    study = optuna.create_study(
        direction="maximize", pruner=optuna.pruners.ThresholdPruner(lower=101.0)
    )
    study.optimize(objective, n_trials=2)
    assert [t.state for t in study.trials] == [optuna.trial.TrialState.PRUNED] * 2
    assert all(list(t.intermediate_values) == [1] for t in study.trials)
    with pytest.raises(ValueError, match="tunable"):
        supernet_objective("cora", data_root=data_root, suggest=lambda t: {"momentum": 0.9})(
            optuna.create_study().ask()
        )


# ------------------------------------------------------------ NAS-Bench-201 supernet on real images
# scikit-learn's handwritten digits (real 8x8 images, shipped with the package): a tiny C=4, N=1
# supernet, so the Ray Tune / Optuna mechanics of the NB201 path are exercised offline on CPU
NB201_CONFIG = {
    "space": "nb201",
    "dataset": "digits",
    "C": 4,
    "N": 1,
    "batch_size": 32,
    "steps_per_iter": 2,
    "probe_archs": 3,
    "seed": 0,
}


def test_nb201_trainable_checkpoint_restores_exactly(tmp_path):
    for strategy in ("spos", "darts"):
        config = dict(NB201_CONFIG, strategy=strategy)
        a = SupernetTrainable(config=config)
        first = a.train()
        assert math.isfinite(first["loss"]) and 0 <= first["probe_valid_acc"] <= 100
        assert first["steps"] == 2 and first["device"] == "cpu"
        checkpoint = a.save(str(tmp_path / f"ckpt_{strategy}"))
        expected = a.train()
        b = SupernetTrainable(config=config)
        b.restore(checkpoint)
        got = b.train()
        keys = ["steps", "loss", "probe_valid_acc", "probe_best_arch"]
        if strategy == "darts":
            from nas_meta_tune import get_space

            get_space("nb201").from_string(got["derived_arch"])  # a valid cell
            keys.append("derived_arch")
        assert [got[k] for k in keys] == [expected[k] for k in keys]
        a.stop()
        b.stop()


def test_nb201_leaf_runs_as_a_tune_trial(ray_cluster, tmp_path):
    from ray import tune

    from nas_meta_tune import get_space

    leaf = [["nor_conv_3x3", "skip_connect"]] * 3 + [["nor_conv_1x1", "avg_pool_3x3"]] * 3
    tuner = tune.Tuner(
        supernet_resources(),
        param_space=dict(NB201_CONFIG, op_choices=leaf),
        tune_config=tune.TuneConfig(metric="probe_valid_acc", mode="max", num_samples=1),
        run_config=tune.RunConfig(
            storage_path=str(tmp_path), stop={"training_iteration": 2}, verbose=0
        ),
    )
    results = tuner.fit()
    assert not results.errors
    r = results[0].metrics
    assert r["training_iteration"] == 2 and r["steps"] == 4 and math.isfinite(r["loss"])
    best = get_space("nb201").from_string(r["probe_best_arch"])
    assert all(op in allowed for op, allowed in zip(best.spec, leaf))  # probes stay in the leaf


def test_nb201_supernet_objective_and_bad_data():
    optuna = pytest.importorskip("optuna")
    from nas_meta_tune.integrations.objectives import supernet_objective

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    objective = supernet_objective(
        "digits", space="nb201", iterations=2, steps_per_iter=2, probe_archs=2,
        suggest=lambda t: {"lr": t.suggest_float("lr", 1e-2, 1e-1, log=True), "C": 4, "N": 1},
    )  # fmt: skip
    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.RandomSampler(seed=0))
    study.optimize(objective, n_trials=1)
    t = study.trials[0]
    assert t.state == optuna.trial.TrialState.COMPLETE and sorted(t.intermediate_values) == [1, 2]
    with pytest.raises(ValueError, match="unknown image dataset"):
        SupernetTrainable(config=dict(NB201_CONFIG, dataset="cifar10"))
    with pytest.raises(ValueError, match="space must be one of"):
        SupernetTrainable(config=dict(NB201_CONFIG, space="nb101"))
