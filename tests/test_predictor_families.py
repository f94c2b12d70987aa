"""The model-based predictor families (Bayesian linear regression, BANANAS, GP, XGBoost, NGBoost) on
a real NAS-Bench-201 table: shapes, units, standard deviations, seeding, errors, and better-than-chance
ranking from 100 training cells."""

from __future__ import annotations

import importlib.util
import sys

import numpy as np
import pytest
import torch
from scipy.stats import kendalltau

from nas_meta_tune import get_space, load_benchmark
from nas_meta_tune.encodings.vectors import encode
from nas_meta_tune.exceptions import SpaceMismatchError
from nas_meta_tune.predictors.families import (
    FAMILY_PREDICTORS,
    BANANASPredictor,
    BayesianLinearPredictor,
    FamilyPredictor,
    GPFamilyPredictor,
    NGBoostPredictor,
    XGBoostPredictor,
)

torch.set_num_threads(1)

N_TRAIN, N_TEST = 100, 300


@pytest.fixture(scope="module")
def split(data_root):
    archs, y = load_benchmark("nb201", data_root=data_root).table("cifar10-valid")
    ok = np.flatnonzero(np.isfinite(y))
    idx = np.random.default_rng(0).permutation(ok)
    tr, te = idx[:N_TRAIN], idx[N_TRAIN : N_TRAIN + N_TEST]
    return [archs[i] for i in tr], y[tr], [archs[i] for i in te], y[te]


# NGBoost is an extra of its own (`nas-meta-tune[ngboost]`, not in `all`): skipped without it
HAS_NGBOOST = importlib.util.find_spec("ngboost") is not None
needs_ngboost = pytest.mark.skipif(not HAS_NGBOOST, reason="ngboost is not installed")


@pytest.fixture(scope="module")
def fitted(split):
    a_tr, y_tr, _, _ = split
    return {
        name: cls(seed=0).fit(a_tr, y_tr)
        for name, cls in FAMILY_PREDICTORS.items()
        if name != "ngboost" or HAS_NGBOOST
    }


def _names(*names):
    return [pytest.param(n, marks=needs_ngboost) if n == "ngboost" else n for n in names]


def test_registry_names_match_classes():
    assert set(FAMILY_PREDICTORS) == {"bayes_lin_reg", "bananas", "gp", "xgboost", "ngboost"}
    for name, cls in FAMILY_PREDICTORS.items():
        assert cls.name == name
        assert issubclass(cls, FamilyPredictor)


@pytest.mark.parametrize("name", _names(*sorted(FAMILY_PREDICTORS)))
@pytest.mark.slow
def test_predict_shapes_units_and_rank(name, fitted, split):
    _, y_tr, a_te, y_te = split
    model = fitted[name]
    pred = model.predict(a_te)
    assert pred.shape == (N_TEST,)
    assert pred.dtype == np.float64
    assert np.isfinite(pred).all()
    # predictions are in the scores' units (NB201 accuracy, %), not rank-normalised
    assert abs(pred.mean() - y_tr.mean()) < 3 * y_tr.std()
    # better than chance: a random ranking has tau ~ 0 (std ~ 0.04 on 300 cells)
    tau = kendalltau(pred, y_te)[0]
    assert tau > 0.2, f"{name}: Kendall tau {tau:.3f}"
    assert model.predict([]).shape == (0,)


@pytest.mark.parametrize("name", _names("bayes_lin_reg", "bananas", "gp", "ngboost"))
def test_std_positive_and_consistent(name, fitted, split):
    _, _, a_te, _ = split
    model = fitted[name]
    assert model.has_std
    mean, std = model.predict(a_te[:50], return_std=True)
    assert mean.shape == std.shape == (50,)
    assert np.all(std > 0) and np.isfinite(std).all()
    np.testing.assert_allclose(mean, model.predict(a_te[:50]))


@needs_ngboost
def test_ngboost_std_is_the_predictive_normal_scale(fitted, split):
    model = fitted["ngboost"]
    assert model.has_std
    a_te = split[2][:50]
    mean, std = model.predict(a_te, return_std=True)
    assert np.isfinite(std).all() and np.all(std > 0)
    # NGBoost's own predictive Normal, on the standardised scores, mapped back to the units
    dist = model._model.pred_dist(encode(a_te, "adjacency_onehot").astype(np.float64))
    np.testing.assert_allclose(mean, model._y_mean + model._y_scale * dist.params["loc"])
    np.testing.assert_allclose(std, model._y_scale * dist.params["scale"])


