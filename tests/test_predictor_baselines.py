"""Non-deep baseline predictors on real TransNAS-Bench-101 micro tables (and small subsets)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import rankdata

from nas_meta_tune import get_space
from nas_meta_tune.predictors.baselines import (
    BaselinePredictor,
    LightGBMPredictor,
    RandomForestPredictor,
    StaticTransferPredictor,
    TransferRidgePredictor,
    few_shot_scores,
)
from nas_meta_tune.predictors.tasks import NASTask, load_task

TASKS = ("transnas_micro/jigsaw", "transnas_micro/class_scene", "transnas_micro/normal")


@pytest.fixture(scope="module")
def tasks(data_root):
    return [load_task(name, data_root) for name in TASKS]


@pytest.fixture(scope="module")
def target(tasks):
    return tasks[0]


@pytest.fixture(scope="module")
def siblings(tasks):
    return tasks[1:]


def _sample(task: NASTask, k: int, seed: int = 0):
    idx = np.random.default_rng(seed).choice(len(task), size=k, replace=False)
    return [task.archs[i] for i in idx], task.scores[idx]


def _factories(siblings):
    return {
        "random_forest": lambda: RandomForestPredictor(n_estimators=20, seed=0),
        "lightgbm": lambda: LightGBMPredictor(seed=0, n_estimators=50),
        "static_transfer": lambda: StaticTransferPredictor(siblings),
        "transfer_ridge": lambda: TransferRidgePredictor(siblings),
    }


@pytest.mark.parametrize("name", ["random_forest", "lightgbm", "static_transfer", "transfer_ridge"])
def test_fit_predict_shapes(name, target, siblings):
    pred = _factories(siblings)[name]()
    assert isinstance(pred, BaselinePredictor) and pred.name == name
    archs, y = _sample(target, 20)
    assert pred.fit(archs, y) is pred
    out = pred.predict(target.archs[:300])
    assert out.shape == (300,) and out.dtype == np.float64 and np.isfinite(out).all()
    assert pred.predict([]).shape == (0,)


@pytest.mark.parametrize("cls", [RandomForestPredictor, LightGBMPredictor])
def test_learners_are_deterministic_and_actually_learn(cls, target):
    archs, y = _sample(target, 10)
    a = cls(seed=3).fit(archs, y).predict(target.archs[:500])
    b = cls(seed=3).fit(archs, y).predict(target.archs[:500])
    np.testing.assert_array_equal(a, b)
    assert np.ptp(a) > 0  # split even on 10 samples (LightGBM needs small min_child_samples)
    small = cls(seed=0).fit(*_sample(target, 5))
    assert np.ptp(small.predict(target.archs[:500])) > 0


def test_random_forest_seed_matters(target):
    archs, y = _sample(target, 20)
    a = RandomForestPredictor(n_estimators=10, seed=0).fit(archs, y).predict(target.archs[:500])
    b = RandomForestPredictor(n_estimators=10, seed=1).fit(archs, y).predict(target.archs[:500])
    assert not np.array_equal(a, b)


@pytest.mark.parametrize("k", [0, 1])
@pytest.mark.parametrize("cls", [RandomForestPredictor, LightGBMPredictor])
def test_learners_predict_zeros_below_two_samples(cls, k, target):
    archs, y = _sample(target, k)
    out = cls(seed=0).fit(archs, y).predict(target.archs[:50])
    np.testing.assert_array_equal(out, np.zeros(50))


def test_static_transfer_is_the_mean_of_sibling_z(target, siblings):
    static = StaticTransferPredictor(siblings)
    archs = target.archs[:: len(target) // 7][:7]
    expected = []
    for arch in archs:
        zs = []
        for sib in siblings:
            row = next(i for i, a in enumerate(sib.archs) if a.spec == arch.spec)
            zs.append(sib.z[row])
        expected.append(np.mean(zs))
    np.testing.assert_allclose(static.predict(archs), expected)
    # fit ignores the data
    np.testing.assert_allclose(static.fit(*_sample(target, 20)).predict(archs), expected)


def test_static_transfer_missing_specs_keys_and_archs(siblings):
    full, other = siblings
    counts: dict[str, int] = {}
    for a in full.archs:
        counts[a.key] = counts.get(a.key, 0) + 1
    arch = next(a for a in full.archs if counts[a.key] > 1)  # has isomorphic twins in the table
    # a sibling without arch's spec but with isomorphic specs contributes its key mean
    keep = [i for i, a in enumerate(full.archs) if a.spec != arch.spec]
    partial = NASTask("subset/a", [full.archs[i] for i in keep], full.scores[keep])
    key_mean = np.mean([partial.z[j] for j, a in enumerate(partial.archs) if a.key == arch.key])
    row = next(i for i, a in enumerate(other.archs) if a.spec == arch.spec)
    static = StaticTransferPredictor([partial, other])
    np.testing.assert_allclose(static.predict([arch]), [(key_mean + other.z[row]) / 2])
    # a sibling without the key at all is left out of the mean
    keep = [i for i, a in enumerate(full.archs) if a.key != arch.key]
    lacking = NASTask("subset/b", [full.archs[i] for i in keep], full.scores[keep])
    static = StaticTransferPredictor([lacking, other])
    np.testing.assert_allclose(static.predict([arch]), [other.z[row]])
    # an architecture no sibling has gets the mean of the other predictions, never NaN
    static = StaticTransferPredictor([lacking])
    known = lacking.archs[:4]
    out = static.predict([arch, *known])
    assert np.isfinite(out).all()
    np.testing.assert_allclose(out[0], out[1:].mean())
    assert static.predict([arch]).tolist() == [0.0]


def test_static_transfer_predicts_a_large_table(target, siblings):
    static = StaticTransferPredictor(siblings)
    archs = target.archs * 7  # ~28.7k, like the 26,206 of NAS-Bench-Graph
    out = static.predict(archs)
    assert out.shape == (len(archs),)
    np.testing.assert_array_equal(
        out[: len(target.archs)], out[len(target.archs) : 2 * len(target.archs)]
    )


@pytest.mark.parametrize("k", [0, 1, 2])
def test_transfer_ridge_without_enough_samples_ranks_like_static(k, target, siblings):
    static = StaticTransferPredictor(siblings)
    ridge = TransferRidgePredictor(siblings).fit(*_sample(target, k))
    archs = target.archs[:1000]
    np.testing.assert_array_equal(rankdata(ridge.predict(archs)), rankdata(static.predict(archs)))


def test_transfer_ridge_static_part_is_standard_normal(siblings):
    ridge = TransferRidgePredictor(siblings)
    s = ridge._static(siblings[0].archs)
    assert abs(s.mean()) < 0.05 and 0.9 < s.std() < 1.05


def test_transfer_ridge_learns_from_samples(target, siblings):
    archs, y = _sample(target, 30)
    ridge = TransferRidgePredictor(siblings, alpha=1.0).fit(archs, y)
    assert 0.0 <= ridge.slope_ <= 1.5
    static = StaticTransferPredictor(siblings)
    assert not np.array_equal(
        rankdata(ridge.predict(target.archs[:500])), rankdata(static.predict(target.archs[:500]))
    )
    with pytest.raises(ValueError, match="alpha"):
        TransferRidgePredictor(siblings, alpha=-1.0)


def _graph_task(n=50):
    archs = get_space("nasbench_graph").sample(n, seed=0)
    return NASTask("nasbench_graph/fake", archs, np.random.default_rng(0).normal(size=n))


def test_mismatched_spaces_raise(target, siblings):
    graph = _graph_task()
    with pytest.raises(ValueError, match="nasbench_graph") as info:
        StaticTransferPredictor([siblings[0], graph])
    assert "transnas_micro" in str(info.value)
    with pytest.raises(ValueError, match="transnas_micro"):
        TransferRidgePredictor([graph, siblings[0]])
    static = StaticTransferPredictor(siblings)
    with pytest.raises(ValueError, match="nasbench_graph"):
        static.predict(graph.archs[:3])
    with pytest.raises(ValueError, match="nasbench_graph"):
        TransferRidgePredictor(siblings).fit(graph.archs[:5], graph.scores[:5])
    rf = RandomForestPredictor(n_estimators=5, seed=0).fit(*_sample(target, 10))
    with pytest.raises(ValueError, match="nasbench_graph"):
        rf.predict(graph.archs[:3])
    with pytest.raises(ValueError, match="at least one sibling"):
        StaticTransferPredictor([])


@pytest.mark.parametrize(
    "name,k",
    [("random_forest", 10), ("random_forest", 0), ("static_transfer", 0), ("transfer_ridge", 20)],
)
def test_few_shot_scores_are_correlations(name, k, target, siblings):
    out = few_shot_scores(_factories(siblings)[name], target, k, seed=1)
    assert set(out) == {"spearman", "kendall"}
    for v in out.values():
        assert np.isfinite(v) and -1.0 <= v <= 1.0
    if name == "static_transfer":
        assert out["spearman"] > 0.5  # TransNAS tasks agree strongly
    if k == 0 and name == "random_forest":
        assert out == {"spearman": 0.0, "kendall": 0.0}


def test_few_shot_scores_is_reproducible_and_checks_k(target, siblings):
    fac = _factories(siblings)["transfer_ridge"]
    assert few_shot_scores(fac, target, 10, seed=4) == few_shot_scores(fac, target, 10, seed=4)
    with pytest.raises(ValueError, match="k must be"):
        few_shot_scores(fac, target, len(target), seed=0)
    with pytest.raises(ValueError, match="k must be"):
        few_shot_scores(fac, target, -1, seed=0)
