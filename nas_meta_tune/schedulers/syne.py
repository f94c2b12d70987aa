"""Learning-curve early stopping for Syne Tune: ``LCExtrapolationSyneScheduler``.

Like Syne Tune's ``MedianStoppingRule``, it wraps the scheduler that proposes configurations (e.g.
``SingleObjectiveScheduler(searcher=MetaNASSyneSearcher(...))``) and adds the stopping rule::

    scheduler = LCExtrapolationSyneScheduler(
        SingleObjectiveScheduler(config_space, searcher=MetaNASSyneSearcher(space), metric="valid_acc", do_minimize=False),
        metric="valid_acc", mode="max", time_attr="epoch", max_t=100, grace_period=10,
    )

A trial is stopped (``SchedulerDecision.STOP``) when the curve model gives it a probability below
``threshold`` of ending at least as high as the best trial that completed; otherwise the wrapped
scheduler decides. A stopped trial's last metric goes to the wrapped scheduler's searcher when it
has ``on_trial_stopped`` (:class:`~nas_meta_tune.samplers.MetaNASSyneSearcher` learns from it as a
pruned trial); Syne Tune itself tells searchers nothing of stopped trials. Results without the metric or ``time_attr`` or with NaN / inf are passed on
to the wrapped scheduler untouched.
"""

from __future__ import annotations

import numbers
from typing import Any

from .._imports import require
from .._logging import get_logger

require("syne_tune", feature="LCExtrapolationSyneScheduler")

from syne_tune.backend.trial_status import Trial  # noqa: E402
from syne_tune.config_space import remove_constant_and_cast  # noqa: E402
from syne_tune.optimizer.scheduler import SchedulerDecision, TrialScheduler, TrialSuggestion  # noqa: E402

from ..curves.halving import RungHalving  # noqa: E402
from ..curves.models import CurveModel  # noqa: E402
from ..curves.ranking import LCRankNet  # noqa: E402
from ..curves.stopping import CurveTracker, LCStoppingRule, signed_range  # noqa: E402

__all__ = ["LCExtrapolationSyneScheduler"]

_log = get_logger(__name__)


