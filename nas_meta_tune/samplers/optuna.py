"""``MetaNASSampler``: the meta-predictor NAS proposer as an Optuna sampler.

A translation layer over :class:`~nas_meta_tune.search.SearchSession`: the study's trials become
:class:`~nas_meta_tune.search.shared.TrialRecord` s (a PRUNED trial's value: its last intermediate
value); a proposal is claimed in the trial's system attribute ``nas_meta_tune:proposal``, so
threads and processes sharing one storage never propose one architecture twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from operator import attrgetter
from typing import Any

from .._imports import require

require("optuna", feature="MetaNASSampler")

from optuna.distributions import BaseDistribution, CategoricalDistribution  # noqa: E402
from optuna.samplers import BaseSampler, TPESampler  # noqa: E402
from optuna.study import Study  # noqa: E402
from optuna.trial import FrozenTrial, TrialState  # noqa: E402

from ..predictors.meta_predictor import MetaPredictor  # noqa: E402
from ..search.session import SearchSession, SessionAdapter  # noqa: E402
from ..search.shared import FinishedRecords, TrialRecord  # noqa: E402
from ..spaces._base import Architecture, SearchSpace  # noqa: E402

__all__ = ["MetaNASSampler"]

_CLAIM = "nas_meta_tune:proposal"
_STATES = {TrialState.COMPLETE: "complete", TrialState.PRUNED: "pruned", TrialState.FAIL: "failed"}
_STATES.update({TrialState.RUNNING: "running", TrialState.WAITING: "waiting"})


def _record(t: FrozenTrial) -> TrialRecord:
    iv = t.intermediate_values  # a pruned trial's score: its last one (one objective only)
    value = (iv[max(iv)] if iv else None) if t.state == TrialState.PRUNED else t.values
    return TrialRecord(  # dicts copied: a running trial's thread adds to them (n_jobs > 1)
        number=t.number,
        state=_STATES[t.state],
        params=dict(t.params),
        choices={n: getattr(d, "choices", None) for n, d in dict(t.distributions).items()},
        value=value,
        claim=t.system_attrs.get(_CLAIM),
        fixed=t.system_attrs.get("fixed_params") or {},
        key=(t._trial_id, t.number, t.datetime_start, t.state),
        constraints={k: v for k, v in t.system_attrs.items() if k.startswith("constraints")},
    )


class MetaNASSampler(SessionAdapter, BaseSampler):
    """Propose whole architectures with a few-shot-adapted meta-predictor.

    The objective calls ``arch = space.suggest(trial)`` for the architecture (proposed here) and
    ``trial.suggest_*`` for anything else (the independent sampler's)::

        study = optuna.create_study(direction="maximize", sampler=MetaNASSampler(space, seed=0))

    Args:
        space: The search space (object or registered name) the objective suggests from.
        predictor: A :class:`~nas_meta_tune.predictors.MetaPredictor` (default: the shipped one).
        seed: Seed of the proposer and of the default independent sampler.
        independent_sampler: Samples every non-architecture parameter (default: ``TPESampler``).
        **session_kwargs: :class:`~nas_meta_tune.search.SearchSession` options (``use_pruned``,
            ``on_exhausted``, ``learned_objective``, ``costs``) and those of its
            :class:`~nas_meta_tune.search.MetaNASProposer` (``acquisition``, ``pool_size``, ...).
            A study with ``directions=[...]`` (two objectives) gets Pareto proposals.
    """

    def __init__(
        self,
        space: SearchSpace | str,
        predictor: MetaPredictor | None = None,
        *,
        seed: int | None = None,
        independent_sampler: BaseSampler | None = None,
        **session_kwargs: Any,
    ) -> None:
        self._session = SearchSession(
            space, predictor, seed=seed, owner="MetaNASSampler", **session_kwargs
        )
        self._independent = independent_sampler or TPESampler(seed=seed)  # (a sampler is truthy)
        self._search_space = {
            p.name: CategoricalDistribution(list(p.choices)) for p in self.space.params
        }
        self._finished = FinishedRecords()

    def reseed_rng(self) -> None:
        """Optuna hook: fresh, distinct random streams (in each worker of ``n_jobs > 1``)."""
        self._session.reseed(None)
        self._independent.reseed_rng()

    def _records(self, study: Study) -> list[TrialRecord]:
        """The study's trials as the core reads them (:mod:`nas_meta_tune.search.shared`)."""
        trials = study._get_trials(deepcopy=False, states=tuple(_STATES), use_cache=False)
        store = (id(study._storage), study._study_id)
        return self._finished.records(store, trials, attrgetter("_trial_id"), _record)

    def history(self, study: Study) -> tuple[list[tuple[Architecture, Any]], list[Architecture]]:
        """``(evaluated (arch, score higher = better) pairs, pending archs)`` of the study."""
        return self._session.read_store(self._records(study), [d.name for d in study.directions])

    def infer_relative_search_space(
        self, study: Study, trial: FrozenTrial
    ) -> dict[str, BaseDistribution]:
        """Optuna hook: the architecture's parameters."""
        return dict(self._search_space)

    def sample_relative(
        self, study: Study, trial: FrozenTrial, search_space: dict[str, BaseDistribution]
    ) -> dict[str, Any]:
        """Optuna hook: a proposed architecture's values; others from the independent sampler."""
        # parameters of another kind in the relative space (Optuna's contract: a value for each)
        out = {
            name: self._independent.sample_independent(study, trial, name, dist)
            for name, dist in search_space.items()
            if name not in self._search_space
        }
        if len(out) < len(search_space):
            arch = self._session.ask_store(
                trial.number,
                lambda: self._records(study),
                lambda claim: study._storage.set_trial_system_attr(trial._trial_id, _CLAIM, claim),
                sign=[d.name for d in study.directions],
                fixed=trial.system_attrs.get("fixed_params"),
                stop=study.stop,  # an exhausted space: the trial being created is the last
            )
            if arch is not None:  # None: enqueued with its architecture, or exhausted (see doc)
                out.update({k: v for k, v in arch.to_params().items() if k in search_space})
        return out

    def sample_independent(
        self, study: Study, trial: FrozenTrial, param_name: str, dist: BaseDistribution
    ) -> Any:
        """Optuna hook: a parameter outside the architecture, from the independent sampler."""
        return self._independent.sample_independent(study, trial, param_name, dist)

    def before_trial(self, study: Study, trial: FrozenTrial) -> None:
        """Optuna hook, passed on to the independent sampler."""
        self._independent.before_trial(study, trial)

    def after_trial(
        self, study: Study, trial: FrozenTrial, state: TrialState, values: Sequence[float] | None
    ) -> None:
        """Optuna hook, passed on to the independent sampler."""
        self._independent.after_trial(study, trial, state, values)
