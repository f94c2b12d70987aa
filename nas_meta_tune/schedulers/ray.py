"""The learning-curve scheduler for Ray Tune: ``LCExtrapolationScheduler``, taking any curve model.

Usage::

    tuner = tune.Tuner(
        trainable,
        param_space=ray_param_space(space),
        tune_config=tune.TuneConfig(
            metric="valid_acc", mode="max", num_samples=100,
            search_alg=MetaNASSearch(space),
            scheduler=LCExtrapolationScheduler(max_t=100, grace_period=10),
        ),
    )

It is a ``FIFOScheduler``: trials run in order, and at each decision step (every
``interval`` of ``time_attr`` after ``grace_period``) a trial is stopped when the curve model gives
it a probability below ``threshold`` of ending at least as high as the best trial that ran its
full schedule. A trial the scheduler stopped is forgotten; one that completed becomes a reference
curve. Results without the metric or ``time_attr``, or with NaN / inf, are ignored (CONTINUE).
A trial that Ray recovers after a failure (``FailureConfig(max_failures=...)``) keeps its curve.

``save`` / ``restore`` write and read the reference curves. Ray Tune 2.60 itself never calls them:
its experiment checkpoint leaves the scheduler out, so after ``Tuner.restore`` the scheduler starts
again without reference curves and makes no decision until ``min_completed`` trials have completed
again (it stops nothing it could not justify; call ``save`` / ``restore`` yourself to carry them).
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any

from .._imports import require
from .._logging import get_logger

require("ray.tune", feature="LCExtrapolationScheduler")

from ray.tune.schedulers import FIFOScheduler, TrialScheduler  # noqa: E402

from .._state import read_state, write_state  # noqa: E402
from ..curves.halving import RungHalving  # noqa: E402
from ..curves.models import CurveModel, LCRankModel, curve_model_resolver  # noqa: E402
from ..curves.ranking import LCRankNet  # noqa: E402
from ..curves.stopping import CurveTracker, LCStoppingRule, signed_range  # noqa: E402

if TYPE_CHECKING:
    from ray.tune.experiment import Trial

__all__ = ["LCExtrapolationScheduler", "LCRankScheduler"]

_log = get_logger(__name__)

#: ids of the trials nas-meta-tune's Ray schedulers stopped early in this process: Ray tells a
#: searcher only that a trial completed, so MetaNASSearch reads this to treat them as pruned
STOPPED_EARLY: set[str] = set()


class LCExtrapolationScheduler(FIFOScheduler):
    """Stop Ray Tune trials whose learning curve is unlikely to beat the best completed one.

    Args:
        max_t: The ``time_attr`` value at which a trial's schedule ends; ``None`` (the default)
            infers it from the longest completed trial (as Hyperband's ``max_resource="auto"``).
        metric, mode: The reported metric and ``"max"`` / ``"min"`` (or from ``TuneConfig``).
        time_attr: The result key that counts progress (``training_iteration``, ``epoch``...).
        grace_period: No decision before this ``time_attr`` value.
        interval: Decide every this much ``time_attr`` after ``grace_period``.
        threshold: Stop when P(final >= best completed final) < threshold (for a ranking model:
            P(ends above the best completed trial) < threshold).
        model: The curve model, an object (:class:`~nas_meta_tune.curves.CurveModel`, e.g.
            ``LCRankModel(pretrained, epochs=10)``) or its name: ``"parametric"`` (the default),
            ``"learned"``, ``"rank"`` or ``"pfn"`` (see
            :class:`~nas_meta_tune.curves.stopping.LCStoppingRule`).
        method: The older name of ``model``; give one of the two.
        min_completed: No decision before this many trials have completed.
        value_range: Known range of the metric (e.g. ``(0, 100)``), in its own units.
        seed: Seeds the models.
        calibrate: Widen the parametric predictions to how completed trials' curves really
            ended (see :class:`~nas_meta_tune.curves.stopping.LCStoppingRule`).
        halving: Asynchronous successive halving on extrapolated final values
            (:class:`~nas_meta_tune.curves.RungHalving`): at each rung a trial goes on only if
            its predicted final value may reach the top ``1 / reduction_factor`` of the
            predicted finals of every trial that reached the rung (stopped ones included).
            Not with a model that ranks.

    Example:
        LCRankNet fine-tuned from a pre-trained network::

            LCExtrapolationScheduler(max_t=100, model=LCRankModel(pretrained), min_completed=2)
    """

    def __init__(
        self,
        *,
        max_t: float | None = None,
        metric: str | None = None,
        mode: str | None = None,
        time_attr: str = "training_iteration",
        grace_period: float = 1,
        interval: float = 1,
        threshold: float = 0.05,
        model: str | CurveModel | None = None,
        method: str | CurveModel | None = None,
        min_completed: int = 1,
        value_range: tuple[float, float] | None = None,
        seed: int | None = 0,
        calibrate: bool = True,
        halving: RungHalving | None = None,
    ) -> None:
        if model is not None and method is not None:
            raise ValueError(
                f"pass model or method (its older name), not both: got {model=} and {method=}."
            )
        self._rule_kwargs: dict[str, Any] = dict(
            model=curve_model_resolver(
                model if model is not None else method if method is not None else "parametric"
            ),
            max_step=max_t,
            min_step=grace_period,
            interval=interval,
            threshold=threshold,
            min_completed=min_completed,
            seed=seed,
            calibrate=calibrate,
            halving=halving,
        )
        super().__init__()
        if mode not in (None, "max", "min"):
            raise ValueError(f"mode must be 'max' or 'min', but got {mode=}.")
        self._metric = metric
        self._mode = mode
        self._time_attr = time_attr
        self._value_range = value_range
        self._tracker = self._new_tracker(mode or "max")
        self._stopped: set[str] = set()
        self.num_stopped = 0

    def _new_tracker(self, mode: str) -> CurveTracker:
        return CurveTracker(
            LCStoppingRule(**self._rule_kwargs, value_range=signed_range(self._value_range, mode)),
            mode=mode,
        )

    @property
    def tracker(self) -> CurveTracker:
        """The curves the scheduler keeps (running and reference curves)."""
        return self._tracker

    def set_search_properties(self, metric: str | None, mode: str | None, **spec: Any) -> bool:
        """Ray Tune hook: take metric and mode unless set; ``False`` on a conflict or a bad mode."""
        if (self._metric and metric) or (self._mode and mode):
            return False
        if metric:
            self._metric = metric
        if mode:
            if mode not in ("max", "min"):
                return False
            self._mode = mode
            self._tracker = self._new_tracker(mode)
        return True

    def on_trial_add(self, tune_controller: Any, trial: Trial) -> None:
        """Ray Tune hook: check that the metric and the mode are known."""
        if not self._metric or not self._mode:
            raise ValueError(
                f"{type(self).__name__} needs a metric and a mode (got metric={self._metric!r}, mode={self._mode!r}): "
                "pass them to the scheduler or to tune.TuneConfig."
            )

    def on_trial_result(self, tune_controller: Any, trial: Trial, result: dict) -> str:
        """Ray Tune hook: record the result; ``STOP`` when the rule stops the trial."""
        decision = self._tracker.on_result(
            trial.trial_id, result.get(self._time_attr), result.get(self._metric)
        )
        if decision.stop:
            self._stopped.add(trial.trial_id)
            STOPPED_EARLY.add(str(trial.trial_id))
            self._tracker.on_remove(trial.trial_id)
            self.num_stopped += 1
            _log.info(
                "%s: stopping trial %s at %s=%s: %s",
                type(self).__name__,
                trial.trial_id,
                self._time_attr,
                result.get(self._time_attr),
                decision.reason,
            )
            return TrialScheduler.STOP
        return TrialScheduler.CONTINUE

    def on_trial_complete(self, tune_controller: Any, trial: Trial, result: dict) -> None:
        """Ray Tune hook: a finished schedule's curve becomes a reference (not a stopped one's)."""
        # Ray also calls this for trials the scheduler stopped: only finished schedules become references
        if trial.trial_id in self._stopped:
            self._stopped.discard(trial.trial_id)
            self._tracker.on_remove(trial.trial_id)
            return
        if result:
            self._tracker.record(
                trial.trial_id, result.get(self._time_attr), result.get(self._metric)
            )
        self._tracker.on_complete(trial.trial_id)

    def on_trial_error(self, tune_controller: Any, trial: Trial) -> None:
        """Ray Tune hook: forget the trial's curve, unless Ray is recovering the trial."""
        from ray.tune.experiment import Trial as _Trial

        if trial.status == _Trial.ERROR:
            # Ray is recovering it (FailureConfig.max_failures): it restarts from its checkpoint
            # and re-reports, so its curve so far is kept (re-reported steps overwrite)
            return
        self._tracker.on_remove(trial.trial_id)

    def on_trial_remove(self, tune_controller: Any, trial: Trial) -> None:
        """Ray Tune hook: forget the trial's curve."""
        self._tracker.on_remove(trial.trial_id)

    def debug_string(self) -> str:
        """A status line for Ray Tune's progress output."""
        return f"Using {type(self).__name__}: {len(self._tracker.completed)} reference curves, {self.num_stopped} trials stopped."

    def save(self, checkpoint_path: str) -> None:
        """Write the scheduler's state as a JSON checkpoint at ``checkpoint_path``."""
        state = {
            "tracker": self._tracker.state(),
            "stopped": sorted(self._stopped),
            "num_stopped": self.num_stopped,
            "metric": self._metric,
            "mode": self._mode,
        }
        write_state(checkpoint_path, "LCExtrapolationScheduler", state)

    def restore(self, checkpoint_path: str) -> None:
        """Load a checkpoint written by :meth:`save` (JSON only: a pickle is refused)."""
        state = read_state(checkpoint_path, "LCExtrapolationScheduler")
        self._metric = self._metric or state["metric"]
        self._mode = self._mode or state["mode"]
        self._tracker = self._new_tracker(self._mode or "max")
        self._tracker.set_state(state["tracker"])
        self._stopped = set(state["stopped"])
        self.num_stopped = state["num_stopped"]


