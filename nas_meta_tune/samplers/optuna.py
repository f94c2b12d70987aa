"""``MetaNASSampler``: the meta-predictor NAS proposer as an Optuna sampler.

Usage::

    space = get_space("nb201")

    def objective(trial):
        arch = space.suggest(trial)                             # the architecture (relative sampling)
        lr = trial.suggest_float("lr", 1e-4, 1e-1, log=True)    # anything else: independent sampler
        return train_and_score(arch, lr)

    study = optuna.create_study(direction="maximize", sampler=MetaNASSampler(space, seed=0))
    study.optimize(objective, n_trials=100)

How the history is built (on every ``sample_relative`` call, from the study's storage, so it works
with ``n_jobs > 1``, several processes on one RDB/Journal storage and resumed studies):

* COMPLETE trials: their value (negated for ``minimize``).
* PRUNED trials: the last intermediate value is a weaker signal (a partial curve is biased low):
  it is used, but capped at the median of the COMPLETE scores, so a pruned trial can never look
  better than a typical finished one. Without intermediate values it only counts as evaluated.
* RUNNING / WAITING trials: pending ("constant liar" without a lie): never proposed again. Each
  proposal is also written to the trial's system attribute ``nas_meta_tune:proposal`` at once, so
  workers see it before the objective has suggested any parameter; when two workers propose at the
  same moment, the higher-numbered trial re-reads the claims and takes its next candidate.
* FAIL trials: not learned from, and never proposed again (a study would otherwise propose an
  architecture whose objective raises on every trial); Optuna's ``RetryFailedTrialCallback``
  still retries a crashed trial, as an enqueued trial with its parameters.
* Enqueued trials (``study.enqueue_trial``) are pending with their fixed architecture; the
  sampler proposes nothing for them.
* An error inside the predictor does not fail the trial: it is logged and an unseen architecture
  drawn at random is proposed instead.
* NaN / inf values are skipped with a warning.

The sampler checks that trials' architecture parameters belong to its space
(:class:`~nas_meta_tune.exceptions.SpaceMismatchError` otherwise) and refuses multi-objective
studies. It pickles cleanly (the predictor travels as its ``state_dict`` bytes), so Ray Tune's
``OptunaSearch(sampler=MetaNASSampler(...))`` can save it.
"""

from __future__ import annotations

import math
import threading
import warnings
from collections.abc import Callable, Sequence
from typing import Any

from .._imports import require

require("optuna", feature="MetaNASSampler")

from optuna.distributions import BaseDistribution, CategoricalDistribution  # noqa: E402
from optuna.samplers import BaseSampler, TPESampler  # noqa: E402
from optuna.study import Study, StudyDirection  # noqa: E402
from optuna.trial import FrozenTrial, TrialState  # noqa: E402

from ..exceptions import InvalidArchitectureError, SpaceMismatchError  # noqa: E402
from ..predictors.meta_predictor import MetaPredictor  # noqa: E402
from ..search.proposer import MetaNASProposer, SpaceExhaustedError  # noqa: E402
from ..search.session import combine_pruned  # noqa: E402
from ..spaces import get_space  # noqa: E402
from ..spaces._base import Architecture, SearchSpace  # noqa: E402

__all__ = ["MetaNASSampler"]

