"""Non-deep baseline performance predictors for few-shot NAS evaluation.

These are the comparison points of the MP-NAS paper's few-shot experiments: given ``K`` evaluated
architectures of an unseen task, rank all the others. Every baseline has the same small interface,
:class:`BaselinePredictor` (``fit(archs, scores)`` then ``predict(archs)``, higher = better):

* :class:`RandomForestPredictor` and :class:`LightGBMPredictor`: learn from the ``K`` samples
  alone, on a vector encoding (:func:`~nas_meta_tune.encodings.vectors.encode`).
* :class:`StaticTransferPredictor`: learns nothing from the samples; scores an architecture by its
  mean rank-normalised score over *sibling* tasks of the same space (the "mean rank" transfer).
* :class:`TransferRidgePredictor`: the static transfer score plus a ridge regression, fitted on
  the ``K`` samples, of what the transfer gets wrong. The simple non-deep transfer learner that
  any meta-learner must beat.

:func:`few_shot_scores` runs one few-shot trial (sample ``K``, fit, rank the rest) and returns
Spearman's rho and Kendall's tau.

Targets are always :func:`~nas_meta_tune.predictors.tasks.normalize_scores` of the raw scores, so
a predictor never depends on a task's units.

Example:
    >>> from nas_meta_tune.predictors.tasks import load_task_pool
    >>> pool = load_task_pool(["transnas_micro"])  # doctest: +SKIP
    >>> target, siblings = pool[0], pool[1:]  # doctest: +SKIP
    >>> few_shot_scores(lambda: TransferRidgePredictor(siblings), target, k=20, seed=0)  # doctest: +SKIP
    {'spearman': 0.80..., 'kendall': 0.62...}
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from typing import Any, cast

import numpy as np
from scipy.stats import kendalltau, spearmanr

from .._imports import require
from ..encodings.vectors import encode
from ..exceptions import SpaceMismatchError
from ..spaces._base import Architecture
from .tasks import NASTask, normalize_scores

__all__ = [
    "BaselinePredictor",
    "RandomForestPredictor",
    "LightGBMPredictor",
    "GPPredictor",
    "StaticTransferPredictor",
    "TransferRidgePredictor",
    "few_shot_scores",
]


def _check_fit_args(
    archs: Sequence[Architecture], scores: Sequence[float] | np.ndarray
) -> np.ndarray:
    y = np.asarray(scores, dtype=np.float64).reshape(-1)
    if len(archs) != len(y):
        raise ValueError(f"got {len(archs)} architectures but {len(y)} scores.")
    if not np.isfinite(y).all():
        raise ValueError(f"scores must be finite, but got {y[~np.isfinite(y)][:5].tolist()}.")
    return y


class BaselinePredictor(ABC):
    """A performance predictor fitted on a few ``(architecture, score)`` pairs of one task.

    ``fit`` returns ``self``; ``predict`` returns ``float64`` scores where higher means predicted
    better. Only the order of the predictions is meaningful (targets are rank-normalised).
    """

    #: short name used in tables, e.g. ``"random_forest"``
    name: str = ""

    @abstractmethod
    def fit(
        self, archs: Sequence[Architecture], scores: Sequence[float] | np.ndarray
    ) -> BaselinePredictor:
        """Fit on ``K >= 0`` evaluated architectures (raw scores, higher is better); returns ``self``."""

    @abstractmethod
    def predict(self, archs: Sequence[Architecture]) -> np.ndarray:
        """``float64[len(archs)]`` predicted scores, higher = predicted better."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class _EncodedRegressor(BaselinePredictor):
    """Shared logic of the from-scratch regressors on a vector encoding.

    With ``K < 2`` samples there is no order to learn: :meth:`predict` then returns zeros.
    """

    def __init__(self, encoding: str, seed: int | None) -> None:
        if encoding not in ("adjacency_onehot", "path"):
            raise ValueError(f"encoding must be 'adjacency_onehot' or 'path', but got {encoding=}.")
        if seed is not None and not isinstance(seed, (int, np.integer)):
            raise TypeError(f"seed must be an int or None, but got {seed!r}.")
        self.encoding = encoding
        self.seed = seed
        self._model: Any = None
        self._space: str | None = None

    @abstractmethod
    def _make_model(self) -> Any:
        """A fresh, unfitted regressor."""

    def fit(
        self, archs: Sequence[Architecture], scores: Sequence[float] | np.ndarray
    ) -> _EncodedRegressor:
        y = _check_fit_args(archs, scores)
        self._model = None
        self._space = archs[0].space.name if len(archs) else None
        if len(archs) < 2:
            return self
        x = encode(list(archs), self.encoding)
        model = self._make_model()
        model.fit(x, normalize_scores(y))
        self._model = model
        return self

    def predict(self, archs: Sequence[Architecture]) -> np.ndarray:
        if len(archs) == 0:
            return np.zeros(0)
        if self._space is not None and archs[0].space.name != self._space:
            raise SpaceMismatchError(
                f"{self.name} was fitted on space {self._space!r} but asked about space "
                f"{archs[0].space.name!r}."
            )
        if self._model is None:
            return np.zeros(len(archs))
        return np.asarray(self._model.predict(encode(list(archs), self.encoding)), dtype=np.float64)


