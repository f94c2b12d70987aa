"""The one stop/continue rule every pruner and scheduler shares.

A learning-curve model turns a partial curve into a :class:`CurvePrediction` of the value the run
will reach at its final step. Following Domhan et al. (IJCAI 2015), a run is stopped when it is
unlikely to beat the best value seen so far: :func:`should_stop` returns ``True`` iff
``P(final >= best) < threshold``. The rule is pure (no state, no randomness), so Optuna pruners,
Ray Tune schedulers and Syne Tune schedulers all decide identically for the same prediction.

Values are always "higher is better"; callers negate losses. :func:`clean_curve` is re-exported
here so that adapters find the whole rule (clean, predict, decide) in one place.

Example:
    >>> pred = CurvePrediction(mean=0.80, std=0.02)
    >>> should_stop(pred, best=0.90, threshold=0.05)
    True
    >>> should_stop(pred, best=0.81, threshold=0.05)
    False
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .data import clean_curve

__all__ = ["CurvePrediction", "should_stop", "clean_curve"]


@dataclass(frozen=True)
class CurvePrediction:
    """A predictive distribution of a run's final value (higher is better).

    Attributes:
        mean: Predicted final value.
        std: Predictive standard deviation (``>= 0``).
        samples: Optional ``float64[k]`` draws from the predictive distribution; when given,
            :meth:`prob_at_least` counts them instead of using a normal distribution. Not part
            of equality comparisons.
        bars: Optional ``(edges float64[n + 1], probs float64[n])``: a bar ("Riemann")
            distribution with uniform density inside each bar, except that the top bar's mass
            sits at its upper edge (the bound of the values, where a bounded prior piles up
            clipped mass); :meth:`prob_at_least` reads it exactly. Takes precedence over
            ``samples``. Not part of equality comparisons.

    Raises:
        ValueError: If ``mean`` or ``std`` is not finite, ``std < 0``, ``samples`` holds
            non-finite values or ``bars`` is malformed.
    """

    mean: float
    std: float
    samples: np.ndarray | None = field(default=None, compare=False, repr=False)
    bars: tuple[np.ndarray, np.ndarray] | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        mean, std = float(self.mean), float(self.std)
        if not math.isfinite(mean):
            raise ValueError(f"mean must be finite, but got mean={self.mean!r}.")
        if not math.isfinite(std) or std < 0:
            raise ValueError(f"std must be finite and >= 0, but got std={self.std!r}.")
        object.__setattr__(self, "mean", mean)
        object.__setattr__(self, "std", std)
        if self.samples is not None:
            s = np.asarray(self.samples, dtype=np.float64).reshape(-1)
            if not np.isfinite(s).all():
                raise ValueError("samples must all be finite.")
            object.__setattr__(self, "samples", s if s.size else None)
        if self.bars is not None:
            edges = np.asarray(self.bars[0], dtype=np.float64).reshape(-1)
            probs = np.asarray(self.bars[1], dtype=np.float64).reshape(-1)
            if (
                edges.size != probs.size + 1
                or probs.size == 0
                or not np.isfinite(edges).all()
                or not np.all(np.diff(edges) > 0)
                or not np.isfinite(probs).all()
                or (probs < 0).any()
                or not probs.sum() > 0
            ):
                raise ValueError(
                    "bars must be (increasing finite edges[n + 1], non-negative probs[n])."
                )
            object.__setattr__(self, "bars", (edges, probs / probs.sum()))

    def prob_at_least(self, x: float) -> float:
        """``P(final >= x)``, in ``[0, 1]``.

        From the bars if there are any, else the samples, else ``Normal(mean, std)`` (a point
        mass at ``mean`` when ``std == 0``). ``x = -inf`` gives 1, ``x = +inf`` gives 0.

        Raises:
            ValueError: If ``x`` is NaN.
        """
        x = float(x)
        if math.isnan(x):
            raise ValueError(f"x must not be NaN, but got {x=}.")
        if self.bars is not None:
            return _bars_prob_at_least(self.bars[0], self.bars[1], x)
        if self.samples is not None:
            return float(np.mean(self.samples >= x))
        if self.std == 0.0 or math.isinf(x):
            return 1.0 if self.mean >= x else 0.0
        z = (x - self.mean) / self.std
        return float(min(1.0, max(0.0, 0.5 * math.erfc(z / math.sqrt(2.0)))))


def _bars_prob_at_least(edges: np.ndarray, probs: np.ndarray, x: float) -> float:
    if x <= edges[0]:
        return 1.0
    if x > edges[-1]:
        return 0.0
    k = min(int(np.searchsorted(edges, x, side="right")) - 1, probs.size - 1)
    # the top bar's mass sits at the upper bound; elsewhere the density is uniform in a bar
    frac = 1.0 if k == probs.size - 1 else (edges[k + 1] - x) / (edges[k + 1] - edges[k])
    return float(min(1.0, max(0.0, probs[k + 1 :].sum() + frac * probs[k])))


def should_stop(prediction: CurvePrediction, best: float, threshold: float) -> bool:
    """``True`` iff ``prediction.prob_at_least(best) < threshold``.

    Args:
        prediction: Predicted final value of the run under consideration.
        best: Best final value seen so far (higher is better). ``-inf`` or ``NaN`` means "no
            incumbent yet" and never stops a run.
        threshold: Probability in ``[0, 1]`` below which the run is stopped (Domhan et al. used
            0.05). ``0`` never stops.

    Raises:
        ValueError: If ``threshold`` is not in ``[0, 1]``.
    """
    threshold = float(threshold)
    if not 0.0 <= threshold <= 1.0:  # also rejects NaN
        raise ValueError(f"threshold must lie in [0, 1], but got {threshold=}.")
    best = float(best)
    if math.isnan(best):
        return False
    return bool(prediction.prob_at_least(best) < threshold)


@dataclass(frozen=True)
class CompletedCurve:
    """A finished trial's curve (higher is better) and, optionally, its architecture features."""

    steps: np.ndarray
    values: np.ndarray
    features: np.ndarray | None = None

    @property
    def final(self) -> float:
        return float(self.values[-1])


@dataclass(frozen=True)
class StopDecision:
    """What :meth:`LCStoppingRule.decide` concluded, and why."""

    stop: bool
    reason: str
    prob: float = float("nan")  # P(ends >= best completed) under the model
    prediction: CurvePrediction | None = field(default=None, repr=False)
