"""History, pending trials and claims read from a trial store that several workers share.

Optuna keeps a study's trials in a storage (in memory, an RDB, a journal file) that threads and
processes share; a sampler must rebuild what it knows from that storage on every trial. This
module does it framework-free: the adapter turns each stored trial into a :class:`TrialRecord`
(a few plain fields) and :class:`SharedHistory` decides what it means:

* ``complete`` trials: their value (signed so that higher is better);
* ``pruned`` trials: the last intermediate value, capped at the median complete score
  (:mod:`~nas_meta_tune.search.policy`, the policy shared with the Ray and Syne searchers);
  without one, evaluated but scoreless;
* ``running`` / ``waiting`` trials: pending (never proposed again): their parameters when all
  are suggested, else their fixed (enqueued) architecture, else the proposal they claimed;
* ``failed`` trials: never learned from, never proposed again;
* trials that broke their constraints (``TrialRecord.constraints``): learned from below every
  feasible trial (:func:`~nas_meta_tune.search.policy.penalise_infeasible`);
* non-finite values: skipped with a warning (once per trial).

:meth:`SharedHistory.claim` settles races between workers that propose at the same moment
(each proposal is written to the store before the objective runs, and re-read).
"""

from __future__ import annotations

import random
import warnings
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from typing import Any, NamedTuple

from ..exceptions import InvalidArchitectureError, SpaceMismatchError
from ..spaces._base import Architecture, SearchSpace
from .policy import combine_pruned, penalise_infeasible, trial_score, violation

__all__ = ["FinishedRecords", "SharedHistory", "TrialRecord"]

_MAX_DECODED = 200_000  # decoded trials kept (each a few hundred bytes)
_CLAIM_ROUNDS = 32  # claim / re-read rounds when workers collide on a proposal
LIVE = ("running", "waiting")
#: ``+1`` / ``-1`` (maximised / minimised), or one per objective in a multi-objective study
Sign = float | tuple[float, ...]


class TrialRecord(NamedTuple):
    """One stored trial, in the words of :class:`SharedHistory`.

    Attributes:
        number: The trial's number in the study.
        state: ``"complete"``, ``"pruned"``, ``"running"``, ``"waiting"`` or ``"failed"``.
        params: The parameters suggested so far.
        choices: ``{name: choices}`` of the parameters' distributions (``None`` for a
            distribution that is not categorical).
        value: The final value (complete) or the last intermediate value (pruned), as reported
            (``None`` when there is none); the values, one per objective, in a multi-objective
            study (with one objective a 1-sequence is read as its value).
        claim: The architecture string the trial claimed, if any.
        fixed: Parameters the trial was enqueued with.
        key: Identifies this trial in this state (a finished trial never changes: its decoding
            is cached under this key).
        constraints: Its constraint values by name (feasible when all are <= 0; a value may
            be a sequence of them), see :func:`~nas_meta_tune.search.policy.violation`.
    """

    number: int
    state: str
    params: Mapping[str, Any]
    choices: Mapping[str, Sequence[Any] | None]
    value: float | Sequence[float] | None
    claim: str | None
    fixed: Mapping[str, Any]
    key: Hashable
    constraints: Mapping[str, Any] = {}  # noqa: RUF012 (never mutated)


class FinishedRecords:
    """A store's trials as :class:`TrialRecord` s, each finished trial's built once (it never
    changes) and kept while the same store is read; a different store starts afresh."""

    def __init__(self) -> None:
        self._store: Hashable = None
        self._records: dict[Hashable, TrialRecord] = {}

    def records(
        self,
        store: Hashable,
        trials: Iterable[Any],
        trial_id: Callable[[Any], Hashable],
        build: Callable[[Any], TrialRecord],
    ) -> list[TrialRecord]:
        """``build(t)`` for each of ``trials`` of ``store``, cached by ``trial_id(t)`` once finished."""
        if store != self._store:
            self._store, self._records = store, {}
        out = []
        for t in trials:
            rec = self._records.get(trial_id(t)) or build(t)
            if rec.state not in LIVE:
                self._records[trial_id(t)] = rec
            out.append(rec)
        return out