class RandomForestPredictor(_EncodedRegressor):
    """Random forest regression (scikit-learn) on a vector encoding.

    Args:
        encoding: ``"adjacency_onehot"`` or ``"path"`` (see :func:`~nas_meta_tune.encodings.vectors.encode`).
        n_estimators: Number of trees.
        seed: Seed of the forest's bootstrap and feature sampling (same seed, same predictions).
        **params: More ``sklearn.ensemble.RandomForestRegressor`` arguments.

    With fewer than two samples :meth:`predict` returns zeros (nothing to learn).
    """

    name = "random_forest"

    def __init__(
        self,
        *,
        encoding: str = "adjacency_onehot",
        n_estimators: int = 100,
        seed: int | None = None,
        **params: Any,
    ) -> None:
        super().__init__(encoding, seed)
        if n_estimators < 1:
            raise ValueError(f"n_estimators must be >= 1, but got {n_estimators=}.")
        self.n_estimators = n_estimators
        self.params = params

    def _make_model(self) -> Any:
        RandomForestRegressor = require(  # noqa: N806 - a class, imported lazily
            "sklearn.ensemble", feature="scikit-learn models"
        ).RandomForestRegressor

        return RandomForestRegressor(
            n_estimators=self.n_estimators, random_state=self.seed, **self.params
        )

    def __repr__(self) -> str:
        return f"RandomForestPredictor(encoding={self.encoding!r}, n_estimators={self.n_estimators}, seed={self.seed})"


class LightGBMPredictor(_EncodedRegressor):
    """Gradient-boosted trees (LightGBM) on a vector encoding.

    With LightGBM's defaults (``min_child_samples=20``, ``min_data_in_bin=3``) no tree splits a
    sample of fewer than 40, so the defaults here are made for ``K`` of 5 to 50: leaves of at least 2 samples, bins
    of 1, small trees, a slow learning rate, and no logging (``verbose=-1``). Training is single
    threaded and deterministic (``deterministic=True``).

    Args:
        encoding: ``"adjacency_onehot"`` or ``"path"``.
        seed: LightGBM's ``random_state``.
        **params: ``lightgbm.LGBMRegressor`` arguments overriding the defaults
            (``n_estimators=200, learning_rate=0.05, num_leaves=15, min_child_samples=2,
            min_data_in_bin=1, subsample=1.0, colsample_bytree=1.0, n_jobs=1``).

    With fewer than two samples :meth:`predict` returns zeros (nothing to learn).
    """

    name = "lightgbm"

    DEFAULTS: dict[str, Any] = {
        "n_estimators": 200,
        "learning_rate": 0.05,
        "num_leaves": 15,
        "min_child_samples": 2,
        "min_data_in_bin": 1,
        "min_child_weight": 1e-3,
        "subsample": 1.0,
        "colsample_bytree": 1.0,
        "n_jobs": 1,
        "deterministic": True,
        "force_col_wise": True,
        "verbose": -1,
    }

    def __init__(
        self, *, encoding: str = "adjacency_onehot", seed: int | None = None, **params: Any
    ) -> None:
        super().__init__(encoding, seed)
        self.params = {**self.DEFAULTS, **params}

    def _make_model(self) -> Any:
        LGBMRegressor = require("lightgbm", feature="LightGBM models").LGBMRegressor  # noqa: N806 - a class, imported lazily

        return LGBMRegressor(random_state=self.seed, **self.params)

    def __repr__(self) -> str:
        return f"LightGBMPredictor(encoding={self.encoding!r}, seed={self.seed})"


