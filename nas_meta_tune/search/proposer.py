"""The framework-neutral NAS proposer behind MetaNASSampler, MetaNASSearch and the Syne searcher.

Given a space, a :class:`~nas_meta_tune.predictors.MetaPredictor`, the history of evaluated
``(architecture, score)`` pairs (higher = better) and the pending architectures,
:meth:`MetaNASProposer.propose` returns the next architecture to evaluate:

1. **Adapt** the predictor on the history with its inner-loop rule (BOIL: body only). By default
   (``warm_steps=5``) a proposal continues from the previous one's adapted weights with 5 steps
   while the history only grows, and re-adapts from the meta-initialisation (``adapt_steps``)
   every ``reinit_every`` proposals (and at every proposal while the history has fewer than
   ``warm_after`` evaluations, 0 by default); ``warm_steps=None`` always re-adapts from the
   meta-initialisation, so a proposal then depends only on the history. Warm-continuing is
   the default for speed: about 60-80 ms per suggestion up to 500 trials (the overhead run of
   ``benchmarks/search.py``).
   The history used is capped at ``max_history`` (the best half and a seeded random half of the
   rest), which bounds the cost of long studies.
2. **Candidates**: for a space that can be enumerated (nb201: 6,466 unique cells,
   NAS-Bench-Graph: 26,206), all of it when it has at most ``score_limit`` architectures, else a
   shortlist of that many: three quarters the ones the predictor ranks best, the last quarter at
   random. The shortlist is re-ranked with the adapted predictor every ``refresh_every``
   evaluations (the meta-initialisation picks the first one), so what the study has learnt
   reaches the whole space, not only the zero-shot favourites. Otherwise ``pool_size``
   random architectures. Plus, always, the neighbours of the ``n_parents`` best observed ones.
   Scoring fewer candidates keeps each proposal fast (one forward pass of the adapted body per
   candidate).
3. **Acquisition** on the predicted mean and MC-dropout std: ``"ucb"`` (mean + beta * std),
   ``"ei"``, ``"thompson"`` or ``"mean"``. Evaluated and pending architectures are never proposed
   again; isomorphic duplicates (same :meth:`SearchSpace.key`) count as the same architecture.

With an empty history the first proposal is the predictor's zero-shot best: no random start-up.
Everything is seeded by ``seed``; the proposer holds no framework object.
"""

from __future__ import annotations

import numbers
import threading
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
from scipy.special import ndtr
from scipy.stats import norm

from .._logging import get_logger
from .._rng import as_generator
from ..exceptions import SpaceMismatchError
from ..predictors.meta_predictor import MetaPredictor
from ..predictors.tasks import normalize_scores
from ..spaces import get_space
from ..spaces._base import Architecture, SearchSpace

__all__ = ["ACQUISITIONS", "MetaNASProposer", "SpaceExhaustedError"]

ACQUISITIONS = ("ucb", "ei", "thompson", "mean")
_log = get_logger(__name__)
_CANDIDATE_CACHE: dict[tuple[str, int], list[Architecture] | None] = {}
_CACHE_LOCK = threading.Lock()


class SpaceExhaustedError(RuntimeError):
    """Every candidate architecture has been evaluated or is pending."""


def _enumerated(space: SearchSpace, limit: int) -> list[Architecture] | None:
    """Every architecture of ``space`` (one per isomorphism class), or None when it is not
    enumerable or has more than ``limit``; cached per (space, limit), the None answers too (a
    space over the limit would otherwise be enumerated again on every proposal)."""
    key = (space.name, int(limit))
    with _CACHE_LOCK:
        if key in _CANDIDATE_CACHE:
            return _CANDIDATE_CACHE[key]
        archs = space.enumerate(unique=True) if space.is_enumerable else None
        if archs is not None and len(archs) > limit:
            archs = None
        _CANDIDATE_CACHE[key] = archs
        return archs


