"""Multi-objective proposals: the objective the meta-predictor knows, against costs.

Hardware-aware NAS trades an accuracy-like objective against costs (latency, parameters, energy).
:class:`ParetoProposer` proposes architectures for such a study:

* the **learned objective** (by default the first) is modelled as in the single-objective case,
  by the guarded transfer GP on the meta-learned embedding
  (:meth:`MetaNASProposer.candidate_view`), on its rank-normalised scale;
* every **other objective** is either a known function of the architecture (``costs={i: fn}``,
  e.g. a parameter count or a latency table: evaluated exactly for every candidate, no model) or,
  when nothing is given, a target-only GP (:meth:`~nas_meta_tune.predictors.gp.ExactGP.plain` on
  the one-hot encoding of the parameters) fitted on the study's own values, rank-normalised;
* the acquisition is the **expected hypervolume improvement** over the study's Pareto front,
  estimated with stratified normal samples of the uncertain objectives (the known costs are
  exact), each sample's improvement computed exactly (two objectives: a sum over the front's
  staircase). Candidates are first ranked by the improvement of their optimistic point (mean
  plus two posterior standard deviations), and the expectation is computed for the best
  ``n_exact`` of them;
* a batch (``n > 1``) is chosen greedily: each pick joins the front at its posterior mean and
  is a fantasy of the transfer GP (kriging believer), so the next pick looks elsewhere;
* before the transfer GP can be fitted (fewer than two distinct learned scores): when every
  other objective is known, a draw from the front predicted by the prior (zero-shot scores)
  and the costs; otherwise the single-objective start (the prior's top).

Two objectives for now; a study with more raises ``ValueError`` naming the limit. Values are
signed by the caller so that higher is better for every objective (:meth:`set_signs` says how
the known costs are signed).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import numpy as np
from scipy.stats import norm

from .._rng import as_generator
from ..predictors.gp import ExactGP, GPPosterior
from ..predictors.meta_predictor import MetaPredictor
from ..predictors.tasks import normalize_scores
from ..spaces._base import Architecture, SearchSpace
from .proposer import MetaNASProposer, RobustProposals
from .surrogate import param_onehot

__all__ = ["ParetoProposer", "pareto_mask", "hypervolume_2d", "hypervolume_improvement_2d"]


CostFn = Callable[[Architecture], float]


def pareto_mask(points: np.ndarray) -> np.ndarray:
    """``bool[n]``: the rows of ``points`` (``[n, m]``, every column maximised) that no other row
    dominates (duplicates of a non-dominated point are all kept; a row with a NaN is comparable
    to none and kept).

    A sweep in descending lexicographic order (a dominating row always comes first): O(n log n)
    for two columns, O(n x front size) for more, so a whole space's table (26,206 rows) takes
    milliseconds instead of the n x n comparison's gigabytes.
    """
    p = np.asarray(points, dtype=np.float64)
    keep = np.zeros(len(p), dtype=bool)
    if len(p) == 0:
        return keep
    p = p.reshape(len(p), -1)
    nan = np.isnan(p).any(1)
    keep[nan] = True
    rows = np.flatnonzero(~nan)
    uniq, inverse = np.unique(p[rows], axis=0, return_inverse=True)  # ascending lexicographic
    uniq, inverse = uniq[::-1], len(uniq) - 1 - inverse.reshape(-1)  # descending
    if uniq.shape[1] == 2:
        # an earlier unique row has a larger first value, or an equal one and a larger second:
        # it dominates exactly when its second value is at least this row's
        best_before = np.maximum.accumulate(np.concatenate([[-np.inf], uniq[:-1, 1]]))
        on = uniq[:, 1] > best_before
    else:
        on = np.zeros(len(uniq), dtype=bool)
        front: list[np.ndarray] = []
        for i, q in enumerate(uniq):
            f = np.asarray(front)
            if not front or not ((f >= q).all(1) & (f > q).any(1)).any():
                on[i] = True
                front.append(q)
    keep[rows] = on[inverse]
    return keep


def _staircase(front: np.ndarray, ref: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The non-dominated part of ``front`` above ``ref``, as interval bounds and levels of its
    staircase: ``bounds`` (descending x, ending at ``ref[0]``) and ``levels`` (the y below which
    the front dominates, per interval; the first is ``ref[1]``)."""
    f = np.asarray(front, dtype=np.float64).reshape(-1, 2)
    f = f[(f > ref).all(1)]
    f = f[pareto_mask(f)] if len(f) else f
    f = f[np.argsort(-f[:, 0], kind="stable")]
    bounds = np.concatenate([[np.inf], f[:, 0], [ref[0]]])
    levels = np.concatenate([[ref[1]], f[:, 1]])
    return bounds, levels


