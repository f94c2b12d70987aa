"""Model-based learning-curve extrapolation (NAS-Bench-x11 / LcSVR style).

Baker et al. ("Accelerating Neural Architecture Search using Performance Prediction", 2017,
LcSVR) and Yan et al. ("NAS-Bench-x11 and the Power of Learning Curves", NeurIPS 2021) predict a
run's final value with a regressor trained on earlier runs: its inputs are the architecture
encoding and the partial learning curve with its first and second differences. NAS-Bench-x11
found such model-based extrapolation more reliable than fitting each curve alone, with
extrapolation from about 20% of the schedule working best.

:class:`LearnedExtrapolator` implements it with LightGBM (default) or an SVR:

* **Features** of a partial curve: its last and best value; the curve resampled at 10 evenly
  spaced fractions of its *observed* span (relative to the last value) with their first and second
  differences; the slope over the last 20% of the span; the fraction ``current step / target``
  (and its log); optionally an architecture / configuration encoding.
* **Target**: ``final - last value``, so a constant model is the last-value baseline.
* **Training set**: every training curve truncated at several fractions of ``target_step``
  (5% to 90%), so one model serves any progress.
* **Uncertainty**: out-of-fold residuals (3-fold, grouped by curve) of training rows at a
  similar fraction; the predictive samples are the prediction plus those residuals.

While fewer than ``min_train`` curves were given it falls back to a :class:`ParametricEnsemble`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from .._imports import require
from .._logging import get_logger
from .data import clean_curve
from .decisions import CurvePrediction
from .parametric import ParametricEnsemble

__all__ = ["LearnedExtrapolator", "curve_features"]

_N_RESAMPLE = 10
_log = get_logger(__name__)

#: truncation points (fractions of the target step) used to build the training set
TRAIN_FRACTIONS: tuple[float, ...] = (0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)


def curve_features(steps: np.ndarray, values: np.ndarray, target_step: float) -> np.ndarray:
    """Fixed-length features of a *cleaned* partial curve (see the module docstring).

    Returns ``float64[34]``; an empty curve gives zeros with fraction 0.
    """
    k = _N_RESAMPLE
    out = np.zeros(3 + k + (k - 1) + (k - 2) + 1 + 2)
    if values.size == 0:
        out[-1] = math.log(1e-3)
        return out
    last = float(values[-1])
    if steps.size >= 2 and steps[-1] > steps[0]:
        grid = np.linspace(steps[0], steps[-1], k)
        res = np.interp(grid, steps, values)
        tail = steps >= steps[-1] - 0.2 * (steps[-1] - steps[0])
        ts, tv = steps[tail], values[tail]
        if ts.size >= 2 and np.ptp(ts) > 0:
            slope = float(np.polyfit(ts / steps[-1], tv, 1)[0])
        else:
            slope = 0.0
    else:
        res = np.full(k, last)
        slope = 0.0
    d1 = np.diff(res)
    d2 = np.diff(res, n=2)
    frac = float(steps[-1] / target_step) if target_step > 0 else 1.0
    out[:3] = (last, float(values.max()), float(values[-min(3, values.size) :].mean()))
    i = 3
    out[i : i + k] = res - last
    i += k
    out[i : i + k - 1] = d1
    i += k - 1
    out[i : i + k - 2] = d2
    i += k - 2
    out[i] = slope
    out[i + 1] = frac
    out[i + 2] = math.log(max(frac, 1e-3))
    return out


def _as_curve(curve: Any) -> tuple[np.ndarray, np.ndarray]:
    if len(curve) < 2:
        raise ValueError(f"a curve must be a (steps, values) pair, but got {curve=}.")
    return clean_curve(curve[0], curve[1])


class LearnedExtrapolator:
    """Predict a run's final value from its partial curve with a regressor fitted on earlier runs.

    Args:
        model: ``"lightgbm"`` (gradient-boosted trees, as in NAS-Bench-x11) or ``"svr"``
            (LcSVR, Baker et al. 2017).
        min_train: Below this many training curves :meth:`predict` uses a
            :class:`ParametricEnsemble` instead.
        seed: Seed of the regressor and of the residual draws (``None``: fresh randomness).

    Example:
        >>> from nas_meta_tune.curves import load_lcbench_curves
        >>> curves = load_lcbench_curves(task_ids=["3945"], n_configs=60)  # doctest: +SKIP
        >>> ext = LearnedExtrapolator().fit([(s, v) for s, v, _ in curves[:50]],
        ...                                 [f for *_, f in curves[:50]], target_step=52)  # doctest: +SKIP
        >>> s, v, f = curves[55]  # doctest: +SKIP
        >>> ext.predict(s[:10], v[:10], 52).mean  # doctest: +SKIP
    """

    def __init__(
        self, *, model: str = "lightgbm", min_train: int = 5, seed: int | None = 0
    ) -> None:
        if model not in ("lightgbm", "svr"):
            raise ValueError(f"model must be 'lightgbm' or 'svr', but got {model=}.")
        if not isinstance(min_train, (int, np.integer)) or min_train < 2:
            raise ValueError(f"min_train must be an int >= 2, but got {min_train=}.")
        if seed is not None and not isinstance(seed, (int, np.integer)):
            raise TypeError(f"seed must be an int or None, but got {seed=}.")
        self.model = model
        self.min_train = int(min_train)
        self.seed = seed
        self.fallback = ParametricEnsemble(seed=seed)
        self.target_step: float | None = None
        self.n_features: int = 0
        self._regressor: Any = None
        self._oof_frac = np.zeros(0)
        self._oof_resid = np.zeros(0)

    def __repr__(self) -> str:
        return f"LearnedExtrapolator(model={self.model!r}, min_train={self.min_train}, seed={self.seed})"

    @property
    def is_fitted(self) -> bool:
        """Whether a regressor was trained (else :meth:`predict` uses the parametric fallback)."""
        return self._regressor is not None

    # ------------------------------------------------------------------ training
    def _make_regressor(self, seed: int) -> Any:
        if self.model == "lightgbm":
            LGBMRegressor = require("lightgbm", feature="LightGBM models").LGBMRegressor  # noqa: N806 - a class, imported lazily

            return LGBMRegressor(
                n_estimators=300,
                learning_rate=0.05,
                num_leaves=15,
                min_child_samples=10,
                subsample=0.8,
                subsample_freq=1,
                colsample_bytree=0.8,
                random_state=seed,
                n_jobs=1,
                verbose=-1,
            )
        TransformedTargetRegressor = require(  # noqa: N806 - a class, imported lazily
            "sklearn.compose", feature="scikit-learn models"
        ).TransformedTargetRegressor
        make_pipeline = require("sklearn.pipeline", feature="scikit-learn models").make_pipeline
        StandardScaler = require(  # noqa: N806 - a class, imported lazily
            "sklearn.preprocessing", feature="scikit-learn models"
        ).StandardScaler
        SVR = require("sklearn.svm", feature="scikit-learn models").SVR  # noqa: N806 - a class, imported lazily

        return TransformedTargetRegressor(
            regressor=make_pipeline(StandardScaler(), SVR(C=3.0, epsilon=0.05, gamma="scale")),
            transformer=StandardScaler(),
        )

    def _rows(
        self,
        curves: Sequence[tuple[np.ndarray, np.ndarray]],
        finals: np.ndarray,
        target: float,
        feats: np.ndarray | None,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        xs, ys, fr, groups = [], [], [], []
        for i, (s, v) in enumerate(curves):
            for frac in TRAIN_FRACTIONS:
                keep = s <= frac * target * (1 + 1e-9)
                if not keep.any():
                    continue
                ss, vv = s[keep], v[keep]
                x = curve_features(ss, vv, target)
                if feats is not None:
                    x = np.concatenate([x, feats[i]])
                xs.append(x)
                ys.append(finals[i] - vv[-1])
                fr.append(ss[-1] / target)
                groups.append(i)
        if not xs:
            return np.zeros((0, 0)), np.zeros(0), np.zeros(0), np.zeros(0, dtype=np.int64)
        return np.array(xs), np.array(ys), np.array(fr), np.array(groups)

    def fit(
        self,
        curves: Sequence[Any],
        finals: Sequence[float],
        target_step: float,
        features: np.ndarray | None = None,
    ) -> LearnedExtrapolator:
        """Train on complete runs.

        Args:
            curves: ``(steps, values)`` per run (a :class:`~nas_meta_tune.curves.data.LearningCurve`
                works too); only the points up to 90% of ``target_step`` are used.
            finals: The value each run reached at ``target_step``.
            target_step: The step whose value is predicted (the end of the schedule).
            features: Optional ``float[len(curves), d]`` architecture / configuration encodings.

        Returns:
            ``self``. With fewer than ``min_train`` curves (that have points before 90% of
            ``target_step``) nothing is trained and :meth:`predict` uses the fallback.

        Raises:
            ValueError: On mismatched lengths, non-finite finals or ``target_step``.
        """
        target = float(target_step)
        if not (math.isfinite(target) and target > 0):
            raise ValueError(f"target_step must be finite and > 0, but got {target_step=}.")
        y = np.asarray(finals, dtype=np.float64).reshape(-1)
        if len(curves) != y.size:
            raise ValueError(f"got {len(curves)} curves but {y.size} finals.")
        if not np.isfinite(y).all():
            raise ValueError("finals must be finite.")
        feats = None
        if features is not None:
            feats = np.asarray(features, dtype=np.float64)
            if feats.ndim != 2 or feats.shape[0] != y.size or not np.isfinite(feats).all():
                raise ValueError(
                    f"features must be a finite float[{y.size}, d] array, but got shape {feats.shape}."
                )
        cleaned = [_as_curve(c) for c in curves]
        self.target_step = target
        self.n_features = 0 if feats is None else feats.shape[1]
        self._regressor = None
        if y.size < self.min_train:
            return self
        x, t, fr, groups = self._rows(cleaned, y, target, feats)
        if np.unique(groups).size < self.min_train:
            _log.warning(
                "LearnedExtrapolator: only %d of %d curves have points before %.0f%% of "
                "target_step=%g; predictions use the parametric ensemble.",
                np.unique(groups).size, y.size, 100 * TRAIN_FRACTIONS[-1], target,
            )  # fmt: skip
            return self
        gen = np.random.default_rng(self.seed)
        # out-of-fold residuals, folds grouped by curve, for the predictive distribution
        n_folds = 3 if y.size >= 6 else 2
        fold_of_curve = gen.permutation(y.size) % n_folds
        fold = fold_of_curve[groups]
        resid = np.zeros_like(t)
        for k in range(n_folds):
            tr, te = fold != k, fold == k
            if not tr.any() or not te.any():
                continue
            reg = self._make_regressor(int(gen.integers(2**31 - 1)))
            reg.fit(x[tr], t[tr])
            resid[te] = t[te] - reg.predict(x[te])
        reg = self._make_regressor(int(gen.integers(2**31 - 1)))
        reg.fit(x, t)
        self._regressor = reg
        self._oof_frac, self._oof_resid = fr, resid
        return self

    # ---------------------------------------------------------------- prediction
    def predict(
        self, steps: Any, values: Any, target_step: float, features: np.ndarray | None = None
    ) -> CurvePrediction:
        """Predictive distribution of the value at ``target_step``.

        Args:
            steps: Steps of the partial curve.
            values: Values at those steps (higher is better).
            target_step: Must equal the ``target_step`` of :meth:`fit` (once fitted).
            features: The run's encoding if the model was fitted with ``features``.

        Returns:
            A :class:`CurvePrediction` whose samples are the prediction plus out-of-fold
            residuals of training rows at a similar progress. Without a trained model (or with
            an empty curve) it is :class:`ParametricEnsemble`'s prediction.

        Raises:
            ValueError: On a different ``target_step`` than in :meth:`fit`, or missing /
                misshaped ``features``.
        """
        target = float(target_step)
        s, v = clean_curve(steps, values)
        if self._regressor is None or v.size == 0:
            return self.fallback.predict(s, v, target)
        assert self.target_step is not None
        if not math.isclose(target, self.target_step, rel_tol=1e-9):
            raise ValueError(
                f"this model predicts the value at step {self.target_step}, but got {target_step=}."
            )
        if s[-1] >= target:  # the curve has reached the target: nothing to predict
            return CurvePrediction(mean=float(np.interp(target, s, v)), std=0.0)
        x = curve_features(s, v, target)
        if self.n_features:
            if features is None:
                raise ValueError(f"features of length {self.n_features} are required.")
            f = np.asarray(features, dtype=np.float64).reshape(-1)
            if f.size != self.n_features or not np.isfinite(f).all():
                raise ValueError(
                    f"features must be {self.n_features} finite numbers, got {f.size}."
                )
            x = np.concatenate([x, f])
        delta = float(self._regressor.predict(x[None, :])[0])
        last = float(v[-1])
        mean = last + delta
        frac = float(s[-1] / target)
        # residuals of the training rows closest in progress (at least 30 of them)
        dist = np.abs(self._oof_frac - frac)
        m = min(dist.size, max(30, dist.size // len(TRAIN_FRACTIONS)))
        near = np.argpartition(dist, m - 1)[:m] if m < dist.size else np.arange(dist.size)
        res = self._oof_resid[near]
        std = float(np.sqrt(np.mean(res**2))) if res.size else 0.0
        gen = np.random.default_rng(self.seed)
        samples = mean + gen.choice(res, size=min(200, max(res.size, 1)), replace=res.size < 200)
        if not (math.isfinite(mean) and math.isfinite(std)):
            return self.fallback.predict(s, v, target)
        return CurvePrediction(mean=mean, std=std, samples=samples if res.size else None)