_CLAIM_ROUNDS = 4  # claim/re-read rounds when workers collide on a proposal
_CLAIM = "nas_meta_tune:proposal"
_MAX_DECODED = 200_000  # decoded trials kept (each a few hundred bytes)


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
        self._use_pruned = use_pruned
        if on_exhausted not in ("stop", "independent"):
            raise ValueError(
                f"on_exhausted must be 'stop' or 'independent', but got {on_exhausted=}."
            )
        self._on_exhausted = on_exhausted
        self._warned_exhausted = False
        self._warned_unused = False
        self._lock = threading.Lock()
        self._warned: set[int] = set()
        # trials' parameters and claims never change: decode each once (the history is re-read
        # from storage on every trial, and decoding dominated the cost of long studies)
        self._decoded: dict[Any, Any] = {}
        self._checked: set[tuple[str, tuple[Any, ...]]] = set()  # distributions found to match
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
        state["_decoded"], state["_checked"] = {}, set()
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()

    def reseed_rng(self) -> None:
        # Optuna calls this in each worker thread/process of n_jobs > 1: fresh, distinct streams
        with self._lock:
            self._proposer.reseed(None)
            self._independent.reseed_rng()

    # ------------------------------------------------------------ history from storage
    def _decode(self, key: Any, make: Callable[[], Architecture | None]) -> Architecture | None:
        if key not in self._decoded:
            if len(self._decoded) >= _MAX_DECODED:
                self._decoded.clear()
            self._decoded[key] = make()
        return self._decoded[key]

    def _arch_of(self, trial: FrozenTrial) -> Architecture | None:
        names = [n for n in self._search_space if n in trial.params]
        if not names:
            return None
        for n in names:
            dist = trial.distributions[n]
            if isinstance(dist, CategoricalDistribution) and (n, dist.choices) in self._checked:
                continue  # this distribution was checked before
            if not isinstance(dist, CategoricalDistribution) or set(dist.choices) != set(
                self._search_space[n].choices
            ):
                raise SpaceMismatchError(
                    f"trial {trial.number} has parameter {n!r} with {dist}, but this sampler's space expects "
                    f"{self._search_space[n]}; the study was made for another search space.",
                    space=self._space.name,
                )
            self._checked.add((n, dist.choices))
        if len(names) < len(self._search_space) and trial.state in (
            TrialState.RUNNING,
            TrialState.WAITING,
        ):
            # another worker is still between its first and last ``suggest`` call: its architecture
            # is its claim (or not known yet), not a mismatch
            return None
        values = tuple(trial.params[n] for n in names)
        try:
            return self._decode(
                (tuple(names), values),
                lambda: self._space.from_params(dict(zip(names, values))),
            )
        except InvalidArchitectureError as exc:
            raise SpaceMismatchError(
                f"trial {trial.number}: {exc}", space=self._space.name
            ) from exc

    def _score(self, trial: FrozenTrial, sign: float) -> float | None:
        if trial.state == TrialState.COMPLETE:
            value = trial.value
        elif trial.state == TrialState.PRUNED and self._use_pruned and trial.intermediate_values:
            value = trial.intermediate_values[max(trial.intermediate_values)]
        else:
            return None
        if value is None or not math.isfinite(value):
            if trial.number not in self._warned:
                self._warned.add(trial.number)
                warnings.warn(
                    f"MetaNASSampler: trial {trial.number} has a non-finite value {value}; it is skipped.",
                    stacklevel=3,
                )
            return None
        return sign * float(value)

    def _claim_of(self, trial: FrozenTrial) -> Architecture | None:
        claim = trial.system_attrs.get(_CLAIM)
        if claim is None:
            return None

        def make() -> Architecture | None:
            try:
                return self._space.from_string(claim)
            except InvalidArchitectureError:
                return None

        return self._decode(claim, make)

    def history(
        self, study: Study, current: FrozenTrial | None = None
    ) -> tuple[list[tuple[Architecture, float]], list[Architecture]]:
        """``(evaluated (arch, score) pairs, pending archs)`` rebuilt from the study's trials
        (score higher = better whatever the direction)."""
        complete, pending, _ = self._read(study, current)
        return complete, pending

    def _finished(self, t: FrozenTrial, sign: float) -> tuple[Architecture | None, float | None]:
        """``(architecture, score)`` of a finished trial, decoded once (finished trials never change)."""
        key = ("finished", t._trial_id, t.number, t.datetime_start, t.state, sign)
        if key not in self._decoded:
            arch = self._arch_of(t)
            self._decoded[key] = (arch, None if arch is None else self._score(t, sign))
        return self._decoded[key]

    def _read(
        self, study: Study, current: FrozenTrial | None
    ) -> tuple[list[tuple[Architecture, float]], list[Architecture], set[int]]:
        """:meth:`history` plus the numbers of the trials that were already finished."""
        sign = 1.0 if study.direction == StudyDirection.MAXIMIZE else -1.0
        complete, pruned, pending = [], [], []
        states = (
            TrialState.COMPLETE,
            TrialState.PRUNED,
            TrialState.RUNNING,
            TrialState.WAITING,
            TrialState.FAIL,
        )
        finished: set[int] = set()
        for t in study._get_trials(deepcopy=False, states=states, use_cache=False):
            if current is not None and t.number == current.number:
                continue
            if t.state == TrialState.FAIL:  # never proposed again, not learned from
                finished.add(t.number)
                arch = self._failed_arch(t)
                if arch is not None:
                    pending.append(arch)
                continue
            if t.state in (TrialState.RUNNING, TrialState.WAITING):
                arch = self._arch_of(t)
                if arch is None:  # an enqueued trial's fixed architecture, else its claim
                    arch = self._fixed_arch(t) or self._claim_of(t)
                if arch is not None:
                    pending.append(arch)
                continue
            finished.add(t.number)
            arch, s = self._finished(t, sign)
            if arch is None:
                continue
            if s is None:
                pending.append(arch)  # evaluated (never re-proposed) but no usable score
            elif t.state == TrialState.COMPLETE:
                complete.append((arch, s))
            else:
                pruned.append((arch, s))
        # the one policy for trials stopped early (shared with the Ray and Syne searchers)
        return combine_pruned(complete, pruned), pending, finished

    def _failed_arch(self, trial: FrozenTrial) -> Architecture | None:
        """A FAIL trial's architecture: fixed, claimed, or suggested in full (it may have failed
        half-way through its suggest calls)."""
        arch = self._fixed_arch(trial) or self._claim_of(trial)
        if arch is None and set(self._search_space) <= set(trial.params):
            arch = self._arch_of(trial)
        return arch

    def _fixed_arch(self, trial: FrozenTrial) -> Architecture | None:
        """The architecture an enqueued trial is fixed to (``study.enqueue_trial``), if any."""
        fixed = trial.system_attrs.get("fixed_params") or {}
        if not set(self._search_space) <= set(fixed):
            return None
        try:
            return self._space.from_params({n: fixed[n] for n in self._search_space})
        except InvalidArchitectureError:
            return None

    def _other_claims(
        self, study: Study, trial: FrozenTrial, finished: set[int] = frozenset()
    ) -> dict[str, list[int]]:
        """``{architecture key: trial numbers}`` claimed by the other trials, except those in
        ``finished``: trials already finished when the history was read are evaluated there and
        never among the candidates (a trial still running then, even without a claim yet, may
        have finished since and must be checked)."""
        claims: dict[str, list[int]] = {}
        states = (
            TrialState.RUNNING,
            TrialState.WAITING,
            TrialState.COMPLETE,
            TrialState.PRUNED,
            TrialState.FAIL,
        )
        for t in study._get_trials(deepcopy=False, states=states, use_cache=False):
            if t.number != trial.number and t.number not in finished:
                if t.state == TrialState.FAIL:
                    arch = self._failed_arch(t)
                else:
                    arch = self._claim_of(t) or self._arch_of(t)
                if arch is not None:
                    claims.setdefault(arch.key, []).append(t.number)
        return claims

    # ------------------------------------------------------------ BaseSampler
    def infer_relative_search_space(
        self, study: Study, trial: FrozenTrial
    ) -> dict[str, BaseDistribution]:
        if len(study.directions) > 1:
            raise ValueError(
                "MetaNASSampler supports single-objective studies only; for several objectives, tune one "
                "and record the others with trial.set_user_attr, or use a multi-objective sampler."
            )
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
        if self._fixed_arch(trial) is not None:
            return {}  # enqueued with its architecture: Optuna uses the fixed parameters
        with self._lock:
            history, pending, finished = self._read(study, trial)
            if not history and not pending:
                self._warn_if_unused(study)
            # a ranked batch only where other workers may claim the same proposal (trials still
            # running): contenders then move on to distinct members of it (see _claim)
            running = any(
                t.number != trial.number
                for t in study._get_trials(
                    deepcopy=False, states=(TrialState.RUNNING,), use_cache=False
                )
            )
            try:
                ranked = self._proposer.propose_robust(history, pending, n=8 if running else 1)
            except SpaceExhaustedError:
                return self._exhausted(study)
            arch = self._claim(study, trial, ranked, finished)
        params = arch.to_params()
        return {k: v for k, v in params.items() if k in search_space}

    def _exhausted(self, study: Study) -> dict[str, Any]:
        """Every architecture was evaluated or is pending: stop the study (``on_exhausted="stop"``,
        the default; the trial being created is its last, its architecture drawn by the
        independent sampler) or keep sampling independently (``"independent"``), warning once."""
        if not self._warned_exhausted:
            self._warned_exhausted = True
            what = (
                "stopping the study after this trial"
                if self._on_exhausted == "stop"
                else "sampling independently from now on (architectures will repeat)"
            )
            warnings.warn(
                f"MetaNASSampler: every architecture of {self._space.name!r} was evaluated or is "
                f"pending; {what}.",
                stacklevel=3,
            )
        if self._on_exhausted == "stop":
            study.stop()
        return {}

    def _warn_if_unused(self, study: Study) -> None:
        """Warn once when trials completed without any of this sampler's parameters: the
        objective does not call ``space.suggest(trial)`` for this space, so every parameter
        falls to the independent sampler and MetaNASSampler does nothing."""
        if self._warned_unused:
            return
        done = study._get_trials(deepcopy=False, states=(TrialState.COMPLETE,), use_cache=True)
        foreign = [t for t in done if t.params and not set(t.params) & set(self._search_space)]
        if foreign:
            self._warned_unused = True
            warnings.warn(
                f"MetaNASSampler: {len(foreign)} completed trial(s) have none of the parameters of "
                f"its space {self._space.name!r} (e.g. {sorted(foreign[0].params)[:4]}); the "
                f"objective must call {self._space.name!r}-space's suggest(trial). Until it does, "
                "the independent sampler picks every parameter.",
                stacklevel=3,
            )

    def _claim(
        self,
        study: Study,
        trial: FrozenTrial,
        ranked: list[Architecture],
        finished: set[int] = frozenset(),
    ) -> Architecture:
        """Write the proposal to storage, avoiding what other running trials have claimed.

        Claims that existed when the history was read are already pending there, so ``ranked``
        avoids them. If other workers claimed the same architecture meanwhile, none can know who
        was first, so all move on, each to a different free candidate: the one at its rank among
        the contenders' trial numbers (lowest first). That is checked again, a few rounds, since
        workers see each other's claims at different moments (with an empty history every worker
        proposes the same zero-shot best, so several collide at once).
        """
        arch = ranked[0]
        for _ in range(_CLAIM_ROUNDS):
            study._storage.set_trial_system_attr(trial._trial_id, _CLAIM, arch.to_string())
            after = self._other_claims(study, trial, finished)
            rivals = after.get(arch.key)
            if not rivals:
                return arch
            free = [a for a in ranked if a.key not in after and a.key != arch.key] or [ranked[-1]]
            lower = sum(n < trial.number for n in rivals)
            arch = free[min(len(free) - 1, lower)]
        study._storage.set_trial_system_attr(trial._trial_id, _CLAIM, arch.to_string())
        return arch

    def sample_independent(
        self,
        study: Study,
        trial: FrozenTrial,
        param_name: str,
        param_distribution: BaseDistribution,
    ) -> Any:
        if len(study.directions) > 1:
            raise ValueError(
                "MetaNASSampler supports single-objective studies only; for several objectives, "
                "tune one and record the others with trial.set_user_attr, or use a "
                "multi-objective sampler."
            )
        return self._independent.sample_independent(study, trial, param_name, param_distribution)

    def before_trial(self, study: Study, trial: FrozenTrial) -> None:
        self._independent.before_trial(study, trial)

    def after_trial(
        self, study: Study, trial: FrozenTrial, state: TrialState, values: Sequence[float] | None
    ) -> None:
        self._independent.after_trial(study, trial, state, values)