def hypervolume_improvement_2d(
    front: np.ndarray, ref: np.ndarray, x: np.ndarray, y: np.ndarray
) -> np.ndarray:
    """Exact hypervolume improvement of the points ``(x, y)`` (arrays of one shape) over
    ``front`` (``[k, 2]``), both objectives maximised, reference point ``ref`` (``[2]``)."""
    ref = np.asarray(ref, dtype=np.float64)
    bounds, levels = _staircase(front, ref)
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    out = np.zeros(np.broadcast(x, y).shape)
    for j in range(len(levels)):
        hi = np.minimum(bounds[j], x)
        width = np.maximum(hi - bounds[j + 1], 0.0)
        out += width * np.maximum(y - levels[j], 0.0)
    return out


def hypervolume_2d(points: np.ndarray, ref: np.ndarray) -> float:
    """Hypervolume dominated by ``points`` (``[n, 2]``, maximised) above ``ref``."""
    ref = np.asarray(ref, dtype=np.float64)
    bounds, levels = _staircase(points, ref)
    # the staircase's area: each interval's width times its level above the reference
    widths = np.maximum(bounds[1:-1] - bounds[2:], 0.0)
    return float(np.sum(widths * (levels[1:] - ref[1])))


class ParetoProposer(RobustProposals):
    """Propose architectures for a study with two objectives: one the meta-predictor knows and
    one cost (see the module doc).

    Args:
        base: The single-objective proposer of the learned objective (its predictor, space,
            surrogate and candidate rules are used as they are).
        n_objectives: Objectives of the study (2).
        learned: Index of the objective the meta-predictor models (accuracy-like).
        costs: ``{objective index: fn(arch) -> value}`` for objectives known without training
            (in the study's own units and direction; :meth:`set_signs` gives the direction).
        n_samples: Stratified samples of the uncertain objectives per candidate.
        n_exact: Candidates whose expected improvement is computed (the best by the optimistic
            bound).
        seed: Seeds the batch tie-breaks and the stratified sample order.
    """

    _passthrough = (ValueError,)  # values that do not fit the study: bad input

    def __init__(
        self,
        base: MetaNASProposer,
        n_objectives: int,
        *,
        learned: int = 0,
        costs: Mapping[int, CostFn] | None = None,
        n_samples: int = 64,
        n_exact: int = 1_000,
        seed: int | None = None,
    ) -> None:
        if n_objectives != 2:
            raise ValueError(
                f"the multi-objective proposer handles two objectives (the learned one and one "
                f"cost), but the study has {n_objectives}."
            )
        if not 0 <= learned < n_objectives:
            raise ValueError(f"learned must index an objective, but got {learned=}.")
        costs = dict(costs or {})
        for i, fn in costs.items():
            if i == learned or not 0 <= i < n_objectives or not callable(fn):
                raise ValueError(
                    f"costs must map the index of a non-learned objective (0..{n_objectives - 1}, "
                    f"not {learned}) to a callable, but got {i!r}: {fn!r}."
                )
        if n_samples < 2 or n_exact < 1:
            raise ValueError(f"need n_samples >= 2 and n_exact >= 1, got {n_samples}, {n_exact}.")
        self.base = base
        self.n_objectives = n_objectives
        self.learned = learned
        self.other = 1 - learned
        self.costs = costs
        self.n_samples = int(n_samples)
        self.n_exact = int(n_exact)
        self._rng = as_generator(seed)
        self._signs = np.ones(n_objectives)
        self._cost_cache: dict[str, float] = {}
        self.last_info: dict[str, Any] = {}

    # ------------------------------------------------------------------ delegation
    @property
    def space(self) -> SearchSpace:
        """The search space (the base proposer's)."""
        return self.base.space

    @property
    def predictor(self) -> MetaPredictor:
        """The meta-predictor of the learned objective (the base proposer's)."""
        return self.base.predictor

    def reseed(self, seed: int | None) -> None:
        """Fresh random streams (Optuna's ``reseed_rng`` in each worker)."""
        self._rng = as_generator(seed)
        self.base.reseed(seed)

    def random_unseen(
        self,
        history: Iterable[tuple[Architecture, Any]] = (),
        pending: Iterable[Architecture] = (),
        *,
        n: int = 1,
    ) -> list[Architecture]:
        """Unseen architectures drawn at random (:meth:`MetaNASProposer.random_unseen`)."""
        return self.base.random_unseen(history, pending, n=n)

    def state(self) -> dict[str, Any]:
        """Plain-data state: the base proposer's and this proposer's random stream."""
        return {**self.base.state(), "pareto_rng": self._rng.bit_generator.state}

    def set_state(self, state: dict[str, Any]) -> None:
        """Restore :meth:`state`."""
        self.base.set_state(state)
        if "pareto_rng" in state:
            self._rng.bit_generator.state = state["pareto_rng"]

    def set_signs(self, signs: Sequence[float]) -> None:
        """``+1`` / ``-1`` per objective: how the study's values were signed (higher = better)."""
        if len(signs) != self.n_objectives:
            raise ValueError(f"{len(signs)} signs for {self.n_objectives} objectives.")
        self._signs = np.asarray(signs, dtype=np.float64)

    # ------------------------------------------------------------------ objectives
    def _cost(self, archs: Sequence[Architecture]) -> np.ndarray:
        """The known cost of ``archs``, signed (higher = better), cached per architecture."""
        fn = self.costs[self.other]
        out = np.empty(len(archs))
        for i, a in enumerate(archs):
            v = self._cost_cache.get(a.key)
            if v is None:
                v = float(fn(a))
                if not np.isfinite(v):
                    raise ValueError(f"cost of objective {self.other} is {v} for {a.to_string()}.")
                self._cost_cache[a.key] = v
            out[i] = v
        return self._signs[self.other] * out

    def _other_model(
        self,
        cands: Sequence[Architecture],
        hist_archs: list[Architecture],
        hist_vals: np.ndarray,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(candidate mean, candidate std, history values)`` of the non-learned objective,
        on one scale: standardised known costs (std 0; the trials' own values for the history),
        or a target-only GP's rank-normalised posterior."""
        if self.other in self.costs:  # the trials' own values where they have them (measured;
            # an infeasible trial's is penalised, so it never stands on the front)
            c = self._cost(cands)
            h = np.where(np.isfinite(hist_vals), hist_vals, self._cost(hist_archs))
            both = np.concatenate([c, h])
            mu, sd = both.mean(), both.std() or 1.0
            return (c - mu) / sd, np.zeros(len(c)), (h - mu) / sd
        ok = np.isfinite(hist_vals)
        if ok.sum() < 2 or np.ptp(hist_vals[ok]) == 0:
            return np.zeros(len(cands)), np.ones(len(cands)), np.zeros(len(hist_archs))
        z = normalize_scores(hist_vals)
        enc = param_onehot(self.space, [a for a, k in zip(hist_archs, ok) if k])
        gp = ExactGP.plain(enc, z[ok]).fit()
        post = GPPosterior.build(gp, param_onehot(self.space, list(cands)))
        return post.mean, np.sqrt(np.maximum(post.var, 0.0)), np.where(ok, z, np.nan)

    # ------------------------------------------------------------------ proposing
    def propose(
        self,
        history: Iterable[tuple[Architecture, Sequence[float]]] = (),
        pending: Iterable[Architecture] = (),
        *,
        n: int = 1,
    ) -> list[Architecture]:
        """The next ``n`` distinct architectures, from ``(architecture, signed values)`` pairs
        (higher = better for every objective) and the pending architectures."""
        hist = [(self.base._check(a), np.asarray(v, dtype=np.float64)) for a, v in history]
        pend = [self.base._check(a) for a in pending]
        for a, v in hist:
            if v.shape != (self.n_objectives,):
                raise ValueError(
                    f"{a.to_string()}: {v.size} values for a study of {self.n_objectives} objectives."
                )
        excluded = {a.key for a, _ in hist} | {a.key for a in pend}
        good = [(a, v) for a, v in hist if np.isfinite(v[self.learned])]
        good.sort(key=lambda t: -t[1][self.learned])
        archs = [a for a, _ in good]
        y = np.array([v[self.learned] for _, v in good], dtype=np.float64)
        values = {a.key: v for a, v in good}
        view = self.base.candidate_view(archs, y, excluded, pend)
        n = min(int(n), len(view.archs))
        if view.post is None:
            return self._prior_picks(view, n)
        seen = sum(bool(np.isfinite(values[a.key][self.other])) for a in archs)
        if self.other not in self.costs and seen < self.base.gp_surrogate().min_guard:
            return self._design_picks(view, n, seen)
        hist_other = np.array([values[a.key][self.other] for a in view.history])
        om, osd, oh = self._other_model(view.archs, view.history, hist_other)
        front = np.column_stack([view.y, oh])
        front = front[np.isfinite(front).all(1)]
        lo = np.concatenate([front, np.column_stack([view.post.mean, om - 2 * osd])]).min(0)
        hi = front.max(0)
        ref = lo - 0.1 * np.maximum(hi - lo, 1e-9)
        picked = self._maximise_ehvi(view, om, osd, front, ref, n)
        self.base.gp_surrogate().record(picked)
        self.last_info = {"mode": "ehvi", "front": int(pareto_mask(front).sum())}
        return [view.archs[j] for j in picked]

    def _prior_picks(self, view: Any, n: int) -> list[Architecture]:
        """Before a GP fit: a random draw from the front predicted by the prior and the known
        cost, or the single-objective start when the cost is not known."""
        if self.other not in self.costs:
            self.last_info = {"mode": "prior"}
            return [view.archs[i] for i in self.base._initial_picks(view.prior, n)]
        pts = np.column_stack([view.prior, self._cost(view.archs)])
        order = np.argsort(-view.prior, kind="stable")[: max(self.base.initial_top * 50, n)]
        on = order[pareto_mask(pts[order])]
        take = self._rng.choice(on, size=min(n, len(on)), replace=False)
        if len(take) < n:  # a thin predicted front: fill from the prior's top
            rest = [i for i in order if i not in set(take)]
            take = np.concatenate([take, rest[: n - len(take)]]).astype(np.int64)
        self.last_info = {"mode": "prior-front", "front": int(len(on))}
        return [view.archs[int(i)] for i in take]

    def _design_picks(self, view: Any, n: int, seen: int) -> list[Architecture]:
        """While the modelled objective has fewer values than its GP needs (``min_guard``):
        every other proposal is a uniformly random candidate, the rest the transfer GP's best.
        The accuracy prior says nothing of the other objective, so these first points spread
        over it instead of following the prior to one end of the front."""
        picked: list[int] = []
        best = iter(np.argsort(-view.post.mean, kind="stable"))
        for j in range(n):
            if (seen + j) % 2 == 0:
                free = np.setdiff1d(np.arange(len(view.archs)), picked)
                picked.append(int(self._rng.choice(free)))
            else:
                picked.append(int(next(i for i in best if int(i) not in picked)))
        self.base.gp_surrogate().record(picked)
        self.last_info = {"mode": "design"}
        return [view.archs[j] for j in picked]

    def _maximise_ehvi(
        self,
        view: Any,
        om: np.ndarray,
        osd: np.ndarray,
        front: np.ndarray,
        ref: np.ndarray,
        n: int,
    ) -> list[int]:
        post = view.post
        s = self.n_samples
        z1 = norm.ppf((np.arange(s) + 0.5) / s)
        z2 = self._rng.permutation(z1)
        picked: list[int] = []
        for _ in range(n):
            mean = post.mean
            bound = hypervolume_improvement_2d(front, ref, mean + 2 * post.std_max, om + 2 * osd)
            bound[picked] = -np.inf
            top = np.argsort(-bound, kind="stable")[: self.n_exact]
            post.ensure(top)
            sd = post.std[top]
            x = mean[top, None] + sd[:, None] * z1[None, :]
            yv = om[top, None] + osd[top, None] * z2[None, :]
            ehvi = hypervolume_improvement_2d(front, ref, x, yv).mean(1)
            if not np.any(ehvi > 0):  # no candidate improves the front: the optimistic best
                ehvi = bound[top]
            j = int(top[int(np.argmax(ehvi))])
            picked.append(j)
            front = np.vstack([front, [mean[j], om[j]]])
            if len(picked) < n:
                post.add_fantasy(j)
        return picked
