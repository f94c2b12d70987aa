"""OMNI-style combined predictor (White et al. 2021, "How Powerful are Performance Predictors in NAS?").

White et al. found that no single family of performance predictors wins everywhere, and that
combining one of each family in a tree model does: OMNI feeds a zero-cost proxy (jacob_cov), a
learning-curve feature (SoTL-E, the training loss of an early epoch) and the architecture encoding
to a gradient-boosted tree model (NGBoost), trained on the few architectures evaluated so far.

:class:`OMNIPredictor` is that combination with the pieces this package has: any zero-cost
proxies (computed with :func:`nas_meta_tune.proxies.score_architectures` or taken from a
precomputed table), any per-architecture learning-curve features (e.g. the validation accuracy
after a short training schedule, NAS-Bench-201's 12-epoch accuracy, or an early value of each
curve recorded by a pruned trial) and a vector encoding, in LightGBM (tuned for small samples as
:class:`~nas_meta_tune.predictors.LightGBMPredictor`) instead of NGBoost. Trees see each feature
only through its order, so proxies need no normalisation; missing values (NaN) are allowed.

Its predictions can rank candidates for a sampler, e.g. to warm-start a study::

    omni = OMNIPredictor().fit(evaluated, scores, features=feats_evaluated)
    for arch in top_k(candidates, omni.predict(candidates, features=feats_candidates)):
        study.enqueue_trial(arch.to_params())
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from .._imports import require
from ..encodings.vectors import encode
from ..exceptions import SpaceMismatchError
from ..spaces._base import Architecture
from .baselines import LightGBMPredictor, _check_fit_args
from .tasks import normalize_scores

__all__ = ["OMNIPredictor"]

Features = Mapping[str, Sequence[float] | np.ndarray]


class OMNIPredictor:
    """Zero-cost proxies + learning-curve features + encoding, in a gradient-boosted tree model.

    Args:
        encoding: ``"adjacency_onehot"``, ``"path"`` or ``None`` (features only).
        seed: LightGBM's ``random_state``.
        **params: ``lightgbm.LGBMRegressor`` arguments overriding
            :attr:`LightGBMPredictor.DEFAULTS` (made for 5 to 100 training samples).

    ``features`` passed to :meth:`fit` and :meth:`predict` map a name (``"jacob_cov"``,
    ``"valid_12"``, ...) to one value per architecture; :meth:`predict` needs the same names as
    :meth:`fit`. With fewer than two samples :meth:`predict` falls back to the mean rank of the
    given features (every feature read as higher = better), the zero-shot use of the proxies.
    """

    name = "omni"

    def __init__(
        self, *, encoding: str | None = "adjacency_onehot", seed: int | None = None, **params: Any
    ) -> None:
        if encoding not in (None, "adjacency_onehot", "path"):
            raise ValueError(
                f"encoding must be 'adjacency_onehot', 'path' or None, but got {encoding=}."
            )
        self.encoding = encoding
        self.seed = seed
        self.params = {**LightGBMPredictor.DEFAULTS, **params}
        self._model: Any = None
        self._names: tuple[str, ...] | None = None
        self._space: str | None = None

    def __repr__(self) -> str:
        names = list(self._names) if self._names is not None else None
        return f"OMNIPredictor(encoding={self.encoding!r}, features={names}, seed={self.seed})"

    @property
    def feature_names(self) -> tuple[str, ...] | None:
        """Names of the features it was fitted with."""
        return self._names

    def _matrix(self, archs: Sequence[Architecture], features: Features | None) -> np.ndarray:
        features = dict(features or {})
        names = tuple(sorted(features))
        if self._names is not None and names != self._names:
            raise ValueError(
                f"OMNIPredictor was fitted with features {list(self._names)} but got {list(names)}."
            )
        cols = []
        for name in names:
            col = np.asarray(features[name], dtype=np.float64).reshape(-1)
            if col.shape[0] != len(archs):
                raise ValueError(
                    f"feature {name!r} has {col.shape[0]} values for {len(archs)} architectures."
                )
            cols.append(np.where(np.isfinite(col), col, np.nan))
        parts = [np.stack(cols, axis=1)] if cols else []
        if self.encoding is not None:
            parts.append(encode(list(archs), self.encoding).astype(np.float64))
        if not parts:
            raise ValueError("OMNIPredictor needs features, an encoding, or both.")
        return np.concatenate(parts, axis=1)

    def fit(
        self,
        archs: Sequence[Architecture],
        scores: Sequence[float],
        *,
        features: Features | None = None,
    ) -> OMNIPredictor:
        """Fit on evaluated architectures (raw scores, higher is better) and their features."""
        y = _check_fit_args(archs, scores)
        self._names = None
        self._space = archs[0].space.name if len(archs) else None
        x = self._matrix(archs, features)
        self._names = tuple(sorted(dict(features or {})))
        self._model = None
        if len(archs) >= 2:
            LGBMRegressor = require("lightgbm", feature="LightGBM models").LGBMRegressor  # noqa: N806 - a class, imported lazily

            self._model = LGBMRegressor(random_state=self.seed, **self.params)
            self._model.fit(x, normalize_scores(y))
        return self

    def predict(
        self, archs: Sequence[Architecture], *, features: Features | None = None
    ) -> np.ndarray:
        """``float64[len(archs)]`` predicted scores, higher = predicted better (order only)."""
        if self._names is None:
            raise RuntimeError("OMNIPredictor.predict called before fit.")
        if len(archs) == 0:
            return np.zeros(0)
        if self._space is not None and archs[0].space.name != self._space:
            raise SpaceMismatchError(
                f"omni was fitted on space {self._space!r} but asked about space "
                f"{archs[0].space.name!r}."
            )
        x = self._matrix(archs, features)
        if self._model is not None:
            return np.asarray(self._model.predict(x), dtype=np.float64)
        k = len(self._names)
        if k == 0:
            return np.zeros(len(archs))
        ranks = np.stack([normalize_scores(x[:, j]) for j in range(k)])  # NaN stays NaN
        seen = np.isfinite(ranks)
        total = np.where(seen, ranks, 0.0).sum(axis=0)
        return total / np.maximum(seen.sum(axis=0), 1)
