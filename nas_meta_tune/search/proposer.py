"""The framework-neutral NAS proposer behind MetaNASSampler, MetaNASSearch and the Syne searcher.

Given a space, a :class:`~nas_meta_tune.predictors.MetaPredictor`, the history of evaluated
``(architecture, score)`` pairs (higher = better) and the pending architectures,
:meth:`MetaNASProposer.propose` returns the next architectures to evaluate. By default
(``surrogate="gp"``) it is transfer Bayesian optimisation:

1. **Adapt** the predictor on the history with its inner-loop rule (BOIL: body only). By default
   (``warm_steps=5``) a proposal continues from the previous one's adapted weights with 5 steps
   while the history only grows, and re-adapts from the meta-initialisation (``adapt_steps``)
   every ``reinit_every`` proposals; ``warm_steps=None`` always re-adapts from the
   meta-initialisation. The history used is capped at ``max_history`` (the best half and a
   seeded random half of the rest), which bounds the cost of long studies.
2. **Candidates**: for a space that can be enumerated (nb201: 6,466 unique cells,
   NAS-Bench-Graph: 26,206), all of it when it has at most ``score_limit`` architectures, else a
   shortlist of that many: three quarters the ones the adapted predictor ranks best (re-ranked
   over the whole space every ``refresh_every`` evaluations), the last quarter at random.
   Otherwise ``pool_size`` random architectures. Plus, always, the neighbours of the
   ``n_parents`` best observed ones (local search around the incumbents).
3. **Surrogate** (:class:`~nas_meta_tune.search.surrogate.TransferGPSurrogate`): a GP whose mean
   is the adapted predictor and whose kernel reads the adapted GCN body's embedding, guarded by a
   target-only GP on a one-hot encoding, the two weighted by how well each ranked the study's
   architectures before their scores were known (RGPE). Its posterior is the uncertainty the
   acquisition uses: it shrinks where evidence lies near a candidate.
4. **Acquisition**: ``"log_ei"`` (default) on the rank-normalised scale, or ``"ucb"`` / ``"ei"``
   / ``"thompson"`` / ``"mean"``. A batch (``n > 1``) and the pending architectures are handled by
   kriging believer: each pick and each pending architecture is a fantasy observation at its
   posterior mean, which shrinks the variance around it, so the next pick looks elsewhere.
   Evaluated and pending architectures are never proposed again; isomorphic duplicates (same
   :meth:`SearchSpace.key`) count as the same architecture.

With fewer than two distinct scores (no GP can be fitted yet) the proposal is drawn at random
from the predictor's zero-shot top ``initial_top`` (``initial="top"``, default): the prior decides
where to start, the seed which of its best guesses, so that seeds are replicates rather than one
run repeated (on a deterministic benchmark table the zero-shot best, ``initial="mean"``, makes every
seed the same study). No uninformed random start-up. ``surrogate="dropout"`` is the earlier proposer (the
adapted predictor with an MC-dropout standard deviation on the head's input), kept as an ablation.
Everything is seeded by ``seed``; the proposer holds no framework object.
"""

from __future__ import annotations

import numbers
import threading
from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple, cast

import numpy as np
from scipy.special import ndtr
from scipy.stats import norm

from .._logging import get_logger
from .._rng import as_generator
from ..exceptions import PredictorFailedError, SpaceMismatchError
from ..predictors.meta_predictor import MetaPredictor
from ..predictors.tasks import normalize_scores
from ..spaces import get_space
from ..spaces._base import Architecture, SearchSpace
from .acquisition import log_ei
from .surrogate import CombinedPosterior, TransferGPSurrogate, param_onehot

__all__ = [
    "ACQUISITIONS",
    "CandidateView",
    "MetaNASProposer",
    "RobustProposals",
    "SpaceExhaustedError",
]

ACQUISITIONS = ("log_ei", "ucb", "ei", "thompson", "mean")
#: ``"gp"``: the transfer GP guarded by a target-only GP (:mod:`.surrogate`); ``"dropout"``: the
#: adapted meta-predictor with MC-dropout std (the earlier proposer, kept as an ablation)
SURROGATES = ("gp", "dropout")
INITIALS = ("top", "mean", "thompson")
_log = get_logger(__name__)
_SCORE_CHUNK = 2048  # candidates whose variance is computed at a time
_CANDIDATE_CACHE: dict[tuple[str, int], list[Architecture] | None] = {}
_CACHE_LOCK = threading.Lock()


