"""The framework-neutral early-stopping rule behind every pruner and scheduler of the package.

Optuna pruners, Ray Tune schedulers and the Syne Tune scheduler only translate their framework's
trials into ``(steps, values)`` curves and call :meth:`LCStoppingRule.decide`; the rule is here,
so all three frameworks stop the same trials.

A partial curve is stopped when the model gives it a probability below ``threshold`` of ending
at least as high as the best completed curve (Domhan et al. 2015's rule; for ``"rank"`` the
probability is LCRankNet's P(this curve ends above the best completed one), Wistuba & Pedapati
2020). Values are "higher is better": adapters negate them for minimisation.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np

from .._logging import get_logger
from .decisions import CompletedCurve, StopDecision, clean_curve, should_stop
from .halving import RungHalving
from .models import METHODS, CurveModel, ParametricModel, curve_model_resolver
from .parametric import CurvePrediction, ParametricEnsemble
from .pfn import LCPFN
from .ranking import LCRankNet

__all__ = [
    "METHODS",
    "CompletedCurve",
    "StopDecision",
    "LCStoppingRule",
    "CurveTracker",
    "signed_range",
]

_log = get_logger(__name__)

_Z90 = 1.2815515655446004  # 90th percentile of the standard normal
_FALLBACK = ParametricModel()  # decides while a fitted model has too few completed curves


class LCStoppingRule:
    """Decide whether a partial learning curve should be stopped.

    The curve model is an object (:class:`~nas_meta_tune.curves.CurveModel`) or its name,
    resolved by :func:`~nas_meta_tune.curves.curve_model_resolver`::

        LCStoppingRule(model="pfn", value_range=(0, 100))               # by name
        LCStoppingRule(model=LCPFNModel(my_pfn), value_range=(0, 100))  # by object
        LCStoppingRule(model=LCRankModel(pretrained, epochs=10))
        LCStoppingRule(method="rank", rank_model=pretrained, rank_epochs=10)  # older spelling

    Args:
        model: The curve model, or its name (default ``"parametric"``):
            ``"parametric"`` (:class:`~nas_meta_tune.curves.ParametricModel`: ensemble of
            parametric curve families, no training needed), ``"learned"``
            (:class:`~nas_meta_tune.curves.LearnedModel`: NAS-Bench-x11-style regressor fitted on
            the completed curves; the calibrated parametric rule decides while there are fewer than
            its ``min_curves``), ``"rank"`` (:class:`~nas_meta_tune.curves.LCRankModel`: LCRankNet,
            fine-tuned on the completed curves, from ``rank_model`` if given, e.g. one pre-trained
            on prior curves) or ``"pfn"`` (:class:`~nas_meta_tune.curves.LCPFNModel`: the
            in-context LC-PFN extrapolator trained on the parametric prior; no fitting, one
            forward pass per decision).
        method: The older name of ``model`` (a name or a model object); give one of the two.
        max_step: The step at which a curve ends (the prediction target). ``None`` (the
            default) infers it from the study, as Hyperband's ``max_resource="auto"``: the last
            step of the longest completed curve; nothing is stopped before a curve completes.
        min_step: No decision before a curve has reached this step (warm-up).
        interval: Decide only when a curve crosses a decision step ``min_step + k * interval``
            (with missing steps: the first report past one); 1 with integer epochs decides at
            every epoch.
        threshold: Stop when the probability of ending at least as high as the best completed
            curve is below this.
        min_completed: No decision before this many curves have completed.
        value_range: Known range of the values (e.g. ``(0, 100)`` for accuracies in percent;
            "higher is better" units), which constrains the parametric families. ``"pfn"`` maps
            it to the prior's ``[0, 1]``; without it, a range read from the completed curves stands
            in (from the 10th percentile of their values, so a large first-epoch loss or one
            diverged run does not squash the rest, to their maximum; widened by 5% below and
            25% above), values below it count as its low end, and a warning suggests passing
            ``value_range``.
        seed: Seeds the models.
        rank_model: With ``model="rank"`` given by name: the initial LCRankNet
            (:class:`~nas_meta_tune.curves.LCRankModel`'s ``pretrained``).
        rank_epochs: With ``model="rank"`` given by name: fine-tuning epochs of the LCRankNet on
            each new set of completed curves (default 30; ``LCRankModel``'s ``epochs``).
        refit_every: Refit the learned / ranking model once this many more curves have completed
            than at its last fit (1: after every completion; larger bounds the cost of long
            studies).
        calibrate: For a model that does not fit (``"parametric"``, ``"pfn"``): widen its
            predictive distribution so that it covers how the study's own completed curves really
            ended. At a decision at step ``t``, each of the last ``calibration_curves`` completed
            curves is cut at ``t`` and extrapolated by the same model (cached per curve and step);
            its error ``final - predicted`` gives a z-score. The predictive std is multiplied by
            the 90th percentile of those z-scores over the normal's (1.28) when that is above 1,
            and is at least the 90th percentile of the under-predictions over 1.28.
            Under-predicting a curve that ends up the best is what makes a pruner lose the
            optimum; the parametric families' own intervals are too narrow for that.
        calibration_curves: Completed curves used for calibration (the most recent).
        pfn_model: With ``model="pfn"`` given by name: the LC-PFN (default: the shipped one;
            :class:`~nas_meta_tune.curves.LCPFNModel`'s ``pfn``).
        halving: Successive-halving rungs whose promotions compare this rule's extrapolated
            final values (:class:`~nas_meta_tune.curves.halving.RungHalving`); ``None`` (the
            default): the rule alone. Needs a model that extrapolates (not ``"rank"``) and
            the other trials' curves in :meth:`decide`.

    Raises:
        ValueError: On an unknown model name, ``model`` and ``method`` both given, side
            arguments (``rank_model``, ``rank_epochs``, ``pfn_model``) with a model object, or
            a number out of its range.
    """

    def __init__(
        self,
        *,
        model: str | CurveModel | None = None,
        method: str | CurveModel | None = None,
        max_step: float | None = None,
        min_step: float = 1,
        interval: float = 1,
        threshold: float = 0.05,
        min_completed: int = 1,
        value_range: tuple[float, float] | None = None,
        seed: int | None = 0,
        rank_model: LCRankNet | None = None,
        rank_epochs: int | None = None,
        refit_every: int = 1,
        calibrate: bool = True,
        calibration_curves: int = 20,
        pfn_model: LCPFN | None = None,
        halving: RungHalving | None = None,
    ) -> None:
        if model is not None and method is not None:
            raise ValueError(
                f"pass model or method (its older name), not both: got {model=} and {method=}."
            )
        query = model if model is not None else method if method is not None else "parametric"
        self.model: CurveModel = curve_model_resolver(
            query, rank_model=rank_model, rank_epochs=rank_epochs, pfn_model=pfn_model
        )
        self._check(halving, max_step, min_step, interval, threshold, refit_every)
        if min_completed < 1:
            raise ValueError(f"min_completed must be >= 1, but got {min_completed=}.")
        if calibration_curves < 1:
            raise ValueError(f"calibration_curves must be >= 1, but got {calibration_curves=}.")
        self.method = self.model.name
        self.max_step = None if max_step is None else float(max_step)
        self.min_step = float(min_step)
        self.interval = float(interval)
        self.threshold = float(threshold)
        self.min_completed = int(min_completed)
        self.seed = seed
        self.refit_every = int(refit_every)
        self.value_range = value_range
        self._parametric = ParametricEnsemble(seed=seed, bounds=value_range)
        self._fitted: tuple[str, int, object] | None = (
            None  # (fingerprint of the completed set, its size, model)
        )
        self.calibrate = bool(calibrate)
        self.calibration_curves = int(calibration_curves)
        self._errors: dict[tuple, tuple[float, float] | None] = {}
        self.halving = halving
        self.model.setup(value_range=value_range)

    def _check(
        self,
        halving: RungHalving | None,
        max_step: float | None,
        min_step: float,
        interval: float,
        threshold: float,
        refit_every: int,
    ) -> None:
        if halving is not None and not isinstance(halving, RungHalving):
            raise TypeError(f"halving must be a RungHalving or None, but got {halving=}.")
        if halving is not None and self.model.ranks:
            raise ValueError(
                "halving compares extrapolated final values: it needs a model that extrapolates "
                f"('parametric', 'learned' or 'pfn'), but got method={self.model.name!r}."
            )
        if max_step is not None and not (np.isfinite(max_step) and max_step > 0):
            raise ValueError(f"max_step must be a positive number or None, but got {max_step=}.")
        if not (0 <= min_step <= (np.inf if max_step is None else max_step)):
            raise ValueError(f"min_step must be in [0, max_step], but got {min_step=}.")
        if not (np.isfinite(interval) and interval > 0):
            raise ValueError(f"interval must be a positive number, but got {interval=}.")
        if not 0.0 < threshold < 1.0:
            raise ValueError(f"threshold must be in (0, 1), but got {threshold=}.")
        if refit_every < 1:
            raise ValueError(f"refit_every must be >= 1, but got {refit_every=}.")

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state["_errors"] = {}  # a cache, rebuilt on demand
        return state

    def __repr__(self) -> str:
        step = "auto" if self.max_step is None else f"{self.max_step:g}"
        halving = "" if self.halving is None else f", halving={self.halving!r}"
        return (
            f"LCStoppingRule(method={self.method!r}, max_step={step}, "
            f"threshold={self.threshold:g}{halving})"
        )

    def target_step(self, completed: Sequence[CompletedCurve]) -> float | None:
        """The step predictions are made for: ``max_step``, else the last step of the longest
        completed curve (``None`` before any completes)."""
        if self.max_step is not None:
            return self.max_step
        ends = [float(c.steps[-1]) for c in completed if len(c.steps)]
        return max(ends) if ends else None

    # ------------------------------------------------------------------ models
    @staticmethod
    def _fingerprint(completed: Sequence[CompletedCurve]) -> str:
        h = hashlib.sha1()
        for c in completed:
            h.update(np.asarray(c.steps, dtype=np.float64).tobytes())
            h.update(np.asarray(c.values, dtype=np.float64).tobytes())
        return h.hexdigest()

    def _fit(self, completed: Sequence[CompletedCurve], target: float) -> object:
        """The model fitted on ``completed`` (refitted only when it changes, per ``refit_every``)."""
        key = self._fingerprint(completed)
        if self._fitted is not None and (
            self._fitted[0] == key or 0 <= len(completed) - self._fitted[1] < self.refit_every
        ):
            return self._fitted[2]
        model = self.model.fit(completed, target, seed=self.seed)
        self._fitted = (key, len(completed), model)
        return model

    # ------------------------------------------------------------------ extrapolation
    def _bounds(self, v: np.ndarray, done: Sequence[CompletedCurve]) -> tuple[float, float]:
        """The value range a normalising model (LC-PFN) works on: ``value_range``, else the
        completed curves' span (constant between completions, so calibration errors stay cached)."""
        if self.value_range is not None:
            return (float(self.value_range[0]), float(self.value_range[1]))
        parts = [np.asarray(c.values, dtype=np.float64) for c in done] or [v]
        seen = np.concatenate(parts)
        seen = seen[np.isfinite(seen)]
        lo, hi = float(np.quantile(seen, 0.1)), float(seen.max())
        span = hi - lo if hi > lo else max(abs(hi), 1.0)
        return (lo - 0.05 * span, hi + 0.25 * span)

    def _extrapolate(
        self,
        model: CurveModel,
        s: np.ndarray,
        v: np.ndarray,
        bounds: tuple[float, float] | None,
        target: float,
    ) -> CurvePrediction:
        """A training-free ``model``'s prediction of the value at ``target``."""
        return model.predict(
            None, s, v, target, parametric=self._parametric, bounds=bounds, features=None
        )

    # ------------------------------------------------------------------ calibration
    def _error_at(
        self,
        model: CurveModel,
        c: CompletedCurve,
        step: float,
        bounds: tuple[float, float] | None,
        target: float,
    ) -> tuple[float, float] | None:
        """``(final - predicted, predicted std)`` of ``c`` extrapolated from its steps <= ``step``."""
        steps = np.asarray(c.steps, dtype=np.float64)
        values = np.asarray(c.values, dtype=np.float64)
        digest = hashlib.sha1(steps.tobytes() + values.tobytes()).digest()
        key = (model.name, digest, step, bounds, target)
        if key not in self._errors:
            if len(self._errors) > 100_000:
                self._errors.clear()
            cut = steps <= step
            if cut.sum() < 3 or step >= steps.max():
                self._errors[key] = None
            else:
                p = self._extrapolate(model, steps[cut], values[cut], bounds, target)
                self._errors[key] = (c.final - p.mean, p.std)
        return self._errors[key]

    def _calibrated(
        self,
        model: CurveModel,
        pred: CurvePrediction,
        step: float,
        done: list[CompletedCurve],
        bounds: tuple[float, float] | None,
        target: float,
    ) -> CurvePrediction:
        errors = [
            e
            for c in done[-self.calibration_curves :]
            if (e := self._error_at(model, c, step, bounds, target))
        ]
        if not errors:
            return pred
        err = np.array([e[0] for e in errors])
        floor = 1e-3 * (
            self.value_range[1] - self.value_range[0]
            if self.value_range is not None
            else max(1e-12, float(np.abs(err).max()))
        )
        z = err / np.maximum([e[1] for e in errors], floor)
        scale = max(1.0, float(np.quantile(z, 0.9)) / _Z90)
        std = max(pred.std * scale, float(np.quantile(err, 0.9)) / _Z90)
        if std <= pred.std:
            return pred
        # a normal with the widened spread: the ensemble's samples are capped by its families'
        # asymptotes, so stretching them would leave the decision (which counts samples) as
        # over-confident as before (a re-run of the best curve was then pruned)
        return CurvePrediction(pred.mean, std)

    def _at_decision_step(self, s: np.ndarray) -> bool:
        k_last = np.floor((s[-1] - self.min_step) / self.interval + 1e-9)
        if len(s) == 1 or s[-2] < self.min_step:
            return True
        return bool(k_last > np.floor((s[-2] - self.min_step) / self.interval + 1e-9))

    # ------------------------------------------------------------------ prediction
    def model_key(self, completed: Sequence[CompletedCurve]) -> object:
        """What a prediction's mean depends on besides the curve: the learned model's training
        set or LC-PFN's inferred value range (``None`` when nothing: the parametric model and
        LC-PFN with ``value_range``; ``False`` when it depends on the curve itself)."""
        if self.model.normalises and self.value_range is None:
            # the value range then comes from the completed curves (or the curve itself)
            done = [c for c in completed if len(c.values)]
            return self._bounds(np.zeros(1), done) if done else False
        if not self.model.fits or self.model.ranks or len(completed) < self.model.min_curves:
            return None
        if self._fitted is not None and 0 <= len(completed) - self._fitted[1] < self.refit_every:
            return self._fitted[0]
        return self._fingerprint(completed)

    def _prediction(
        self,
        s: np.ndarray,
        v: np.ndarray,
        done: list[CompletedCurve],
        features: np.ndarray | None,
        target: float,
    ) -> CurvePrediction:
        """The model's prediction (calibrated for a model that does not fit), or the calibrated
        parametric one while a fitted model has fewer than its ``min_curves`` curves."""
        model = self.model if len(done) >= self.model.min_curves else _FALLBACK
        fitted = self._fit(done, target) if model.fits else None
        bounds = self._bounds(v, done) if model.normalises else None
        pred = model.predict(
            fitted, s, v, target, parametric=self._parametric, bounds=bounds, features=features
        )
        if self.calibrate and not model.fits:
            pred = self._calibrated(model, pred, float(s[-1]), done, bounds, target)
        return pred

    def predict(
        self,
        steps: Sequence[float] | np.ndarray,
        values: Sequence[float] | np.ndarray,
        completed: Sequence[CompletedCurve],
        *,
        target: float | None = None,
        features: np.ndarray | None = None,
    ) -> CurvePrediction:
        """The predictive distribution of the final value of a partial curve, as the rule sees it.

        The parametric / LC-PFN prediction (calibrated on ``completed`` when ``calibrate``) or the
        learned model's (the calibrated parametric one until enough curves completed).

        Args:
            steps: The steps of the partial curve.
            values: Its values (higher is better; the curve is cleaned first).
            completed: The completed curves.
            target: The step to predict (default :meth:`target_step`).
            features: Architecture features (``"learned"`` only).

        Raises:
            ValueError: For a model that ranks (``"rank"``: a ranking, not a prediction), an
                empty curve or no target step (no ``max_step`` and no completed curve).
        """
        if self.model.ranks:
            raise ValueError(f"method={self.method!r} ranks curves; it predicts no final value.")
        s, v = clean_curve(steps, values)
        if len(s) == 0:
            raise ValueError("the curve has no finite point to extrapolate.")
        done = [c for c in completed if len(c.values) and np.isfinite(c.final)]
        target = self.target_step(done) if target is None else float(target)
        if target is None:
            raise ValueError("no target step: pass max_step or complete a curve first.")
        return self._prediction(s, v, done, features, target)

    # ------------------------------------------------------------------ the decision
    def decide(
        self,
        steps: Sequence[float] | np.ndarray,
        values: Sequence[float] | np.ndarray,
        completed: Sequence[CompletedCurve],
        *,
        features: np.ndarray | None = None,
        others: Sequence[tuple[np.ndarray, np.ndarray]] = (),
    ) -> StopDecision:
        """Stop or continue the partial curve ``(steps, values)``; never raises on numeric input.

        Args:
            steps: Steps reported so far (any order; repeated steps keep the last value).
            values: Values at those steps, higher is better; NaN / inf are ignored.
            completed: Curves of the finished trials (the reference best is their best final).
            features: Architecture features of this trial (``"learned"`` only).
            others: With ``halving``: every other trial's curve ``(steps, values)`` (running,
                stopped and completed ones), the competitors at a rung.
        """
        s, v = clean_curve(steps, values)
        done = [c for c in completed if len(c.values) and np.isfinite(c.final)]
        if len(s) == 0:
            return StopDecision(False, "no finite value reported yet")
        if s[-1] < self.min_step:
            return StopDecision(False, f"warm-up: step {s[-1]:g} < min_step {self.min_step:g}")
        if self.max_step is not None and s[-1] >= self.max_step:
            return StopDecision(False, "curve already at max_step")
        if self.halving is None and not self._at_decision_step(s):
            return StopDecision(False, "between decision steps")
        if len(done) < self.min_completed:
            return StopDecision(
                False, f"{len(done)} completed curve(s) < min_completed {self.min_completed}"
            )
        target = self.target_step(done)
        if target is None or s[-1] >= target:
            return StopDecision(False, "curve already at the longest completed curve's last step")
        try:
            if self.halving is not None:
                rung = self.halving.decide(self, s, v, done, others, target)
                if rung is not None and (rung.stop or not self.halving.stop_below_best):
                    return rung
                if not self.halving.stop_below_best:
                    return StopDecision(False, "between rungs")
                if not self._at_decision_step(s):
                    return rung or StopDecision(False, "between decision steps")
            return self._decide(s, v, done, features, target)
        except Exception as exc:  # a model failure must never stop a study: the trial goes on
            _log.warning(
                "LCStoppingRule(%s): no decision (%s: %s); the trial continues.",
                self.method,
                type(exc).__name__,
                exc,
            )
            return StopDecision(False, f"model error: {type(exc).__name__}: {exc}")

    def _decide(
        self,
        s: np.ndarray,
        v: np.ndarray,
        done: list[CompletedCurve],
        features: np.ndarray | None,
        target: float,
    ) -> StopDecision:
        best_curve = max(done, key=lambda c: c.final)
        best = best_curve.final
        if len(done) < self.model.min_curves:
            # too few curves to fit the model: the calibrated parametric rule decides (the
            # uncalibrated fallback pruned the eventual best of short studies)
            pred = self._prediction(s, v, done, None, target)
            prob = pred.prob_at_least(best)
            return StopDecision(
                should_stop(pred, best, self.threshold),
                f"P(final >= best {best:.4g}) = {prob:.3f} (parametric until "
                f"{self.model.min_curves} curves complete; predicted {pred.mean:.4g} ± "
                f"{pred.std:.2g})",
                prob,
                pred,
            )
        if self.model.ranks:
            fitted = self._fit(done, target)
            prob = self.model.prob_better(fitted, s, v, best_curve, target)
            stop = prob < self.threshold
            return StopDecision(
                stop,
                f"P(ends above the best completed) = {prob:.3f} vs threshold {self.threshold:g}",
                prob,
            )
        pred = self._prediction(s, v, done, features, target)
        prob = pred.prob_at_least(best)
        stop = should_stop(pred, best, self.threshold)
        return StopDecision(
            stop,
            f"P(final >= best {best:.4g}) = {prob:.3f} (predicted {pred.mean:.4g} ± {pred.std:.2g})",
            prob,
            pred,
        )


def signed_range(value_range: tuple[float, float] | None, mode: str) -> tuple[float, float] | None:
    """``value_range`` in "higher is better" units for a metric of direction ``mode``."""
    if value_range is None:
        return None
    lo, hi = float(value_range[0]), float(value_range[1])
    if not lo < hi:
        raise ValueError(
            f"value_range must be (low, high) with low < high, but got {value_range=}."
        )
    return (lo, hi) if mode == "max" else (-hi, -lo)


class CurveTracker:
    """Curves of the running and completed trials of a stateful scheduler (Ray Tune, Syne Tune).

    Optuna pruners read curves from storage; schedulers see results one at a time, so they keep
    them here: :meth:`on_result` records a value and returns the rule's decision,
    :meth:`on_complete` turns the trial's curve into a reference curve, :meth:`on_remove` forgets
    a stopped or failed trial. Values are "higher is better" (pass ``mode="min"`` to negate).
    With a rule that has ``halving``, a removed trial's curve is kept as a rung competitor
    (successive halving compares every trial that reached a rung, stopped ones included).

    Args:
        rule: The stopping rule.
        mode: ``"max"`` or ``"min"``: the direction of the reported metric.
    """

    def __init__(self, rule: LCStoppingRule, *, mode: str = "max") -> None:
        if mode not in ("max", "min"):
            raise ValueError(f"mode must be 'max' or 'min', but got {mode=}.")
        self.rule = rule
        self.mode = mode
        self._running: dict[str, dict[float, float]] = {}
        self._completed: list[CompletedCurve] = []
        self._retired: list[tuple[np.ndarray, np.ndarray]] = []  # stopped curves (halving)

    @property
    def completed(self) -> list[CompletedCurve]:
        """The completed curves (the rule's reference curves), as a new list."""
        return list(self._completed)

    def _sign(self, value: float) -> float:
        return value if self.mode == "max" else -value

    def record(self, trial_id: str, step: float | None, value: float | None) -> bool:
        """Record ``value`` at ``step``; False (and nothing recorded) when either is missing,
        non-numeric or non-finite."""
        try:
            step_f, value_f = float(step), float(value)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            return False
        if not (np.isfinite(step_f) and np.isfinite(value_f)):
            return False
        self._running.setdefault(str(trial_id), {})[step_f] = self._sign(value_f)
        return True

    def on_result(self, trial_id: str, step: float | None, value: float | None) -> StopDecision:
        """Record ``value`` at ``step`` (missing, non-numeric or non-finite: ignored) and decide."""
        if not self.record(trial_id, step, value):
            return StopDecision(False, "result without a finite numeric step and metric")
        curve = self._running[str(trial_id)]
        steps = np.fromiter(curve.keys(), dtype=np.float64)
        values = np.fromiter(curve.values(), dtype=np.float64)
        return self.rule.decide(steps, values, self._completed, others=self.others(trial_id))

    def others(self, trial_id: str) -> list[tuple[np.ndarray, np.ndarray]]:
        """The curves of every trial but ``trial_id`` when the rule has ``halving`` (its rung
        competitors: running, stopped and completed), else none."""
        if self.rule.halving is None:
            return []
        out = [
            (np.fromiter(c.keys(), dtype=np.float64), np.fromiter(c.values(), dtype=np.float64))
            for k, c in self._running.items()
            if k != str(trial_id)
        ]
        out += [(c.steps, c.values) for c in self._completed]
        return out + self._retired

    def on_complete(self, trial_id: str) -> None:
        """The trial finished its schedule: its curve becomes a reference curve."""
        curve = self._running.pop(str(trial_id), None)
        if curve:
            s, v = clean_curve(list(curve.keys()), list(curve.values()))
            if len(s):
                self._completed.append(CompletedCurve(s, v))

    def on_remove(self, trial_id: str) -> None:
        """The trial was stopped or failed: its partial curve is dropped (kept as a rung
        competitor when the rule has ``halving``)."""
        curve = self._running.pop(str(trial_id), None)
        if curve and self.rule.halving is not None:
            s, v = clean_curve(list(curve.keys()), list(curve.values()))
            if len(s):
                self._retired.append((s, v))

    def state(self) -> dict:
        """Plain-data state (curves only; models are refitted on demand)."""
        return {
            "mode": self.mode,
            "running": {k: dict(v) for k, v in self._running.items()},
            "completed": [(c.steps.tolist(), c.values.tolist()) for c in self._completed],
            "retired": [(s.tolist(), v.tolist()) for s, v in self._retired],
        }

    def set_state(self, state: dict) -> None:
        """Restore the curves from :meth:`state`'s plain data."""
        self.mode = state["mode"]
        # steps are float keys (a JSON checkpoint hands them back as strings)
        self._running = {
            k: {float(step): float(x) for step, x in v.items()} for k, v in state["running"].items()
        }
        self._completed = [
            CompletedCurve(np.asarray(s, dtype=np.float64), np.asarray(v, dtype=np.float64))
            for s, v in state["completed"]
        ]
        self._retired = [
            (np.asarray(s, dtype=np.float64), np.asarray(v, dtype=np.float64))
            for s, v in state.get("retired", [])
        ]
