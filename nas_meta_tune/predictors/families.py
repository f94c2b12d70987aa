"""Model-based predictor families of White et al. (2021) that the other modules lack.

White, Zela, Ru, Liu & Hutter, "How Powerful are Performance Predictors in Neural Architecture
Search?" (NeurIPS 2021, https://arxiv.org/abs/2104.01177) compare 31 predictors on three axes:
initialisation (fit) time, query time and rank correlation. This module adds five of its
model-based predictors, all learned from scratch on a vector encoding of the architectures
(:func:`~nas_meta_tune.encodings.vectors.encode`):

* :class:`BayesianLinearPredictor`: Bayesian linear regression (scikit-learn's ``BayesianRidge``:
  the weight and noise precisions maximise the evidence), on the path encoding.
* :class:`BANANASPredictor`: BANANAS' meta neural network (White, Neiswanger & Savani, AAAI 2021,
  https://arxiv.org/abs/1910.11858): an ensemble of five fully connected networks on the path
  encoding; mean and spread of the five predictions.
* :class:`GPFamilyPredictor`: the exact GP of :meth:`nas_meta_tune.predictors.gp.ExactGP.plain` on
  the path encoding, with the posterior's standard deviation.
* :class:`XGBoostPredictor`: gradient-boosted trees (XGBoost) with NASLib's default settings.
* :class:`NGBoostPredictor`: natural gradient boosting (NGBoost, Duan et al., ICML 2020,
  https://arxiv.org/abs/1910.03225) of a Normal distribution with decision trees, NASLib's
  settings, with the predictive standard deviation (the tree model of the paper's OMNI).

Every predictor has the interface of :class:`~nas_meta_tune.predictors.baselines.BaselinePredictor`
plus a standard deviation where the model has one: ``fit(archs, scores)`` returns ``self``;
``predict(archs, return_std=False)`` returns predictions, or ``(mean, std)``. Unlike the
baselines, which learn rank-normalised targets, these learn the standardised raw scores
(``(y - mean) / std`` of the training scores) and predict in the scores' own units, as NASLib
does; the paper's sparse Kendall tau (predictions rounded to 0.1 accuracy points) needs them.

Example:
    >>> from nas_meta_tune import load_benchmark
    >>> bench = load_benchmark("nb201")  # doctest: +SKIP
    >>> archs, acc = bench.table("cifar10-valid")  # doctest: +SKIP
    >>> model = BANANASPredictor(seed=0).fit(archs[:100], acc[:100])  # doctest: +SKIP
    >>> mean, std = model.predict(archs[100:200], return_std=True)  # doctest: +SKIP
"""

from __future__ import annotations

import math
from abc import abstractmethod
from collections.abc import Sequence
from typing import Any, Literal, overload

import numpy as np
import torch

from .._imports import require
from ..encodings.vectors import encode
from ..exceptions import SpaceMismatchError
from ..spaces._base import Architecture
from .baselines import BaselinePredictor, _check_fit_args
from .gp import ExactGP, GPPosterior

__all__ = [
    "FamilyPredictor",
    "BayesianLinearPredictor",
    "BANANASPredictor",
    "GPFamilyPredictor",
    "XGBoostPredictor",
    "NGBoostPredictor",
    "FAMILY_PREDICTORS",
]

_ENCODINGS = ("adjacency_onehot", "path")