class _Rows(Sequence):
    """Rows ``cand`` of the enumerated space, as a sequence of architectures (looked up on
    access, not copied)."""

    def __init__(self, full: list[Architecture], cand: np.ndarray) -> None:
        self.full, self.cand = full, cand

    def __len__(self) -> int:
        return len(self.cand)

    def __getitem__(self, j):
        if isinstance(j, slice):
            return [self.full[i] for i in self.cand[j]]
        return self.full[self.cand[j]]


class CandidateView(NamedTuple):
    """What :meth:`MetaNASProposer.candidate_view` knows of a proposal's candidates.

    Attributes:
        archs: The candidates (a sequence of architectures).
        prior: The prior's scores of the candidates when no GP could be fitted, else ``None``.
        post: The guarded transfer GP's posterior over the candidates (``None`` before a fit).
        history: The evaluated architectures the GP was fitted on (best first).
        y: Their rank-normalised scores (the GP's scale).
    """

    archs: Sequence[Architecture]
    prior: np.ndarray | None
    post: CombinedPosterior | None
    history: list[Architecture]
    y: np.ndarray


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


def _dropout_sample(
    model: MetaPredictor, archs: Sequence[Architecture], rng: np.random.Generator
) -> np.ndarray:
    """One MC-dropout sample of ``model``'s predictions (Gal & Ghahramani, 2016): a single mask on
    the head's input shared by every architecture, i.e. one plausible function from the
    predictor's own posterior; its argmax is a Thompson draw. Without dropout: the mean."""
    feats = model.embed(archs).astype(np.float64)
    head = model.model.head
    w = head.weight.detach().cpu().numpy().astype(np.float64)[0]
    b = float(head.bias.detach().cpu().numpy()[0])
    p = float(model.model.config.dropout)
    if p <= 0:
        return feats @ w + b
    keep = (rng.random(len(w)) >= p) / (1 - p)
    return feats @ (w * keep) + b


def _validate(
    *,
    surrogate: str,
    initial: str,
    initial_top: int,
    acquisition: str,
    beta: float,
    max_history: int,
    pool_size: int,
    n_parents: int,
    adapt_steps: int | str | None,
    warm_steps: int | None,
    reinit_every: int,
    warm_after: int,
    refresh_every: int | None,
) -> None:
    """Raise a ``ValueError`` naming the first bad :class:`MetaNASProposer` argument."""
    if surrogate not in SURROGATES:
        raise ValueError(f"surrogate must be one of {SURROGATES}, but got {surrogate=}.")
    if initial not in INITIALS:
        raise ValueError(f"initial must be one of {INITIALS}, but got {initial=}.")
    if not (isinstance(initial_top, numbers.Integral) and initial_top >= 1):
        raise ValueError(f"initial_top must be an int >= 1, but got {initial_top=}.")
    if acquisition not in ACQUISITIONS:
        raise ValueError(f"acquisition must be one of {ACQUISITIONS}, but got {acquisition=}.")
    if not beta >= 0:
        raise ValueError(f"beta must be >= 0, but got {beta=}.")
    if max_history < 2 or pool_size < 1 or n_parents < 0:
        raise ValueError(
            f"need max_history >= 2, pool_size >= 1, n_parents >= 0; got {max_history=}, {pool_size=}, {n_parents=}."
        )
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
    if warm_after < 0:
        raise ValueError(f"warm_after must be >= 0, got {warm_after=}.")
    if refresh_every is not None and refresh_every < 1:
        raise ValueError(f"refresh_every must be >= 1 or None, got {refresh_every=}.")


