"""Real NAS-Bench-Graph GNNs: construction, Planetoid loading, training, Optuna and Ray adapters."""

from __future__ import annotations

import shutil

import pytest
import torch

from nas_meta_tune.benchmarks import load_benchmark
from nas_meta_tune.benchmarks._data import default_data_roots
from nas_meta_tune.oneshot import (
    PROTOCOLS,
    build_gnn,
    canonical_cell,
    load_planetoid,
    train_gnn,
)
from nas_meta_tune.spaces import get_space
from nas_meta_tune.spaces.nasbench_graph import GNN_OPS

# minutes of real training, real clusters or real processes: deselect with -m "not slow"
pytestmark = pytest.mark.slow


def _planetoid_root():
    for root in default_data_roots():
        if (root / "planetoid" / "Cora" / "raw").is_dir():
            return root
    return None


ROOT = _planetoid_root()
requires_planetoid = pytest.mark.skipif(ROOT is None, reason="raw Planetoid files not found")
CHEAP = "0,1,2,3|gcn,gcn,skip,skip"  # canonical: a gcn -> gcn chain, fast to train


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("planetoid_cache")


@pytest.fixture(scope="module")
def cora(cache_dir):
    if ROOT is None:
        pytest.skip("raw Planetoid files not found")
    return load_planetoid("cora", ROOT, cache_dir=cache_dir)


def _tiny_graph(n=7, f=5):
    gen = torch.Generator().manual_seed(0)
    x = torch.rand(n, f, generator=gen)
    src = torch.arange(n)
    edge_index = torch.stack([torch.cat([src, (src + 1) % n]), torch.cat([(src + 1) % n, src])])
    return x, edge_index


@pytest.mark.parametrize("op", GNN_OPS)
def test_every_op_builds_and_has_the_right_shape(op):
    # the op reads the raw input (node 1), a hidden state (node 2) and is a leaf (node 4)
    cell = f"0,1,2,3|{op},{op},gcn,{op}" if op != "skip" else "0,1,2,3|skip,skip,gcn,skip"
    x, edge_index = _tiny_graph()
    for canonical in (False, True):
        model = build_gnn(cell, 5, 3, hidden=8, dropout=0.5, canonical=canonical)
        for train in (True, False):
            model.train(train)
            out = model(x, edge_index)
            assert out.shape == (7, 3) and torch.isfinite(out).all()
    out.sum().backward()


def test_sampled_archs_match_the_benchmark_parameter_counts():
    """Same wiring and widths as NAS-Bench-Graph: its `params` column is reproduced exactly."""
    space, bench = get_space("nasbench_graph"), load_benchmark("nasbench_graph")
    x, edge_index = _tiny_graph(f=16)
    for arch in space.sample(6, seed=3, unique=True):
        p = PROTOCOLS["cora"]
        model = build_gnn(arch, 1433, 7, hidden=p.hidden, dropout=p.dropout, num_post=p.num_post)
        assert sum(q.numel() for q in model.parameters()) == round(
            bench.query(arch, "cora", "params") * 1e6
        )
        small = build_gnn(arch, 16, 4, hidden=8)
        assert small(x, edge_index).shape == (7, 4)


def test_canonical_cell_is_the_benchmark_representative():
    assert canonical_cell("0,0,0,0|skip,skip,skip,gcn") == ((0, 1, 2, 3), ("skip",) * 3 + ("gcn",))
    assert canonical_cell("0,0,0,0|gcn,gcn,gcn,gcn") == ((0, 0, 0, 0), ("gcn",) * 4)
    space = get_space("nasbench_graph")
    for arch in space.sample(20, seed=0):
        links, ops = canonical_cell(arch)
        rep = space.from_string(",".join(map(str, links)) + "|" + ",".join(ops))
        assert rep.key == arch.key and canonical_cell(rep) == (links, ops)


def test_bad_arguments_raise_value_errors():
    with pytest.raises(ValueError, match="hidden"):
        build_gnn(CHEAP, 5, 3, hidden=10)
    with pytest.raises(ValueError, match="dropout"):
        build_gnn(CHEAP, 5, 3, dropout=1.0)
    with pytest.raises(ValueError, match="all-'skip'"):
        build_gnn("0,0,0,0|skip,skip,skip,skip", 5, 3)
    with pytest.raises(KeyError, match="Planetoid dataset"):
        load_planetoid("cifar10")


