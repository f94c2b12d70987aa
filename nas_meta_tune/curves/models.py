"""Learning-curve models as objects, and the resolver that turns a name into one.

:class:`~nas_meta_tune.curves.LCStoppingRule` and every pruner and scheduler built on it take a
*curve model*: an object following the :class:`CurveModel` protocol, or its name, resolved by
:func:`curve_model_resolver` (as PyG's ``activation_resolver`` accepts ``"relu"`` or a module).
The names, in :data:`CURVE_MODELS` (the one list of them; :data:`METHODS` is its keys):

* ``"parametric"``, :class:`ParametricModel`: Domhan et al. (2015)'s parametric families
  (:class:`~nas_meta_tune.curves.ParametricEnsemble`), no training.
* ``"learned"``, :class:`LearnedModel`: a NAS-Bench-x11-style regressor
  (:class:`~nas_meta_tune.curves.LearnedExtrapolator`) fitted on the completed curves.
* ``"rank"``, :class:`LCRankModel`: LCRankNet (Wistuba & Pedapati 2020), fine-tuned on the
  completed curves; it ranks, it predicts no final value.
* ``"pfn"``, :class:`LCPFNModel`: the in-context LC-PFN extrapolator (Adriaensen et al. 2023,
  :class:`~nas_meta_tune.curves.LCPFN`), no fitting, one forward pass per prediction.

A model object holds only its configuration (the LC-PFN network, the initial LCRankNet...); the
rule that uses it keeps the fitted state, so one object may serve several rules.

Example:
    >>> from nas_meta_tune.curves import LCStoppingRule, LCRankModel, curve_model_resolver
    >>> curve_model_resolver("parametric")
    ParametricModel()
    >>> LCStoppingRule(model=LCRankModel(epochs=5), max_step=50)
    LCStoppingRule(method='rank', max_step=50, threshold=0.05)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar, Protocol, cast, runtime_checkable

import numpy as np

from .._logging import get_logger
from .decisions import CompletedCurve, CurvePrediction
from .learned import LearnedExtrapolator
from .parametric import ParametricEnsemble
from .pfn import LCPFN
from .ranking import LCRankNet

__all__ = [
    "CURVE_MODELS",
    "METHODS",
    "CurveModel",
    "LCPFNModel",
    "LCRankModel",
    "LearnedModel",
    "ParametricModel",
    "curve_model_resolver",
]

_log = get_logger(__name__)


@runtime_checkable
class CurveModel(Protocol):
    """What :class:`~nas_meta_tune.curves.LCStoppingRule` needs of a learning-curve model.

    Attributes:
        name: The model's name (in :data:`CURVE_MODELS` for the shipped ones; shown in reprs
            and log lines).
        min_curves: Completed curves the model needs before it decides; until then the rule's
            calibrated parametric ensemble decides (0: from the first completed curve).
        fits: The model is fitted on the completed curves (:meth:`fit`; the rule refits it as
            they change, every ``refit_every`` completions). Models that do not fit are
            training-free extrapolators, whose predictions the rule calibrates.
        ranks: The model gives the probability of ending above the best completed curve
            (:meth:`prob_better`) instead of a predicted final value (no halving then).
        normalises: The model works on a value range: the rule passes ``bounds`` (its
            ``value_range``, else a range read from the completed curves) to :meth:`predict`.
    """

    name: ClassVar[str]
    min_curves: ClassVar[int]
    fits: ClassVar[bool]
    ranks: ClassVar[bool]
    normalises: ClassVar[bool]

    def setup(self, *, value_range: tuple[float, float] | None) -> None:
        """Called once by each rule that uses the model (load weights, warn about arguments)."""

    def fit(self, completed: Sequence[CompletedCurve], target: float, *, seed: int | None) -> Any:
        """A model fitted on ``completed`` to predict the value at step ``target`` (``fits``
        models only)."""

    def predict(
        self,
        fitted: Any,
        steps: np.ndarray,
        values: np.ndarray,
        target: float,
        *,
        parametric: ParametricEnsemble,
        bounds: tuple[float, float] | None,
        features: np.ndarray | None,
    ) -> CurvePrediction:
        """The predictive distribution of the value at ``target`` of a cleaned partial curve.

        Args:
            fitted: What :meth:`fit` returned (``None`` for a model that does not fit).
            steps: The steps of the partial curve.
            values: Its values, higher is better.
            target: The step whose value is predicted.
            parametric: The rule's parametric ensemble (its seed and ``value_range``).
            bounds: The value range (``normalises`` models; else ``None``).
            features: Architecture features of the curve's trial, if any.
        """

    def prob_better(
        self,
        fitted: Any,
        steps: np.ndarray,
        values: np.ndarray,
        best: CompletedCurve,
        target: float,
    ) -> float:
        """P(the partial curve ends above ``best`` at ``target``) (``ranks`` models only)."""


def _training_set(
    completed: Sequence[CompletedCurve],
) -> tuple[list[tuple[np.ndarray, np.ndarray]], list[float], np.ndarray | None]:
    curves = [(c.steps, c.values) for c in completed]
    finals = [c.final for c in completed]
    feats = [c.features for c in completed]
    features = (
        np.stack(cast("list[np.ndarray]", feats))
        if all(f is not None for f in feats) and feats
        else None
    )
    return curves, finals, features


class _Model:
    """Defaults shared by the shipped models (a training-free extrapolator)."""

    name: ClassVar[str] = ""
    min_curves: ClassVar[int] = 0
    fits: ClassVar[bool] = False
    ranks: ClassVar[bool] = False
    normalises: ClassVar[bool] = False

    def setup(self, *, value_range: tuple[float, float] | None) -> None:
        return None

    def fit(self, completed: Sequence[CompletedCurve], target: float, *, seed: int | None) -> Any:
        return None

    def prob_better(
        self,
        fitted: Any,
        steps: np.ndarray,
        values: np.ndarray,
        best: CompletedCurve,
        target: float,
    ) -> float:
        raise ValueError(f"{type(self).__name__} predicts final values; it ranks no curves.")

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class ParametricModel(_Model):
    """Domhan et al. (2015)'s parametric curve families, fitted on the partial curve alone.

    The rule's :class:`~nas_meta_tune.curves.ParametricEnsemble` (seeded by its ``seed``, bounded
    by its ``value_range``) makes the prediction; no training data is needed.
    """

    name = "parametric"

    def predict(
        self,
        fitted: Any,
        steps: np.ndarray,
        values: np.ndarray,
        target: float,
        *,
        parametric: ParametricEnsemble,
        bounds: tuple[float, float] | None,
        features: np.ndarray | None,
    ) -> CurvePrediction:
        """The rule's parametric ensemble's prediction, from the partial curve alone."""
        return parametric.predict(steps, values, target)


class LCPFNModel(_Model):
    """The in-context LC-PFN extrapolator (Adriaensen et al. 2023): one forward pass per
    prediction, on values normalised by a known range.

    Args:
        pfn: The network (default: the shipped one, :meth:`~nas_meta_tune.curves.LCPFN.pretrained`,
            loaded when a rule first uses the model, so bad weights fail before a study runs).
    """

    name = "pfn"
    normalises = True

    def __init__(self, pfn: LCPFN | None = None) -> None:
        if pfn is not None and not isinstance(pfn, LCPFN):
            raise TypeError(f"pfn must be an LCPFN or None, but got {pfn=}.")
        self.pfn = pfn

    def __repr__(self) -> str:
        return "LCPFNModel()" if self.pfn is None else f"LCPFNModel({self.pfn!r})"

    def setup(self, *, value_range: tuple[float, float] | None) -> None:
        """Load the shipped LC-PFN unless one was given; warn when ``value_range`` is missing."""
        if self.pfn is None:
            self.pfn = LCPFN.pretrained()  # fails now, not mid-study, if the weights are bad
        if value_range is None:
            _log.warning(
                "LCStoppingRule(method='pfn') without value_range: LC-PFN works on a known "
                "range (e.g. value_range=(0, 100) for accuracy in percent); the completed "
                "curves' range stands in."
            )

    def predict(
        self,
        fitted: Any,
        steps: np.ndarray,
        values: np.ndarray,
        target: float,
        *,
        parametric: ParametricEnsemble,
        bounds: tuple[float, float] | None,
        features: np.ndarray | None,
    ) -> CurvePrediction:
        """LC-PFN's predictive distribution of the value at ``target``, on the range ``bounds``."""
        if self.pfn is None:
            self.pfn = LCPFN.pretrained()
        assert bounds is not None
        return self.pfn.predict(steps, values, target, bounds=bounds)