class LCExtrapolationSyneScheduler(TrialScheduler):
    """Stop Syne Tune trials whose learning curve is unlikely to beat the best completed one.

    Args:
        scheduler: The wrapped scheduler (suggestions, and decisions for trials not stopped).
        metric: The reported metric.
        mode: ``"max"`` or ``"min"``.
        time_attr: The result key counting progress (e.g. ``"epoch"``).
        max_t: The ``time_attr`` value at which a trial's schedule ends; ``None`` (the default)
            infers it from the longest completed trial (as Hyperband's ``max_resource="auto"``).
        grace_period: No decision before this ``time_attr`` value.
        interval: Decide every this much ``time_attr`` after ``grace_period``.
        threshold: Stop when P(final >= best completed final) < threshold.
        model: The curve model, an object (:class:`~nas_meta_tune.curves.CurveModel`, e.g.
            ``LCRankModel(pretrained, epochs=10)``) or its name: ``"parametric"`` (the default),
            ``"learned"``, ``"rank"`` (LCRankNet) or ``"pfn"`` (LC-PFN).
        method: The older name of ``model``; give one of the two.
        min_completed: No decision before this many trials have completed.
        value_range: Known range of the metric (e.g. ``(0, 100)``), in its own units.
        random_seed: Seeds the models.
        rank_model: Initial LCRankNet for ``model="rank"`` given by name (with a model object:
            its ``pretrained``).
        calibrate: Widen the parametric predictions to how completed trials' curves really
            ended (see :class:`~nas_meta_tune.curves.stopping.LCStoppingRule`).
        halving: Asynchronous successive halving on extrapolated final values
            (:class:`~nas_meta_tune.curves.RungHalving`; not with ``method="rank"``).
    """

    def __init__(
        self,
        scheduler: TrialScheduler,
        *,
        metric: str,
        mode: str = "max",
        time_attr: str = "epoch",
        max_t: float | None = None,
        grace_period: float = 1,
        interval: float = 1,
        threshold: float = 0.05,
        model: str | CurveModel | None = None,
        method: str | CurveModel | None = None,
        min_completed: int = 1,
        value_range: tuple[float, float] | None = None,
        random_seed: int | None = 0,
        rank_model: LCRankNet | None = None,
        calibrate: bool = True,
        halving: RungHalving | None = None,
    ) -> None:
        super().__init__(random_seed=random_seed)
        self.scheduler = scheduler
        self.metric = metric
        self.time_attr = time_attr
        rule = LCStoppingRule(
            model=model,
            method=method,
            max_step=max_t,
            min_step=grace_period,
            interval=interval,
            threshold=threshold,
            min_completed=min_completed,
            value_range=signed_range(value_range, mode),
            seed=random_seed,
            rank_model=rank_model,
            calibrate=calibrate,
            halving=halving,
        )
        self.tracker = CurveTracker(rule, mode=mode)
        self.mode = mode
        self._stopped: set[str] = set()
        self._paused: set[str] = set()
        self.num_stopped = 0

    def suggest(self) -> TrialSuggestion | None:
        """Syne Tune hook: the wrapped scheduler's suggestion."""
        return self.scheduler.suggest()

    def on_trial_add(self, trial: Trial) -> None:
        """Syne Tune hook, passed on to the wrapped scheduler."""
        self.scheduler.on_trial_add(trial)

    def metric_names(self) -> list[str]:
        """Syne Tune's ``Tuner`` asks the scheduler for these (the wrapped scheduler's, else ours)."""
        inner = getattr(self.scheduler, "metric_names", None)
        return list(inner()) if callable(inner) else [self.metric]

    def metric_mode(self) -> str | list[str]:
        """The wrapped scheduler's metric mode (else this scheduler's ``mode``)."""
        inner = getattr(self.scheduler, "metric_mode", None)
        return inner() if callable(inner) else self.mode

    def on_trial_result(self, trial: Trial, result: dict[str, Any]) -> str:
        """Syne Tune hook: ``STOP`` if the rule stops the trial, else the wrapped one's decision."""
        self._paused.discard(str(trial.trial_id))  # a result: it runs (again)
        decision = self.tracker.on_result(
            str(trial.trial_id), result.get(self.time_attr), result.get(self.metric)
        )
        if decision.stop:
            self._stopped.add(str(trial.trial_id))
            self.tracker.on_remove(str(trial.trial_id))
            self.num_stopped += 1
            _log.info(
                "LCExtrapolationSyneScheduler: stopping trial %s: %s",
                trial.trial_id,
                decision.reason,
            )
            self._tell_stopped(trial, result)
            return SchedulerDecision.STOP
        if not _has_number(result, self.metric):
            # the wrapped scheduler would fail on it (Syne multiplies the metric); the curve
            # tracker has already skipped it
            _log.warning(
                "LCExtrapolationSyneScheduler: trial %s reported no number for %r; result skipped.",
                trial.trial_id,
                self.metric,
            )
            return SchedulerDecision.CONTINUE
        inner = self.scheduler.on_trial_result(trial, result)
        if inner == SchedulerDecision.PAUSE:
            self._paused.add(str(trial.trial_id))  # Syne removes it now; it may resume later
        return inner

    def _tell_stopped(self, trial: Trial, result: dict[str, Any]) -> None:
        """Syne Tune tells a searcher nothing of a stopped trial: pass its last metric (in the
        searcher's minimised convention) to a searcher that learns from it
        (:meth:`~nas_meta_tune.samplers.MetaNASSyneSearcher.on_trial_stopped`)."""
        hook = getattr(getattr(self.scheduler, "searcher", None), "on_trial_stopped", None)
        if not callable(hook) or not _has_number(result, self.metric):
            return
        sign = getattr(self.scheduler, "metric_multiplier", -1.0 if self.mode == "max" else 1.0)
        space = getattr(self.scheduler, "config_space", None)
        # as the wrapped scheduler passes configs on completion
        config = (
            dict(trial.config) if space is None else remove_constant_and_cast(trial.config, space)
        )
        hook(trial.trial_id, config, float(result[self.metric]) * sign)

    def on_trial_complete(self, trial: Trial, result: dict[str, Any]) -> None:
        """Syne Tune hook: keep the curve as a reference (unless stopped); passed on."""
        tid = str(trial.trial_id)
        if tid in self._stopped:
            self._stopped.discard(tid)
            self.tracker.on_remove(tid)
        else:
            self.tracker.on_complete(tid)
        if _has_number(result, self.metric):
            self.scheduler.on_trial_complete(trial, result)
        else:  # nothing the wrapped scheduler's searcher could learn from: end it as an error
            _log.warning(
                "LCExtrapolationSyneScheduler: trial %s completed without a number for %r; "
                "passed on as an error.",
                trial.trial_id,
                self.metric,
            )
            self.scheduler.on_trial_error(trial)

    def on_trial_error(self, trial: Trial) -> None:
        """Syne Tune hook: forget the trial's curve; passed on to the wrapped scheduler."""
        self.tracker.on_remove(str(trial.trial_id))
        self.scheduler.on_trial_error(trial)

    def on_trial_remove(self, trial: Trial) -> None:
        """Syne Tune hook (after a stop or a pause): forget the curve unless paused; passed on."""
        # Syne calls this after a STOP and after a PAUSE: a paused trial keeps its curve
        tid = str(trial.trial_id)
        self._stopped.discard(tid)
        if tid not in self._paused:
            self.tracker.on_remove(tid)
        self.scheduler.on_trial_remove(trial)

    def metadata(self) -> dict[str, Any]:
        """Syne Tune metadata: this scheduler's name, the wrapped one's and the trials stopped."""
        return {
            "scheduler_name": type(self).__name__,
            "wrapped": self.scheduler.metadata().get("scheduler_name"),
            "num_stopped": self.num_stopped,
        }


def _has_number(result: dict[str, Any], metric: str) -> bool:
    value = result.get(metric)
    return isinstance(value, numbers.Real) and not isinstance(value, bool)
