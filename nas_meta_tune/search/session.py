"""``SearchSession``: the ask/tell session every framework adapter translates to.

A framework hands trials over in its own vocabulary (Optuna ``FrozenTrial`` states, Ray Tune
trial ids and results, Syne Tune configs and metrics). Each adapter translates them into the few
events of a session, which owns everything else:

* **sign**: scores are "higher is better" inside; ``mode="min"`` negates what is told;
* **history**: complete trials with their score; **pruned / stopped** trials with their score
  capped at the median complete one, or left out with ``use_pruned=False``
  (:mod:`~nas_meta_tune.search.policy`: one policy for every framework);
* **pending**: trials asked for and not told yet (proposed again never; kriging-believer
  fantasies for the proposer) and **failed** or scoreless trials (never proposed again, not
  learned from);
* **the split of a framework's config**: the architecture's parameters (proposed here), other
  search domains (drawn at random, seeded) and constants (passed through): :meth:`set_config`,
  :meth:`ask_config`;
* **points to evaluate first**, and **state** as plain data for checkpoints
  (:meth:`SearchSession.state` / :meth:`SearchSession.set_state`).

Two ways in. The Ray and Syne searchers tell each trial's end as an event (:meth:`ask`,
:meth:`tell`). The Optuna sampler cannot: a study's storage is shared by threads and processes,
so on every trial it hands the stored trials over as
:class:`~nas_meta_tune.search.shared.TrialRecord` s and :meth:`ask_store` rebuilds the history
from them (:class:`~nas_meta_tune.search.shared.SharedHistory`, the same score policy) and claims
the proposal in the store, so that parallel workers never propose one architecture twice.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from .._logging import get_logger
from .._state import read_state, write_state
from ..exceptions import InvalidArchitectureError, SpaceMismatchError
from ..predictors.meta_predictor import MetaPredictor
from ..spaces import get_space
from ..spaces._base import Architecture, SearchSpace
from .multi import ParetoProposer
from .policy import STATES, combine_pruned, finite, trial_score
from .proposer import MetaNASProposer, SpaceExhaustedError
from .shared import SharedHistory, Sign, TrialRecord

__all__ = ["EventAdapter", "SearchSession", "SessionAdapter", "combine_pruned"]

_log = get_logger(__name__)
_ASK = "ask-"  # ids of trials asked before the framework names them (bind)
#: proposals ranked per ask of a shared store: where another worker claimed the first, the claim
#: moves on to the next free one (SharedHistory.claim)
_CLAIM_BATCH = 8
#: a store's sign as an adapter may give it: +1 / -1 or "maximize" / "minimize", one or a sequence
SignLike = float | str | Sequence[float | str]


def _is_plain(value: Any) -> bool:
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return False
    return True


class SearchSession:
    """Ask/tell over a :class:`~nas_meta_tune.search.MetaNASProposer` (see the module doc).

    Args:
        space: The search space (a registered name, a space, or a ConfigurationSpace).
        predictor: The meta-predictor (default: the shipped one).
        mode: ``"max"`` or ``"min"``: the direction of the values told (``None``: set later); a
            sequence of them for several objectives (values told as sequences).
        seed: Seed of the proposer and of the other search domains' draws.
        points_to_evaluate: Architectures (or their params / strings) to propose first.
        use_pruned: Learn from pruned / stopped trials (their score capped, see
            :mod:`~nas_meta_tune.search.policy`); ``False``: they are only never proposed again.
        on_exhausted: For :meth:`ask_store`, when every architecture was evaluated or is
            pending: ``"stop"`` the study, or let the framework's ``"independent"`` sampler go on.
        owner: The adapter's name, used in warnings and errors.
        learned_objective: In a multi-objective study (:meth:`ask_store` with one sign per
            objective): the objective the meta-predictor models (accuracy-like).
        costs: In a multi-objective study: ``{objective index: fn(arch) -> value}`` for the
            objectives known without training (e.g. a parameter count); the others are modelled
            on the study's values (:class:`~nas_meta_tune.search.multi.ParetoProposer`).
        **proposer_kwargs: Further :class:`~nas_meta_tune.search.MetaNASProposer` options.
    """

    def __init__(
        self,
        space: SearchSpace | str | Any,
        predictor: MetaPredictor | None = None,
        *,
        mode: str | Sequence[str] | None = "max",
        seed: int | None = None,
        points_to_evaluate: Iterable[Any] = (),
        use_pruned: bool = True,
        on_exhausted: str = "stop",
        owner: str = "",
        learned_objective: int = 0,
        costs: Mapping[int, Callable[[Architecture], float]] | None = None,
        **proposer_kwargs: Any,
    ) -> None:
        self.mode: str | tuple[str, ...] | None = None
        if mode is not None:
            self.set_mode(mode)  # before the predictor loads: a bad argument fails at once
        self.space = get_space(space)
        self.proposer = MetaNASProposer(self.space, predictor, seed=seed, **proposer_kwargs)
        self.learned_objective = int(learned_objective)
        self.costs = dict(costs or {})
        self._pareto: ParetoProposer | None = None  # built for the first multi-objective ask
        self.owner = owner or type(self).__name__
        self.use_pruned = bool(use_pruned)
        self.store = SharedHistory(self.space, use_pruned=self.use_pruned, owner=self.owner)
        self.store.exhausted(on_exhausted, check_only=True)  # validates it
        self.on_exhausted = on_exhausted
        self.constants: dict[str, Any] = {}
        self.domains: dict[str, Any] = {}
        self.asked = 0  # configs handed out: seeds the domains' draws, names unnamed trials
        self._draw_seed = 0 if seed is None else int(seed)
        self._complete: dict[str, tuple[Architecture, float]] = {}
        self._pruned: dict[str, tuple[Architecture, float]] = {}
        self._dead: dict[str, Architecture] = {}
        self._live: dict[str, Architecture] = {}
        self._first: list[Architecture] = self.space.archs(list(points_to_evaluate))
        self._warned_exhausted = False
        self._lock = threading.Lock()

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        del state["_lock"]
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()

    def reseed(self, seed: int | None) -> None:
        """Fresh random streams for the proposer (Optuna's ``reseed_rng`` in each worker)."""
        with self._lock:
            self.proposer.reseed(seed)

    # ------------------------------------------------------------------ translation helpers
    def set_mode(self, mode: str | Sequence[str]) -> None:
        """Set the direction (``"min"`` or ``"max"``) in which told values are better; a sequence
        of them, one per objective, for a multi-objective search (values told as sequences,
        proposals along the Pareto front: :class:`~nas_meta_tune.search.multi.ParetoProposer`)."""
        modes = (mode,) if isinstance(mode, str) else tuple(mode)
        if not modes or any(m not in ("min", "max") for m in modes):
            raise ValueError(f"mode must be 'min' or 'max' or a sequence of them, got {mode=}.")
        self.mode = modes[0] if len(modes) == 1 else modes

    def _sign(self) -> Sign:
        if self.mode is None:
            raise ValueError(
                f"{self.owner} needs the mode ('min' or 'max') before values are told: pass "
                "mode=... to it (a later set_search_properties cannot re-sign what was told)."
            )
        return _as_sign(self.mode)

    def signed(self, value: Any) -> float | None:
        """``value`` as a finite "higher is better" score, or ``None`` (missing / non-finite);
        single-objective."""
        x = finite(value)
        return None if x is None else float(self._sign()) * x  # type: ignore[arg-type]

    def arch_of(self, params: Any) -> Architecture:
        """The architecture of a framework's config / params (SpaceMismatchError if foreign)."""
        if isinstance(params, Architecture):
            return self.space.to_arch(params)
        try:
            return self.space.from_params(params)
        except InvalidArchitectureError as exc:
            if isinstance(exc, SpaceMismatchError):
                raise
            raise SpaceMismatchError(
                f"configuration does not belong to the space: {exc}", space=self.space.name
            ) from exc

    def set_config(self, config: Mapping[str, Any] | None, *, require: bool = False) -> None:
        """Split a framework's config space: the architecture's parameters (proposed here),
        search domains (objects with ``sample(random_state=...)``, such as a learning rate:
        drawn at random, since the proposer models architectures only) and constants (passed
        through). ``require``: a config space without every architecture parameter is refused."""
        config = dict(config or {})
        names = set(self.space.param_names)
        missing = names - set(config)
        if require and missing:
            raise SpaceMismatchError(
                f"config_space lacks the architecture parameters {sorted(missing)}.",
                space=self.space.name,
            )
        other = {k: v for k, v in config.items() if k not in names}
        self.constants = {k: v for k, v in other.items() if not hasattr(v, "sample")}
        self.domains = {k: v for k, v in other.items() if hasattr(v, "sample")}

    # ------------------------------------------------------------------ the events
    def history(self) -> tuple[list[tuple[Architecture, float]], list[Architecture]]:
        """``(scored (arch, score) pairs with the pruned policy applied, pending archs)``."""
        scored = combine_pruned(list(self._complete.values()), list(self._pruned.values()))
        return scored, [*self._dead.values(), *self._live.values()]

    def ask(self, trial_id: str) -> Architecture | None:
        """The next architecture for ``trial_id`` (pending until told), or ``None`` when every
        architecture has been evaluated or is pending (logged once)."""
        if self._first:
            arch = self._first.pop(0)
        else:
            history, pending = self.history()
            proposer = self._proposer_for(self._sign() if self.mode is not None else 1.0)
            try:
                arch = proposer.propose_robust(history, pending)[0]
            except SpaceExhaustedError:
                if not self._warned_exhausted:
                    self._warned_exhausted = True
                    _log.warning("%s: every architecture was evaluated; stopping.", self.owner)
                return None
        self._live[str(trial_id)] = arch
        return arch

    def ask_config(self, trial_id: str | None = None) -> dict[str, Any] | None:
        """:meth:`ask`, as the framework's flat config: the constants, the search domains drawn
        (seeded by ``seed`` and the count of configs asked, so the same after a restore) and
        every parameter of the architecture, inactive conditional ones too (Ray and Syne config
        spaces are flat). ``trial_id`` ``None``: named ``ask-<n>`` until :meth:`bind`."""
        arch = self.ask(f"{_ASK}{self.asked}" if trial_id is None else trial_id)
        if arch is None:
            return None
        rs = np.random.RandomState([self._draw_seed, self.asked])
        self.asked += 1
        return {
            **self.constants,
            **{k: v.sample(random_state=rs) for k, v in self.domains.items()},
            **self.space.full_params(arch),
        }

    def tell(
        self,
        trial_id: str | None = None,
        value: Any = None,
        *,
        state: str = "complete",
        arch: Architecture | Any = None,
    ) -> None:
        """Record how a trial ended.

        Args:
            trial_id: The id it was asked with (or ``None`` with ``arch``: a point evaluated
                elsewhere, or a framework that hands back the config instead of an id).
            value: Its value, in the study's own direction; missing / non-finite: scoreless
                (logged for a trial this session asked for).
            state: ``"complete"``, ``"pruned"`` (stopped early: the pruned policy applies) or
                ``"failed"`` (never learned from, never proposed again).
            arch: The architecture (or its params) when it is not known by ``trial_id``.
        """
        if state not in STATES:
            raise ValueError(f"state must be one of {STATES}, but got {state=}.")
        sign = 1.0 if state == "failed" else self._sign()  # the mode is needed for a value
        live = self._live.pop(str(trial_id), None) if trial_id is not None else None
        if arch is not None:
            arch = self.arch_of(arch)
            if live is None:  # the framework handed the config back instead of the id
                key = next((k for k, a in self._live.items() if a.key == arch.key), None)
                if key is not None:
                    live = self._live.pop(key)
        arch = arch if arch is not None else live
        if arch is None:
            return  # an unknown trial (e.g. told twice): nothing to record
        score = trial_score(state, value, sign, use_pruned=self.use_pruned)
        if live is not None and score is None and finite(value) is None and state != "failed":
            _log.warning(
                "%s: trial %s ended without a finite value (%r); not used for adaptation.",
                self.owner,
                trial_id,
                value,
            )
        self._record(arch, score, state)

    def _record(self, arch: Architecture, score: float | None, state: str) -> None:
        k = arch.key
        for book in (self._complete, self._pruned, self._dead):
            book.pop(k, None)
        if score is None:
            self._dead[k] = arch
        elif state == "pruned":
            self._pruned[k] = (arch, score)
        else:
            self._complete[k] = (arch, score)

    def reserve(self, trial_id: str | None, arch: Architecture | Any) -> Architecture:
        """Mark an architecture the framework chose itself (e.g. its points to evaluate) as
        pending under ``trial_id`` (``None``: named ``ask-<n>`` until :meth:`bind`)."""
        arch = self.arch_of(arch)
        if trial_id is None:
            trial_id = f"{_ASK}{self.asked}"
            self.asked += 1
        self._live[str(trial_id)] = arch
        return arch

    def bind(self, trial_id: Any, config: Architecture | Any) -> None:
        """Name a pending trial by the framework's own id once it is known (Syne Tune hands a
        trial's id to a searcher only with its results): the ``ask-<n>`` entry with this
        architecture takes the id, so that :meth:`tell` finds it by id (failures included)."""
        tid = str(trial_id)
        if tid in self._live:
            return
        key = self.arch_of(config).key
        old = next((k for k, a in self._live.items() if k.startswith(_ASK) and a.key == key), None)
        if old is not None:
            self._live[tid] = self._live.pop(old)

    def forget(self, trial_id: str) -> None:
        """A trial that will not report (removed before it ran): its architecture is free again."""
        self._live.pop(str(trial_id), None)

    @property
    def live(self) -> dict[str, Architecture]:
        """Architectures of the trials asked for and not told yet, by trial id."""
        return dict(self._live)

    def _proposer_for(self, sign: Sign) -> MetaNASProposer | ParetoProposer:
        """The proposer of a study signed ``sign``: one sign, the single-objective proposer; one
        per objective, the multi-objective one over it (built once, checked against the
        study's objectives)."""
        if not isinstance(sign, tuple):
            return self.proposer
        if self._pareto is None or self._pareto.n_objectives != len(sign):
            self._pareto = ParetoProposer(
                self.proposer,
                len(sign),
                learned=self.learned_objective,
                costs=self.costs,
                seed=int(self.proposer._rng.integers(2**31)),
            )
        self._pareto.set_signs(sign)
        return self._pareto

    # ------------------------------------------------------------------ a shared trial store
    def read_store(
        self, records: Iterable[TrialRecord], sign: SignLike, current: int | None = None
    ) -> tuple[list[tuple[Architecture, Any]], list[Architecture]]:
        """``(scored (arch, score) pairs, pending archs)`` of a store's trials, leaving out trial
        ``current`` (see :meth:`SharedHistory.read <nas_meta_tune.search.shared.SharedHistory.read>`)."""
        history, pending, _ = self.store.read(records, _as_sign(sign), current)
        return history, pending

    def ask_store(
        self,
        number: int,
        records: Callable[[], Iterable[TrialRecord]],
        write: Callable[[str], None],
        *,
        sign: SignLike,
        fixed: Mapping[str, Any] | None = None,
        stop: Callable[[], None] | None = None,
    ) -> Architecture | None:
        """The next architecture for trial ``number`` of a trial store that several workers
        share (Optuna's study storage), claimed in the store before it is returned.

        Args:
            number: The trial being sampled.
            records: Reads the store's trials (called again while claiming).
            write: Stores a claim (an architecture string) on the trial.
            sign: ``+1`` (or ``"maximize"``) if the store's values are maximised, ``-1`` (or
                ``"minimize"``) if minimised; a tuple of them, one per objective (a 1-tuple: a
                single-objective study).
            fixed: Parameters the trial was enqueued with.
            stop: Stops the study (called when every architecture was evaluated or is pending
                and ``on_exhausted="stop"``; the trial being sampled is then the last).

        Returns:
            The architecture, or ``None``: the trial was enqueued with its architecture (the
            framework uses the fixed parameters), or the space is exhausted (the framework's
            independent sampler fills the trial).
        """
        signs = _as_sign(sign)
        if self.store.fixed_arch(fixed or {}) is not None:
            return None
        with self._lock:
            recs = list(records())
            history, pending, finished = self.store.read(recs, signs, number)
            if not history and not pending:
                self.store.warn_if_unused(recs)
            # a ranked batch where other workers may claim the same proposal (trials running):
            # contenders move on to distinct members of it (SharedHistory.claim); a rival that
            # started after this read is handled there, by proposing again (``more``)
            running = any(r.state == "running" and r.number != number for r in recs)
            proposer = self._proposer_for(signs)
            try:
                ranked = proposer.propose_robust(history, pending, n=_CLAIM_BATCH if running else 1)
            except SpaceExhaustedError:
                if self.store.exhausted(self.on_exhausted) and stop is not None:
                    stop()
                return None

            def more(taken: list[Architecture]) -> list[Architecture]:
                try:
                    return proposer.propose_robust(history, pending + taken, n=_CLAIM_BATCH)
                except SpaceExhaustedError:
                    return []

            return self.store.claim(number, ranked, write, records, finished, more)

    # ------------------------------------------------------------------ state
    def state(self) -> dict[str, Any]:
        """Plain data (strings and numbers) for a checkpoint. The search domains are not saved
        (the framework hands them again); constants are, where they are plain data."""
        s = self.space.to_string
        return {
            "space": self.space.name,
            "mode": self.mode,
            "complete": [(s(a), v) for a, v in self._complete.values()],
            "pruned": [(s(a), v) for a, v in self._pruned.values()],
            "dead": [s(a) for a in self._dead.values()],
            "live": {k: s(a) for k, a in self._live.items()},
            "first": [s(a) for a in self._first],
            "asked": self.asked,
            "constants": {k: v for k, v in self.constants.items() if _is_plain(v)},
            "proposer": self.proposer.state(),
        }

    def set_state(self, state: dict[str, Any]) -> None:
        """Restore :meth:`state`; trials live at save time stay pending until told."""
        if state["space"] != self.space.name:
            raise SpaceMismatchError(
                f"checkpoint is for space {state['space']!r}, not {self.space.name!r}.",
                space=self.space.name,
            )
        f = self.space.from_string
        if state.get("mode") is not None:  # a checkpoint saved before the mode was known keeps it
            self.set_mode(state["mode"])
        self._complete = {(a := f(x)).key: (a, _score_of(v)) for x, v in state["complete"]}
        self._pruned = {(a := f(x)).key: (a, _score_of(v)) for x, v in state["pruned"]}
        self._dead = {(a := f(x)).key: a for x in state["dead"]}
        # trials live at save time are re-run by the framework; they stay pending until told
        self._live = {k: f(x) for k, x in state["live"].items()}
        self._first = [f(x) for x in state["first"]]
        self.asked = int(state.get("asked", 0))
        self.constants = {**self.constants, **state.get("constants", {})}
        self.proposer.set_state(state["proposer"])


def _score_of(value: Any) -> Any:
    """A saved score: a float, or a tuple of them (one per objective; JSON keeps a list)."""
    return tuple(float(x) for x in value) if isinstance(value, (list, tuple)) else float(value)


def _as_sign(sign: SignLike) -> Sign:
    """A store's sign: a float for one objective (also given as a 1-tuple), else a tuple. Each
    member is ``+1`` / ``-1`` or a direction's name (``"maximize"`` / ``"minimize"``, any case,
    as Optuna's ``StudyDirection.name``)."""
    if isinstance(sign, (int, float, str)):
        sign = (sign,)
    signs = tuple(_direction(x) for x in sign)
    return signs if len(signs) > 1 else signs[0]


def _direction(x: float | str) -> float:
    if isinstance(x, str):
        named = {"maximize": 1.0, "max": 1.0, "minimize": -1.0, "min": -1.0}.get(x.lower())
        if named is None:
            raise ValueError(f"direction must be 'maximize' or 'minimize', but got {x!r}.")
        return named
    return float(x)


class SessionAdapter:
    """What every framework adapter exposes of its :class:`SearchSession` (a mixin: the adapter
    sets ``_session``)."""

    _session: SearchSession

    @property
    def space(self) -> SearchSpace:
        """The session's search space."""
        return self._session.space

    @property
    def proposer(self) -> MetaNASProposer:
        """The session's proposer."""
        return self._session.proposer

    @property
    def session(self) -> SearchSession:
        """The underlying :class:`SearchSession`."""
        return self._session


class EventAdapter(SessionAdapter):
    """:class:`SessionAdapter` for a framework that tells each trial's end as an event (Ray Tune,
    Syne Tune): the history, and the state as a JSON checkpoint (``_checkpoint_kind`` names it)."""

    _checkpoint_kind = "SearchSession"

    @property
    def history(self) -> list[tuple[Architecture, float]]:
        """Evaluated ``(architecture, score)`` pairs, score higher = better."""
        return self._session.history()[0]

    def get_state(self) -> dict[str, Any]:
        """The session's state as plain data."""
        return {"session": self._session.state()}

    def set_state(self, state: dict[str, Any]) -> None:
        """Restore :meth:`get_state`'s state."""
        self._session.set_state(state["session"])

    def save(self, checkpoint_path: str) -> None:
        """Write the state as a JSON checkpoint (atomically; no pickle). The search domains of
        the config space are not saved: the framework hands them again (Ray Tune through
        ``set_search_properties``, Syne Tune to the constructor)."""
        write_state(checkpoint_path, self._checkpoint_kind, self.get_state())

    def restore(self, checkpoint_path: str) -> None:
        """Load a checkpoint written by :meth:`save` (JSON only: a pickle is refused)."""
        self.set_state(read_state(checkpoint_path, self._checkpoint_kind))