def test_missing_data_raises_file_not_found_naming_the_path(tmp_path):
    with pytest.raises(FileNotFoundError, match=str(tmp_path / "planetoid" / "Cora" / "raw")):
        load_planetoid("cora", tmp_path, cache_dir=tmp_path / "cache")
    if ROOT is None:
        return
    raw = tmp_path / "partial" / "planetoid" / "Cora" / "raw"
    raw.mkdir(parents=True)
    for f in (ROOT / "planetoid" / "Cora" / "raw").iterdir():
        if f.name != "ind.cora.graph":
            shutil.copyfile(f, raw / f.name)
    with pytest.raises(FileNotFoundError, match="ind.cora.graph"):
        load_planetoid("cora", tmp_path / "partial", cache_dir=tmp_path / "cache")
    assert not (tmp_path / "cache" / "Cora").exists()


@requires_planetoid
def test_load_planetoid_processes_a_copy_not_the_data_root(cora, cache_dir):
    data = cora[0]
    assert tuple(data.x.shape) == (2708, 1433) and cora.num_classes == 7
    assert (int(data.train_mask.sum()), int(data.val_mask.sum()), int(data.test_mask.sum())) == (
        140,
        500,
        1000,
    )
    assert (cache_dir / "Cora" / "processed").is_dir()
    assert not (ROOT / "planetoid" / "Cora" / "processed").exists()
    again = load_planetoid("cora", ROOT, cache_dir=cache_dir)  # from the processed copy
    assert torch.equal(again[0].edge_index, data.edge_index)


@requires_planetoid
def test_training_on_cora_lowers_the_loss_and_is_seeded(cora):
    torch.manual_seed(123)
    expected_next = torch.rand(1)
    torch.manual_seed(123)
    a = train_gnn(CHEAP, cora, epochs=5, seed=7, device="cpu")
    assert torch.rand(1) == expected_next  # torch's global random state is left alone
    assert a["epochs"] == 5 and not a["stopped_early"]
    assert all(len(a[k]) == 5 for k in ("train_loss", "valid_acc", "test_acc", "epoch_time"))
    assert a["train_loss"][-1] < a["train_loss"][0]
    assert all(0.0 <= v <= 100.0 for v in a["valid_acc"] + a["test_acc"])
    assert a["best_valid_acc"] == max(a["valid_acc"])
    assert a["test_acc_at_best_valid"] == a["test_acc"][a["best_epoch"] - 1]
    assert (a["dataset"], a["device"]) == ("cora", "cpu")
    assert a["trained_arch"] == "0,1,2,3|skip,skip,gcn,gcn"
    b = train_gnn(CHEAP, cora, epochs=5, seed=7, device="cpu")
    for key in ("train_loss", "valid_acc", "test_acc"):
        assert a[key] == b[key]
    c = train_gnn(CHEAP, cora, epochs=2, seed=8, device="cpu")
    assert c["train_loss"] != a["train_loss"][:2]


@requires_planetoid
@pytest.mark.parametrize("op", GNN_OPS)
def test_sparse_features_give_the_dense_network_and_gradients(cora, op):
    # real Cora features (1.3% non-zero): the op reads the raw input at node 1 and, through a
    # skip chain, at node 3; node 3's raw features are also a leaf of the cell output
    from nas_meta_tune.oneshot import NASBenchGraphNet

    data = cora[0]
    torch.manual_seed(0)
    net = NASBenchGraphNet(
        (0, 1, 0, 3),
        (op, "gcn", "skip", op),
        cora.num_features,
        cora.num_classes,
        hidden=32,
        dropout=0.7,
    ).eval()
    params = list(net.parameters())
    outs, grads = [], []
    for x in (data.x, data.x.to_sparse()):
        out = net(x, data.edge_index)
        outs.append(out)
        grads.append(torch.autograd.grad(out.square().sum(), params, allow_unused=True))
    assert not outs[1].is_sparse
    torch.testing.assert_close(outs[1], outs[0], rtol=1e-5, atol=1e-5)
    for g_sparse, g_dense in zip(grads[1], grads[0]):
        assert (g_sparse is None) == (g_dense is None)
        if g_dense is not None:
            torch.testing.assert_close(
                g_sparse, g_dense, rtol=1e-4, atol=1e-4 * g_dense.abs().max()
            )