@needs_ngboost
def test_ngboost_below_60_architectures_predicts_a_constant(split):
    # NASLib's minimum leaf size, min(n // 2, 15), is more than half of each round's mini-batch
    # (0.508 n) below n = 60, so no tree splits: one predictive Normal for every architecture
    a_tr, y_tr, a_te, _ = split
    model = NGBoostPredictor(n_estimators=20, seed=0).fit(a_tr[:40], y_tr[:40])
    mean, std = model.predict(a_te[:10], return_std=True)
    assert np.ptp(mean) == 0 and np.ptp(std) == 0
    small_leaves = NGBoostPredictor(
        n_estimators=20, seed=0, min_samples_leaf=1, min_samples_split=2
    )
    assert np.ptp(small_leaves.fit(a_tr[:40], y_tr[:40]).predict(a_te[:10])) > 0


def test_xgboost_has_no_std(fitted, split):
    assert not XGBoostPredictor.has_std
    with pytest.raises(ValueError, match="no predictive standard deviation"):
        fitted["xgboost"].predict(split[2][:3], return_std=True)


@pytest.mark.parametrize(
    "make",
    [
        lambda seed: BANANASPredictor(epochs=10, seed=seed),
        lambda seed: XGBoostPredictor(num_boost_round=50, seed=seed),
        lambda seed: BayesianLinearPredictor(seed=seed),
        lambda seed: GPFamilyPredictor(maxiter=20, seed=seed),
        pytest.param(
            lambda seed: NGBoostPredictor(n_estimators=50, seed=seed), marks=needs_ngboost
        ),
    ],
    ids=["bananas", "xgboost", "bayes_lin_reg", "gp", "ngboost"],
)
def test_same_seed_same_predictions(make, split):
    a_tr, y_tr, a_te, _ = split
    a_tr, y_tr = a_tr[:40], y_tr[:40]
    first = make(3).fit(a_tr, y_tr).predict(a_te[:50])
    second = make(3).fit(a_tr, y_tr).predict(a_te[:50])
    np.testing.assert_array_equal(first, second)


def test_bananas_seed_changes_ensemble(split):
    a_tr, y_tr, a_te, _ = split
    p0 = BANANASPredictor(epochs=10, seed=0).fit(a_tr[:40], y_tr[:40]).predict(a_te[:20])
    p1 = BANANASPredictor(epochs=10, seed=1).fit(a_tr[:40], y_tr[:40]).predict(a_te[:20])
    assert not np.array_equal(p0, p1)


def test_bananas_members_spread(fitted, split):
    model = fitted["bananas"]
    assert model.members == 5
    _, std = model.predict(split[2][:20], return_std=True)
    assert std.max() > 0  # five different networks do not agree exactly


def test_adjacency_encoding_works(split):
    a_tr, y_tr, a_te, _ = split
    model = BayesianLinearPredictor(encoding="adjacency_onehot").fit(a_tr, y_tr)
    assert model.predict(a_te[:10]).shape == (10,)


def test_invalid_arguments(split):
    a_tr, y_tr, a_te, _ = split
    with pytest.raises(ValueError, match="encoding"):
        BANANASPredictor(encoding="nope")
    with pytest.raises(ValueError, match="members"):
        BANANASPredictor(members=0)
    with pytest.raises(ValueError, match="lr"):
        BANANASPredictor(lr=0.0)
    with pytest.raises(ValueError, match="num_boost_round"):
        XGBoostPredictor(num_boost_round=0)
    with pytest.raises(ValueError, match="n_estimators"):
        NGBoostPredictor(n_estimators=0)
    with pytest.raises(ValueError, match="learning_rate"):
        NGBoostPredictor(learning_rate=0.0)
    with pytest.raises(ValueError, match="minibatch_frac"):
        NGBoostPredictor(minibatch_frac=1.5)
    with pytest.raises(TypeError, match="seed"):
        GPFamilyPredictor(seed="0")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="at least 2"):
        BayesianLinearPredictor().fit(a_tr[:1], y_tr[:1])
    with pytest.raises(ValueError, match="scores"):
        BayesianLinearPredictor().fit(a_tr[:3], y_tr[:2])
    with pytest.raises(RuntimeError, match="before fit"):
        BayesianLinearPredictor().predict(a_te[:2])


def test_space_mismatch(fitted):
    other = get_space("nb101").sample(2, seed=0)
    with pytest.raises(SpaceMismatchError):
        fitted["bayes_lin_reg"].predict(other)


@pytest.mark.parametrize(
    ("module", "cls", "extra"),
    [("xgboost", XGBoostPredictor, "benchmarks"), ("ngboost", NGBoostPredictor, "ngboost")],
)
def test_tree_package_missing_names_the_install(module, cls, extra, split, monkeypatch):
    monkeypatch.setitem(sys.modules, module, None)  # makes `import module` fail
    with pytest.raises(ImportError, match=rf"pip install 'nas-meta-tune\[{extra}\]'"):
        cls().fit(split[0][:5], split[1][:5])
