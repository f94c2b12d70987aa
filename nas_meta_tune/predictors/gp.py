"""Exact Gaussian processes for the transfer-BO proposer.

Two kinds of GP are fitted on a study's history (targets ``y``: rank-normalised scores, see
:func:`~nas_meta_tune.predictors.tasks.normalize_scores`):

* the **transfer GP** (:meth:`ExactGP.transfer`): inputs are features of the meta-learned GCN body
  plus, as the last column, the meta-predictor's own (standardised) prediction ``f0(x)``; its mean
  is ``a * f0(x) + b`` and its kernel a scaled Matern-5/2 over the features with one lengthscale.
  ``a``, ``b``, the kernel's scales and the noise are fitted, so a prior mean that does not explain
  the study's data is shrunk (``a -> 0``) and the kernel takes over. This is the deep-kernel GP of
  FSBO (Wistuba & Grabocka, ICLR 2021, https://arxiv.org/abs/2101.07667) and TNAS (Shala et al.,
  ICLR 2023) with a meta-learned prior mean; the features are fixed (the meta-initialisation's
  body), not fine-tuned per study.
* the **target-only GP** (:meth:`ExactGP.plain`): BoTorch's ``SingleTaskGP`` defaults -- constant
  mean, RBF kernel with one lengthscale per input and the dimension-scaled lengthscale prior
  ``LogNormal(sqrt 2 + log(d) / 2, sqrt 3)``, noise prior ``LogNormal(-4, 1)`` (Hvarfner et al.,
  "Vanilla Bayesian Optimization Performs Great in High Dimensions", ICML 2024) -- on a fixed
  encoding of the space; it knows nothing from meta-training.

Hyperparameters are the MAP of the exact marginal likelihood plus the priors, found by L-BFGS-B
(scipy) on torch gradients, warm-started from the previous fit.

Why hand-written and not GPyTorch/BoTorch: the same models built from GPyTorch modules and fitted
with BoTorch's ``fit_gpytorch_mll`` took 240-300 ms per fit at 50 observations on one core
(``benchmarks/search.py --gp-timing``), most of it GPyTorch's per-evaluation overhead on matrices
this small; this module takes a few ms per fit for the same objective. ``tests/search/test_gp.py``
builds the same models in GPyTorch and checks that the objective (marginal likelihood + priors),
its optimum and the posterior agree to numerical precision. The proposer also needs three things
a generic posterior makes slow: the posterior over up to ~60k candidates at once, closed-form
leave-one-out predictions (Rasmussen & Williams, eq. 5.12) for the ranking weights, and rank-one
"kriging believer" updates of the candidates' variances for pending trials and batches.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from scipy.optimize import minimize

__all__ = ["ExactGP", "GPPosterior"]

DTYPE = torch.float64
_CHUNK = 8192  # candidates per block of the cross-covariance
_MIN_NOISE = 1e-4  # BoTorch's MIN_INFERRED_NOISE_LEVEL
_MIN_LENGTHSCALE = 2.5e-2  # BoTorch's lower bound with the dimension-scaled prior
_LOG_2PI = math.log(2 * math.pi)
_SQRT5 = math.sqrt(5.0)


def _lognormal_logpdf(x: torch.Tensor, loc: float, scale: float) -> torch.Tensor:
    z = (torch.log(x) - loc) / scale
    return (-torch.log(x) - math.log(scale) - 0.5 * _LOG_2PI - 0.5 * z * z).sum()


def _gamma_logpdf(x: torch.Tensor, concentration: float, rate: float) -> torch.Tensor:
    return (
        concentration * math.log(rate)
        - math.lgamma(concentration)
        + (concentration - 1) * torch.log(x)
        - rate * x
    ).sum()


def _normal_logpdf(x: torch.Tensor, loc: float, scale: float) -> torch.Tensor:
    z = (x - loc) / scale
    return (-math.log(scale) - 0.5 * _LOG_2PI - 0.5 * z * z).sum()


def _sqdist(x1: torch.Tensor, x2: torch.Tensor) -> torch.Tensor:
    d = (x1 * x1).sum(-1, keepdim=True) - 2 * x1 @ x2.T + (x2 * x2).sum(-1)
    return d.clamp_min(0.0)


@dataclass
class ExactGP:
    """An exact GP with MAP hyperparameters; build with :meth:`transfer` or :meth:`plain`.

    ``kind`` is ``"transfer"`` (inputs ``[features..., f0]``, mean ``a * f0 + b``, scaled isotropic
    Matern-5/2 on the features, priors ``a ~ N(1, 1)``, ``b ~ N(0, 1)``, outputscale
    ``~ Gamma(2, 4)``) or ``"plain"`` (constant mean, unscaled ARD RBF). Both use BoTorch's
    dimension-scaled lengthscale prior and the ``LogNormal(-4, 1)`` noise prior. (A lengthscale
    prior centred on the features' median pairwise distance was tried on the development tasks
    and was worse at 20 trials on 3 of 7; see the README.)
    """

    kind: str
    x: torch.Tensor
    y: torch.Tensor
    theta: dict[str, torch.Tensor] = field(default_factory=dict)  # unconstrained values

    # ------------------------------------------------------------------ construction
    @classmethod
    def transfer(cls, features: np.ndarray, prior: np.ndarray, y: np.ndarray) -> ExactGP:
        """The transfer GP on ``features`` plus the meta-predictor's prediction ``prior``."""
        x = np.column_stack([features, prior])
        return cls("transfer", _tensor(x), _tensor(y)).reset()

    @classmethod
    def plain(cls, encoding: np.ndarray, y: np.ndarray) -> ExactGP:
        """The target-only GP on a fixed ``encoding`` of the architectures."""
        return cls("plain", _tensor(encoding), _tensor(y)).reset()

    @property
    def dim(self) -> int:
        """Inputs the kernel reads."""
        return self.x.shape[1] - 1 if self.kind == "transfer" else self.x.shape[1]

    @property
    def _ls_prior(self) -> tuple[float, float]:
        return (math.sqrt(2) + 0.5 * math.log(self.dim), math.sqrt(3))

    def reset(self) -> ExactGP:
        """Hyperparameters at their priors' modes (where a fit without a warm start begins)."""
        loc, scale = self._ls_prior
        ls_mode = math.exp(loc - scale * scale)  # mode of the LogNormal
        n_ls = 1 if self.kind == "transfer" else self.dim
        self.theta = {
            "lengthscale": torch.full(
                (n_ls,), math.log(max(ls_mode - _MIN_LENGTHSCALE, 1e-6)), dtype=DTYPE
            ),
            "noise": torch.tensor([math.log(math.exp(-4.0 - 1.0) - _MIN_NOISE)], dtype=DTYPE),
        }
        if self.kind == "transfer":
            self.theta["outputscale"] = torch.tensor(
                [math.log(0.25)], dtype=DTYPE
            )  # Gamma(2, 4) mode
            self.theta["a"] = torch.tensor([1.0], dtype=DTYPE)
            self.theta["b"] = torch.tensor([0.0], dtype=DTYPE)
        else:
            self.theta["constant"] = torch.tensor([0.0], dtype=DTYPE)
        return self

    def warm(self, theta: dict[str, torch.Tensor] | None) -> ExactGP:
        """Start from another fit's hyperparameters where their shapes match."""
        for k, v in (theta or {}).items():
            if k in self.theta and self.theta[k].shape == v.shape:
                self.theta[k] = v.clone()
        return self

    # ------------------------------------------------------------------ model
    @staticmethod
    def _values(theta: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        v = {
            "lengthscale": _MIN_LENGTHSCALE + torch.exp(theta["lengthscale"]),
            "noise": _MIN_NOISE + torch.exp(theta["noise"]),
        }
        if "outputscale" in theta:
            v["outputscale"] = torch.exp(theta["outputscale"])
        for k in ("a", "b", "constant"):
            if k in theta:
                v[k] = theta[k]
        return v

    def values(self) -> dict[str, Any]:
        """The hyperparameters' values (constrained), as plain floats / lists."""
        out: dict[str, Any] = {}
        for k, t in self._values(self.theta).items():
            t = t.detach()
            out[k] = float(t[0]) if t.numel() == 1 else t.tolist()
        return out

    def kernel(
        self, x1: torch.Tensor, x2: torch.Tensor, v: dict[str, torch.Tensor] | None = None
    ) -> torch.Tensor:
        """Covariances of ``x1`` and ``x2`` under hyperparameter values ``v`` (default: current)."""
        v = self._values(self.theta) if v is None else v
        if self.kind == "transfer":
            f1, f2 = x1[..., :-1], x2[..., :-1]
            r = torch.sqrt(_sqdist(f1, f2) + 1e-30) / v["lengthscale"]
            return (
                v["outputscale"] * (1 + _SQRT5 * r + (5.0 / 3.0) * r * r) * torch.exp(-_SQRT5 * r)
            )
        ls = v["lengthscale"]
        return torch.exp(-0.5 * _sqdist(x1 / ls, x2 / ls))

    def kernel_diag(
        self, x: torch.Tensor, v: dict[str, torch.Tensor] | None = None
    ) -> torch.Tensor:
        """The prior variance of every row of ``x`` (the kernel's diagonal)."""
        v = self._values(self.theta) if v is None else v
        scale = v["outputscale"] if self.kind == "transfer" else torch.ones((), dtype=DTYPE)
        return scale.expand(x.shape[0]).clone()

    def mean(self, x: torch.Tensor, v: dict[str, torch.Tensor] | None = None) -> torch.Tensor:
        """The prior mean of every row of ``x``."""
        v = self._values(self.theta) if v is None else v
        if self.kind == "transfer":
            return v["a"] * x[..., -1] + v["b"]
        return v["constant"].expand(x.shape[0])

    def log_prior(self, v: dict[str, torch.Tensor]) -> torch.Tensor:
        """Log density of the hyperparameter priors at the values ``v``."""
        loc, scale = self._ls_prior
        lp = _lognormal_logpdf(v["lengthscale"], loc, scale) + _lognormal_logpdf(
            v["noise"], -4.0, 1.0
        )
        if self.kind == "transfer":
            lp = lp + _gamma_logpdf(v["outputscale"], 2.0, 4.0)
            lp = lp + _normal_logpdf(v["a"], 1.0, 1.0) + _normal_logpdf(v["b"], 0.0, 1.0)
        return lp

    def log_marginal_likelihood(self, v: dict[str, torch.Tensor] | None = None) -> torch.Tensor:
        """``log p(y | X, hyperparameters)``."""
        v = self._values(self.theta) if v is None else v
        n = len(self.y)
        k = self.kernel(self.x, self.x, v) + v["noise"] * torch.eye(n, dtype=DTYPE)
        chol = _cholesky(k)
        r = (self.y - self.mean(self.x, v)).unsqueeze(-1)
        alpha = torch.cholesky_solve(r, chol)
        return -0.5 * (r * alpha).sum() - torch.log(torch.diagonal(chol)).sum() - 0.5 * n * _LOG_2PI

    def log_posterior(self, theta: dict[str, torch.Tensor] | None = None) -> torch.Tensor:
        """The MAP objective: marginal likelihood plus the hyperparameters' log prior densities
        (of the constrained values, as GPyTorch's priors)."""
        v = self._values(self.theta if theta is None else theta)
        return self.log_marginal_likelihood(v) + self.log_prior(v)

    # ------------------------------------------------------------------ fitting
    def fit(self, *, maxiter: int = 100) -> ExactGP:
        """MAP hyperparameters by L-BFGS-B from the current ones (``maxiter=0``: keep them)."""
        if maxiter <= 0 or len(self.y) == 0:
            return self
        names = list(self.theta)
        sizes = [self.theta[k].numel() for k in names]

        def unpack(flat: np.ndarray) -> dict[str, torch.Tensor]:
            t = torch.as_tensor(flat, dtype=DTYPE)
            out, i = {}, 0
            for k, s in zip(names, sizes):
                out[k] = t[i : i + s].clone().requires_grad_(True)
                i += s
            return out

        def objective(flat: np.ndarray) -> tuple[float, np.ndarray]:
            theta = unpack(flat)
            try:
                loss = -self.log_posterior(theta) / len(self.y)
                grads = torch.autograd.grad(loss, [theta[k] for k in names])
            except (RuntimeError, torch.linalg.LinAlgError):
                return 1e10, np.zeros_like(flat)
            g = torch.cat([x.reshape(-1) for x in grads]).numpy()
            val = float(loss.detach())
            if not np.isfinite(val) or not np.all(np.isfinite(g)):
                return 1e10, np.zeros_like(flat)
            return val, g

        start = torch.cat([self.theta[k].reshape(-1) for k in names]).numpy().astype(np.float64)
        # keep unconstrained values in a range where exp() neither under- nor overflows
        bounds = [(-12.0, 8.0)] * len(start)
        offset = 0
        for k, s in zip(names, sizes):
            if k in ("a", "b", "constant"):
                bounds[offset : offset + s] = [(-20.0, 20.0)] * s
            offset += s
        start = np.clip(start, [b[0] for b in bounds], [b[1] for b in bounds])
        f0, _ = objective(start)
        res = minimize(
            objective,
            start,
            jac=True,
            method="L-BFGS-B",
            bounds=bounds,
            options={"maxiter": int(maxiter)},
        )
        best = res.x if np.isfinite(res.fun) and res.fun <= f0 else start
        final = unpack(best)
        self.theta = {k: t.detach() for k, t in final.items()}
        return self

    def state(self) -> dict[str, torch.Tensor]:
        """The unconstrained hyperparameters, to warm-start another fit (:meth:`warm`)."""
        return {k: t.clone() for k, t in self.theta.items()}

    def describe(self) -> dict[str, Any]:
        """Readable fitted hyperparameters (for logs and the proposer's ``last_info``)."""
        v = self.values()
        if isinstance(v.get("lengthscale"), list):
            v["lengthscale"] = float(np.median(v["lengthscale"]))
        return v


class GPPosterior:
    """A fitted GP's posterior over a fixed candidate matrix, with kriging-believer updates.

    :attr:`mean` (the latent function's posterior mean) is computed for every candidate at
    once. Variances are computed on demand (:meth:`ensure`), because they cost ``O(n^2)`` per
    candidate where the mean costs ``O(n)``: the proposer asks for them in decreasing order of
    the mean and stops once no remaining candidate can beat the best acquisition value found
    (the acquisition grows with the mean and the standard deviation, and no variance exceeds
    the prior's, :attr:`prior_var`), which finds the exact maximiser over a 26k-architecture
    space after scoring a few thousand. :attr:`var` holds NaN where not computed.

    :meth:`add_fantasy` conditions on an unobserved point at its posterior mean (the mean does
    not move; variances shrink near the point), which is how pending trials and the members of
    a batch make the next proposal look elsewhere. Fantasies extend the Cholesky factor of the
    training covariance by one row each, so the result equals the posterior on the observations
    plus the fantasies (same hyperparameters), as ``tests/search/test_gp.py`` checks.
    """

    def __init__(self, gp: ExactGP, cand_x: np.ndarray | torch.Tensor) -> None:
        self.gp = gp
        self.cand_x = cand_x if isinstance(cand_x, torch.Tensor) else _tensor(cand_x)
        with torch.no_grad():
            v = ExactGP._values(gp.theta)
            self._v = v
            x = gp.x
            self.noise = float(v["noise"][0])
            k = gp.kernel(x, x, v) + self.noise * torch.eye(len(x), dtype=DTYPE)
            self.chol = _cholesky(k)  # grows with fantasies
            self.points = x  # observed inputs, then fantasies
            self.alpha = torch.cholesky_solve(
                (gp.y - gp.mean(x, v)).unsqueeze(-1), self.chol
            ).squeeze(-1)
            means = [
                gp.mean(c, v) + gp.kernel(x, c, v).T @ self.alpha
                for c in torch.split(self.cand_x, _CHUNK)
            ]
            self.mean = (torch.cat(means) if means else torch.zeros(0, dtype=DTYPE)).numpy().copy()
            self.prior_var = gp.kernel_diag(self.cand_x, v).numpy().copy()
        self.var = np.full(len(self.mean), np.nan)
        self._fantasies: list[tuple[torch.Tensor, torch.Tensor, float]] = []  # (p, l, d)
        # chol^-1 K(points, C) for the candidates whose variance is computed: the n x N block of
        # the observations, then one 1 x N row per fantasy (other columns are not meaningful)
        self._rows: list[torch.Tensor] = [torch.zeros((len(gp.y), len(self.mean)), dtype=DTYPE)]

    @classmethod
    def build(cls, gp: ExactGP, cand_x: np.ndarray | torch.Tensor) -> GPPosterior:
        """The posterior with every candidate's variance computed."""
        post = cls(gp, cand_x)
        post.ensure(np.arange(len(post.mean)))
        return post

    def ensure(self, idx: np.ndarray) -> None:
        """Compute the variances of the candidates ``idx`` (under the fantasies added so far)."""
        idx = np.asarray(idx, dtype=np.int64)
        idx = idx[np.isnan(self.var[idx])]
        if not len(idx):
            return
        gp, v = self.gp, self._v
        n = len(gp.y)
        with torch.no_grad():
            for part in np.array_split(idx, max(1, int(np.ceil(len(idx) / _CHUNK)))):
                cols = torch.as_tensor(part)
                c = self.cand_x[cols]
                block = torch.linalg.solve_triangular(
                    self.chol[:n, :n], gp.kernel(gp.x, c, v), upper=False
                )  # n x m
                self._rows[0][:, cols] = block
                var = gp.kernel_diag(c, v) - (block * block).sum(0)
                for k, (p, lp, d) in enumerate(self._fantasies):  # sequential conditioning
                    prev = torch.cat([r[:, cols] for r in self._rows[: k + 1]])
                    r = (gp.kernel(p, c, v)[0] - lp @ prev) / d
                    self._rows[k + 1][0, cols] = r
                    var = var - r * r
                self.var[part] = np.maximum(var.numpy(), 1e-12)

    def add_fantasy(self, point: torch.Tensor) -> None:
        """Condition on an observation at ``point`` equal to its posterior mean (kriging
        believer): one more row of the Cholesky factor; the computed variances shrink by
        ``cov(c, p)^2 / (var(p) + noise)`` under the posterior holding the earlier fantasies."""
        gp, v = self.gp, self._v
        p = point.reshape(1, -1).to(DTYPE)
        with torch.no_grad():
            lp = torch.linalg.solve_triangular(
                self.chol, gp.kernel(self.points, p, v), upper=False
            )[:, 0]
            d2 = float(gp.kernel_diag(p, v)[0]) + self.noise - float(lp @ lp)
            d = math.sqrt(max(d2, 1e-12))
            m = len(self.points)
            chol = torch.zeros((m + 1, m + 1), dtype=DTYPE)
            chol[:m, :m] = self.chol
            chol[m, :m] = lp
            chol[m, m] = d
            row = torch.zeros((1, len(self.mean)), dtype=DTYPE)
            done = np.flatnonzero(~np.isnan(self.var))
            if len(done):
                cols = torch.as_tensor(done)
                prev = torch.cat([r[:, cols] for r in self._rows])
                r = (gp.kernel(p, self.cand_x[cols], v)[0] - lp @ prev) / d
                row[0, cols] = r
                self.var[done] = np.maximum(self.var[done] - (r * r).numpy(), 1e-12)
        self.chol = chol
        self.points = torch.cat([self.points, p])
        self._rows.append(row)
        self._fantasies.append((p, lp, d))

    def observed_var(self, idx: np.ndarray) -> np.ndarray:
        """Variances of the candidates ``idx`` given the observations only (no fantasies)."""
        idx = np.asarray(idx, dtype=np.int64)
        self.ensure(idx)
        block = self._rows[0][:, torch.as_tensor(idx)]
        return np.maximum(self.prior_var[idx] - (block * block).sum(0).numpy(), 1e-12)

    def loo(self) -> tuple[np.ndarray, np.ndarray]:
        """Closed-form leave-one-out predictive mean and variance (noise included) of the
        observations (Rasmussen & Williams 2006, eq. 5.12)."""
        n = len(self.gp.y)
        with torch.no_grad():
            kinv = torch.cholesky_inverse(self.chol[:n, :n])
            d = torch.diagonal(kinv).clamp_min(1e-12)
            mu = self.gp.y - self.alpha / d
        return mu.numpy(), (1.0 / d).numpy()


def _tensor(a: np.ndarray) -> torch.Tensor:
    return torch.as_tensor(np.ascontiguousarray(a), dtype=DTYPE)


def _cholesky(k: torch.Tensor) -> torch.Tensor:
    """Cholesky factor, adding jitter (1e-8 upwards) only when the plain one fails."""
    chol, info = torch.linalg.cholesky_ex(k)
    if int(info) == 0:
        return chol
    jitter = 1e-8
    eye = torch.eye(len(k), dtype=k.dtype)
    for _ in range(6):
        chol, info = torch.linalg.cholesky_ex(k + jitter * eye)
        if int(info) == 0:
            return chol
        jitter *= 10
    return torch.linalg.cholesky(k + jitter * eye)
