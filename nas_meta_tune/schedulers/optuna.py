"""The learning-curve pruner for Optuna: ``LCExtrapolationPruner``, taking any curve model.

Usage::

    study = optuna.create_study(
        direction="maximize",
        sampler=MetaNASSampler(space),
        pruner=LCExtrapolationPruner(max_step=100, min_step=10),
    )

    def objective(trial):
        arch = space.suggest(trial)
        for epoch in range(1, 101):
            acc = train_one_epoch(arch)
            trial.report(acc, epoch)
            if trial.should_prune():
                raise optuna.TrialPruned()
        return acc

A trial is pruned when the model gives it a probability below ``threshold`` of ending (at
``max_step``) at least as high as the best COMPLETE trial's curve ended (its last intermediate
value; the trial's returned value when it reported none). Curves are read from the storage on
every call, so the pruners work with ``n_jobs > 1``, RDB / Journal storages and several processes.
Steps count from 1 (report epoch ``e`` counted from 0 as step ``e + 1``): a report at step <= 0
is ignored, with a warning once. Missing steps, NaN / inf values and repeated steps are tolerated
(Optuna itself ignores a repeated step); until a curve passes ``min_step`` and ``min_completed`` trials have finished,
nothing is pruned. A model error never stops the study: the trial continues and a warning is
logged.

**Multi-objective studies.** Optuna's ``trial.report`` / ``trial.should_prune`` refuse
multi-objective studies. :func:`report` and :func:`should_prune` of this module work in both kinds:
in a multi-objective study they keep the curve of the objective given by the pruner's
``objective`` index in a user attribute and ask the pruner directly.
"""

from __future__ import annotations

import threading
import warnings
from typing import Any

import numpy as np

from .._imports import require
from .._logging import get_logger

require("optuna", feature="LCExtrapolationPruner")

import optuna  # noqa: E402
from optuna.pruners import BasePruner  # noqa: E402
from optuna.study import Study, StudyDirection  # noqa: E402
from optuna.trial import FrozenTrial, TrialState  # noqa: E402

from ..curves.halving import RungHalving  # noqa: E402
from ..curves.models import CurveModel, LCRankModel, curve_model_resolver  # noqa: E402
from ..curves.ranking import LCRankNet  # noqa: E402
from ..curves.stopping import CompletedCurve, LCStoppingRule, StopDecision  # noqa: E402

__all__ = ["LCExtrapolationPruner", "LCRankPruner", "report", "should_prune", "CURVE_ATTR"]

CURVE_ATTR = "nas_meta_tune:curve"  # user attribute holding the curve in multi-objective studies
_log = get_logger(__name__)


