"""Curve models as objects: the protocol, the resolver, and rules built from names or objects.

Synthetic curves only (mechanics: the same decisions by name and by object), no data on disk.
"""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from nas_meta_tune.curves import (
    CURVE_MODELS,
    METHODS,
    CompletedCurve,
    CurveModel,
    CurvePrediction,
    LCPFNModel,
    LCRankModel,
    LCRankNet,
    LCStoppingRule,
    LearnedModel,
    ParametricModel,
    RungHalving,
    curve_model_resolver,
)
from nas_meta_tune.curves import stopping as stopping_module


def _curve(top: float, drop: float, rng: np.random.Generator, n: int = 30):
    """A synthetic pow-law curve with noise (mechanics only)."""
    s = np.arange(1, n + 1, dtype=np.float64)
    return s, top - drop * s**-0.7 + 0.5 * rng.standard_normal(n)


@pytest.fixture(scope="module")
def synthetic():
    rng = np.random.default_rng(0)
    done = [CompletedCurve(*_curve(70 + 3 * i, 40 + i, rng)) for i in range(6)]
    partial = [_curve(60 + 4 * i, 30 + 2 * i, rng) for i in range(3)]
    return done, partial


def test_the_method_list_lives_in_one_place():
    assert METHODS == tuple(CURVE_MODELS) == ("parametric", "learned", "rank", "pfn")
    assert stopping_module.METHODS is METHODS
    for name, cls in CURVE_MODELS.items():
        assert cls.name == name


def test_resolver_accepts_a_name_or_an_object():
    assert isinstance(curve_model_resolver("parametric"), ParametricModel)
    assert isinstance(curve_model_resolver("learned"), LearnedModel)
    rank = curve_model_resolver("rank", rank_epochs=7)
    assert isinstance(rank, LCRankModel) and rank.epochs == 7
    assert curve_model_resolver("rank").epochs == 30
    model = LCRankModel(epochs=3)
    assert curve_model_resolver(model) is model
    for m in (ParametricModel(), LearnedModel(), model, LCPFNModel()):
        assert isinstance(m, CurveModel)


def test_resolver_errors_name_the_bad_value():
    with pytest.raises(ValueError, match="method='sha'"):
        curve_model_resolver("sha")
    with pytest.raises(TypeError, match="CurveModel"):
        curve_model_resolver(3)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="rank_epochs"):
        curve_model_resolver(LCRankModel(), rank_epochs=3)
    with pytest.raises(ValueError, match="not both"):
        LCStoppingRule(model="rank", method="rank")
    with pytest.raises(ValueError, match="epochs"):
        LCRankModel(epochs=-1)
    with pytest.raises(TypeError, match="pretrained"):
        LCRankModel("net")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("by_name", "by_object"),
    [
        (dict(method="parametric"), dict(model=ParametricModel())),
        (dict(method="learned"), dict(model=LearnedModel())),
        (dict(method="rank", rank_epochs=2), dict(model=LCRankModel(epochs=2))),
    ],
)
def test_a_rule_decides_the_same_from_a_name_or_an_object(synthetic, by_name, by_object):
    done, partial = synthetic
    kw = dict(max_step=30, min_step=3, seed=0)
    a, b = LCStoppingRule(**kw, **by_name), LCStoppingRule(**kw, **by_object)
    assert repr(a) == repr(b) and a.method == b.method
    for n_done in (1, 6):  # the parametric fallback, then the model itself
        for s, v in partial:
            da = a.decide(s[:9], v[:9], done[:n_done])
            db = b.decide(s[:9], v[:9], done[:n_done])
            assert (da.stop, da.reason, da.prob) == (db.stop, db.reason, db.prob)


def test_a_pretrained_ranker_is_copied_not_trained(synthetic):
    done, partial = synthetic
    net = LCRankNet(feature_dim=0, seed=3)
    net.fit([(c.steps, c.values) for c in done], [c.final for c in done], epochs=1)
    probe = lambda: net.prob_better(partial[1], partial[2], target_step=30)  # noqa: E731
    before = probe()
    old = LCStoppingRule(method="rank", rank_model=net, rank_epochs=2, max_step=30)
    new = LCStoppingRule(model=LCRankModel(net, epochs=2), max_step=30)
    s, v = partial[0]
    d_old, d_new = old.decide(s[:9], v[:9], done), new.decide(s[:9], v[:9], done)
    assert "model error" not in d_old.reason
    assert d_old.prob == d_new.prob
    assert probe() == before  # the rule fine-tunes a copy


def test_a_user_model_follows_the_protocol(synthetic):
    class LastValue:
        """Predicts the last value, with a fixed spread: a user's own curve model."""

        name = "last"
        min_curves = 0
        fits = False
        ranks = False
        normalises = False

        def setup(self, *, value_range):
            self.value_range = value_range

        def fit(self, completed, target, *, seed):
            return None

        def predict(self, fitted, steps, values, target, *, parametric, bounds, features):
            return CurvePrediction(float(values[-1]), 1.0)

        def prob_better(self, fitted, steps, values, best, target):
            raise ValueError("no ranking")

    done, partial = synthetic
    model = LastValue()
    rule = LCStoppingRule(model=model, max_step=30, value_range=(0, 100), calibrate=False)
    assert model.value_range == (0, 100) and rule.method == "last"
    s, v = partial[0]
    pred = rule.predict(s[:9], v[:9], done)
    assert pred.mean == v[8] and pred.std == 1.0
    assert rule.decide(s[:9], v[:9], done).stop
    # halving takes any extrapolating model
    LCStoppingRule(model=model, max_step=30, halving=RungHalving())


def test_halving_refuses_a_ranking_model_object():
    with pytest.raises(ValueError, match="method='rank'"):
        LCStoppingRule(model=LCRankModel(), halving=RungHalving())


def test_rank_rule_predicts_no_final_value(synthetic):
    done, partial = synthetic
    s, v = partial[0]
    with pytest.raises(ValueError, match="predicts no final value"):
        LCStoppingRule(model=LCRankModel(epochs=1), max_step=30).predict(s[:9], v[:9], done)


def test_rules_with_model_objects_pickle(synthetic):
    done, partial = synthetic
    rule = LCStoppingRule(model=LearnedModel(min_curves=2), max_step=30)
    s, v = partial[1]
    d1 = rule.decide(s[:9], v[:9], done)
    again = pickle.loads(pickle.dumps(rule))
    d2 = again.decide(s[:9], v[:9], done)
    assert (d1.stop, d1.prob) == (d2.stop, d2.prob)
    assert "parametric until" not in d1.reason