class GPPredictor(_EncodedRegressor):
    """A Gaussian process on a vector encoding (path encoding by default), fitted from scratch:
    the target-only GP of the transfer-BO proposer (:meth:`nas_meta_tune.predictors.gp.ExactGP.plain`:
    BoTorch's ``SingleTaskGP`` defaults, one lengthscale per input with the dimension-scaled
    prior, MAP by L-BFGS-B). Predictions are the posterior mean.

    Args:
        encoding: ``"path"`` (BANANAS' path encoding) or ``"adjacency_onehot"``.
        seed: Unused (the fit is deterministic); accepted for a uniform interface.

    With fewer than two samples :meth:`predict` returns zeros (nothing to learn).
    """

    name = "gp"

    def __init__(self, *, encoding: str = "path", seed: int | None = None) -> None:
        super().__init__(encoding, seed)

    def _make_model(self) -> Any:
        return _GPRegressor()

    def __repr__(self) -> str:
        return f"GPPredictor(encoding={self.encoding!r})"


class _GPRegressor:
    """``fit(x, y)`` / ``predict(x)`` over :class:`~nas_meta_tune.predictors.gp.ExactGP`."""

    def fit(self, x: np.ndarray, y: np.ndarray) -> _GPRegressor:
        from .gp import ExactGP

        self._gp = ExactGP.plain(np.asarray(x, dtype=np.float64), np.asarray(y)).fit()
        return self

    def predict(self, x: np.ndarray) -> np.ndarray:
        from .gp import GPPosterior

        return GPPosterior(self._gp, np.asarray(x, dtype=np.float64)).mean


def _space_name(archs: Sequence[Architecture]) -> str | None:
    return archs[0].space.name if len(archs) else None