class LCExtrapolationPruner(BasePruner):
    """Prune trials whose learning curve is unlikely to end above the best completed one.

    Args:
        max_step: The last step of a full curve (e.g. the number of epochs); ``None`` (the default)
            infers it as Hyperband's ``max_resource="auto"`` does: the last step of the longest
            completed trial's curve.
        min_step: No pruning before a trial has reported this step.
        threshold: Prune when P(final >= best completed final) < threshold.
        model: The curve model, an object (:class:`~nas_meta_tune.curves.CurveModel`) or its
            name: ``"parametric"`` (the default; Domhan et al. 2015 curve-family ensemble),
            ``"learned"`` (a regressor fitted on the completed trials' curves, NAS-Bench-x11
            style; parametric until enough trials have completed), ``"pfn"`` (the shipped LC-PFN,
            an in-context transformer trained on the parametric prior; Adriaensen et al. 2023) or
            ``"rank"`` (LCRankNet, Wistuba & Pedapati 2020, fine-tuned on the completed curves:
            pruned when P(ends above the best completed trial) < threshold; pass
            ``LCRankModel(pretrained, epochs=...)`` to start from a pre-trained network).
        method: The older name of ``model``; give one of the two.
        interval_steps: Decide only every this many steps (after ``min_step``).
        min_completed: No pruning before this many trials have completed.
        value_range: Known range of the reported values (e.g. ``(0, 100)`` for accuracy in
            percent, ``(0, 1)`` for a fraction), in the study's own units: it constrains the
            parametric curve families.
        objective: In a multi-objective study, the index of the objective whose curve is pruned
            on (with :func:`report` / :func:`should_prune`); ignored otherwise.
        refit_every: Refit the learned model after this many new completed trials.
        seed: Seeds the models.
        calibrate: Widen the parametric ensemble's (or LC-PFN's) predictive distribution to
            cover how this study's completed curves really ended from the same step (see
            :class:`~nas_meta_tune.curves.LCStoppingRule`); ``False`` uses the model as is.
        halving: Successive halving on extrapolated final values
            (:class:`~nas_meta_tune.curves.RungHalving`): at each rung a trial goes on only if
            its predicted final value may reach the top ``1 / reduction_factor`` of the
            predicted finals of all trials that reached the rung (running, pruned and
            complete ones, read from the storage). ``None`` (the default): no rungs.

    Example:
        Successive halving on LC-PFN extrapolations, every size inferred::

            pruner = LCExtrapolationPruner(model="pfn", halving=RungHalving())

        LCRankNet fine-tuned from a pre-trained network::

            pruner = LCExtrapolationPruner(model=LCRankModel(pretrained), min_completed=2)
    """

    def __init__(
        self,
        *,
        max_step: int | None = None,
        min_step: int = 1,
        threshold: float = 0.05,
        model: str | CurveModel | None = None,
        method: str | CurveModel | None = None,
        interval_steps: int = 1,
        min_completed: int = 1,
        value_range: tuple[float, float] | None = None,
        objective: int = 0,
        refit_every: int = 1,
        seed: int | None = 0,
        calibrate: bool = True,
        halving: RungHalving | None = None,
    ) -> None:
        if model is not None and method is not None:
            raise ValueError(
                f"pass model or method (its older name), not both: got {model=} and {method=}."
            )
        self._setup(
            dict(
                model=curve_model_resolver(
                    model if model is not None else method if method is not None else "parametric"
                ),
                max_step=max_step,
                min_step=min_step,
                interval=interval_steps,
                threshold=threshold,
                min_completed=min_completed,
                refit_every=refit_every,
                seed=seed,
                calibrate=calibrate,
                halving=halving,
            ),
            objective,
            value_range,
        )

    def _setup(
        self, rule_kwargs: dict[str, Any], objective: int, value_range: tuple[float, float] | None
    ) -> None:
        if objective < 0:
            raise ValueError(f"objective must be a non-negative index, but got {objective=}.")
        if value_range is not None and not (
            len(value_range) == 2 and value_range[0] < value_range[1]
        ):
            raise ValueError(
                f"value_range must be (low, high) with low < high, but got {value_range=}."
            )
        self.objective = int(objective)
        self.value_range = (
            None if value_range is None else (float(value_range[0]), float(value_range[1]))
        )
        self._rule_kwargs = rule_kwargs
        self._rules: dict[float, LCStoppingRule] = {}
        self.rule_for(+1.0)  # validates the arguments now
        self._lock = threading.Lock()
        self.last_decision: StopDecision | None = None

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        del state["_lock"]
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()

    def rule_for(self, sign: float) -> LCStoppingRule:
        """The rule in "higher is better" units: ``sign`` -1 for a minimised objective (its value
        range flips). One rule per sign, so a study's fitted models are reused across calls."""
        if sign not in self._rules:
            vr = self.value_range
            if vr is not None and sign < 0:
                vr = (-vr[1], -vr[0])
            self._rules[sign] = LCStoppingRule(**self._rule_kwargs, value_range=vr)
        return self._rules[sign]

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.rule_for(1.0)!r})"

    # ------------------------------------------------------------------ curves from storage
    def _direction(self, study: Study) -> StudyDirection:
        if len(study.directions) == 1:
            return study.direction
        if self.objective >= len(study.directions):
            raise ValueError(
                f"objective={self.objective} but the study has {len(study.directions)} objectives."
            )
        return study.directions[self.objective]

    @staticmethod
    def _curve(trial: FrozenTrial, multi: bool) -> tuple[np.ndarray, np.ndarray]:
        if multi:
            raw = trial.user_attrs.get(CURVE_ATTR) or {}
            items = [(float(k), float(v)) for k, v in raw.items()]
        else:
            items = [(float(k), float(v)) for k, v in trial.intermediate_values.items()]
        if not items:
            return np.zeros(0), np.zeros(0)
        s, v = zip(*sorted(items))
        return np.asarray(s), np.asarray(v)

    def completed_curves(self, study: Study) -> list[CompletedCurve]:
        """The COMPLETE trials' curves, "higher is better" (a trial without reports: its value at ``max_step``)."""
        multi = len(study.directions) > 1
        sign = 1.0 if self._direction(study) == StudyDirection.MAXIMIZE else -1.0
        out = []
        for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)):
            s, v = self._curve(t, multi)
            if len(s) == 0:
                value = t.values[self.objective if multi else 0] if t.values else None
                if value is None or not np.isfinite(value):
                    continue
                end = self._rule_kwargs["max_step"]
                if end is None:  # inferred: where the trials that report curves end
                    ends = [
                        float(k)
                        for u in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
                        for k in u.intermediate_values
                    ]
                    if not ends:
                        continue
                    end = max(ends)
                s, v = np.array([float(end)]), np.array([float(value)])
            keep = np.isfinite(v) & (s > 0)  # as for the running curve (the models need steps > 0)
            if keep.any():
                out.append(CompletedCurve(s[keep], sign * v[keep]))
        return out

    def other_curves(
        self, study: Study, trial: FrozenTrial, sign: float
    ) -> list[tuple[np.ndarray, np.ndarray]]:
        """Every other trial's curve ("higher is better"), any state: the rung competitors."""
        multi = len(study.directions) > 1
        out = []
        for t in study.get_trials(deepcopy=False):
            if t.number == trial.number:
                continue
            s, v = self._curve(t, multi)
            if len(s):
                out.append((s, sign * v))
        return out

    # ------------------------------------------------------------------ BasePruner
    def prune(self, study: Study, trial: FrozenTrial) -> bool:
        """Optuna hook: whether to prune ``trial`` now (the rule's decision on its curve)."""
        multi = len(study.directions) > 1
        steps, values = self._curve(trial, multi)
        if len(steps) == 0:
            return False
        if steps[0] <= 0 and not getattr(self, "_warned_step", False):
            self._warned_step = True
            _log.warning(
                "%s ignores intermediate values at step <= 0 (its curve models count steps from "
                "1): report epoch e (from 0) as trial.report(value, e + 1).",
                type(self).__name__,
            )
        sign = (
            1.0 if self._direction(study) == StudyDirection.MAXIMIZE else -1.0
        )  # raises on a bad objective index
        completed = self.completed_curves(study)
        rule = self.rule_for(sign)
        others = self.other_curves(study, trial, sign) if rule.halving is not None else []
        with self._lock:  # the rule caches fitted models; n_jobs > 1 shares one pruner
            decision = rule.decide(steps, sign * values, completed, others=others)
        self.last_decision = decision
        if decision.stop:
            _log.info(
                "%s: pruning trial %d at step %g: %s",
                type(self).__name__,
                trial.number,
                steps[-1],
                decision.reason,
            )
        return decision.stop


