"""Successive halving whose rung promotions compare extrapolated final values.

Successive halving (Jamieson & Talwalkar 2016; asynchronously, ASHA, Li et al. 2020) lets a trial
past rung ``k`` (the step ``min_resource * reduction_factor**k``) only if its value there is among
the top ``1 / reduction_factor`` of the values every trial had at that rung. Curves that cross
(a slow starter that ends best) lose at the early rungs. Following the "single-fidelity to
multi-fidelity" idea of NAS-Bench-x11 (Yan et al. 2021, LcSVR / WPM extrapolation) and the
freeze-thaw view (Swersky et al. 2014), :class:`RungHalving` ranks the trials at a rung by the
*predicted final value* of their curve cut at the rung, and keeps a trial while its prediction
(mean and uncertainty) leaves it a probability of at least ``threshold`` of ending above the
rung's cut-off, under a normal with the prediction's mean and standard deviation::

    stop at rung k  iff  P(final >= cutoff_k) < threshold,
    cutoff_k = the (n_k // reduction_factor)-th highest predicted final mean among the n_k
               trials (this one included) that reached rung k (the highest while n_k < eta).

The extrapolation is the one an :class:`~nas_meta_tune.curves.LCStoppingRule` makes (parametric
ensemble, learned regressor or LC-PFN, calibrated on the completed curves), so the halving is
chosen as an object: ``LCStoppingRule(method="pfn", halving=RungHalving())``. With
``stop_below_best`` the rule's own test (``P(final >= best completed) < threshold``) also runs
between rungs. Framework-free: the adapters pass every other trial's curve (running, stopped or
completed) as the rung's competitors.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from typing import Protocol

import numpy as np

from .decisions import CompletedCurve, CurvePrediction, StopDecision, clean_curve

__all__ = ["RungHalving"]


class Extrapolator(Protocol):
    """What a rung needs of a stopping rule (:class:`~nas_meta_tune.curves.LCStoppingRule`)."""

    def model_key(self, completed: Sequence[CompletedCurve]) -> object: ...

    def predict(
        self,
        steps: np.ndarray,
        values: np.ndarray,
        completed: Sequence[CompletedCurve],
        *,
        target: float | None = None,
    ) -> CurvePrediction: ...


class RungHalving:
    """Rungs of successive halving, promotions by extrapolated final value.

    Args:
        min_resource: The first rung's step (the last rung is the last below the rule's target
            step: its ``max_step``, or with ``max_step=None`` the longest completed curve's
            end). ``None`` (the default) infers it, as Optuna's ``min_resource="auto"`` does,
            from the completed curves: their longest one's last step over 100, at least
            ``min_points`` times their first reported step (3 for epochs counted from 1), so
            that the first rung already extrapolates. Chosen on one LCBench task (OpenML
            167149, 3 seeds): rungs from step 1 decided on current values lost the optimum
            (regret 1.3 points) where rungs from step 3 lost nothing (``benchmarks/RESULTS.md``).
        reduction_factor: ``eta``: rungs are ``min_resource * eta**k``; about ``1 / eta`` of the
            trials at a rung go on to the next.
        threshold: Stop a trial at a rung when the probability that its final value reaches the
            rung's cut-off is below this (``0.5`` compares predicted means; lower keeps more
            uncertain trials).
        stop_below_best: Also apply the stopping rule's own test (``P(final >= best completed)
            < its threshold``) at its decision steps between rungs.
        min_points: Curves cut at a rung with fewer reported points than this are scored by
            their last value (plain successive halving at that rung): no extrapolation from
            one or two points.

    Raises:
        ValueError: On a non-positive ``min_resource``, ``reduction_factor
            <= 1``, ``threshold`` outside ``(0, 1)`` or ``min_points < 1``.

    Example:
        >>> from nas_meta_tune.curves import LCStoppingRule, RungHalving
        >>> rule = LCStoppingRule(max_step=27, halving=RungHalving(min_resource=3))
        >>> rule.halving.rungs(27.0, first_step=1.0).tolist()
        [3.0, 9.0]
    """

    def __init__(
        self,
        *,
        min_resource: float | None = None,
        reduction_factor: float = 3,
        threshold: float = 0.5,
        stop_below_best: bool = True,
        min_points: int = 3,
    ) -> None:
        if min_resource is not None and not (math.isfinite(min_resource) and min_resource > 0):
            raise ValueError(
                f"min_resource must be a positive number or None, but got {min_resource=}."
            )
        if not (math.isfinite(reduction_factor) and reduction_factor > 1):
            raise ValueError(f"reduction_factor must be > 1, but got {reduction_factor=}.")
        if not 0.0 < threshold < 1.0:
            raise ValueError(f"threshold must be in (0, 1), but got {threshold=}.")
        if min_points < 1:
            raise ValueError(f"min_points must be >= 1, but got {min_points=}.")
        self.min_resource = None if min_resource is None else float(min_resource)
        self.reduction_factor = float(reduction_factor)
        self.threshold = float(threshold)
        self.stop_below_best = bool(stop_below_best)
        self.min_points = int(min_points)
        self._scores: dict[tuple, float] = {}

    def __repr__(self) -> str:
        auto = lambda x: "auto" if x is None else f"{x:g}"  # noqa: E731
        return (
            f"RungHalving(min_resource={auto(self.min_resource)}, "
            f"reduction_factor={self.reduction_factor:g}, threshold={self.threshold:g})"
        )

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state["_scores"] = {}  # a cache
        return state

    # ------------------------------------------------------------------ rungs
    def rungs(self, target: float, first_step: float = 1.0) -> np.ndarray:
        """The rung steps below ``target`` (``min_resource`` inferred from ``target`` and
        ``first_step`` when it is ``None``: ``max(min_points * first_step, target / 100)``)."""
        lo = self.min_resource
        if lo is None:
            lo = max(self.min_points * float(first_step), float(target) / 100.0)
        out: list[float] = []
        r = lo
        while r < target - 1e-9 and len(out) < 64:
            out.append(r)
            r *= self.reduction_factor
        return np.asarray(out, dtype=np.float64)

    # ------------------------------------------------------------------ scores
    def _score(
        self,
        rule: Extrapolator,
        s: np.ndarray,
        v: np.ndarray,
        done: Sequence[CompletedCurve],
        target: float,
    ) -> float:
        """The predicted final mean of a curve cut at a rung (its last value with too few points)."""
        if len(s) < self.min_points:
            return float(v[-1])
        model = rule.model_key(done)
        if model is False:  # depends on the curve itself: not cached
            return float(rule.predict(s, v, done, target=target).mean)
        key = (id(rule), hashlib.sha1(s.tobytes() + v.tobytes()).digest(), target, model)
        if key not in self._scores:
            if len(self._scores) > 200_000:
                self._scores.clear()
            self._scores[key] = float(rule.predict(s, v, done, target=target).mean)
        return self._scores[key]

    # ------------------------------------------------------------------ the decision
    def decide(
        self,
        rule: Extrapolator,
        s: np.ndarray,
        v: np.ndarray,
        done: Sequence[CompletedCurve],
        others: Sequence[tuple[np.ndarray, np.ndarray]],
        target: float,
    ) -> StopDecision | None:
        """The rung decision for the clean curve ``(s, v)``, ``None`` when it is not crossing a rung.

        Args:
            rule: The stopping rule that extrapolates (its :meth:`LCStoppingRule.predict`).
            s: The steps of the trial's clean curve.
            v: Its values (higher is better).
            done: The completed curves (reference for calibration, learned models, inference).
            others: Every other trial's curve ``(steps, values)``: running, stopped, completed.
            target: The step predictions are made for.
        """
        first = min([float(c.steps[0]) for c in done if len(c.steps)] or [float(s[0])])
        rungs = self.rungs(target, first)
        crossed = rungs[rungs <= s[-1] + 1e-9]
        if len(crossed) == 0:
            return None
        rung = float(crossed[-1])
        if len(s) > 1 and s[-2] >= rung - 1e-9:
            return None  # it crossed this rung at an earlier report
        k = len(crossed) - 1
        scores = []
        for os_, ov in others:
            cs, cv = clean_curve(os_, ov)
            if len(cs) == 0 or cs[-1] < rung - 1e-9:
                continue  # never reached the rung
            cut = cs <= rung + 1e-9
            if not cut.any():
                continue
            scores.append(self._score(rule, cs[cut], cv[cut], done, target))
        mine = self._score(rule, s, v, done, target)
        scores.append(mine)
        n = len(scores)
        idx = max(0, int(n // self.reduction_factor) - 1)
        cutoff = float(np.sort(scores)[::-1][idx])
        if len(s) < self.min_points:
            prob = 1.0 if mine >= cutoff else 0.0
            pred: CurvePrediction | None = None
            how = f"last value {mine:.4g}"
        else:
            # the Gaussian summary (mean, std): the cut-off is a rank of predicted *means*, and a
            # skewed predictive (the parametric samples) would otherwise give the rung's best
            # trial P(final >= its own mean) < 0.5
            pred = CurvePrediction(mine, rule.predict(s, v, done, target=target).std)
            prob = pred.prob_at_least(cutoff)
            how = f"predicted final {pred.mean:.4g} ± {pred.std:.2g}"
        stop = prob < self.threshold
        return StopDecision(
            stop,
            f"rung {k} (step {rung:g}): P(final >= cut-off {cutoff:.4g} of {n} trials) = "
            f"{prob:.3f} vs {self.threshold:g}; {how}",
            prob,
            pred,
        )
