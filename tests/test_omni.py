"""OMNIPredictor on real NAS-Bench-201 data (NASLib's zero-cost proxies + the 12-epoch accuracy)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from scipy.stats import spearmanr

from nas_meta_tune import get_space
from nas_meta_tune.exceptions import SpaceMismatchError
from nas_meta_tune.predictors import LightGBMPredictor, OMNIPredictor

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from omni import load  # noqa: E402


@pytest.fixture(scope="module")
def cifar100(data_root):
    return load("cifar100", data_root)


def test_omni_beats_its_parts_with_100_evaluated_cells(cifar100):
    archs, y, feats = cifar100
    rng = np.random.default_rng(0)
    idx = rng.permutation(len(archs))
    tr, te = idx[:100], idx[100:]
    names = ("jacov", "valid_12")
    omni = OMNIPredictor(seed=0).fit(
        [archs[i] for i in tr], y[tr], features={n: feats[n][tr] for n in names}
    )
    pred = omni.predict([archs[i] for i in te], features={n: feats[n][te] for n in names})
    rho = spearmanr(pred, y[te]).statistic
    singles = [spearmanr(feats[n][te], y[te]).statistic for n in names]
    encoding_only = spearmanr(
        LightGBMPredictor(seed=0)
        .fit([archs[i] for i in tr], y[tr])
        .predict([archs[i] for i in te]),
        y[te],
    ).statistic
    assert rho > max(singles) + 0.03 and rho > encoding_only + 0.05, (rho, singles, encoding_only)
    assert omni.feature_names == ("jacov", "valid_12")


def test_omni_without_training_data_ranks_by_its_features(cifar100):
    archs, y, feats = cifar100
    f = {"valid_12": feats["valid_12"][:50].copy()}
    f["valid_12"][3] = np.nan  # a missing value is allowed
    omni = OMNIPredictor(encoding=None).fit(
        archs[:1], y[:1], features={"valid_12": f["valid_12"][:1]}
    )
    pred = omni.predict(archs[:50], features=f)
    ok = np.isfinite(f["valid_12"])
    assert spearmanr(pred[ok], f["valid_12"][ok]).statistic == pytest.approx(1.0)
    assert np.isfinite(pred).all()


def test_omni_rejects_mismatched_input(cifar100):
    archs, y, feats = cifar100
    omni = OMNIPredictor(seed=0)
    with pytest.raises(RuntimeError, match="before fit"):
        omni.predict(archs[:5], features={"jacov": feats["jacov"][:5]})
    omni.fit(archs[:30], y[:30], features={"jacov": feats["jacov"][:30]})
    with pytest.raises(ValueError, match="fitted with features"):
        omni.predict(archs[:5], features={"nwot": feats["nwot"][:5]})
    with pytest.raises(ValueError, match="3 values for 5 architectures"):
        omni.predict(archs[:5], features={"jacov": feats["jacov"][:3]})
    with pytest.raises(SpaceMismatchError):
        omni.predict(get_space("transnas_micro").sample(5, seed=0), features={"jacov": np.zeros(5)})
    with pytest.raises(ValueError, match="finite"):
        omni.fit(archs[:3], [1.0, np.nan, 2.0], features={"jacov": feats["jacov"][:3]})
    with pytest.raises(ValueError, match="features, an encoding"):
        OMNIPredictor(encoding=None).fit(archs[:3], y[:3])


def test_omni_ranking_warm_starts_a_meta_nas_study(cifar100, data_root):
    """OMNI's top cells (fitted on 20 evaluated ones) are enqueued; MetaNASSampler takes over."""
    optuna = pytest.importorskip("optuna")
    from nas_meta_tune import load_benchmark
    from nas_meta_tune.samplers import MetaNASSampler

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    archs, y, feats = cifar100
    names = ("jacov", "valid_12")
    omni = OMNIPredictor(seed=0).fit(archs[:20], y[:20], features={n: feats[n][:20] for n in names})
    pred = omni.predict(archs[20:], features={n: feats[n][20:] for n in names})
    top = [archs[20 + i] for i in np.argsort(-pred)[:5]]
    bench = load_benchmark("nb201", data_root=data_root, source="parquet")
    study = optuna.create_study(direction="maximize", sampler=MetaNASSampler("nb201", seed=0))
    for arch in top:
        study.enqueue_trial(arch.to_params())
    study.optimize(lambda t: bench.query(get_space("nb201").suggest(t), "cifar100"), n_trials=8)
    keys = [get_space("nb201").from_params(t.params).key for t in study.trials]
    assert keys[:5] == [a.key for a in top]  # the warm start ran first
    assert len(set(keys)) == 8  # the sampler continued without repeating them
    # the warm start is worth it: OMNI's picks beat the median cell of the table
    assert np.median([t.value for t in study.trials[:5]]) > np.median(y)