class RobustProposals:
    """``propose_robust``: the failure policy every proposer of the adapters shares. A failure
    of the predictor (its adaptation or scoring) does not end the trial: it is logged and unseen
    architectures drawn at random are proposed instead; after :attr:`max_failures` failures in a
    row it raises :class:`~nas_meta_tune.exceptions.PredictorFailedError` instead of degrading the
    whole search to random search. Exceptions in ``_passthrough`` (bad input, an exhausted
    space) propagate. Needs ``propose`` and ``random_unseen``."""

    #: consecutive predictor failures :meth:`propose_robust` absorbs before raising
    max_failures = 3
    _passthrough: tuple[type[BaseException], ...] = ()

    def propose_robust(
        self, history: Iterable[Any] = (), pending: Iterable[Architecture] = (), *, n: int = 1
    ) -> list[Architecture]:
        """``propose``, with the failure policy of the class doc (what the adapters call)."""
        name = type(self).__name__
        history, pending = list(history), list(pending)
        passthrough: tuple[type[BaseException], ...] = (
            SpaceExhaustedError,
            SpaceMismatchError,
            *self._passthrough,
        )
        try:
            out = self.propose(history, pending, n=n)  # type: ignore[attr-defined]
        except passthrough:
            raise
        except Exception as exc:
            self._failures = getattr(self, "_failures", 0) + 1
            if self._failures >= self.max_failures:
                raise PredictorFailedError(
                    f"{name}: the predictor failed on {self._failures} proposals in a "
                    f"row (last: {type(exc).__name__}: {exc}); stopping instead of continuing as "
                    "random search. Check the predictor and the space (MetaPredictor.predict on "
                    "space.sample(2) reproduces it)."
                ) from exc
            _log.warning(
                "%s: the predictor failed (%s: %s); proposing a random unseen "
                "architecture instead (%d of %d failures in a row before the search stops).",
                name,
                type(exc).__name__,
                exc,
                self._failures,
                self.max_failures,
            )
            return self.random_unseen(history, pending, n=n)  # type: ignore[attr-defined]
        self._failures = 0
        return out