class StaticTransferPredictor(BaselinePredictor):
    """Mean rank-normalised score over sibling tasks ("mean rank" transfer); ignores the samples.

    ``score(arch)`` is the mean, over the siblings that have ``arch``, of its task-wide
    rank-normalised score (:attr:`NASTask.z`). A sibling "has" ``arch`` if its table holds the same
    spec (its z is used), else a spec with the same
    :attr:`~nas_meta_tune.spaces._base.Architecture.key` (the mean z of all its rows with that key
    is used). NAS-Bench-Graph tables hold one representative per key, so there the key decides;
    NB201-based tables (NB201, TransNAS micro, AnalogNAS) hold every spec, and matching the spec
    first keeps what isomorphic cells do differently (on TransNAS micro, spec-first gave a mean
    Spearman of 0.708 against 0.702 for key means, ``K`` = 20, 5 seeds, all 7 tasks). A sibling
    lacking the architecture (NAS-Bench-Graph's ``proteins`` has only 2,021) is left out of the
    mean; an architecture no sibling has gets the mean of the other predictions of the same call
    (0 if there are none), never NaN. The lookup tables are built once, in the constructor.

    Do not include the task being predicted among the siblings: that leaks its scores.

    Args:
        siblings: Tasks of one search space, e.g. the other tasks of the held-out task's family.

    Raises:
        ValueError: ``siblings`` is empty or spans several spaces; :meth:`predict` or :meth:`fit`
            gets architectures of another space (a :class:`~nas_meta_tune.exceptions.SpaceMismatchError`).
    """

    name = "static_transfer"

    def __init__(self, siblings: Sequence[NASTask]) -> None:
        siblings = list(siblings)
        if not siblings:
            raise ValueError("StaticTransferPredictor needs at least one sibling task.")
        spaces = {t.space.name for t in siblings}
        if len(spaces) > 1:
            detail = ", ".join(f"{t.name}: {t.space.name}" for t in siblings)
            raise ValueError(
                f"sibling tasks must share one search space, but got {sorted(spaces)} ({detail})."
            )
        self.space_name: str = spaces.pop()
        self.sibling_names: tuple[str, ...] = tuple(t.name for t in siblings)
        per_spec: list[dict[Any, float]] = []
        per_key: list[dict[str, float]] = []
        spec_key: dict[Any, str] = {}
        for task in siblings:
            by_spec, by_key = self._means(task)
            per_spec.append(by_spec)
            per_key.append(by_key)
            for arch in task.archs:
                spec_key.setdefault(arch.spec, arch.key)
        #: key -> mean over the siblings that have the key of the key's mean z
        self.key_table: dict[str, float] = self._average(per_key, set(spec_key.values()))
        #: spec -> mean over the siblings of the spec's z (or, lacking the spec, the key's mean z)
        self.spec_table: dict[Any, float] = {}
        for spec, key in spec_key.items():
            total, n = 0.0, 0
            for by_spec, by_key in zip(per_spec, per_key):
                z = by_spec.get(spec)
                if z is None:
                    z = by_key.get(key)
                if z is not None:
                    total += z
                    n += 1
            self.spec_table[spec] = total / n

    @staticmethod
    def _means(task: NASTask) -> tuple[dict[Any, float], dict[str, float]]:
        """``spec -> z`` and ``key -> mean z of the key's rows`` of one task."""
        sums: dict[Any, list[float]] = {}
        by_key: dict[str, list[float]] = {}
        for arch, z in zip(task.archs, task.z.tolist()):
            sums.setdefault(arch.spec, []).append(z)
            by_key.setdefault(arch.key, []).append(z)
        return (
            {s: sum(v) / len(v) for s, v in sums.items()},
            {k: sum(v) / len(v) for k, v in by_key.items()},
        )

    @staticmethod
    def _average(tables: list[dict[str, float]], keys: set[str]) -> dict[str, float]:
        out = {}
        for k in keys:
            vals = [t[k] for t in tables if k in t]
            out[k] = sum(vals) / len(vals)
        return out

    def _check_space(self, archs: Sequence[Architecture]) -> None:
        name = _space_name(archs)
        if name is not None and name != self.space_name:
            raise SpaceMismatchError(
                f"the sibling tasks {list(self.sibling_names)} are of space {self.space_name!r}, "
                f"but the architectures are of space {name!r}."
            )

    def raw(self, archs: Sequence[Architecture]) -> np.ndarray:
        """Static scores of ``archs``, NaN where no sibling has the architecture."""
        self._check_space(archs)
        spec_get, key_get = self.spec_table.get, self.key_table.get
        nan = float("nan")
        out = np.fromiter(
            (spec_get(a.spec, nan) for a in archs), dtype=np.float64, count=len(archs)
        )
        for i in np.flatnonzero(np.isnan(out)):
            out[i] = key_get(archs[cast(int, i)].key, nan)  # an np.intp indexes as an int
        return out

    @staticmethod
    def _fill(values: np.ndarray) -> np.ndarray:
        missing = np.isnan(values)
        if missing.any():
            values[missing] = values[~missing].mean() if (~missing).any() else 0.0
        return values

    def fit(
        self, archs: Sequence[Architecture], scores: Sequence[float] | np.ndarray
    ) -> StaticTransferPredictor:
        """Check the space of ``archs`` and do nothing else (the predictor is static)."""
        _check_fit_args(archs, scores)
        self._check_space(archs)
        return self

    def predict(self, archs: Sequence[Architecture]) -> np.ndarray:
        """The static scores; architectures no sibling has get the mean of the others (or 0)."""
        return self._fill(self.raw(archs))

    def __repr__(self) -> str:
        return f"StaticTransferPredictor(siblings={list(self.sibling_names)})"