class LCRankScheduler(LCExtrapolationScheduler):
    """Deprecated alias: ``LCExtrapolationScheduler(model=LCRankModel(pretrained,
    epochs=finetune_epochs), min_completed=2, ...)`` (LCRankNet, Wistuba & Pedapati 2020).

    Kept so that code written for it runs unchanged (same defaults, same decisions); it warns
    with a ``FutureWarning``. Arguments as :class:`LCExtrapolationScheduler`, plus ``pretrained``
    and ``finetune_epochs`` (:class:`~nas_meta_tune.curves.LCRankModel`'s ``pretrained`` and
    ``epochs``).
    """

    def __init__(
        self,
        *,
        max_t: float | None = None,
        metric: str | None = None,
        mode: str | None = None,
        time_attr: str = "training_iteration",
        grace_period: float = 1,
        interval: float = 1,
        threshold: float = 0.05,
        min_completed: int = 2,
        value_range: tuple[float, float] | None = None,
        seed: int | None = 0,
        pretrained: LCRankNet | None = None,
        finetune_epochs: int = 30,
    ) -> None:
        warnings.warn(
            "LCRankScheduler is deprecated: use LCExtrapolationScheduler(model=LCRankModel("
            "pretrained, epochs=finetune_epochs), min_completed=2, ...).",
            FutureWarning,
            stacklevel=2,
        )
        super().__init__(
            max_t=max_t,
            metric=metric,
            mode=mode,
            time_attr=time_attr,
            grace_period=grace_period,
            interval=interval,
            threshold=threshold,
            model=LCRankModel(pretrained, epochs=finetune_epochs),
            min_completed=min_completed,
            value_range=value_range,
            seed=seed,
        )