class MetaNASProposer(RobustProposals):
    """Propose architectures with a few-shot-adapted meta-predictor.

    Args:
        space: A :class:`SearchSpace` or its registered name.
        predictor: The meta-predictor (default: :meth:`MetaPredictor.pretrained`).
        seed: Seeds candidate sampling, history sub-sampling and Thompson draws.
        acquisition: One of :data:`ACQUISITIONS` (default: ``"log_ei"`` with the GP surrogate,
            ``"ucb"`` with ``surrogate="dropout"``).
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
        surrogate: One of :data:`SURROGATES`: ``"gp"`` (the guarded transfer GP, default) or
            ``"dropout"`` (the adapted predictor's MC-dropout std; the earlier proposer, kept as
            an ablation).
        guard: With ``surrogate="gp"``: combine the transfer GP with the target-only GP by ranking
            weights (``False``: the transfer GP alone).
        initial: With fewer than two distinct scores: ``"top"`` draws (without replacement) from
            the predictor's zero-shot top ``initial_top``, ``"mean"`` proposes its zero-shot best,
            ``"thompson"`` the argmax of one MC-dropout sample of it.
        initial_top: See ``initial``.
    """

    def __init__(
        self,
        space: SearchSpace | str,
        predictor: MetaPredictor | None = None,
        *,
        seed: int | None = None,
        acquisition: str | None = None,
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
        surrogate: str = "gp",
        guard: bool = True,
        initial: str = "top",
        initial_top: int = 10,
    ) -> None:
        if acquisition is None:
            acquisition = "log_ei" if surrogate == "gp" else "ucb"
        _validate(
            surrogate=surrogate,
            initial=initial,
            initial_top=initial_top,
            acquisition=acquisition,
            beta=beta,
            max_history=max_history,
            pool_size=pool_size,
            n_parents=n_parents,
            adapt_steps=adapt_steps,
            warm_steps=warm_steps,
            reinit_every=reinit_every,
            warm_after=warm_after,
            refresh_every=refresh_every,
        )
        self.space = get_space(space)
        self.initial_top = int(initial_top)
        self.surrogate = surrogate
        self.guard = bool(guard)
        self.initial = initial
        self.predictor = predictor if predictor is not None else MetaPredictor.pretrained()
        self.acquisition = acquisition
        self.beta = float(beta)
        self.adapt_steps = adapt_steps
        self.max_history = int(max_history)
        self.enumerate_limit = int(enumerate_limit)
        self.pool_size = int(pool_size)
        self.n_parents = int(n_parents)
        self.score_limit = int(score_limit)
        self.warm_steps = warm_steps
        self.reinit_every = int(reinit_every)
        self.warm_after = int(warm_after)
        self.refresh_every = refresh_every
        self._warm: tuple[frozenset[str], MetaPredictor, int] | None = (
            None  # (history keys, model, age)
        )
        self._shortlist: tuple[int, list[Architecture]] | None = None  # (history size, archs)
        self.seed = seed
        self._rng = as_generator(seed)
        self.last_adapted: MetaPredictor | None = None
        self._gp: TransferGPSurrogate | None = None  # built on first use
        # the enumerated space's transfer-GP inputs (history size, history keys, inputs), its
        # one-hot encodings, key -> row map and zero-shot scores, computed on first use
        self._space_cache: tuple[int, frozenset[str], np.ndarray] | None = None
        self._full_onehot: np.ndarray | None = None
        self._full_rows: dict[str, int] | None = None
        self._zero_shot: np.ndarray | None = None
        self._full_batches: list | None = None  # the space's GCN inputs, built once
        #: what the last proposal used (surrogate weights, hyperparameters), for inspection
        self.last_info: dict[str, Any] = {}

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        # caches of the whole space (tens of MB for NAS-Bench-Graph): rebuilt on first use
        for k in ("_space_cache", "_full_batches", "_full_onehot", "_full_rows", "_zero_shot"):
            state[k] = None
        return state

    def reseed(self, seed: int | None) -> None:
        """Fresh random streams from ``seed`` (``None``: OS entropy) for the proposer and its GP."""
        self._rng = as_generator(seed)
        if self._gp is not None:
            self._gp.reseed(self._rng)  # Optuna's reseed_rng (n_jobs > 1): fresh streams

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
            # not None: the answer is cached and was checked just above
            out = [
                a
                for a in cast("list[Architecture]", _enumerated(self.space, self.enumerate_limit))
                if a.key not in excluded
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
        if self.surrogate == "gp":
            return self._propose_gp(archs, y, excluded, pend, int(n))
        return self._propose_dropout(archs, y, excluded, int(n))

    def _propose_dropout(
        self, archs: list[Architecture], y: np.ndarray, excluded: set[str], n: int
    ) -> list[Architecture]:
        """The earlier proposer: BOIL-adapt the predictor, MC-dropout std, acquisition."""
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
            # on the scale the model was adapted on: the rank-normalised capped history
            _, sub = self._history_subset(archs, y)
            incumbent = float(np.nanmax(normalize_scores(sub)))
        # nothing evaluated yet: the zero-shot best (no exploration bonus, no Thompson draw)
        score = self._acquire(mean, std, incumbent) if len(archs) else mean
        n = min(n, len(cands))
        top = np.argpartition(-score, n - 1)[:n] if n < len(cands) else np.arange(len(cands))
        top = top[np.argsort(-score[top], kind="stable")]
        return [cands[i] for i in top]

    # ------------------------------------------------------------------ transfer BO
    def gp_surrogate(self) -> TransferGPSurrogate:
        """The :class:`~nas_meta_tune.search.surrogate.TransferGPSurrogate` of this proposer."""
        if self._gp is None:
            seed = self.seed if isinstance(self.seed, (int, np.integer)) else self._rng
            self._gp = TransferGPSurrogate(self.space, guard=self.guard, seed=seed)
        return self._gp

    def _acquisition(self, mean: np.ndarray, std: np.ndarray, best: float) -> np.ndarray:
        if self.acquisition == "log_ei":
            return log_ei(mean, std, best)
        if self.acquisition == "ei":
            return np.exp(log_ei(mean, std, best))
        return self._acquire(mean, std, best)

    def _maximise(self, post: CombinedPosterior, best: float, n: int) -> list[int]:
        """The ``n`` candidates of a kriging-believer batch: each the exact maximiser of the
        acquisition given the earlier ones as fantasies. Variances are computed in decreasing
        order of the posterior mean, in chunks, until no remaining candidate can beat the best
        value found: the acquisitions grow with the mean and the standard deviation, and
        ``std_max`` bounds every standard deviation (Thompson draws are not monotone: every
        variance is computed)."""
        mean = post.mean
        order = np.argsort(-mean, kind="stable")
        std_max = post.std_max
        exhaustive = self.acquisition in ("thompson", "mean")
        picked: list[int] = []
        for i in range(n):
            best_j, best_a, start = -1, -np.inf, 0
            while start < len(order):
                chunk = order[start : start + _SCORE_CHUNK] if not exhaustive else order
                start += len(chunk)
                if self.acquisition != "mean":
                    post.ensure(chunk)
                a = self._acquisition(mean[chunk], post.std[chunk], best)
                a[np.isin(chunk, picked)] = -np.inf
                k = int(np.argmax(a))
                if a[k] > best_a:
                    best_j, best_a = int(chunk[k]), float(a[k])
                if start < len(order):
                    nxt = order[start]
                    bound = self._acquisition(mean[nxt : nxt + 1], std_max[nxt : nxt + 1], best)
                    if self.acquisition not in ("thompson",) and bound[0] <= best_a:
                        break
            picked.append(best_j)
            if i < n - 1:
                post.add_fantasy(best_j)
        return picked

    def _space_inputs(
        self, archs: list[Architecture], y: np.ndarray, full: list[Architecture]
    ) -> np.ndarray:
        """The transfer GP's inputs for the whole enumerated space under the adapted predictor,
        re-adapted and re-embedded when the history has grown by a quarter since the last time
        (at most ``refresh_every`` evaluations, at least one) or is not the history it was
        computed for; in between, the GP posterior conditions on the newer evaluations."""
        keys = frozenset(a.key for a in archs)
        cache = self._space_cache
        if cache is not None:
            last_n, last_keys, tin = cache
            step = max(1, min(self.refresh_every or 10, last_n // 4))
            if last_keys <= keys and len(archs) < last_n + step:
                return tin
        model = self.adapted(archs, y)
        self.last_adapted = model
        if self._full_batches is None:
            self._full_batches = MetaPredictor.input_batches(full)
        emb, pred = TransferGPSurrogate.features(model, None, self._full_batches)
        tin = TransferGPSurrogate.standardise(emb, pred)
        self._space_cache = (len(archs), keys, tin)
        return tin

    def _full(self) -> tuple[list[Architecture], dict[str, int]] | None:
        """The enumerated space and its key -> row map (``None`` when not enumerable)."""
        full = _enumerated(self.space, self.enumerate_limit)
        if full is None:
            return None
        if self._full_rows is None or len(self._full_rows) != len(full):
            self._full_rows = {a.key: i for i, a in enumerate(full)}
        return full, self._full_rows

    def _initial_picks(self, score: np.ndarray, n: int) -> np.ndarray:
        """``n`` indices of ``score`` for a proposal without a fitted GP: the best ``n``, or with
        ``initial="top"`` ``n`` drawn without replacement from the best ``initial_top``."""
        order = np.argsort(-score, kind="stable")
        if self.initial != "top":
            return order[:n]
        top = order[: max(n, self.initial_top)]
        return self._rng.choice(top, size=min(n, len(top)), replace=False)

    def candidate_view(
        self,
        archs: list[Architecture],
        y: np.ndarray,
        excluded: set[str],
        pend: list[Architecture],
    ) -> CandidateView:
        """The candidates of a proposal and what is known of them: with fewer than two distinct
        scores, the prior's (zero-shot) scores; else the guarded transfer GP's posterior on the
        rank-normalised scale, fitted on ``(archs, y)`` (best first) with ``pend`` as fantasies.
        Candidates: the whole enumerated space minus ``excluded``, or a pool."""
        gp = self.gp_surrogate()
        enum = self._full()
        fit = len(archs) >= 2 and np.ptp(y) > 0
        sub_archs, sub_y = self._history_subset(archs, y) if fit else (archs, y)
        yn = normalize_scores(sub_y) if fit else sub_y
        if enum is not None:
            full, rows = enum
            mask = np.ones(len(full), dtype=bool)
            mask[[rows[k] for k in excluded if k in rows]] = False
            cand = np.flatnonzero(mask)
            if not len(cand):
                raise SpaceExhaustedError(
                    f"every architecture of {self.space.name!r} has been evaluated or is pending."
                )
            pick = _Rows(full, cand)
            if not fit:
                if self._zero_shot is None:
                    self._zero_shot = (
                        _dropout_sample(self.predictor, full, self._rng)
                        if self.initial == "thompson"
                        else self.predictor.predict(full)
                    )
                return CandidateView(pick, self._zero_shot[cand], None, sub_archs, yn)
            tin = self._space_inputs(archs, y, full)
            if self._full_onehot is None and self.guard:
                self._full_onehot = param_onehot(self.space, full)
            oh = self._full_onehot
            hr = np.array([rows[a.key] for a in sub_archs if a.key in rows], dtype=np.int64)
            keep = np.array([a.key in rows for a in sub_archs], dtype=bool)
            yn, sub_y = yn[keep], sub_y[keep]
            sub_archs = [a for a, k in zip(sub_archs, keep) if k]
            pr = np.array([rows[a.key] for a in pend if a.key in rows], dtype=np.int64)
            post = gp.posterior_from_inputs(
                [tin[hr], tin[pr], tin[cand]],
                None if oh is None else [oh[hr], oh[pr], oh[cand]],
                yn,
                [full[r].key for r in hr],
                lambda j: full[cand[j]].key,
                raw=sub_y,
            )
            return CandidateView(pick, None, post, sub_archs, yn)
        model = self.adapted(archs, y)
        self.last_adapted = model
        pool = self.candidates(archs, excluded, model)
        if not pool:
            raise SpaceExhaustedError(
                f"every architecture of {self.space.name!r} has been evaluated or is pending."
            )
        if not fit:
            score = (
                _dropout_sample(model, pool, self._rng)
                if self.initial == "thompson"
                else model.predict(pool)
            )
            return CandidateView(pool, score, None, sub_archs, yn)
        post = gp.posterior(model, sub_archs, yn, pool, pend, raw=sub_y)
        return CandidateView(pool, None, post, sub_archs, yn)

    def _propose_gp(
        self,
        archs: list[Architecture],
        y: np.ndarray,
        excluded: set[str],
        pend: list[Architecture],
        n: int,
    ) -> list[Architecture]:
        """Adapt the predictor, fit the guarded transfer GP, maximise the acquisition over the
        whole enumerated space or a candidate pool (a batch by kriging believer: each pick is a
        fantasy observation for the next)."""
        view = self.candidate_view(archs, y, excluded, pend)
        n = min(n, len(view.archs))
        if view.post is None:
            top = self._initial_picks(cast(np.ndarray, view.prior), n)
            self.last_info = {"mode": "prior"}
            return [view.archs[i] for i in top]
        gp = self.gp_surrogate()
        picked = self._maximise(view.post, float(view.y.max()), n)
        gp.record(picked)
        self.last_info = {"mode": "gp", **gp.last_info}
        return [view.archs[j] for j in picked]

    def propose_one(
        self,
        history: Iterable[tuple[Architecture, float]] = (),
        pending: Iterable[Architecture] = (),
    ) -> Architecture:
        """The best proposal: ``propose(history, pending, n=1)[0]``."""
        return self.propose(history, pending, n=1)[0]

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
        """Plain-data state for searchers' save/restore: the RNG and the surrogate's prequential
        records (what each model predicted for each proposal before its score arrived)."""
        records = self._gp.records() if self._gp is not None else {}
        return {"rng": self._rng.bit_generator.state, "records": records}

    def set_state(self, state: dict[str, Any]) -> None:
        """Restore :meth:`state`; the next proposal re-adapts from the meta-initialisation."""
        self._rng.bit_generator.state = state["rng"]
        self._warm = None  # the next proposal re-adapts from the meta-initialisation
        self._shortlist = None  # and re-ranks the shortlist with it
        self._space_cache = None  # and re-embeds the space with it
        gp = self.gp_surrogate()
        gp.reset()  # hyperparameters are refitted from the priors
        gp.set_records(state.get("records", {}))