class MetaNASProposer:
    """Propose architectures with a few-shot-adapted meta-predictor.

    Args:
        space: A :class:`SearchSpace` or its registered name.
        predictor: The meta-predictor (default: :meth:`MetaPredictor.pretrained`).
        seed: Seeds candidate sampling, history sub-sampling and Thompson draws.
        acquisition: One of :data:`ACQUISITIONS`.
        beta: Exploration weight of ``"ucb"``.
        adapt_steps: Adaptation SGD steps of every re-adaptation from the meta-initialisation
            (default: the predictor's), or ``"auto"`` to choose them by cross-validation on the
            history (:meth:`MetaPredictor.adapt`; about 8-10x the cost).
        max_history: At most this many evaluated architectures are used for adaptation.
        enumerate_limit: Score the whole space when it has at most this many unique architectures.
        pool_size: Random candidates per proposal for spaces too large to enumerate.
        n_parents: Best observed architectures whose neighbours join the candidates.
        score_limit: Most candidates of an enumerable space scored per proposal.
        warm_steps: ``None`` re-adapts from the meta-initialisation at every proposal
            (``adapt_steps`` steps). An int continues from the previous proposal's adapted
            weights with that many steps while the history only grows, and re-adapts from the
            meta-initialisation every ``reinit_every`` proposals (bounds drift; cheaper per call).
        reinit_every: See ``warm_steps``.
        warm_after: With ``warm_steps``: histories shorter than this always re-adapt from the
            meta-initialisation (cheap while the history is short). Measured over the 8 held-out
            tasks of ``benchmarks/search.py``: ``warm_after=20`` has a lower mean regret at 20
            trials (0.81 vs 0.96) but a higher one at 50 and 100 (0.66 / 0.55 vs 0.42 / 0.34),
            hence the default 0.
        refresh_every: For an enumerable space larger than ``score_limit``: re-rank the whole
            space with the adapted predictor (to pick the shortlist of candidates) each time the
            history has grown by this many evaluations (or is not the history it was ranked
            for); ``None`` ranks it with the meta-initialisation only.
    """

    def __init__(
        self,
        space: SearchSpace | str,
        predictor: MetaPredictor | None = None,
        *,
        seed: int | None = None,
        acquisition: str = "ucb",
        beta: float = 1.0,
        adapt_steps: int | str | None = None,
        max_history: int = 100,
        enumerate_limit: int = 60_000,
        pool_size: int = 2_000,
        n_parents: int = 5,
        score_limit: int = 2_000,
        warm_steps: int | None = 5,
        reinit_every: int = 10,
        refresh_every: int | None = 10,
        warm_after: int = 0,
    ) -> None:
        self.space = get_space(space) if isinstance(space, str) else space
        if acquisition not in ACQUISITIONS:
            raise ValueError(f"acquisition must be one of {ACQUISITIONS}, but got {acquisition=}.")
        if not beta >= 0:
            raise ValueError(f"beta must be >= 0, but got {beta=}.")
        if max_history < 2 or pool_size < 1 or n_parents < 0:
            raise ValueError(
                f"need max_history >= 2, pool_size >= 1, n_parents >= 0; got {max_history=}, {pool_size=}, {n_parents=}."
            )
        self.predictor = predictor if predictor is not None else MetaPredictor.pretrained()
        self.acquisition = acquisition
        self.beta = float(beta)
        self.adapt_steps = adapt_steps
        self.max_history = int(max_history)
        self.enumerate_limit = int(enumerate_limit)
        self.pool_size = int(pool_size)
        self.n_parents = int(n_parents)
        self.score_limit = int(score_limit)
        if (
            adapt_steps is not None
            and adapt_steps != "auto"
            and not isinstance(adapt_steps, numbers.Integral)
        ):
            raise ValueError(f"adapt_steps must be an int, 'auto' or None, got {adapt_steps=}.")
        if warm_steps is not None and not isinstance(warm_steps, numbers.Integral):
            raise ValueError(f"warm_steps must be an int or None, got {warm_steps=}.")
        if warm_steps is not None and (warm_steps < 1 or reinit_every < 1):
            raise ValueError(
                f"need warm_steps >= 1 and reinit_every >= 1, got {warm_steps=}, {reinit_every=}."
            )
        self.warm_steps = warm_steps
        self.reinit_every = int(reinit_every)
        if warm_after < 0:
            raise ValueError(f"warm_after must be >= 0, got {warm_after=}.")
        self.warm_after = int(warm_after)
        if refresh_every is not None and refresh_every < 1:
            raise ValueError(f"refresh_every must be >= 1 or None, got {refresh_every=}.")
        self.refresh_every = refresh_every
        self._warm: tuple[frozenset[str], MetaPredictor, int] | None = (
            None  # (history keys, model, age)
        )
        self._shortlist: tuple[int, list[Architecture]] | None = None  # (history size, archs)
        self.seed = seed
        self._rng = as_generator(seed)
        self.last_adapted: MetaPredictor | None = None

    def reseed(self, seed: int | None) -> None:
        self._rng = as_generator(seed)

    def __repr__(self) -> str:
        return f"MetaNASProposer(space={self.space.name!r}, acquisition={self.acquisition!r}, {self.predictor!r})"

    # ------------------------------------------------------------------ pieces
    def _check(self, arch: Architecture) -> Architecture:
        if not isinstance(arch, Architecture):
            raise TypeError(f"expected an Architecture, got {type(arch).__name__}.")
        if arch.space.name != self.space.name:
            raise SpaceMismatchError(
                f"architecture of space {arch.space.name!r} given to a proposer of {self.space.name!r}.",
                space=self.space.name,
            )
        return arch

    def _history_subset(
        self, archs: list[Architecture], y: np.ndarray
    ) -> tuple[list[Architecture], np.ndarray]:
        if len(archs) <= self.max_history:
            return archs, y
        order = np.argsort(-y, kind="stable")
        half = self.max_history // 2
        best, rest = order[:half], order[half:]
        rng = np.random.default_rng(len(archs))  # depends on the history only
        pick = np.concatenate([best, rng.choice(rest, self.max_history - half, replace=False)])
        return [archs[i] for i in pick], y[pick]

    def adapted(
        self, archs: Sequence[Architecture], scores: Sequence[float] | np.ndarray
    ) -> MetaPredictor:
        """The predictor adapted on (a bounded subset of) the history."""
        y = np.asarray(scores, dtype=np.float64)
        if len(archs) < 2 or np.ptp(y) == 0:
            return self.predictor
        a, yy = self._history_subset(list(archs), y)
        if self.warm_steps is None:
            return self.predictor.adapt(a, yy, steps=self.adapt_steps)
        keys = frozenset(x.key for x in archs)
        if len(archs) < self.warm_after:  # a short history: full adaptations are cheap
            model = self.predictor.adapt(a, yy, steps=self.adapt_steps)
            self._warm = (keys, model, 0)
            return model
        if (
            self._warm is not None
            and self._warm[0] <= keys
            and self._warm[2] + 1 < self.reinit_every
        ):
            model = self._warm[1].adapt(a, yy, steps=self.warm_steps, warm_start=True)
            self._warm = (keys, model, self._warm[2] + 1)
        else:
            model = self.predictor.adapt(a, yy, steps=self.adapt_steps)
            self._warm = (keys, model, 0)
        return model

    def _enumerated_shortlist(
        self, model: MetaPredictor, n_history: int
    ) -> list[Architecture] | None:
        full = _enumerated(self.space, self.enumerate_limit)
        if full is None or len(full) <= self.score_limit:
            return full
        last = None if self._shortlist is None else self._shortlist[0]
        # stale: none yet, refresh_every more evaluations since, or another (shorter) history
        if (
            last is None
            or n_history < last
            or (self.refresh_every is not None and n_history >= last + self.refresh_every)
        ):
            # three quarters: what the ranking model orders first (the adapted model, or the
            # meta-initialisation with refresh_every=None); one quarter at random, so that a
            # poor ranking is never locked in
            ranker = model if self.refresh_every is not None else self.predictor
            order = np.argsort(-ranker.predict(full), kind="stable")
            n_top = (3 * self.score_limit) // 4
            rng = (
                self._rng  # a caller's generator: its stream, not a seed to derive from
                if isinstance(self.seed, np.random.Generator)
                else np.random.default_rng(None if self.seed is None else [self.seed, n_history])
            )
            rest = rng.choice(order[n_top:], self.score_limit - n_top, replace=False)
            picked = np.sort(np.concatenate([order[:n_top], rest]))
            self._shortlist = (n_history, [full[i] for i in picked])
        assert self._shortlist is not None
        return self._shortlist[1]

    def candidates(
        self,
        history: Sequence[Architecture],
        excluded: set[str],
        model: MetaPredictor | None = None,
    ) -> list[Architecture]:
        """Unevaluated, non-pending candidates (one per isomorphism class); ``history`` best first,
        ``model`` the predictor adapted on it (default: the meta-initialisation)."""
        pool = self._enumerated_shortlist(self.predictor if model is None else model, len(history))
        pool = list(pool) if pool is not None else self.space.sample(self.pool_size, seed=self._rng)
        pool.extend(n for a in history[: self.n_parents] for n in self.space.neighbors(a))
        out, seen = [], set(excluded)
        for a in pool:
            k = a.key
            if k not in seen:
                seen.add(k)
                out.append(a)
        if not out and _enumerated(self.space, self.enumerate_limit) is not None:
            out = [
                a for a in _enumerated(self.space, self.enumerate_limit) if a.key not in excluded
            ]
        return out

    def _acquire(self, mean: np.ndarray, std: np.ndarray, incumbent: float | None) -> np.ndarray:
        if self.acquisition == "mean":
            return mean
        if self.acquisition == "ucb":
            return mean + self.beta * std
        if self.acquisition == "thompson":
            return mean + std * self._rng.standard_normal(len(mean))
        # expected improvement over the incumbent (on the rank-normalised scale)
        best = mean.max() if incumbent is None else incumbent
        s = np.maximum(std, 1e-9)
        z = (mean - best) / s
        return (mean - best) * ndtr(z) + s * norm.pdf(z)

    # ------------------------------------------------------------------ the call
    def propose(
        self,
        history: Iterable[tuple[Architecture, float]] = (),
        pending: Iterable[Architecture] = (),
        *,
        n: int = 1,
    ) -> list[Architecture]:
        """The next ``n`` distinct architectures to evaluate.

        Args:
            history: Evaluated ``(architecture, score)`` pairs, higher score = better; non-finite
                scores are skipped (their architectures are still never proposed again).
            pending: Architectures being evaluated now (never proposed).
            n: How many to propose (for batch/parallel workers).

        Raises:
            SpaceExhaustedError: no candidate is left.
        """
        hist = [(self._check(a), float(s)) for a, s in history]
        pend = [self._check(a) for a in pending]
        excluded = {a.key for a, _ in hist} | {a.key for a in pend}
        good = [(a, s) for a, s in hist if np.isfinite(s)]
        good.sort(key=lambda t: -t[1])
        archs = [a for a, _ in good]
        y = np.array([s for _, s in good], dtype=np.float64)
        model = self.adapted(archs, y)
        self.last_adapted = model
        cands = self.candidates(archs, excluded, model)
        if not cands:
            raise SpaceExhaustedError(
                f"every architecture of {self.space.name!r} has been evaluated or is pending."
            )
        mean, std = model.predict(cands, return_std=True, seed=int(self._rng.integers(2**31)))
        incumbent = None
        if len(y) >= 2 and np.ptp(y) > 0:
            # the adapted model predicts rank-normalised scores of the history's scale
            incumbent = float(np.nanmax(normalize_scores(y)))
        # nothing evaluated yet: the zero-shot best (no exploration bonus, no Thompson draw)
        score = self._acquire(mean, std, incumbent) if good else mean
        n = min(int(n), len(cands))
        top = np.argpartition(-score, n - 1)[:n] if n < len(cands) else np.arange(len(cands))
        top = top[np.argsort(-score[top], kind="stable")]
        return [cands[i] for i in top]

    def propose_one(
        self,
        history: Iterable[tuple[Architecture, float]] = (),
        pending: Iterable[Architecture] = (),
    ) -> Architecture:
        return self.propose(history, pending, n=1)[0]

    def propose_robust(
        self,
        history: Iterable[tuple[Architecture, float]] = (),
        pending: Iterable[Architecture] = (),
        *,
        n: int = 1,
    ) -> list[Architecture]:
        """:meth:`propose`, except that a failure of the predictor (its adaptation or scoring)
        does not end the run: it is logged and unseen architectures drawn at random are proposed
        instead (what the framework adapters call). :class:`SpaceExhaustedError` and
        :class:`~nas_meta_tune.exceptions.SpaceMismatchError` (bad input) still propagate."""
        history, pending = list(history), list(pending)
        try:
            return self.propose(history, pending, n=n)
        except (SpaceExhaustedError, SpaceMismatchError):
            raise
        except Exception as exc:
            _log.warning(
                "MetaNASProposer: the predictor failed (%s: %s); proposing a random unseen "
                "architecture instead.",
                type(exc).__name__,
                exc,
            )
            return self.random_unseen(history, pending, n=n)

    def random_unseen(
        self,
        history: Iterable[tuple[Architecture, float]] = (),
        pending: Iterable[Architecture] = (),
        *,
        n: int = 1,
    ) -> list[Architecture]:
        """Up to ``n`` architectures drawn uniformly, none evaluated or pending (isomorphic
        duplicates count as seen); :class:`SpaceExhaustedError` when none is found."""
        seen = {a.key for a, _ in history} | {a.key for a in pending}
        out: dict[str, Architecture] = {}
        for size in (4 * n + 64, 64 * n + 1024):
            seed = int(self._rng.integers(2**31 - 1))
            for a in self.space.sample(size, seed=seed):
                if a.key not in seen and a.key not in out:
                    out[a.key] = a
                    if len(out) == n:
                        return list(out.values())
        if out:
            return list(out.values())
        raise SpaceExhaustedError(f"no unseen architecture of {self.space.name!r} was found.")

    def state(self) -> dict[str, Any]:
        """Picklable state (the RNG) for searchers' save/restore."""
        return {"rng": self._rng.bit_generator.state}

    def set_state(self, state: dict[str, Any]) -> None:
        self._rng.bit_generator.state = state["rng"]
        self._warm = None  # the next proposal re-adapts from the meta-initialisation
        self._shortlist = None  # and re-ranks the shortlist with it
