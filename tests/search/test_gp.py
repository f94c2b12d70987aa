"""The hand-written GPs of ``nas_meta_tune.predictors.gp`` against GPyTorch's exact GP (the reference
the README's "why hand-written" claim rests on) and against brute-force refits. Synthetic data:
these test the linear algebra, not any benchmark."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from nas_meta_tune.predictors.gp import ExactGP, GPPosterior

gpytorch = pytest.importorskip("gpytorch")


def _synthetic(n: int = 12, d: int = 5, seed: int = 0):
    rng = np.random.default_rng(seed)
    feats = rng.standard_normal((n + 30, d))
    prior = feats[:, 0] + 0.3 * rng.standard_normal(n + 30)
    y = prior[:n] + 0.5 * np.sin(feats[:n, 1]) + 0.1 * rng.standard_normal(n)
    return feats, prior, y


def _random_theta(gp: ExactGP, seed: int) -> None:
    g = torch.Generator().manual_seed(seed)
    for k, t in gp.theta.items():
        gp.theta[k] = t + 0.5 * torch.randn(t.shape, generator=g, dtype=t.dtype)


def _gpytorch_twin(gp: ExactGP):
    """The same model built from GPyTorch modules, with the same hyperparameter values."""
    from gpytorch.kernels import MaternKernel, RBFKernel, ScaleKernel
    from gpytorch.likelihoods import GaussianLikelihood
    from gpytorch.means import ConstantMean, Mean
    from gpytorch.priors import GammaPrior, LogNormalPrior, NormalPrior

    v = {k: t.detach() for k, t in ExactGP._values(gp.theta).items()}
    loc, scale = gp._ls_prior
    lik = GaussianLikelihood(noise_prior=LogNormalPrior(-4.0, 1.0)).double()
    lik.noise = v["noise"]
    if gp.kind == "transfer":
        d = gp.dim

        class Prior(Mean):
            def __init__(self):
                super().__init__()
                self.register_parameter("a", torch.nn.Parameter(v["a"].clone().reshape(())))
                self.register_parameter("b", torch.nn.Parameter(v["b"].clone().reshape(())))
                self.register_prior("a_prior", NormalPrior(1.0, 1.0), "a")
                self.register_prior("b_prior", NormalPrior(0.0, 1.0), "b")

            def forward(self, x):
                return self.a * x[..., -1] + self.b

        base = MaternKernel(
            nu=2.5, active_dims=tuple(range(d)), lengthscale_prior=LogNormalPrior(loc, scale)
        )
        kernel = ScaleKernel(base, outputscale_prior=GammaPrior(2.0, 4.0)).double()
        base.lengthscale = v["lengthscale"]
        kernel.outputscale = v["outputscale"]
        mean = Prior().double()
    else:
        kernel = RBFKernel(
            ard_num_dims=gp.dim, lengthscale_prior=LogNormalPrior(loc, scale)
        ).double()
        kernel.lengthscale = v["lengthscale"]
        mean = ConstantMean().double()
        mean.constant.data.fill_(float(v["constant"][0]))

    class Model(gpytorch.models.ExactGP):
        def __init__(self):
            super().__init__(gp.x, gp.y, lik)
            self.mean_module, self.covar_module = mean, kernel

        def forward(self, x):
            return gpytorch.distributions.MultivariateNormal(
                self.mean_module(x), self.covar_module(x)
            )

    return Model().double(), lik


def _models(seed: int = 0) -> list[ExactGP]:
    feats, prior, y = _synthetic(seed=seed)
    onehot = (feats[:12] > 0).astype(np.float64)
    return [ExactGP.transfer(feats[:12], prior[:12], y), ExactGP.plain(onehot, y)]


@pytest.mark.parametrize("kind", [0, 1])
def test_objective_equals_gpytorch_marginal_likelihood_plus_priors(kind):
    gp = _models()[kind]
    _random_theta(gp, seed=3)
    model, lik = _gpytorch_twin(gp)
    model.train()
    mll = gpytorch.mlls.ExactMarginalLogLikelihood(lik, model)
    with gpytorch.settings.fast_computations(False, False, False):
        reference = float(mll(model(gp.x), gp.y)) * len(gp.y)  # GPyTorch divides by n
    ours = float(gp.log_posterior())
    assert ours == pytest.approx(reference, rel=1e-6, abs=1e-8)


@pytest.mark.parametrize("kind", [0, 1])
def test_posterior_equals_gpytorch_posterior(kind):
    feats, prior, y = _synthetic(seed=1)
    gp = _models(seed=1)[kind]
    gp.fit()
    cand = (
        np.column_stack([feats[12:], prior[12:]])
        if kind == 0
        else (feats[12:] > 0).astype(np.float64)
    )
    ours = GPPosterior.build(gp, cand)
    model, lik = _gpytorch_twin(gp)
    model.eval()
    with torch.no_grad(), gpytorch.settings.fast_computations(False, False, False):
        f = model(torch.as_tensor(cand))
    np.testing.assert_allclose(ours.mean, f.mean.numpy(), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(ours.var, f.variance.numpy(), rtol=1e-5, atol=1e-8)


def test_fit_reaches_the_map():
    """The fitted hyperparameters are a local maximum of the objective: nudging any of them
    lowers it."""
    gp = _models(seed=2)[0]
    gp.fit(maxiter=500)
    best = float(gp.log_posterior())
    for k, t in gp.theta.items():
        for i in range(t.numel()):
            for step in (-0.05, 0.05):
                theta = {kk: vv.clone() for kk, vv in gp.theta.items()}
                theta[k].reshape(-1)[i] += step
                assert float(gp.log_posterior(theta)) <= best + 1e-6


def test_kriging_believer_equals_refit_with_the_fantasy():
    feats, prior, y = _synthetic(seed=4)
    gp = _models(seed=4)[0]
    gp.fit()
    cand = np.column_stack([feats[12:], prior[12:]])
    post = GPPosterior.build(gp, cand)
    mean_before = post.mean.copy()
    for j in (3, 7):
        post.add_fantasy(torch.as_tensor(cand[j]))
    # refit the posterior (same hyperparameters) on the data plus both fantasies at their means
    x2 = np.concatenate([gp.x.numpy(), cand[[3, 7]]])
    y2 = np.concatenate([gp.y.numpy(), mean_before[[3, 7]]])
    twin = ExactGP("transfer", torch.as_tensor(x2), torch.as_tensor(y2), dict(gp.theta))
    ref = GPPosterior.build(twin, cand)
    np.testing.assert_allclose(post.var, ref.var, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(ref.mean, mean_before, rtol=1e-6, atol=1e-8)  # believer: unchanged
    assert post.var[3] < 1e-3 * GPPosterior.build(gp, cand).var[3] + post.noise


def test_leave_one_out_equals_brute_force():
    gp = _models(seed=5)[1]
    gp.fit()
    mu, var = GPPosterior.build(gp, gp.x[:1]).loo()
    for i in range(len(gp.y)):
        keep = np.arange(len(gp.y)) != i
        sub = ExactGP("plain", gp.x[keep], gp.y[keep], dict(gp.theta))
        p = GPPosterior.build(sub, gp.x[i : i + 1])
        assert mu[i] == pytest.approx(p.mean[0], rel=1e-6, abs=1e-8)
        assert var[i] == pytest.approx(p.var[0] + p.noise, rel=1e-6)


def test_fit_survives_degenerate_data():
    """Duplicated inputs with different targets, constant targets and a single observation
    neither raise nor give non-finite posteriors."""
    x = np.zeros((4, 3))
    for y in (np.array([0.0, 1.0, -1.0, 0.5]), np.zeros(4), np.array([1.0])):
        gp = ExactGP.plain(x[: len(y)], y).fit()
        post = GPPosterior.build(gp, np.ones((2, 3)))
        assert np.all(np.isfinite(post.mean)) and np.all(post.var > 0)
        assert math.isfinite(float(gp.log_posterior()))


def test_lazy_variances_with_fantasies_equal_the_eager_ones():
    feats, prior, y = _synthetic(n=12, seed=6)
    gp = _models(seed=6)[0]
    gp.fit()
    cand = np.column_stack([feats[12:], prior[12:]])
    eager = GPPosterior.build(gp, cand)
    lazy = GPPosterior(gp, cand)
    lazy.ensure(np.array([0, 5]))  # some before the fantasies, the rest after
    for post in (eager, lazy):
        post.add_fantasy(torch.as_tensor(cand[3]))
        post.add_fantasy(torch.as_tensor(cand[9]))
    assert np.isnan(lazy.var[1]) and not np.isnan(lazy.var[5])
    lazy.ensure(np.arange(len(cand)))
    np.testing.assert_allclose(lazy.var, eager.var, rtol=1e-8, atol=1e-12)
    assert np.all(lazy.var <= lazy.prior_var + 1e-12)