@requires_planetoid
def test_sparse_and_dense_training_agree_in_distribution_not_in_stream(cora):
    sparse = train_gnn(CHEAP, cora, epochs=3, seed=7, device="cpu")  # auto: Cora is sparse
    dense = train_gnn(CHEAP, cora, epochs=3, seed=7, device="cpu", sparse_features=False)
    assert sparse["sparse_features"] and not dense["sparse_features"]
    assert sparse["train_loss"] != dense["train_loss"]  # other input-dropout masks
    assert (
        sparse["train_loss"] == train_gnn(CHEAP, cora, epochs=3, seed=7, device="cpu")["train_loss"]
    )
    assert sparse["params"] == dense["params"]


@requires_planetoid
def test_callback_stops_training_early(cora):
    seen = []

    def callback(epoch, metrics):
        seen.append((epoch, sorted(metrics)))
        return epoch == 2

    run = train_gnn(CHEAP, cora, epochs=50, seed=0, device="cpu", callback=callback)
    assert run["epochs"] == 2 and run["stopped_early"]
    assert len(run["valid_acc"]) == 2 and [e for e, _ in seen] == [1, 2]
    assert {"train_loss", "valid_acc", "test_acc", "epoch_time"} <= set(seen[0][1])


@requires_planetoid
def test_optuna_objective_reports_every_epoch_and_prunes(cache_dir):
    optuna = pytest.importorskip("optuna")
    from nas_meta_tune.integrations.objectives import gnn_objective

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    space = get_space("nasbench_graph")
    objective = gnn_objective("cora", epochs=3, data_root=ROOT, cache_dir=cache_dir)

    study = optuna.create_study(
        direction="maximize",
        sampler=optuna.samplers.RandomSampler(seed=0),
        pruner=optuna.pruners.MedianPruner(n_startup_trials=1, n_warmup_steps=0),
    )
    study.enqueue_trial(space.to_params(space.from_string(CHEAP)))
    study.optimize(objective, n_trials=2)
    first = study.trials[0]
    assert first.state == optuna.trial.TrialState.COMPLETE
    assert sorted(first.intermediate_values) == [1, 2, 3]
    assert first.value == max(first.intermediate_values.values())
    assert first.user_attrs["arch"] == CHEAP and first.user_attrs["params"] > 0
    assert study.trials[1].state in (
        optuna.trial.TrialState.COMPLETE,
        optuna.trial.TrialState.PRUNED,
    )

    always = optuna.create_study(
        direction="maximize", pruner=optuna.pruners.ThresholdPruner(lower=101.0)
    )
    always.optimize(objective, n_trials=1)
    pruned = always.trials[0]
    assert pruned.state == optuna.trial.TrialState.PRUNED
    assert list(pruned.intermediate_values) == [1]  # stopped right after the first report


@requires_planetoid
def test_ray_trainable_reports_each_epoch(ray_cluster, cache_dir, tmp_path):
    from ray import tune

    from nas_meta_tune.integrations.trainables import GNN_METRICS, gnn_trainable

    space = get_space("nasbench_graph")
    param_space = {
        **space.to_params(space.from_string(CHEAP)),
        "dataset": "cora",
        "epochs": 2,
        "seed": 0,
        "data_root": str(ROOT),
        "cache_dir": str(cache_dir),
    }
    tuner = tune.Tuner(
        tune.with_resources(gnn_trainable, {"cpu": 1}),
        param_space=param_space,
        tune_config=tune.TuneConfig(metric="valid_acc", mode="max", num_samples=1),
        run_config=tune.RunConfig(storage_path=str(tmp_path), name="gnn", verbose=0),
    )
    results = tuner.fit()
    assert not results.errors
    best = results.get_best_result()
    assert best.metrics["training_iteration"] == 2 and best.metrics["epoch"] == 2
    assert set(GNN_METRICS) <= set(best.metrics) and best.metrics["arch"] == CHEAP
    assert len(best.metrics_dataframe) == 2