class FamilyPredictor(BaselinePredictor):
    """A regressor on a vector encoding that predicts in the units of the scores it was fitted on.

    Subclasses implement :meth:`_fit` and :meth:`_predict` on encoded, standardised data; this class
    checks the arguments and the search space, encodes, standardises the targets and maps the
    predictions (and standard deviations) back to the scores' units.

    Args:
        encoding: ``"path"`` or ``"adjacency_onehot"``.
        seed: Seed of the model's randomness (same seed, same predictions).
    """

    #: whether :meth:`predict` can return a standard deviation
    has_std: bool = False

    def __init__(self, encoding: str, seed: int | None) -> None:
        if encoding not in _ENCODINGS:
            raise ValueError(f"encoding must be 'adjacency_onehot' or 'path', but got {encoding=}.")
        if seed is not None and not isinstance(seed, (int, np.integer)):
            raise TypeError(f"seed must be an int or None, but got {seed!r}.")
        self.encoding = encoding
        self.seed = seed
        self._space: str | None = None
        self._y_mean = 0.0
        self._y_scale = 1.0
        self._fitted = False

    @abstractmethod
    def _fit(self, x: np.ndarray, t: np.ndarray) -> None:
        """Fit on encodings ``x`` and standardised targets ``t``."""

    @abstractmethod
    def _predict(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """Standardised predictions of ``x`` and their standard deviations (``None``: none)."""

    def fit(self, archs: Sequence[Architecture], scores: Sequence[float] | np.ndarray) -> Any:
        """Fit on ``K >= 2`` evaluated architectures of one space; returns ``self``.

        Raises:
            ValueError: fewer than two architectures, a length mismatch or non-finite scores.
        """
        y = _check_fit_args(archs, scores)
        if len(y) < 2:
            raise ValueError(
                f"{self.name} needs at least 2 architectures to fit, but got {len(y)}."
            )
        x = encode(list(archs), self.encoding).astype(np.float64)
        self._space = archs[0].space.name
        self._y_mean = float(y.mean())
        scale = float(y.std())
        self._y_scale = scale if scale > 0 else 1.0
        self._fit(x, (y - self._y_mean) / self._y_scale)
        self._fitted = True
        return self

    @overload
    def predict(
        self, archs: Sequence[Architecture], return_std: Literal[False] = ...
    ) -> np.ndarray: ...

    @overload
    def predict(
        self, archs: Sequence[Architecture], return_std: Literal[True]
    ) -> tuple[np.ndarray, np.ndarray]: ...

    def predict(
        self, archs: Sequence[Architecture], return_std: bool = False
    ) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
        """Predicted scores of ``archs`` (``float64``, the fitted scores' units).

        Args:
            archs: Architectures of the space the predictor was fitted on.
            return_std: Also return the predictive standard deviations (models with
                :attr:`has_std` only).

        Raises:
            RuntimeError: called before :meth:`fit`.
            ValueError: ``return_std=True`` for a model without one, or architectures of another
                space (a :class:`~nas_meta_tune.exceptions.SpaceMismatchError`).
        """
        if not self._fitted:
            raise RuntimeError(f"{type(self).__name__}.predict called before fit.")
        if return_std and not self.has_std:
            raise ValueError(f"{type(self).__name__} has no predictive standard deviation.")
        if len(archs) == 0:
            empty = np.zeros(0)
            return (empty, empty.copy()) if return_std else empty
        if archs[0].space.name != self._space:
            raise SpaceMismatchError(
                f"{self.name} was fitted on space {self._space!r} but asked about space "
                f"{archs[0].space.name!r}."
            )
        mean, std = self._predict(encode(list(archs), self.encoding).astype(np.float64))
        mean = self._y_mean + self._y_scale * np.asarray(mean, dtype=np.float64)
        if not return_std:
            return mean
        if std is None:  # a subclass that sets has_std must return one
            raise RuntimeError(f"{type(self).__name__} returned no standard deviation.")
        return mean, self._y_scale * np.asarray(std, dtype=np.float64)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(encoding={self.encoding!r}, seed={self.seed})"


class BayesianLinearPredictor(FamilyPredictor):
    """Bayesian linear regression with evidence-maximised precisions (``BayesianRidge``).

    The weights have the prior ``N(0, 1 / lambda)`` and the noise the precision ``alpha``; both
    maximise the marginal likelihood (MacKay's updates, scikit-learn's ``BayesianRidge`` with its
    default Gamma(1e-6, 1e-6) hyperpriors). The standard deviation is the posterior predictive
    one (noise included). White et al. used the same model on the path encoding.

    Args:
        encoding: ``"path"`` (default) or ``"adjacency_onehot"``.
        seed: Unused (the fit is deterministic); accepted for a uniform interface.
        **params: More ``sklearn.linear_model.BayesianRidge`` arguments.
    """

    name = "bayes_lin_reg"
    has_std = True

    def __init__(self, *, encoding: str = "path", seed: int | None = None, **params: Any) -> None:
        super().__init__(encoding, seed)
        self.params = params
        self._model: Any = None

    def _fit(self, x: np.ndarray, t: np.ndarray) -> None:
        BayesianRidge = require(  # noqa: N806 - a class, imported lazily
            "sklearn.linear_model", feature="scikit-learn models"
        ).BayesianRidge
        self._model = BayesianRidge(**self.params).fit(x, t)

    def _predict(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        mean, std = self._model.predict(x, return_std=True)
        return mean, std


class _MLPEnsemble(torch.nn.Module):
    """``members`` independent fully connected ReLU networks evaluated as one batched product."""

    def __init__(self, members: int, d_in: int, width: int, layers: int) -> None:
        super().__init__()
        sizes = [d_in] + [width] * layers + [1]
        self.weights = torch.nn.ParameterList(
            torch.nn.Parameter(torch.empty(members, a, b, dtype=torch.float64))
            for a, b in zip(sizes[:-1], sizes[1:])
        )
        self.biases = torch.nn.ParameterList(
            torch.nn.Parameter(torch.zeros(members, 1, b, dtype=torch.float64)) for b in sizes[1:]
        )

    def reset_parameters(self, generator: torch.Generator) -> None:
        """Glorot-uniform weights (Keras' default, as BANANAS' Keras code) and zero biases."""
        with torch.no_grad():
            for w in self.weights:
                bound = math.sqrt(6.0 / (w.shape[1] + w.shape[2]))
                w.copy_(torch.rand(w.shape, generator=generator, dtype=w.dtype) * 2 * bound - bound)
            for b in self.biases:
                b.zero_()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x [members, B, d]`` -> predictions ``[members, B]``."""
        last = len(self.weights) - 1
        for i, (w, b) in enumerate(zip(self.weights, self.biases)):
            x = torch.baddbmm(b, x, w)
            if i < last:
                x = torch.relu(x)
        return x.squeeze(-1)


class BANANASPredictor(FamilyPredictor):
    """BANANAS' meta neural network: an ensemble of fully connected networks on the path encoding.

    As in BANANAS (White, Neiswanger & Savani, AAAI 2021): five networks of 10 hidden ReLU layers
    of width 20, each trained with Adam (learning rate 0.01) for 200 epochs of mini-batches of 32
    on the mean absolute error; the members differ only in their random initialisation and batch
    order. The prediction is the members' mean, the standard deviation their spread (BANANAS'
    independent-Thompson-sampling acquisition reads both).

    Departures: the targets are the standardised scores (BANANAS fits raw validation errors);
    the five networks are trained in lockstep as one batched model (same result as five separate
    loops, five times fewer Python steps); float64 and Glorot-uniform initialisation as Keras.
    NASLib's version, which White et al. (2021) ran, uses 20 layers, learning rate 0.001,
    500 epochs and an L1 penalty on the output layer instead.

    Args:
        encoding: ``"path"`` (default) or ``"adjacency_onehot"``.
        members: Networks in the ensemble.
        layers: Hidden layers per network.
        width: Units per hidden layer.
        epochs: Passes over the training data.
        batch_size: Mini-batch size.
        lr: Adam's learning rate.
        seed: Seed of the initialisation and the batch order.
    """

    name = "bananas"
    has_std = True

    def __init__(
        self,
        *,
        encoding: str = "path",
        members: int = 5,
        layers: int = 10,
        width: int = 20,
        epochs: int = 200,
        batch_size: int = 32,
        lr: float = 0.01,
        seed: int | None = None,
    ) -> None:
        super().__init__(encoding, seed)
        for arg, value in (
            ("members", members),
            ("layers", layers),
            ("width", width),
            ("epochs", epochs),
            ("batch_size", batch_size),
        ):
            if value < 1:
                raise ValueError(f"{arg} must be >= 1, but got {arg}={value}.")
        if not lr > 0:
            raise ValueError(f"lr must be > 0, but got {lr=}.")
        self.members = members
        self.layers = layers
        self.width = width
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self._net: _MLPEnsemble | None = None

    def _fit(self, x: np.ndarray, t: np.ndarray) -> None:
        gen = torch.Generator().manual_seed(
            int(np.random.default_rng(self.seed).integers(2**62))
            if self.seed is None
            else self.seed
        )
        xs = torch.as_tensor(x, dtype=torch.float64)
        ts = torch.as_tensor(t, dtype=torch.float64)
        n, e = len(xs), self.members
        net = _MLPEnsemble(e, xs.shape[1], self.width, self.layers)
        net.reset_parameters(gen)
        opt = torch.optim.Adam(net.parameters(), lr=self.lr)
        net.train()
        for _ in range(self.epochs):
            order = torch.argsort(torch.rand(e, n, generator=gen), dim=1)  # one order per member
            for start in range(0, n, self.batch_size):
                idx = order[:, start : start + self.batch_size]
                opt.zero_grad(set_to_none=True)
                loss = (net(xs[idx]) - ts[idx]).abs().mean(dim=1).sum()  # sum of per-member MAEs
                loss.backward()
                opt.step()
        net.eval()
        self._net = net

    def _predict(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if self._net is None:
            raise RuntimeError("BANANASPredictor.predict called before fit.")
        with torch.no_grad():
            xs = torch.as_tensor(x, dtype=torch.float64).expand(self.members, -1, -1)
            preds = self._net(xs).numpy()
        return preds.mean(0), preds.std(0)

    def __repr__(self) -> str:
        return (
            f"BANANASPredictor(encoding={self.encoding!r}, members={self.members}, "
            f"layers={self.layers}, width={self.width}, epochs={self.epochs}, seed={self.seed})"
        )


class GPFamilyPredictor(FamilyPredictor):
    """An exact GP on the path encoding, with the posterior's standard deviation.

    The model is :meth:`nas_meta_tune.predictors.gp.ExactGP.plain` (constant mean, ARD RBF
    kernel, BoTorch's dimension-scaled lengthscale prior, MAP hyperparameters by L-BFGS-B) on
    the standardised scores. The standard deviation is the predictive one of an observation
    (posterior variance of the latent function plus the fitted noise). It differs from
    :class:`~nas_meta_tune.predictors.baselines.GPPredictor` (same GP) in its targets
    (standardised scores, not rank-normalised ones) and in giving a standard deviation.

    White et al. used a GP with a fixed kernel from GPyTorch; this one fits one lengthscale
    per input.

    Args:
        encoding: ``"path"`` (default) or ``"adjacency_onehot"``.
        maxiter: L-BFGS-B iterations of the hyperparameter fit.
        seed: Unused (the fit is deterministic); accepted for a uniform interface.
    """

    name = "gp"
    has_std = True

    def __init__(
        self, *, encoding: str = "path", maxiter: int = 100, seed: int | None = None
    ) -> None:
        super().__init__(encoding, seed)
        if maxiter < 0:
            raise ValueError(f"maxiter must be >= 0, but got {maxiter=}.")
        self.maxiter = maxiter
        self._gp: Any = None

    def _fit(self, x: np.ndarray, t: np.ndarray) -> None:
        self._gp = ExactGP.plain(x, t).fit(maxiter=self.maxiter)

    def _predict(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        post = GPPosterior.build(self._gp, x)
        return post.mean, np.sqrt(post.var + post.noise)


class XGBoostPredictor(FamilyPredictor):
    """Gradient-boosted trees (XGBoost) with NASLib's defaults, as White et al. ran them.

    ``max_depth=6``, ``min_child_weight=1``, ``learning_rate=0.3``, no column subsampling,
    squared error, 500 boosting rounds; one thread, seeded. No standard deviation. The default
    encoding is the adjacency one-hot, NASLib's default for its tree models.

    Args:
        encoding: ``"adjacency_onehot"`` (default) or ``"path"``.
        num_boost_round: Boosting rounds.
        seed: XGBoost's ``seed``.
        **params: ``xgboost.train`` parameters overriding the defaults.
    """

    name = "xgboost"

    DEFAULTS: dict[str, Any] = {
        "objective": "reg:squarederror",
        "booster": "gbtree",
        "max_depth": 6,
        "min_child_weight": 1,
        "colsample_bytree": 1.0,
        "colsample_bylevel": 1.0,
        "learning_rate": 0.3,
        "nthread": 1,
        "verbosity": 0,
    }

    def __init__(
        self,
        *,
        encoding: str = "adjacency_onehot",
        num_boost_round: int = 500,
        seed: int | None = None,
        **params: Any,
    ) -> None:
        super().__init__(encoding, seed)
        if num_boost_round < 1:
            raise ValueError(f"num_boost_round must be >= 1, but got {num_boost_round=}.")
        self.num_boost_round = num_boost_round
        self.params = {**self.DEFAULTS, **params}
        self._booster: Any = None

    def _fit(self, x: np.ndarray, t: np.ndarray) -> None:
        xgb = require("xgboost", feature="XGBoost models")
        params = {**self.params, "seed": 0 if self.seed is None else int(self.seed)}
        self._booster = xgb.train(
            params, xgb.DMatrix(x, label=t), num_boost_round=self.num_boost_round
        )

    def _predict(self, x: np.ndarray) -> tuple[np.ndarray, None]:
        xgb = require("xgboost", feature="XGBoost models")
        return self._booster.predict(xgb.DMatrix(x)), None


class NGBoostPredictor(FamilyPredictor):
    """Natural gradient boosting of a Normal distribution with decision trees (NGBoost).

    NGBoost (Duan et al., ICML 2020, https://arxiv.org/abs/1910.03225) boosts the mean and the
    log standard deviation of a Normal predictive distribution along the natural gradient of
    the log score. The settings are the defaults of NASLib's ``NGBoost`` predictor
    (``naslib/predictors/trees/ngb.py``, the code of White et al.'s experiments): 505 boosting
    rounds, learning rate 0.0813, each round on a random half (``minibatch_frac=0.508``) of the
    training set; base learner a ``DecisionTreeRegressor`` (squared error, ``max_depth=6``,
    ``max_features=0.792``, ``min_samples_leaf = min(max(n // 2, 1), 15)`` and
    ``min_samples_split = min(max(n // 2, 2), 20)`` for ``n`` training architectures, as in
    NASLib's latest version; earlier ones fixed them at 15 and 20), on the adjacency one-hot
    encoding (NASLib's choice for NGBoost). The prediction is the mean of the predictive
    Normal, the standard deviation its scale.

    With these settings no tree can split below 60 training architectures (a leaf needs
    ``min(n // 2, 15)`` of the ``int(0.508 n)`` architectures of a round), so every
    architecture gets the same predictive Normal (boosted fits of the training scores'
    marginal), as in NASLib; pass smaller ``min_samples_leaf`` and ``min_samples_split`` for
    small sets.

    Departures from NASLib: the trees' criterion is named ``"squared_error"`` (NASLib's
    ``"friedman_mse"``, which scikit-learn 1.9 deprecates as an alias of it); seeded, where
    NASLib leaves both seeds unset: NGBoost's ``random_state`` draws the mini-batches, the trees'
    ``random_state`` the ``max_features`` candidates (NGBoost clones its base learner, so every
    tree gets the same tree seed); silent (``verbose=False``). Needs the ``ngboost`` package
    (``pip install 'nas-meta-tune[benchmarks]'``).

    Args:
        encoding: ``"adjacency_onehot"`` (default) or ``"path"``.
        n_estimators: Boosting rounds.
        learning_rate: Step size of each round.
        minibatch_frac: Fraction of the training set each round fits on.
        seed: Seed of the mini-batches and of the trees' feature subsampling (``None``: 0).
        **tree_params: ``sklearn.tree.DecisionTreeRegressor`` arguments overriding
            :attr:`TREE_DEFAULTS` (and the size-dependent leaf and split minimums).
    """

    name = "ngboost"
    has_std = True

    #: the base learner's settings (NASLib's defaults)
    TREE_DEFAULTS: dict[str, Any] = {
        "criterion": "squared_error",
        "splitter": "best",
        "max_depth": 6,
        "max_features": 0.7920456318712875,
    }

    def __init__(
        self,
        *,
        encoding: str = "adjacency_onehot",
        n_estimators: int = 505,
        learning_rate: float = 0.08127053060223186,
        minibatch_frac: float = 0.5081694143793387,
        seed: int | None = None,
        **tree_params: Any,
    ) -> None:
        super().__init__(encoding, seed)
        if n_estimators < 1:
            raise ValueError(f"n_estimators must be >= 1, but got {n_estimators=}.")
        if not learning_rate > 0:
            raise ValueError(f"learning_rate must be > 0, but got {learning_rate=}.")
        if not 0 < minibatch_frac <= 1:
            raise ValueError(f"minibatch_frac must be in (0, 1], but got {minibatch_frac=}.")
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.minibatch_frac = minibatch_frac
        self.tree_params = {**self.TREE_DEFAULTS, **tree_params}
        self._model: Any = None

    def _fit(self, x: np.ndarray, t: np.ndarray) -> None:
        ngboost = require("ngboost", feature="NGBoost models")
        tree = require("sklearn.tree", feature="NGBoost models")
        seed = 0 if self.seed is None else int(self.seed)
        n = len(x)
        base = tree.DecisionTreeRegressor(
            **{
                "min_samples_leaf": min(max(n // 2, 1), 15),
                "min_samples_split": min(max(n // 2, 2), 20),
                "random_state": seed,
                **self.tree_params,
            }
        )
        self._model = ngboost.NGBRegressor(
            Base=base,
            n_estimators=self.n_estimators,
            learning_rate=self.learning_rate,
            minibatch_frac=self.minibatch_frac,
            verbose=False,
            random_state=seed,
        ).fit(x, t)

    def _predict(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        params = self._model.pred_dist(x).params  # the predictive Normal: loc and scale
        return params["loc"], params["scale"]

    def __repr__(self) -> str:
        return (
            f"NGBoostPredictor(encoding={self.encoding!r}, n_estimators={self.n_estimators}, "
            f"learning_rate={self.learning_rate:.4g}, seed={self.seed})"
        )


#: name -> class of the predictors defined here
FAMILY_PREDICTORS: dict[str, type[FamilyPredictor]] = {
    cls.name: cls
    for cls in (
        BayesianLinearPredictor,
        BANANASPredictor,
        GPFamilyPredictor,
        XGBoostPredictor,
        NGBoostPredictor,
    )
}