class TransferRidgePredictor(BaselinePredictor):
    """Static transfer plus a ridge regression, on the ``K`` samples, of what the transfer gets wrong.

    **Units.** The static score ``s`` (:class:`StaticTransferPredictor`) is rank-normalised over
    the whole sibling table (every spec of the siblings once), so, like :attr:`NASTask.z`, it is
    standard normal over the space. The targets ``t = normalize_scores(y)`` are standard-normal
    quantiles of the sample's ranks, i.e. estimates of the same task-wide z. Normalising over the
    table rather than over the support keeps ``s`` independent of which ``K`` were drawn (z-scoring
    over the support measured the same, within 0.01 Spearman).

    **Model.** ``t ~ b * s + ridge(x)``: ``b`` is the least-squares slope of ``t`` on ``s`` over
    the support, shrunk towards 1 with ``slope_prior`` pseudo-samples
    (``b = (cov(s, t) * K + slope_prior) / (var(s) * K + slope_prior)``, clipped to ``[0, 1.5]``),
    so few samples keep the plain residual ``t - s`` and more samples learn how far this task
    follows its siblings. A scikit-learn ``Ridge`` (with intercept) on the one-hot features of
    ``encoding`` is fitted to ``r = t - b * s``; the prediction is ``b * s + ridge(x)``. A large
    ``alpha`` shrinks the correction to a constant and gives back the static ranking;
    ``slope_prior=inf`` fixes ``b = 1``. With ``K < 3`` the predictor is the static transfer alone.

    The defaults, ``alpha=10`` and ``slope_prior=5``, were chosen on leave-one-task-out runs
    (every task of the family held out in turn, 5 seeds; ``K`` = 5, 20, 50 on TransNAS micro,
    ``K`` = 20 on NAS-Bench-Graph). ``alpha`` between 3 and 10 was best, also with ``b = 1``, and
    choosing it by leave-one-out (``RidgeCV`` over 1..30) was no better than a fixed 10. At
    ``K`` = 20 the learned slope raised the mean Spearman from 0.728 to 0.736 (TransNAS) and from
    0.516 to 0.543 (NAS-Bench-Graph). Without the prior the slope lost 0.01 at ``K`` = 5; with it,
    nothing.

    Args:
        siblings: Tasks of one search space (see :class:`StaticTransferPredictor`).
        alpha: Ridge penalty of the correction.
        slope_prior: Weight, in samples, of the prior ``b = 1``.
        encoding: ``"adjacency_onehot"`` or ``"path"``.

    Raises:
        ValueError: as :class:`StaticTransferPredictor`, or a negative ``alpha`` / ``slope_prior``.
    """

    name = "transfer_ridge"

    def __init__(
        self,
        siblings: Sequence[NASTask],
        *,
        alpha: float = 10.0,
        slope_prior: float = 5.0,
        encoding: str = "adjacency_onehot",
    ) -> None:
        if not alpha >= 0:
            raise ValueError(f"alpha must be >= 0, but got {alpha=}.")
        if not slope_prior >= 0:
            raise ValueError(f"slope_prior must be >= 0, but got {slope_prior=}.")
        if encoding not in ("adjacency_onehot", "path"):
            raise ValueError(f"encoding must be 'adjacency_onehot' or 'path', but got {encoding=}.")
        siblings = list(siblings)
        self.static = StaticTransferPredictor(siblings)
        self.alpha = float(alpha)
        self.slope_prior = float(slope_prior)
        self.encoding = encoding
        #: slope of the static score fitted by the last :meth:`fit` (1.0 before / with ``K < 3``)
        self.slope_: float = 1.0
        self._ridge: Any = None
        # rank-normalise the static score over the rows of the siblings (every spec once), as
        # NASTask.z is over a task's rows; a monotone map, so it applies to any static score
        raw = np.fromiter(self.static.spec_table.values(), dtype=np.float64)
        z = normalize_scores(raw)
        self._raw_sorted, first = np.unique(raw, return_index=True)
        self._z_sorted = z[first]

    def _static(self, archs: Sequence[Architecture]) -> np.ndarray:
        """Static scores in standard-normal units over the sibling table (see the class doc)."""
        raw = self.static.raw(archs)
        ok = ~np.isnan(raw)
        raw[ok] = np.interp(raw[ok], self._raw_sorted, self._z_sorted)
        return StaticTransferPredictor._fill(raw)

    def fit(
        self, archs: Sequence[Architecture], scores: Sequence[float] | np.ndarray
    ) -> TransferRidgePredictor:
        """Fit the slope and the ridge on what the transfer gets wrong (from 3 samples on)."""
        y = _check_fit_args(archs, scores)
        self.static.fit(archs, y)
        self._ridge = None
        self.slope_ = 1.0
        if len(archs) < 3:
            return self
        Ridge = require("sklearn.linear_model", feature="scikit-learn models").Ridge  # noqa: N806 - a class, imported lazily

        t = normalize_scores(y)
        s = self._static(archs)
        if np.isfinite(self.slope_prior):
            sc = s - s.mean()
            denom = sc @ sc + self.slope_prior
            if denom > 0:  # 0 only when every static score is equal and there is no prior
                self.slope_ = float(np.clip((sc @ t + self.slope_prior) / denom, 0.0, 1.5))
        x = encode(list(archs), self.encoding)
        self._ridge = Ridge(alpha=self.alpha).fit(x, t - self.slope_ * s)
        return self

    def predict(self, archs: Sequence[Architecture]) -> np.ndarray:
        """``slope * static score + ridge correction`` (static scores alone without a ridge)."""
        if len(archs) == 0:
            return np.zeros(0)
        s = self._static(archs)
        if self._ridge is None:
            return s
        return self.slope_ * s + self._ridge.predict(encode(list(archs), self.encoding))

    def __repr__(self) -> str:
        return (
            f"TransferRidgePredictor(siblings={list(self.static.sibling_names)}, alpha={self.alpha}, "
            f"slope_prior={self.slope_prior})"
        )