class LearnedModel(_Model):
    """A NAS-Bench-x11-style regressor (:class:`~nas_meta_tune.curves.LearnedExtrapolator`)
    fitted on the completed curves (and their architecture features, when every one has them);
    the calibrated parametric ensemble decides until ``min_curves`` curves have completed.

    Args:
        min_curves: Completed curves needed before the regressor decides (default 5).
    """

    name = "learned"
    fits = True

    def __init__(self, *, min_curves: int = 5) -> None:
        if min_curves < 1:
            raise ValueError(f"min_curves must be >= 1, but got {min_curves=}.")
        self.min_curves = int(min_curves)  # type: ignore[misc]

    def __repr__(self) -> str:
        return f"LearnedModel(min_curves={self.min_curves})"

    def fit(self, completed: Sequence[CompletedCurve], target: float, *, seed: int | None) -> Any:
        """A ``LearnedExtrapolator`` fitted on the completed curves (and their features, if any)."""
        curves, finals, features = _training_set(completed)
        return LearnedExtrapolator(seed=seed).fit(curves, finals, target, features=features)

    def predict(
        self,
        fitted: Any,
        steps: np.ndarray,
        values: np.ndarray,
        target: float,
        *,
        parametric: ParametricEnsemble,
        bounds: tuple[float, float] | None,
        features: np.ndarray | None,
    ) -> CurvePrediction:
        """The fitted extrapolator's prediction of the value at ``target``."""
        assert isinstance(fitted, LearnedExtrapolator)
        return fitted.predict(steps, values, target, features=features)


