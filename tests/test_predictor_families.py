"""The model-based predictor families (Bayesian linear regression, BANANAS, GP, XGBoost) on a real
NAS-Bench-201 table: shapes, units, standard deviations, seeding, errors, and better-than-chance
ranking from 100 training cells."""

from __future__ import annotations

import sys

import numpy as np
import pytest
import torch
from scipy.stats import kendalltau

from nas_meta_tune import get_space, load_benchmark
from nas_meta_tune.exceptions import SpaceMismatchError
from nas_meta_tune.predictors.families import (
    FAMILY_PREDICTORS,
    BANANASPredictor,
    BayesianLinearPredictor,
    FamilyPredictor,
    GPFamilyPredictor,
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


@pytest.fixture(scope="module")
def fitted(split):
    a_tr, y_tr, _, _ = split
    return {name: cls(seed=0).fit(a_tr, y_tr) for name, cls in FAMILY_PREDICTORS.items()}


def test_registry_names_match_classes():
    assert set(FAMILY_PREDICTORS) == {"bayes_lin_reg", "bananas", "gp", "xgboost"}
    for name, cls in FAMILY_PREDICTORS.items():
        assert cls.name == name
        assert issubclass(cls, FamilyPredictor)


@pytest.mark.parametrize("name", sorted(FAMILY_PREDICTORS))
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


@pytest.mark.parametrize("name", ["bayes_lin_reg", "bananas", "gp"])
def test_std_positive_and_consistent(name, fitted, split):
    _, _, a_te, _ = split
    model = fitted[name]
    assert model.has_std
    mean, std = model.predict(a_te[:50], return_std=True)
    assert mean.shape == std.shape == (50,)
    assert np.all(std > 0) and np.isfinite(std).all()
    np.testing.assert_allclose(mean, model.predict(a_te[:50]))


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
    ],
    ids=["bananas", "xgboost", "bayes_lin_reg", "gp"],
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


def test_xgboost_missing_names_the_install(split, monkeypatch):
    monkeypatch.setitem(sys.modules, "xgboost", None)  # makes `import xgboost` fail
    with pytest.raises(ImportError, match="pip install"):
        XGBoostPredictor().fit(split[0][:5], split[1][:5])
