"""``SearchSession``: the ask/tell bookkeeping every framework adapter shares.

A framework hands trials over in its own vocabulary (Optuna ``FrozenTrial`` states, Ray Tune
trial ids and results, Syne Tune configs and metrics). Each adapter translates them into the few
events of a session, which owns everything else:

* **sign**: scores are "higher is better" inside; ``mode="min"`` negates what is told;
* **history**: complete trials with their score; **pruned / stopped** trials (stopped early by a
  pruner or scheduler, their last value a biased-low partial result) with their score capped at
  the median of the complete ones (:func:`combine_pruned`: one policy for every framework);
* **pending**: trials asked for and not told yet (proposed again never; kriging-believer
  fantasies for the proposer) and **failed** or scoreless trials (never proposed again, not
  learned from);
* **points to evaluate first**, and **state** as plain data for checkpoints
  (:meth:`SearchSession.state` / :meth:`SearchSession.set_state`).

The Optuna sampler rebuilds its history from the study's storage on every trial (several
processes may share one study), so it uses :func:`combine_pruned` and :meth:`signed` but not the
in-process event log; the Ray and Syne searchers keep their trials in a session.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from ..exceptions import InvalidArchitectureError, SpaceMismatchError
from ..predictors.meta_predictor import MetaPredictor
from ..spaces import get_space
from ..spaces._base import Architecture, SearchSpace
from .proposer import MetaNASProposer, SpaceExhaustedError

__all__ = ["SearchSession", "combine_pruned"]

STATES = ("complete", "pruned", "failed")


def combine_pruned(
    complete: Sequence[tuple[Architecture, float]], pruned: Sequence[tuple[Architecture, float]]
) -> list[tuple[Architecture, float]]:
    """The history to learn from: complete trials as they are, pruned / stopped ones with their
    last score capped at the median complete score (a partial curve is biased low, and a pruned
    trial must never look better than a typical finished one). With nothing complete yet the
    pruned scores are the only signal and keep their spread."""
    cap = float(np.median([s for _, s in complete])) if complete else math.inf
    return [*complete, *((a, min(s, cap)) for a, s in pruned)]


class SearchSession:
    """Ask/tell over a :class:`~nas_meta_tune.search.MetaNASProposer` (see the module doc).

    Args:
        space: The search space (a registered name, a space, or a ConfigurationSpace).
        predictor: The meta-predictor (default: the shipped one).
        mode: ``"max"`` or ``"min"``: the direction of the values told (``None``: set later).
        seed: Seed of the proposer.
        points_to_evaluate: Architectures (or their params / strings) to propose first.
        **proposer_kwargs: Further :class:`~nas_meta_tune.search.MetaNASProposer` options.
    """

    def __init__(
        self,
        space: SearchSpace | str | Any,
        predictor: MetaPredictor | None = None,
        *,
        mode: str | None = "max",
        seed: int | None = None,
        points_to_evaluate: Iterable[Any] = (),
        **proposer_kwargs: Any,
    ) -> None:
        self.space = get_space(space)
        self.proposer = MetaNASProposer(self.space, predictor, seed=seed, **proposer_kwargs)
        self.mode = None
        if mode is not None:
            self.set_mode(mode)
        self._complete: dict[str, tuple[Architecture, float]] = {}
        self._pruned: dict[str, tuple[Architecture, float]] = {}
        self._dead: dict[str, Architecture] = {}
        self._live: dict[str, Architecture] = {}
        self._first: list[Architecture] = self.space.archs(list(points_to_evaluate))

    # ------------------------------------------------------------------ translation helpers
    def set_mode(self, mode: str) -> None:
        if mode not in ("min", "max"):
            raise ValueError(f"mode must be 'min' or 'max', but got {mode=}.")
        self.mode = mode

    def signed(self, value: Any) -> float | None:
        """``value`` as a finite "higher is better" score, or ``None`` (missing / non-finite)."""
        try:
            x = float(value)
        except (TypeError, ValueError):
            return None
        if not math.isfinite(x):
            return None
        if self.mode is None:
            raise ValueError(
                "the session needs the mode ('min' or 'max') before values are told: pass "
                "mode=... to the searcher."
            )
        return x if self.mode == "max" else -x

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

    # ------------------------------------------------------------------ the events
    def history(self) -> tuple[list[tuple[Architecture, float]], list[Architecture]]:
        """``(scored (arch, score) pairs with the pruned policy applied, pending archs)``."""
        scored = combine_pruned(list(self._complete.values()), list(self._pruned.values()))
        return scored, [*self._dead.values(), *self._live.values()]

    def ask(self, trial_id: str) -> Architecture | None:
        """The next architecture for ``trial_id`` (pending until told), or ``None`` when every
        architecture has been evaluated or is pending."""
        if self._first:
            arch = self._first.pop(0)
        else:
            history, pending = self.history()
            try:
                arch = self.proposer.propose_robust(history, pending)[0]
            except SpaceExhaustedError:
                return None
        self._live[str(trial_id)] = arch
        return arch

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
            value: Its value, in the study's own direction; missing / non-finite: scoreless.
            state: ``"complete"``, ``"pruned"`` (stopped early: the pruned policy applies) or
                ``"failed"`` (never learned from, never proposed again).
            arch: The architecture (or its params) when it is not known by ``trial_id``.
        """
        if state not in STATES:
            raise ValueError(f"state must be one of {STATES}, but got {state=}.")
        live = self._live.pop(str(trial_id), None) if trial_id is not None else None
        if arch is not None:
            arch = self.arch_of(arch)
            if live is None:  # the framework handed the config back instead of the id
                key = next((k for k, a in self._live.items() if a.key == arch.key), None)
                if key is not None:
                    self._live.pop(key)
        arch = arch if arch is not None else live
        if arch is None:
            return  # an unknown trial (e.g. told twice): nothing to record
        score = None if state == "failed" else self.signed(value)
        k = arch.key
        for book in (self._complete, self._pruned, self._dead):
            book.pop(k, None)
        if score is None:
            self._dead[k] = arch
        elif state == "pruned":
            self._pruned[k] = (arch, score)
        else:
            self._complete[k] = (arch, score)

    def reserve(self, trial_id: str, arch: Architecture | Any) -> Architecture:
        """Mark an architecture the framework chose itself (e.g. its points to evaluate) as
        pending under ``trial_id``."""
        arch = self.arch_of(arch)
        self._live[str(trial_id)] = arch
        return arch

    def forget(self, trial_id: str) -> None:
        """A trial that will not report (removed before it ran): its architecture is free again."""
        self._live.pop(str(trial_id), None)

    @property
    def live(self) -> dict[str, Architecture]:
        return dict(self._live)

    # ------------------------------------------------------------------ state
    def state(self) -> dict[str, Any]:
        """Plain data (strings and numbers) for a checkpoint."""
        s = self.space.to_string
        return {
            "space": self.space.name,
            "mode": self.mode,
            "complete": [(s(a), v) for a, v in self._complete.values()],
            "pruned": [(s(a), v) for a, v in self._pruned.values()],
            "dead": [s(a) for a in self._dead.values()],
            "live": {k: s(a) for k, a in self._live.items()},
            "first": [s(a) for a in self._first],
            "proposer": self.proposer.state(),
        }

    def set_state(self, state: dict[str, Any]) -> None:
        if state["space"] != self.space.name:
            raise SpaceMismatchError(
                f"checkpoint is for space {state['space']!r}, not {self.space.name!r}.",
                space=self.space.name,
            )
        f = self.space.from_string
        if state.get("mode") is not None:  # a checkpoint saved before the mode was known keeps it
            self.mode = state["mode"]
        self._complete = {(a := f(x)).key: (a, float(v)) for x, v in state["complete"]}
        self._pruned = {(a := f(x)).key: (a, float(v)) for x, v in state["pruned"]}
        self._dead = {(a := f(x)).key: a for x in state["dead"]}
        # trials live at save time are re-run by the framework; they stay pending until told
        self._live = {k: f(x) for k, x in state["live"].items()}
        self._first = [f(x) for x in state["first"]]
        self.proposer.set_state(state["proposer"])