def few_shot_scores(
    predictor_factory: Callable[[], BaselinePredictor], task: NASTask, k: int, seed: int | None
) -> dict[str, float]:
    """One few-shot trial: fit on ``k`` random architectures of ``task``, rank all the others.

    The ``k`` architectures are drawn without replacement with ``numpy.random.default_rng(seed)``;
    the predictor from ``predictor_factory()`` is fitted on them and predicts every other
    architecture of the task.

    Args:
        predictor_factory: Returns a fresh predictor (e.g. ``lambda: RandomForestPredictor(seed=0)``).
        task: The held-out task.
        k: Number of evaluated architectures, ``0 <= k <= len(task) - 2``.
        seed: Seed of the sample.

    Returns:
        ``{"spearman": rho, "kendall": tau}`` between the predictions and the true scores of the
        architectures not sampled (``scipy.stats``); 0.0 when the predictions are all equal (a
        constant ranking carries no order), so both are always finite.
    """
    n = len(task)
    if not 0 <= k <= n - 2:
        raise ValueError(
            f"k must be in [0, {n - 2}] for task {task.name!r} of {n} architectures, but got {k=}."
        )
    rng = np.random.default_rng(seed)
    chosen = rng.choice(n, size=k, replace=False)
    mask = np.ones(n, dtype=bool)
    mask[chosen] = False
    rest = np.flatnonzero(mask)
    predictor = predictor_factory()
    predictor.fit([task.archs[i] for i in chosen], task.scores[chosen])
    pred = np.asarray(predictor.predict([task.archs[i] for i in rest]), dtype=np.float64)
    true = task.scores[rest]
    if pred.shape != true.shape:
        raise ValueError(
            f"{predictor!r} returned {pred.shape} predictions for {true.shape} architectures."
        )
    if not np.isfinite(pred).all():
        raise ValueError(f"{predictor!r} returned non-finite predictions.")
    if np.ptp(pred) == 0 or np.ptp(true) == 0:
        return {"spearman": 0.0, "kendall": 0.0}
    return {
        "spearman": float(spearmanr(pred, true)[0]),
        "kendall": float(kendalltau(pred, true)[0]),
    }