class LCRankModel(_Model):
    """LCRankNet (Wistuba & Pedapati 2020): P(a partial curve ends above the best completed one),
    fine-tuned on the completed curves; the calibrated parametric ensemble decides until
    ``min_curves`` curves have completed.

    Args:
        pretrained: The initial network (e.g. one pre-trained on prior curves); ``None``: from
            scratch.
        epochs: Fine-tuning epochs on each new set of completed curves.
        min_curves: Completed curves needed before the ranker decides (default 5).
    """

    name = "rank"
    fits = True
    ranks = True

    def __init__(
        self, pretrained: LCRankNet | None = None, *, epochs: int = 30, min_curves: int = 5
    ) -> None:
        if pretrained is not None and not isinstance(pretrained, LCRankNet):
            raise TypeError(f"pretrained must be an LCRankNet or None, but got {pretrained=}.")
        if epochs < 0:
            raise ValueError(f"epochs must be >= 0, but got {epochs=}.")
        if min_curves < 1:
            raise ValueError(f"min_curves must be >= 1, but got {min_curves=}.")
        self.pretrained = pretrained
        self.epochs = int(epochs)
        self.min_curves = int(min_curves)  # type: ignore[misc]

    def __repr__(self) -> str:
        init = "" if self.pretrained is None else "pretrained, "
        return f"LCRankModel({init}epochs={self.epochs}, min_curves={self.min_curves})"

    def fit(self, completed: Sequence[CompletedCurve], target: float, *, seed: int | None) -> Any:
        """An ``LCRankNet`` from ``pretrained`` (if given), fine-tuned once 2 curves completed."""
        curves, finals, _ = _training_set(completed)
        model = LCRankNet(feature_dim=0, seed=seed)
        if self.pretrained is not None:
            model.load_state_dict(self.pretrained.state_dict())
        if len(completed) >= 2:
            model.fit(curves, finals, target_step=target, epochs=self.epochs)
        return model

    def predict(
        self,
        fitted: Any,
        steps: np.ndarray,
        values: np.ndarray,
        target: float,
        *,
        parametric: ParametricEnsemble,
        bounds: tuple[float, float] | None,
        features: np.ndarray | None,
    ) -> CurvePrediction:
        """Raise ``ValueError``: a ranking model predicts no final value."""
        raise ValueError("method='rank' ranks curves; it predicts no final value.")

    def prob_better(
        self,
        fitted: Any,
        steps: np.ndarray,
        values: np.ndarray,
        best: CompletedCurve,
        target: float,
    ) -> float:
        """P(the partial curve ends above ``best`` at ``target``), from the fitted ranking net."""
        assert isinstance(fitted, LCRankNet)
        return float(
            fitted.prob_better((steps, values), (best.steps, best.values), target_step=target)
        )


#: the curve models by name: the one list of the package's methods
CURVE_MODELS: dict[str, type[CurveModel]] = {
    "parametric": ParametricModel,
    "learned": LearnedModel,
    "rank": LCRankModel,
    "pfn": LCPFNModel,
}
METHODS = tuple(CURVE_MODELS)


def curve_model_resolver(
    query: str | CurveModel,
    *,
    rank_model: LCRankNet | None = None,
    rank_epochs: int | None = None,
    pfn_model: LCPFN | None = None,
) -> CurveModel:
    """A curve model from its name or itself (as PyG's ``activation_resolver``).

    Args:
        query: A name from :data:`CURVE_MODELS` or a :class:`CurveModel` (returned as is).
        rank_model: For ``"rank"``: :class:`LCRankModel`'s ``pretrained``; ignored for the
            other names.
        rank_epochs: For ``"rank"``: :class:`LCRankModel`'s ``epochs`` (default 30); ignored for
            the other names.
        pfn_model: For ``"pfn"``: :class:`LCPFNModel`'s network; ignored for the other names.

    Raises:
        ValueError: For an unknown name, or side arguments given with a model object (they
            belong in its constructor).
        TypeError: For anything else than a name or a :class:`CurveModel`.
    """
    if isinstance(query, str):
        if query not in CURVE_MODELS:
            raise ValueError(f"method must be one of {METHODS}, but got method={query!r}.")
        if query == "rank":
            return LCRankModel(rank_model, epochs=30 if rank_epochs is None else rank_epochs)
        if query == "pfn":
            return LCPFNModel(pfn_model)
        return CURVE_MODELS[query]()
    if not isinstance(query, CurveModel):
        raise TypeError(
            f"a curve model must be one of {METHODS} or a CurveModel, but got {query!r}."
        )
    side = {"rank_model": rank_model, "rank_epochs": rank_epochs, "pfn_model": pfn_model}
    given = [k for k, v in side.items() if v is not None]
    if given:
        raise ValueError(
            f"{given} configure a model named by a string; pass them to the model object "
            f"{query!r} instead."
        )
    return query