class LCRankPruner(LCExtrapolationPruner):
    """Deprecated alias: ``LCExtrapolationPruner(model=LCRankModel(pretrained,
    epochs=finetune_epochs), min_completed=2, ...)`` (LCRankNet, Wistuba & Pedapati 2020).

    Kept so that code written for it runs unchanged (same defaults, same decisions); it warns
    with a ``FutureWarning``.

    Args:
        max_step, min_step, threshold, interval_steps, min_completed, value_range, objective,
            seed, refit_every: See :class:`LCExtrapolationPruner`.
        pretrained: Initial ranking model (:class:`~nas_meta_tune.curves.LCRankModel`'s
            ``pretrained``).
        finetune_epochs: Fine-tuning epochs per new set of completed curves (its ``epochs``).
    """

    def __init__(
        self,
        *,
        max_step: int | None = None,
        min_step: int = 1,
        threshold: float = 0.05,
        interval_steps: int = 1,
        min_completed: int = 2,
        value_range: tuple[float, float] | None = None,
        objective: int = 0,
        seed: int | None = 0,
        pretrained: LCRankNet | None = None,
        finetune_epochs: int = 30,
        refit_every: int = 1,
    ) -> None:
        warnings.warn(
            "LCRankPruner is deprecated: use LCExtrapolationPruner(model=LCRankModel(pretrained, "
            "epochs=finetune_epochs), min_completed=2, ...).",
            FutureWarning,
            stacklevel=2,
        )
        super().__init__(
            max_step=max_step,
            min_step=min_step,
            threshold=threshold,
            model=LCRankModel(pretrained, epochs=finetune_epochs),
            interval_steps=interval_steps,
            min_completed=min_completed,
            value_range=value_range,
            objective=objective,
            refit_every=refit_every,
            seed=seed,
        )


# ---------------------------------------------------------------------- multi-objective helpers
def report(trial: optuna.trial.Trial, value: float, step: int) -> None:
    """``trial.report(value, step)`` that also works in multi-objective studies.

    In a multi-objective study the curve is kept in the trial's user attribute
    :data:`CURVE_ATTR` (a repeated step is ignored, as Optuna does). ``value`` is the objective
    the pruner's ``objective`` index names.
    """
    if len(trial.study.directions) == 1:
        trial.report(value, step)
        return
    step = int(step)
    if step < 0:
        raise ValueError(f"step must be non-negative, but got {step=}.")
    curve = dict(trial.user_attrs.get(CURVE_ATTR) or {})
    if str(step) not in curve:
        curve[str(step)] = float(value)
        trial.set_user_attr(CURVE_ATTR, curve)


def should_prune(trial: optuna.trial.Trial) -> bool:
    """``trial.should_prune()`` that also works in multi-objective studies (with this module's pruners)."""
    study = trial.study
    if len(study.directions) == 1:
        return trial.should_prune()
    if not isinstance(study.pruner, LCExtrapolationPruner):
        raise ValueError(
            "pruning a multi-objective study needs a nas_meta_tune pruner (LCExtrapolationPruner / LCRankPruner), "
            f"but the study's pruner is {type(study.pruner).__name__}."
        )
    frozen = study._storage.get_trial(trial._trial_id)
    return study.pruner.prune(study, frozen)
