"""The transfer-BO surrogate: a deep-kernel GP on the adapted meta-predictor, guarded by a target-only GP.

:class:`TransferGPSurrogate` is what :class:`~nas_meta_tune.search.MetaNASProposer` scores
candidates with by default. Given the meta-predictor adapted to the study's history (BOIL: its GCN
body moved by a few SGD steps) and the history itself (rank-normalised scores), it fits

1. the **transfer GP** (:meth:`~nas_meta_tune.predictors.gp.ExactGP.transfer`): the adapted
   predictor's prediction as the prior mean (scaled and shifted by the fit), a Matern kernel over
   the adapted GCN body's embedding of each architecture -- the deep kernel of FSBO (Wistuba &
   Grabocka, ICLR 2021) and TNAS (Shala et al., ICLR 2023), whose feature extractor is the
   meta-learned, few-shot-adapted GCN body;
2. the **target-only GP** (:meth:`~nas_meta_tune.predictors.gp.ExactGP.plain`): a GP on a one-hot
   encoding of the space's parameters that knows nothing from meta-training (what Optuna's
   ``GPSampler`` fits);

and combines them as RGPE does (Feurer, Letham & Bakshy, "Scalable Meta-Learning for Bayesian
Optimization using Ranking-Weighted Gaussian Process Ensembles", AutoML 2018): each model's weight
is the probability, over bootstrap resamples, that its predictions mis-rank the fewest pairs of
evaluated architectures; a model whose median loss is above the target-only model's 95th
percentile gets weight 0. The ensemble's posterior is
``N(sum_i w_i mu_i(x), sum_i w_i^2 sigma_i^2(x))``. When the meta-prior orders the study's own
architectures badly, its weight drops and the search follows the target data; when it is right,
the search exploits it from the first trial.

Departure from RGPE, stated: both members are fitted on the target data (RGPE's base models never
see it), and the adapted predictor has seen every evaluated architecture, so its leave-one-out
predictions would flatter it. The ranking losses are therefore computed on **prequential**
predictions: what each model predicted for an architecture when it was proposed, before its score
was known (:meth:`TransferGPSurrogate.record`), mapped to the score's units with the history's
mean and standard deviation of that moment. Until ``min_guard`` such records exist, the
target-only GP is judged by its closed-form leave-one-out predictions and the transfer GP keeps
weight 1 unless it loses on the records it has.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

import numpy as np
import torch

from .._logging import get_logger
from ..predictors.gp import ExactGP, GPPosterior
from ..predictors.meta_predictor import MetaPredictor
from ..spaces._base import Architecture, SearchSpace

__all__ = ["TransferGPSurrogate", "CombinedPosterior", "ranking_weights", "param_onehot"]

_log = get_logger(__name__)
_MAX_RECORDS = 20_000
_MAX_ONEHOT = 200_000


def param_onehot(space: SearchSpace, archs: Sequence[Architecture]) -> np.ndarray:
    """``float64[len(archs), sum of choices]``: each active parameter's value one-hot (inactive
    conditional parameters are all zeros), the encoding Optuna's ``GPSampler`` uses for
    categorical parameters."""
    index = {}
    total = 0
    for p in space.params:
        index[p.name] = (total, {c: i for i, c in enumerate(p.choices)})
        total += len(p.choices)
    out = np.zeros((len(archs), total), dtype=np.float64)
    for row, a in enumerate(archs):
        for name, value in a.to_params().items():
            start, pos = index[name]
            out[row, start + pos[value]] = 1.0
    return out


def ranking_weights(
    y: np.ndarray,
    predictions: Sequence[tuple[np.ndarray, np.ndarray]],
    rng: np.random.Generator,
    *,
    n_samples: int = 256,
    max_points: int = 100,
) -> tuple[np.ndarray, np.ndarray]:
    """RGPE weights of several models from their predictions of ``y``.

    Args:
        y: ``[n]`` observed targets.
        predictions: per model, ``(mean [n], variance [n])`` of its (out-of-sample) prediction of
            each ``y``; the **last** model is the target-only one.
        rng: Draws the bootstrap resamples and the predictive samples.
        n_samples: Bootstrap resamples.
        max_points: Use at most this many observations (a random subset) to bound the cost.

    Returns:
        ``(weights [m], median losses [m])``: each model's probability of having the lowest
        ranking loss (ties shared), after RGPE's dilution rule (a model whose median loss
        exceeds the 95th percentile of the target-only model's gets weight 0).
    """
    y = np.asarray(y, dtype=np.float64)
    n, m = len(y), len(predictions)
    if n < 2:
        w = np.zeros(m)
        w[0] = 1.0
        return w, np.zeros(m)
    keep = np.arange(n) if n <= max_points else np.sort(rng.choice(n, max_points, replace=False))
    y = y[keep]
    n = len(y)
    idx = rng.integers(0, n, size=(n_samples, n))
    yb = y[idx]
    truth = yb[:, :, None] < yb[:, None, :]
    losses = np.empty((m, n_samples))
    for j, (mu, var) in enumerate(predictions):
        mu = np.asarray(mu, dtype=np.float64)[keep]
        sd = np.sqrt(np.maximum(np.asarray(var, dtype=np.float64)[keep], 0.0))
        f = mu[idx] + sd[idx] * rng.standard_normal((n_samples, n))
        pred = f[:, :, None] < f[:, None, :]
        losses[j] = (pred ^ truth).sum(axis=(1, 2))
    best = losses.min(axis=0)
    winners = losses == best
    w = (winners / winners.sum(axis=0)).mean(axis=1)
    med = np.median(losses, axis=1)
    cut = np.percentile(losses[-1], 95)
    w[:-1][med[:-1] > cut] = 0.0
    total = w.sum()
    if total <= 0:
        w = np.zeros(m)
        w[-1] = 1.0
    else:
        w = w / total
    return w, med


@dataclass
class CombinedPosterior:
    """The ensemble's posterior over a candidate list, with kriging-believer updates.

    ``inputs[i](j)`` is member ``i``'s input vector of candidate ``j``. Variances are computed on
    demand (:meth:`ensure`); :attr:`std` is NaN elsewhere and :attr:`std_max` bounds it.
    """

    members: list[GPPosterior]
    weights: np.ndarray
    inputs: list[Callable[[int], torch.Tensor]] = field(default_factory=list)

    def _active(self) -> list[tuple[float, GPPosterior]]:
        return [(float(w), p) for w, p in zip(self.weights, self.members) if w > 0]

    @property
    def mean(self) -> np.ndarray:
        """The weighted sum of the active members' posterior means."""
        return sum(w * p.mean for w, p in self._active())

    @property
    def std(self) -> np.ndarray:
        """The ensemble's posterior standard deviation (NaN where :meth:`ensure` was not called)."""
        return np.sqrt(np.maximum(sum(w * w * p.var for w, p in self._active()), 1e-12))

    @property
    def std_max(self) -> np.ndarray:
        """An upper bound of :attr:`std` (the members' prior variances)."""
        return np.sqrt(sum(w * w * p.prior_var for w, p in self._active()))

    def ensure(self, idx: np.ndarray) -> None:
        """Compute the variances of the candidates ``idx`` in every active member."""
        for _, p in self._active():
            p.ensure(idx)

    def member(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        """Member ``i``'s ``(mean, variance)`` at the candidates."""
        return self.members[i].mean, self.members[i].var

    def add_fantasy(self, point: int, member_inputs: Sequence[torch.Tensor] | None = None) -> None:
        """Condition every member on a pending observation: candidate ``point`` (an index), or
        ``member_inputs`` (one input vector per member) for a point outside the candidates."""
        for i, p in enumerate(self.members):
            x = member_inputs[i] if member_inputs is not None else self.inputs[i](int(point))
            p.add_fantasy(x)


class TransferGPSurrogate:
    """Deep-kernel transfer GP + target-only GP, RGPE-weighted (see the module doc).

    Args:
        space: The search space.
        guard: ``False`` uses the transfer GP alone (no target-only GP, no weights).
        n_bootstrap: Bootstrap resamples of the ranking weights.
        min_guard: The target-only GP joins once the history has this many distinct scores, and
            prequential records replace leave-one-out predictions once this many exist.
        refit_every: Refit each GP's hyperparameters (MAP) whenever the history has grown by this
            fraction since its last fit (at least one evaluation); in between, the last
            hyperparameters are reused on the new data (the posterior always conditions on the
            whole history).
        seed: Seeds the bootstrap.
    """

    def __init__(
        self,
        space: SearchSpace,
        *,
        guard: bool = True,
        n_bootstrap: int = 256,
        min_guard: int = 5,
        refit_every: float = 0.1,
        seed: int | np.random.Generator | None = None,
    ) -> None:
        self.space = space
        self.guard = bool(guard)
        self.n_bootstrap = int(n_bootstrap)
        self.min_guard = int(min_guard)
        self.refit_every = float(refit_every)
        self.seed = seed
        self._rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
        self._warm: dict[str, dict[str, torch.Tensor]] = {}
        self._last_fit_n: dict[str, int] = {}
        self._onehot: OrderedDict[str, np.ndarray] = OrderedDict()
        # architecture key -> (transfer mean, var, target mean, var) in score units, as predicted
        # when the architecture was proposed
        self._records: OrderedDict[str, tuple[float, float, float, float]] = OrderedDict()
        #: what the last :meth:`posterior` used: weights, ranking losses, hyperparameters
        self.last_info: dict[str, Any] = {}
        self._last: tuple[Any, float, float, list[GPPosterior]] | None = None

    #: the prior's standard deviation around the standardised zero-shot prediction, for the
    #: Thompson draw of the first proposal (``initial="thompson"``): the square root of the mode
    #: of the transfer GP's outputscale prior, Gamma(2, 4)
    prior_std = 0.25

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_last"] = None  # the last posterior: transient (and holds closures)
        return state

    def reseed(self, seed: int | np.random.Generator | None) -> None:
        """Use ``seed`` (an int, a generator used as is, or ``None``) for the random stream."""
        self.seed = seed
        self._rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)

    def _bootstrap_rng(self, n: int) -> np.random.Generator:
        """The ranking weights' generator: a function of the seed and the history's size when the
        seed is an int (a proposal then depends on the history, not on earlier calls), else the
        surrogate's stream."""
        if isinstance(self.seed, (int, np.integer)):
            return np.random.default_rng([int(self.seed), n])
        return self._rng

    def reset(self) -> None:
        """Forget warm-start hyperparameters and prequential records."""
        self._warm.clear()
        self._last_fit_n.clear()
        self._records.clear()
        self._last = None

    # ------------------------------------------------------------------ pieces
    def onehot(self, archs: Sequence[Architecture]) -> np.ndarray:
        """The parameter one-hot encoding of ``archs`` (cached by architecture key)."""
        missing = [a for a in archs if a.key not in self._onehot]
        if missing:
            for a, row in zip(missing, param_onehot(self.space, missing)):
                self._onehot[a.key] = row
            while len(self._onehot) > _MAX_ONEHOT:
                self._onehot.popitem(last=False)
        return np.stack([self._onehot[a.key] for a in archs]) if archs else np.zeros((0, 0))

    @staticmethod
    def features(
        model: MetaPredictor,
        archs: Sequence[Architecture] | None,
        batches: Sequence[tuple[torch.Tensor, ...]] | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """``(embedding [n, d], prediction [n])`` of ``archs`` (or of the prepared ``batches``)
        under ``model``, from one forward pass."""
        emb = model.embed(archs, batches=batches).astype(np.float64)
        head = model.model.head
        w = head.weight.detach().cpu().numpy().astype(np.float64)[0]
        b = float(head.bias.detach().cpu().numpy()[0])
        return emb, emb @ w + b

    def _fit(self, name: str, gp: ExactGP) -> ExactGP:
        """Fit ``gp`` (warm-started) when the refit schedule says so, else reuse the last
        hyperparameters on the new data."""
        n = len(gp.y)
        last = self._last_fit_n.get(name)
        gp.warm(self._warm.get(name))
        if (
            name not in self._warm
            or last is None
            or n < last
            or n >= last + max(1, int(self.refit_every * last))
        ):
            gp.fit()
            self._warm[name] = gp.state()
            self._last_fit_n[name] = n
        return gp

    def _weights(
        self,
        keys: Sequence[str],
        raw: np.ndarray,
        y: np.ndarray,
        members: list[GPPosterior],
    ) -> tuple[np.ndarray, dict[str, Any]]:
        rec = [(self._records[k], r) for k, r in zip(keys, raw) if k in self._records]
        rec = [(p, r) for p, r in rec if np.isfinite(p[2])]
        if len(rec) >= self.min_guard:
            obs = np.array([r for _, r in rec])
            preds = np.array([p for p, _ in rec])
            w, losses = ranking_weights(
                obs,
                [(preds[:, 0], preds[:, 1]), (preds[:, 2], preds[:, 3])],
                self._bootstrap_rng(len(keys)),
                n_samples=self.n_bootstrap,
            )
            return w, {"judged_on": f"{len(rec)} prequential", "median_rank_loss": losses.tolist()}
        # too few records: the transfer GP keeps its weight unless the target-only GP's honest
        # leave-one-out predictions already rank better than the transfer GP's flattering ones
        w, losses = ranking_weights(
            y,
            [members[0].loo(), members[1].loo()],
            self._bootstrap_rng(len(keys)),
            n_samples=self.n_bootstrap,
        )
        return np.array([1.0, 0.0]) if w[0] > 0 else w, {
            "judged_on": "leave-one-out",
            "median_rank_loss": losses.tolist(),
        }

    # ------------------------------------------------------------------ the call
    #: principal components of the standardised embedding the transfer GP's kernel reads
    n_components = 16

    @classmethod
    def standardise(
        cls, emb: np.ndarray, pred: np.ndarray, ref: slice | np.ndarray = slice(None)
    ) -> np.ndarray:
        """The transfer GP's inputs ``[features..., prior]``: the embedding's live units
        standardised and projected on their ``n_components`` leading principal components
        (not whitened: distances keep their geometry, minus the least varying directions), and
        the prediction standardised; statistics from the rows ``ref``."""
        e = emb[ref]
        mu, sd = e.mean(0), e.std(0)
        keep = sd > 1e-6 * max(float(sd.max(initial=0.0)), 1e-12)
        feats = ((emb - mu) / np.where(keep, sd, 1.0))[:, keep]
        if feats.shape[1] > cls.n_components:
            r = feats[ref]
            if len(r) > 4096:  # the components of an evenly spaced subsample
                r = r[:: len(r) // 4096 + 1]
            _, _, vt = np.linalg.svd(r - r.mean(0), full_matrices=False)
            feats = feats @ vt[: cls.n_components].T
        r = pred[ref]
        prior = (pred - r.mean()) / (r.std() or 1.0)
        return np.column_stack([feats, prior])

    def posterior(
        self,
        model: MetaPredictor,
        history: Sequence[Architecture],
        y: np.ndarray,
        candidates: Sequence[Architecture],
        pending: Sequence[Architecture] = (),
        *,
        raw: np.ndarray | None = None,
    ) -> CombinedPosterior:
        """The ensemble posterior over ``candidates``.

        Args:
            model: The meta-predictor adapted to the history (its body gives the features, its
                prediction the transfer GP's prior mean).
            history: Evaluated architectures the GPs condition on.
            y: Their rank-normalised scores (at least 2 distinct values).
            candidates: Architectures to score.
            pending: Architectures being evaluated: kriging-believer fantasies.
            raw: The history's scores in their own units (for the prequential records; default
                ``y``).
        """
        history, candidates, pending = list(history), list(candidates), list(pending)
        nh, npd = len(history), len(pending)
        archs = history + pending + candidates
        emb, pred = self.features(model, archs)
        ref = slice(nh + npd, None) if len(candidates) > 1 else slice(None)
        tin = self.standardise(emb, pred, ref)
        oh = self.onehot(archs) if self.guard else None
        parts = (slice(0, nh), slice(nh, nh + npd), slice(nh + npd, None))
        return self.posterior_from_inputs(
            [tin[sl] for sl in parts],
            None if oh is None else [oh[sl] for sl in parts],
            y,
            [a.key for a in history],
            [a.key for a in candidates],
            raw=raw,
        )

    def posterior_from_inputs(
        self,
        transfer_inputs: Sequence[np.ndarray],
        onehots: Sequence[np.ndarray] | None,
        y: np.ndarray,
        history_keys: Sequence[str],
        candidate_keys: Sequence[str] | Callable[[int], str],
        *,
        raw: np.ndarray | None = None,
    ) -> CombinedPosterior:
        """:meth:`posterior` from precomputed inputs: ``(history, pending, candidates)`` blocks
        of the transfer GP's inputs (:meth:`standardise`) and of the one-hot encodings
        (``None``: no target-only GP); ``candidate_keys`` (a list, or a function of a
        candidate's index) name the candidates for the prequential records."""
        raw = y if raw is None else np.asarray(raw, dtype=np.float64)
        th, tp, tc = transfer_inputs
        transfer = self._fit("transfer", ExactGP.transfer(th[:, :-1], th[:, -1], y))
        members = [GPPosterior(transfer, tc)]
        pend_inputs = [torch.as_tensor(tp, dtype=torch.float64)]
        cand_inputs = [tc]
        info: dict[str, Any] = {"transfer": transfer.describe()}
        weights = np.array([1.0])
        if onehots is not None and self.guard and len(np.unique(y)) >= self.min_guard:
            oh, op, oc = onehots
            target = self._fit("target", ExactGP.plain(oh, y))
            members.append(GPPosterior(target, oc))
            pend_inputs.append(torch.as_tensor(op, dtype=torch.float64))
            cand_inputs.append(oc)
            weights, winfo = self._weights(history_keys, raw, y, members)
            info["target"] = target.describe()
            info.update(winfo)
        info["weights"] = weights.tolist()
        post = CombinedPosterior(
            members,
            weights,
            # mypy cannot infer a lambda with default arguments (python/mypy#15459)
            [lambda j, c=c: torch.as_tensor(c[j], dtype=torch.float64) for c in cand_inputs],  # type: ignore[misc]
        )
        # the records are the predictions before any fantasy
        self._last = (candidate_keys, float(np.mean(raw)), float(np.std(raw)) or 1.0, members)
        for i in range(len(tp)):
            post.add_fantasy(0, [t[i] for t in pend_inputs])
        self.last_info = info
        return post

    def records(self) -> dict[str, list[float]]:
        """The prequential records as plain data (``{key: [transfer mean, var, target mean,
        var]}``, NaN where the target-only GP was not fitted yet)."""
        return {k: [float(x) for x in v] for k, v in self._records.items()}

    def set_records(self, records: dict[str, Sequence[float]]) -> None:
        """Restore :meth:`records`."""
        self._records = OrderedDict(
            (str(k), cast("tuple[float, float, float, float]", tuple(float(x) for x in v)))
            for k, v in records.items()
        )

    def record(self, picked: Sequence[int]) -> None:
        """Remember what each member predicted (before fantasies) for the candidates at the
        indices ``picked`` of the last :meth:`posterior`, in score units: the prequential
        predictions the ranking weights are computed from once the scores arrive."""
        if self._last is None:
            return
        cands, mean, std, members = self._last
        key_of = cands if callable(cands) else cands.__getitem__
        idx = np.asarray(list(picked), dtype=np.int64)
        pre = [(p.mean[idx], p.observed_var(idx)) for p in members]
        for i, j in enumerate(idx):
            tm, tv = pre[0][0][i], pre[0][1][i]
            sm, sv = (pre[1][0][i], pre[1][1][i]) if len(pre) > 1 else (np.nan, np.nan)
            self._records[key_of(j)] = (
                mean + std * tm,
                std * std * tv,
                mean + std * sm,
                std * std * sv,
            )
        while len(self._records) > _MAX_RECORDS:
            self._records.popitem(last=False)