class SharedHistory:
    """Read history, pending architectures and claims from :class:`TrialRecord` s.

    Args:
        space: The search space whose parameters the trials carry.
        use_pruned: Learn from pruned trials' last intermediate values (capped).
        owner: The name used in warnings and errors (the adapter's class name).
    """

    def __init__(self, space: SearchSpace, *, use_pruned: bool = True, owner: str = "") -> None:
        self.space = space
        self.use_pruned = use_pruned
        self.owner = owner or type(self).__name__
        self.names = tuple(p.name for p in space.params)
        self._choices = {p.name: set(p.choices) for p in space.params}
        self._decoded: dict[Any, Any] = {}
        self._checked: set[tuple[str, tuple[Any, ...]]] = set()
        self._warned: set[int] = set()
        self._warned_unused = False
        self._warned_exhausted = False

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_decoded": {}, "_checked": set()}

    # ------------------------------------------------------------------ decoding
    def _decode(self, key: Any, make: Callable[[], Any]) -> Any:
        if key not in self._decoded:
            if len(self._decoded) >= _MAX_DECODED:
                self._decoded.clear()
            self._decoded[key] = make()
        return self._decoded[key]

    def _check(self, rec: TrialRecord, name: str) -> None:
        choices = rec.choices.get(name)
        if choices is not None and (name, tuple(choices)) in self._checked:
            return
        if choices is None or set(choices) != self._choices[name]:
            raise SpaceMismatchError(
                f"trial {rec.number} has parameter {name!r} with choices {choices}, but this "
                f"sampler's space expects {sorted(self._choices[name], key=str)}; the study was "
                "made for another search space.",
                space=self.space.name,
            )
        self._checked.add((name, tuple(choices)))

    def arch_of(self, rec: TrialRecord) -> Architecture | None:
        """The architecture a trial suggested (``None``: none of the space's parameters, or a
        live trial still between its first and last ``suggest`` call)."""
        names = [n for n in self.names if n in rec.params]
        if not names:
            return None
        for n in names:
            self._check(rec, n)
        if len(names) < len(self.names) and rec.state in LIVE:
            return None  # its architecture is its claim, or not known yet: not a mismatch
        values = tuple(rec.params[n] for n in names)
        try:
            return self._decode(
                (tuple(names), values), lambda: self.space.from_params(dict(zip(names, values)))
            )
        except InvalidArchitectureError as exc:
            raise SpaceMismatchError(f"trial {rec.number}: {exc}", space=self.space.name) from exc

    def claim_of(self, rec: TrialRecord) -> Architecture | None:
        """The architecture a trial claimed (``None``: no claim, or a claim not of the space)."""
        if rec.claim is None:
            return None

        def make() -> Architecture | None:
            assert rec.claim is not None  # checked above (a TrialRecord is immutable)
            try:
                return self.space.from_string(rec.claim)
            except InvalidArchitectureError:
                return None

        return self._decode(rec.claim, make)

    def fixed_arch(self, fixed: Mapping[str, Any]) -> Architecture | None:
        """The architecture an enqueued trial is fixed to, if all its parameters are fixed."""
        if not set(self.names) <= set(fixed):
            return None
        try:
            return self.space.from_params({n: fixed[n] for n in self.names})
        except InvalidArchitectureError:
            return None

    def failed_arch(self, rec: TrialRecord) -> Architecture | None:
        """A failed trial's architecture: fixed, claimed, or suggested in full (it may have
        failed half-way through its suggest calls)."""
        arch = self.fixed_arch(rec.fixed) or self.claim_of(rec)
        if arch is None and set(self.names) <= set(rec.params):
            arch = self.arch_of(rec)
        return arch

    def _score(self, rec: TrialRecord, sign: Sign) -> Any:
        if (rec.state == "pruned" and not self.use_pruned) or rec.value is None:
            return None
        score = trial_score(rec.state, rec.value, sign, use_pruned=self.use_pruned)
        if score is None and rec.number not in self._warned:
            self._warned.add(rec.number)
            warnings.warn(
                f"{self.owner}: trial {rec.number} has a non-finite value {rec.value}; it is "
                "skipped.",
                stacklevel=4,
            )
        return score

    def _finished(self, rec: TrialRecord, sign: Sign) -> tuple[Architecture | None, Any]:
        def make() -> tuple[Architecture | None, Any]:
            arch = self.arch_of(rec)
            return arch, None if arch is None else self._score(rec, sign)

        return self._decode(("finished", rec.key, sign), make)

    # ------------------------------------------------------------------ reading
    def read(
        self, records: Iterable[TrialRecord], sign: Sign, current: int | None = None
    ) -> tuple[list[tuple[Architecture, Any]], list[Architecture], set[int]]:
        """``(scored (arch, score) pairs, pending archs, numbers of the finished trials)``,
        leaving out trial ``current`` (the one being sampled)."""
        complete: list[tuple[Architecture, float]] = []
        pruned: list[tuple[Architecture, float]] = []
        violations: dict[str, list[float]] = {"complete": [], "pruned": []}  # aligned with them
        pending: list[Architecture] = []
        finished: set[int] = set()
        for rec in records:
            if rec.number == current:
                continue
            if rec.state == "failed":
                finished.add(rec.number)
                arch = self.failed_arch(rec)
            elif rec.state in LIVE:
                arch = self.arch_of(rec) or self.fixed_arch(rec.fixed) or self.claim_of(rec)
            else:
                finished.add(rec.number)
                arch, s = self._finished(rec, sign)
                if arch is not None and s is not None:
                    (complete if rec.state == "complete" else pruned).append((arch, s))
                    violations[rec.state].append(
                        violation(rec.constraints) if rec.constraints else 0.0
                    )
                    continue
            if arch is not None:
                pending.append(arch)  # never proposed again (scoreless, failed or live)
        v = violations["complete"] + violations["pruned"]
        if any(v):  # infeasible trials rank below every feasible one
            both = penalise_infeasible([*complete, *pruned], v)
            complete, pruned = both[: len(complete)], both[len(complete) :]
        return combine_pruned(complete, pruned), pending, finished

    def other_claims(
        self, records: Iterable[TrialRecord], number: int, finished: AbstractSet[int] = frozenset()
    ) -> dict[str, list[int]]:
        """``{architecture key: trial numbers}`` claimed by trials other than ``number`` and not
        in ``finished`` (those were read into the history already; a trial live then, even
        without a claim yet, may have finished since and is checked)."""
        claims: dict[str, list[int]] = {}
        for rec in records:
            if rec.number == number or rec.number in finished:
                continue
            if rec.state == "failed":
                arch = self.failed_arch(rec)
            else:
                arch = self.claim_of(rec) or self.arch_of(rec)
            if arch is not None:
                claims.setdefault(arch.key, []).append(rec.number)
        return claims

    def claim(
        self,
        number: int,
        ranked: Sequence[Architecture],
        write: Callable[[str], None],
        records: Callable[[], Iterable[TrialRecord]],
        finished: AbstractSet[int] = frozenset(),
        more: Callable[[list[Architecture]], Sequence[Architecture]] | None = None,
    ) -> Architecture:
        """Claim a proposal for trial ``number``, avoiding what other live trials claimed.

        Claims that existed when the history was read are pending there, so ``ranked`` avoids
        them. If other workers claimed the same architecture meanwhile, none can know who was
        first, so all move on, each to a different free candidate: the one at its rank among the
        contenders' trial numbers (lowest first). That is checked again, since workers see each
        other's claims at different moments (with an empty history every worker proposes the
        same zero-shot best, so several collide at once): later collisions spread at random over
        the best free candidates, until a claim meets no rival (a warning if none does in
        ``_CLAIM_ROUNDS`` rounds). Each claim is written before the store is re-read, so of two
        trials that claim the same architecture at least one sees the other and moves on.

        Args:
            number: The trial being sampled.
            ranked: Proposals, best first.
            write: Stores a claim (an architecture string) on the trial.
            records: Re-reads the store.
            finished: Trials finished when the history was read.
            more: Proposes again with the given (rival-claimed) architectures pending, when
                every member of ``ranked`` is claimed by another trial (a rival claimed after
                the history was read); without it the last member is shared.
        """
        ranked = list(ranked)
        arch = ranked[0]
        spread = random.Random(number)  # a trial's own draws: workers differ, runs repeat
        for round_ in range(_CLAIM_ROUNDS):
            write(arch.to_string())
            after = self.other_claims(records(), number, finished)
            rivals = after.get(arch.key)
            if not rivals:
                return arch
            free = [a for a in ranked if a.key not in after and a.key != arch.key]
            while not free and more is not None:  # propose again, rivals' claims pending
                known = {a.key for a in ranked}
                new = [a for a in more([a for a in ranked if a.key in after]) if a.key not in known]
                if not new:
                    break
                ranked += new
                free = [a for a in new if a.key not in after]
            if not free:
                break  # every candidate is claimed: shared below
            if round_ == 0:  # first collision: contenders take distinct ranks, lowest first
                arch = free[min(len(free) - 1, sum(n < number for n in rivals))]
            else:  # they saw each other's claims at different moments: spread at random
                arch = spread.choice(free[: len(rivals) + 1])
        else:
            write(arch.to_string())
            warnings.warn(
                f"{self.owner or 'SharedHistory'}: trial {number} could not claim an "
                f"architecture no other trial claimed in {_CLAIM_ROUNDS} rounds; it runs "
                f"{arch.to_string()!r}, which another live trial may run too.",
                stacklevel=3,
            )
            return arch
        arch = ranked[-1]
        write(arch.to_string())
        return arch

    def warn_if_unused(self, records: Iterable[TrialRecord]) -> None:
        """Warn once when trials completed with parameters but none of this space's: the
        objective does not suggest this space's architecture, so the sampler does nothing."""
        names = set(self.names)
        foreign = [
            r for r in records if r.state == "complete" and r.params and not names & set(r.params)
        ]
        if foreign and not self._warned_unused:
            self._warned_unused = True
            warnings.warn(
                f"{self.owner}: {len(foreign)} completed trial(s) have none of the parameters of "
                f"its space {self.space.name!r} (e.g. {sorted(foreign[0].params)[:4]}); the "
                f"objective must call {self.space.name!r}-space's suggest(trial). Until it does, "
                "the independent sampler picks every parameter.",
                stacklevel=4,
            )

    def exhausted(self, policy: str, *, check_only: bool = False) -> bool:
        """Every architecture was evaluated or is pending: warn once, and return whether to stop
        the study (``policy="stop"``: no duplicate architectures) rather than let the
        independent sampler go on (``"independent"``: architectures repeat)."""
        if policy not in ("stop", "independent"):
            raise ValueError(f"on_exhausted must be 'stop' or 'independent', but got {policy=}.")
        if check_only:
            return False
        if not self._warned_exhausted:
            self._warned_exhausted = True
            what = (
                "stopping the study after this trial"
                if policy == "stop"
                else "sampling independently from now on (architectures will repeat)"
            )
            warnings.warn(
                f"{self.owner}: every architecture of {self.space.name!r} was evaluated or is "
                f"pending; {what}.",
                stacklevel=4,
            )
        return policy == "stop"
