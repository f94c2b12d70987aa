"""Learning-curve models and the stop/continue rule every pruner and scheduler shares.

* :class:`ParametricEnsemble`: Domhan et al. (2015)'s parametric families, fitted by bounded
  least squares on a grid and combined into a Bayesian model average (no training data needed).
* :class:`LearnedExtrapolator`: a regressor (LightGBM or SVR) trained on earlier runs, as in
  LcSVR / NAS-Bench-x11.
* :class:`LCRankNet`: a pairwise learning-curve ranker (Wistuba & Pedapati 2020).
* :class:`LCPFN`: an in-context extrapolator in the style of LC-PFN (Adriaensen et al. 2023), a
  small transformer trained here on the parametric prior and shipped with the package.
* :class:`CurveModel` (``models.py``): the protocol of the curve models an
  :class:`LCStoppingRule` takes (:class:`ParametricModel`, :class:`LearnedModel`,
  :class:`LCRankModel`, :class:`LCPFNModel`), by object or by name through
  :func:`curve_model_resolver`; :data:`METHODS` are the names.
* :func:`should_stop`: stop iff ``P(final >= best) < threshold`` for a :class:`CurvePrediction`.
* :class:`RungHalving` (``halving.py``): successive-halving rungs whose promotions compare
  extrapolated final values, given to a rule as ``LCStoppingRule(halving=RungHalving())``.
* :class:`LCStoppingRule` (``stopping.py``): the decision every pruner and scheduler calls, and
  :class:`CurveTracker`, the curve book-keeping of the stateful schedulers.
* :func:`clean_curve` and loaders of real curves (:func:`load_nb201_curves`,
  :func:`load_lcbench_curves`).

Values are always "higher is better": negate losses before passing them.

Example:
    >>> from nas_meta_tune.curves import ParametricEnsemble, should_stop
    >>> pred = ParametricEnsemble().predict([1, 2, 3, 4, 5], [40, 55, 62, 66, 68], target_step=50)
    >>> should_stop(pred, best=95.0, threshold=0.05)
    True
"""

from __future__ import annotations

from .data import LearningCurve, clean_curve, load_lcbench_curves, load_nb201_curves
from .decisions import CurvePrediction, should_stop
from .halving import RungHalving
from .learned import LearnedExtrapolator
from .models import (
    CURVE_MODELS,
    CurveModel,
    LCPFNModel,
    LCRankModel,
    LearnedModel,
    ParametricModel,
    curve_model_resolver,
)
from .parametric import PARAMETRIC_FAMILIES, ParametricEnsemble
from .pfn import LCPFN
from .ranking import LCRankNet
from .stopping import METHODS, CompletedCurve, CurveTracker, LCStoppingRule, StopDecision

__all__ = [
    "CURVE_MODELS",
    "METHODS",
    "CurveModel",
    "LCPFNModel",
    "LCRankModel",
    "LearnedModel",
    "ParametricModel",
    "curve_model_resolver",
    "CompletedCurve",
    "CurveTracker",
    "LCStoppingRule",
    "StopDecision",
    "CurvePrediction",
    "LCPFN",
    "LCRankNet",
    "LearnedExtrapolator",
    "LearningCurve",
    "PARAMETRIC_FAMILIES",
    "ParametricEnsemble",
    "RungHalving",
    "clean_curve",
    "load_lcbench_curves",
    "load_nb201_curves",
    "should_stop",
]
