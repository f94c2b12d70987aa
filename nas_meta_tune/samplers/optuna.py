"""``MetaNASSampler``: the meta-predictor NAS proposer as an Optuna sampler.

Usage::

    space = get_space("nb201")

    def objective(trial):
        arch = space.suggest(trial)                             # the architecture (relative sampling)
        lr = trial.suggest_float("lr", 1e-4, 1e-1, log=True)    # anything else: independent sampler
        return train_and_score(arch, lr)

    study = optuna.create_study(direction="maximize", sampler=MetaNASSampler(space, seed=0))
    study.optimize(objective, n_trials=100)

A translation layer: on every trial the study's storage is read into
:class:`~nas_meta_tune.search.shared.TrialRecord` s, and :class:`~nas_meta_tune.search.shared.SharedHistory`
(framework-free) turns them into the history (complete trials; pruned ones capped at the median),
the pending architectures (running, enqueued, failed, scoreless) and the claims that keep
``n_jobs > 1`` and several processes on one RDB / journal storage from proposing one
architecture twice. Each proposal is written to the trial's system attribute
``nas_meta_tune:proposal`` at once. Multi-objective studies are refused; the sampler pickles
(the predictor travels as its ``state_dict`` bytes), so Ray's ``OptunaSearch`` can save it.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

from .._imports import require

require("optuna", feature="MetaNASSampler")

from optuna.distributions import BaseDistribution, CategoricalDistribution  # noqa: E402
from optuna.samplers import BaseSampler, TPESampler  # noqa: E402
from optuna.study import Study, StudyDirection  # noqa: E402
from optuna.trial import FrozenTrial, TrialState  # noqa: E402

from ..predictors.meta_predictor import MetaPredictor  # noqa: E402
from ..search.proposer import MetaNASProposer, SpaceExhaustedError  # noqa: E402
from ..search.shared import SharedHistory, TrialRecord  # noqa: E402
from ..spaces import get_space  # noqa: E402
from ..spaces._base import Architecture, SearchSpace  # noqa: E402

__all__ = ["MetaNASSampler"]

_CLAIM = "nas_meta_tune:proposal"
_STATES = {
    TrialState.COMPLETE: "complete",
    TrialState.PRUNED: "pruned",
    TrialState.RUNNING: "running",
    TrialState.WAITING: "waiting",
    TrialState.FAIL: "failed",
}
_SINGLE = (
    "MetaNASSampler supports single-objective studies only; for several objectives, tune one "
    "and record the others with trial.set_user_attr, or use a multi-objective sampler."
)


def _sign(study: Study) -> float:
    return 1.0 if study.direction == StudyDirection.MAXIMIZE else -1.0


class MetaNASSampler(BaseSampler):
    """Propose whole architectures with a few-shot-adapted meta-predictor.

    Args:
        space: The search space (object or registered name); the objective must call
            ``space.suggest(trial)``.
        predictor: A :class:`~nas_meta_tune.predictors.MetaPredictor` (default: the shipped one).
        seed: Seed of the proposer and of the default independent sampler.
        independent_sampler: Samples every non-architecture parameter (default: ``TPESampler``).
        acquisition, beta, adapt_steps, max_history, pool_size: see
            :class:`~nas_meta_tune.search.MetaNASProposer` (the default acquisition is log-EI on
            the guarded transfer GP).
        use_pruned: Use PRUNED trials' last intermediate values (capped, see the module doc).
        on_exhausted: When every architecture has been evaluated (a small space): ``"stop"``
            calls ``study.stop()`` (no duplicate architectures), ``"independent"`` lets the
            independent sampler go on (architectures repeat). Both warn once.
        **proposer_kwargs: Further :class:`~nas_meta_tune.search.MetaNASProposer` options
            (``score_limit``, ``warm_steps``, ``reinit_every``, ``n_parents``...).
    """

    def __init__(
        self,
        space: SearchSpace | str,
        predictor: MetaPredictor | None = None,
        *,
        seed: int | None = None,
        independent_sampler: BaseSampler | None = None,
        acquisition: str | None = None,
        beta: float = 1.0,
        adapt_steps: int | str | None = None,
        max_history: int = 100,
        pool_size: int = 2_000,
        use_pruned: bool = True,
        on_exhausted: str = "stop",
        **proposer_kwargs: Any,
    ) -> None:
        self._space = get_space(space)
        self._proposer = MetaNASProposer(
            self._space,
            predictor,
            seed=seed,
            acquisition=acquisition,
            beta=beta,
            adapt_steps=adapt_steps,
            max_history=max_history,
            pool_size=pool_size,
            **proposer_kwargs,
        )
        self._independent = (
            independent_sampler if independent_sampler is not None else TPESampler(seed=seed)
        )
        self._on_exhausted = on_exhausted
        self._lock = threading.Lock()
        self._shared = SharedHistory(self._space, use_pruned=use_pruned, owner="MetaNASSampler")
        self._shared.exhausted(on_exhausted, check_only=True)
        self._search_space = {
            p.name: CategoricalDistribution(list(p.choices)) for p in self._space.params
        }

    @property
    def space(self) -> SearchSpace:
        return self._space

    @property
    def proposer(self) -> MetaNASProposer:
        return self._proposer

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        del state["_lock"]
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()

    def reseed_rng(self) -> None:
        # Optuna calls this in each worker thread/process of n_jobs > 1: fresh, distinct streams
        with self._lock:
            self._proposer.reseed(None)
            self._independent.reseed_rng()

    # ------------------------------------------------------------ storage -> records
    def _records(self, study: Study) -> list[TrialRecord]:
        """The study's trials as the core reads them (:mod:`nas_meta_tune.search.shared`)."""
        out = []
        for t in study._get_trials(deepcopy=False, states=tuple(_STATES), use_cache=False):
            value = t.value
            if t.state == TrialState.PRUNED:
                iv = t.intermediate_values
                value = iv[max(iv)] if iv else None
            out.append(
                TrialRecord(
                    number=t.number,
                    state=_STATES[t.state],
                    params=t.params,
                    choices={n: getattr(d, "choices", None) for n, d in t.distributions.items()},
                    value=value,
                    claim=t.system_attrs.get(_CLAIM),
                    fixed=t.system_attrs.get("fixed_params") or {},
                    key=(t._trial_id, t.number, t.datetime_start, t.state),
                )
            )
        return out

    def history(
        self, study: Study, current: FrozenTrial | None = None
    ) -> tuple[list[tuple[Architecture, float]], list[Architecture]]:
        """``(evaluated (arch, score) pairs, pending archs)`` rebuilt from the study's trials
        (score higher = better whatever the direction)."""
        number = None if current is None else current.number
        complete, pending, _ = self._shared.read(self._records(study), _sign(study), number)
        return complete, pending

    # ------------------------------------------------------------ BaseSampler
    def infer_relative_search_space(
        self, study: Study, trial: FrozenTrial
    ) -> dict[str, BaseDistribution]:
        if len(study.directions) > 1:
            raise ValueError(_SINGLE)
        return dict(self._search_space)

    def sample_relative(
        self, study: Study, trial: FrozenTrial, search_space: dict[str, BaseDistribution]
    ) -> dict[str, Any]:
        # parameters of another kind in the relative space (Optuna's contract: a value for each)
        # go to the independent sampler; the architecture's are proposed together below
        out = {
            name: self._independent.sample_independent(study, trial, name, dist)
            for name, dist in search_space.items()
            if name not in self._search_space
        }
        if len(out) == len(search_space):
            return out
        return {**out, **self._sample_arch(study, trial, search_space)}

    def _sample_arch(
        self, study: Study, trial: FrozenTrial, search_space: dict[str, BaseDistribution]
    ) -> dict[str, Any]:
        fixed = trial.system_attrs.get("fixed_params") or {}
        if self._shared.fixed_arch(fixed) is not None:
            return {}  # enqueued with its architecture: Optuna uses the fixed parameters
        with self._lock:
            records = self._records(study)
            history, pending, finished = self._shared.read(records, _sign(study), trial.number)
            if not history and not pending:
                self._shared.warn_if_unused(records)
            # a ranked batch only where other workers may claim the same proposal (trials still
            # running): contenders then move on to distinct members of it (SharedHistory.claim)
            running = any(r.state == "running" and r.number != trial.number for r in records)
            try:
                ranked = self._proposer.propose_robust(history, pending, n=8 if running else 1)
            except SpaceExhaustedError:
                return self._exhausted(study)

            def write(claim: str) -> None:
                study._storage.set_trial_system_attr(trial._trial_id, _CLAIM, claim)

            arch = self._shared.claim(
                trial.number, ranked, write, lambda: self._records(study), finished
            )
        return {k: v for k, v in arch.to_params().items() if k in search_space}

    def _exhausted(self, study: Study) -> dict[str, Any]:
        """Every architecture was evaluated or is pending (see ``on_exhausted``)."""
        if self._shared.exhausted(self._on_exhausted):
            study.stop()  # the trial being created is the last; the independent sampler fills it
        return {}

    def sample_independent(
        self,
        study: Study,
        trial: FrozenTrial,
        param_name: str,
        param_distribution: BaseDistribution,
    ) -> Any:
        if len(study.directions) > 1:
            raise ValueError(_SINGLE)
        return self._independent.sample_independent(study, trial, param_name, param_distribution)

    def before_trial(self, study: Study, trial: FrozenTrial) -> None:
        self._independent.before_trial(study, trial)

    def after_trial(
        self, study: Study, trial: FrozenTrial, state: TrialState, values: Sequence[float] | None
    ) -> None:
        self._independent.after_trial(study, trial, state, values)
