"""``MetaNASSyneSearcher``: the meta-predictor NAS proposer as a Syne Tune searcher (0.16 API).

Usage::

    space = get_space("nb201")
    searcher = MetaNASSyneSearcher(syne_config_space(space), space=space, random_seed=0)
    scheduler = SingleObjectiveScheduler(syne_config_space(space), metric="valid", do_minimize=False, searcher=searcher)

A translation layer over :class:`~nas_meta_tune.search.SearchSession` (history, pending and
failed trials, sign, score policy, the split of the config). Syne Tune's schedulers hand the
searcher a metric to *minimise* (they negate maximised metrics), so the session runs in
``mode="min"`` (for each metric, with ``n_objectives > 1``). Suggested configurations are pending until their trial completes or fails;
failed or non-finite trials are never proposed again nor learned from. Syne Tune tells a
searcher nothing of a trial a scheduler stopped early (it stays pending: never proposed again,
not learned from) unless the scheduler calls :meth:`MetaNASSyneSearcher.on_trial_stopped`, as
:class:`~nas_meta_tune.schedulers.LCExtrapolationSyneScheduler` does: then it is "pruned", as in
the Optuna and Ray adapters. ``save`` / ``restore`` write a JSON
checkpoint.
"""

from __future__ import annotations

from typing import Any

from .._imports import require

require("syne_tune", feature="MetaNASSyneSearcher")

from syne_tune.optimizer.schedulers.searchers.searcher import BaseSearcher  # noqa: E402

from .._logging import get_logger  # noqa: E402
from ..predictors.meta_predictor import MetaPredictor  # noqa: E402
from ..search.session import EventAdapter, SearchSession  # noqa: E402
from ..spaces._base import SearchSpace  # noqa: E402

__all__ = ["MetaNASSyneSearcher"]
_log = get_logger(__name__)


class MetaNASSyneSearcher(EventAdapter, BaseSearcher):
    """Syne Tune searcher proposing architectures with the meta-learned transfer-BO proposer.

    Args:
        config_space: Syne Tune config space (``syne_config_space(space)``, plus any constants).
        space: The search space (object, registered name or ConfigurationSpace).
        predictor: A :class:`~nas_meta_tune.predictors.MetaPredictor` (default: the shipped one).
        points_to_evaluate: Configurations to evaluate first.
        random_seed: Seed of the proposer and of the other domains' draws.
        n_objectives: The scheduler's number of metrics: with more than one (Syne Tune's
            ``SingleFidelityScheduler(metrics=[...])``) proposals follow the Pareto front.
        **proposer_kwargs: :class:`~nas_meta_tune.search.SearchSession` options
            (``learned_objective``, ``costs``, ...) and :class:`~nas_meta_tune.search.MetaNASProposer`
            ones.
    """

    _checkpoint_kind = "MetaNASSyneSearcher"

    def __init__(
        self,
        config_space: dict[str, Any],
        *,
        space: SearchSpace | str,
        predictor: MetaPredictor | None = None,
        points_to_evaluate: list[dict[str, Any]] | None = None,
        random_seed: int | None = None,
        n_objectives: int = 1,
        **proposer_kwargs: Any,
    ) -> None:
        super().__init__(
            config_space, points_to_evaluate=points_to_evaluate, random_seed=random_seed
        )
        self._session = SearchSession(
            space,
            predictor,
            mode=["min"] * n_objectives,
            seed=self.random_seed,
            owner="MetaNASSyneSearcher",
            **proposer_kwargs,
        )
        # other search domains (e.g. a learning rate) are drawn at random: this searcher models
        # architectures only
        self._session.set_config(config_space, require=True)

    def suggest(self, **kwargs: Any) -> dict[str, Any] | None:
        """Syne Tune hook: the next config (``points_to_evaluate`` first), ``None`` if exhausted."""
        config = self._next_points_to_evaluate()
        if config is not None:
            self._session.reserve(None, config)
            return config
        return self._session.ask_config()

    def on_trial_result(self, trial_id: int, config: dict[str, Any], metric: Any) -> None:
        """Syne Tune hook: bind the trial id to its config (Syne names the trial only now)."""
        self._session.bind(trial_id, config)  # Syne names the trial only now

    def on_trial_complete(self, trial_id: int, config: dict[str, Any], metric: Any) -> None:
        """Syne Tune hook: tell the trial's final metric (minimised), or metrics, one per
        objective (a one-metric list is the metric)."""
        self._session.tell(trial_id, metric, arch=config)

    def on_trial_stopped(self, trial_id: int, config: dict[str, Any], metric: float) -> None:
        """A trial a scheduler stopped early, with its last metric (minimised, as in
        :meth:`on_trial_complete`): learned from with the pruned policy of every adapter."""
        self._session.tell(trial_id, metric, state="pruned", arch=config)

    def on_trial_error(self, trial_id: int) -> None:
        """Syne Tune hook: record the trial as failed (never proposed again, not learned from)."""
        _log.warning("MetaNASSyneSearcher: trial %s failed.", trial_id)
        self._session.tell(trial_id, state="failed")  # never proposed again, not learned from
