"""``MetaNASSearch``: the meta-predictor NAS proposer as a Ray Tune searcher.

Usage::

    space = get_space("nasbench_graph")
    tuner = tune.Tuner(
        trainable,                                         # reads config -> space.from_params(config)
        tune_config=tune.TuneConfig(
            search_alg=MetaNASSearch(space, metric="valid", mode="max", seed=0),
            num_samples=50,                                # metric/mode given to the searcher itself
        ),
    )

A translation layer over :class:`~nas_meta_tune.search.SearchSession` (history, pending and
failed trials, sign, score policy, the split of the config). Configs are flat dicts of the
space's parameters (as in ``ray_param_space(space)``), so trainables use
``space.from_params(config)``; other keys of ``param_space`` pass through unchanged (search
domains such as a learning rate are drawn at random). A trial that ends with an error is
"failed"; one stopped by nas-meta-tune's LC schedulers is "pruned" (as in the Optuna sampler);
Ray does not tell a searcher which trials other schedulers stopped, so theirs count as complete.
``save``/``restore`` write a JSON checkpoint, so a restored ``Tuner`` continues where it stopped
and never repeats an architecture. Works under ``ConcurrencyLimiter``.
"""

from __future__ import annotations

from typing import Any

from .._imports import require

require("ray.tune", feature="MetaNASSearch")

from ray.tune.search import Searcher  # noqa: E402

from ..predictors.meta_predictor import MetaPredictor  # noqa: E402
from ..search.session import EventAdapter, SearchSession  # noqa: E402
from ..spaces._base import SearchSpace  # noqa: E402

__all__ = ["MetaNASSearch"]


def _stopped_early(trial_id: str) -> bool:
    """Whether one of nas-meta-tune's Ray schedulers stopped the trial (in this process)."""
    from ..schedulers.ray import STOPPED_EARLY

    return str(trial_id) in STOPPED_EARLY


def _state(error: bool, pruned: bool) -> str:
    return "failed" if error else ("pruned" if pruned else "complete")


class MetaNASSearch(EventAdapter, Searcher):
    """Ray Tune ``Searcher`` proposing architectures with the meta-learned transfer-BO proposer.

    Args:
        space: The search space (object, registered name or ConfigurationSpace).
        predictor: A :class:`~nas_meta_tune.predictors.MetaPredictor` (default: the shipped one).
        metric, mode: The metric to optimise and ``"min"``/``"max"`` (or set by the Tuner).
        seed: Seed of the proposer and of the other domains' draws.
        points_to_evaluate: Architectures (or param dicts / official strings) to try first.
        **proposer_kwargs: Options of :class:`~nas_meta_tune.search.MetaNASProposer` (and
            ``use_pruned`` of :class:`~nas_meta_tune.search.SearchSession`).
    """

    _checkpoint_kind = "MetaNASSearch"

    def __init__(
        self,
        space: SearchSpace | str,
        predictor: MetaPredictor | None = None,
        *,
        metric: str | None = None,
        mode: str | None = None,
        seed: int | None = None,
        points_to_evaluate: list[Any] | None = None,
        **proposer_kwargs: Any,
    ) -> None:
        self._session = SearchSession(
            space,
            predictor,
            mode=mode,
            seed=seed,
            points_to_evaluate=points_to_evaluate or [],
            owner="MetaNASSearch",
            **proposer_kwargs,
        )  # first: it validates mode
        super().__init__(metric=metric, mode=mode)

    @property
    def _constants(self) -> dict[str, Any]:  # the session's (read by tests/test_state_files.py)
        return self._session.constants

    @property
    def _domains(self) -> dict[str, Any]:
        return self._session.domains

    def set_search_properties(
        self, metric: str | None, mode: str | None, config: dict, **spec: Any
    ) -> bool:
        """Ray Tune hook: take the metric, the mode and the search domains Tune passes."""
        if metric is not None:
            self._metric = metric
        if mode is not None:
            self._session.set_mode(mode)
            self._mode = mode
        self._session.set_config(config)
        return True

    def suggest(self, trial_id: str) -> dict | None:
        """Ray Tune hook: the next trial's config; ``Searcher.FINISHED`` once exhausted."""
        if not self._metric or not self._mode:
            raise ValueError(
                "MetaNASSearch needs metric and mode: pass MetaNASSearch(space, metric=..., mode=...) "
                "(Ray Tune forwards TuneConfig's metric/mode to a searcher only when param_space is given)."
            )
        config = self._session.ask_config(trial_id)
        return Searcher.FINISHED if config is None else config

    def on_trial_complete(
        self, trial_id: str, result: dict | None = None, error: bool = False
    ) -> None:
        """Ray Tune hook: tell the trial's metric: failed on error, pruned if stopped early."""
        value = None if (error or not result) else result.get(self._metric)
        self._session.tell(trial_id, value, state=_state(error, _stopped_early(trial_id)))

    def add_evaluated_point(
        self,
        parameters: dict,
        value: float,
        error: bool = False,
        pruned: bool = False,
        intermediate_values: Any = None,
    ) -> None:
        """Tell an architecture evaluated outside this search (Ray Tune's warm-start API)."""
        self._session.tell(None, value, state=_state(error, pruned), arch=parameters)

    # ------------------------------------------------------------------ checkpoints
    def get_state(self) -> dict:
        """The searcher's state as plain data (the metric and the session)."""
        return {"metric": self._metric, "session": self._session.state()}

    def set_state(self, state: dict) -> None:
        """Restore :meth:`get_state`'s state (an unknown saved metric or mode keeps the current)."""
        # a checkpoint saved before metric/mode were known does not erase them (nor does the
        # session's mode)
        self._metric = state["metric"] if state["metric"] is not None else self._metric
        self._session.set_state(state["session"])
        self._mode = self._session.mode
