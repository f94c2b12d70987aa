"""Hand-written GP fit (nas_meta_tune.predictors.gp) vs the same model on GPyTorch + BoTorch.

Both fit the transfer GP and the target-only GP of the transfer-BO proposer on the same real data:
NB201 cells' embeddings under the shipped predictor and their CIFAR-100 accuracy (rank-normalised),
``n`` = 20 / 50 / 100 evaluated cells. The GPyTorch twin has the same mean, kernel, priors and
constraints; BoTorch's ``fit_gpytorch_mll`` (L-BFGS-B) fits it. Reported per size: median wall
time of a fit from the priors' modes over ``--reps`` runs on one torch thread, and the MAP
objective (log marginal likelihood + log prior, evaluated by our code at each fit's
hyperparameters: equal values mean the same optimum was found).

Run:
    python benchmarks/gp_fit.py
Results: benchmarks/results/gp_fit.json and a RESULTS.md section.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings

import numpy as np
import torch
from _common import meta, update_results_md, write_json

SECTION = "Transfer-BO surrogate: hand-written GP fit vs GPyTorch + BoTorch (issue 21)"


def _data(n: int, seed: int):
    from nas_meta_tune import get_space, load_benchmark
    from nas_meta_tune.predictors import MetaPredictor
    from nas_meta_tune.predictors.tasks import normalize_scores
    from nas_meta_tune.search.surrogate import TransferGPSurrogate, param_onehot

    space = get_space("nb201")
    archs, y = load_benchmark("nb201").table("cifar100")
    rng = np.random.default_rng(seed)
    idx = rng.choice(len(archs), 2000, replace=False)
    ref = [archs[i] for i in idx]
    emb, pred = TransferGPSurrogate.features(MetaPredictor.pretrained(), ref)
    tin = TransferGPSurrogate.standardise(emb, pred)
    oh = param_onehot(space, ref)
    yn = normalize_scores(y[idx[:n]])
    return tin[:n], oh[:n], yn


def _gpytorch_fit(gp):
    """The GPyTorch twin of ``gp`` fitted by BoTorch; returns its hyperparameters as our theta."""
    import gpytorch
    from botorch.fit import fit_gpytorch_mll
    from botorch.models import SingleTaskGP
    from gpytorch.constraints import GreaterThan
    from gpytorch.kernels import MaternKernel, RBFKernel, ScaleKernel
    from gpytorch.likelihoods import GaussianLikelihood
    from gpytorch.means import ConstantMean, Mean
    from gpytorch.priors import GammaPrior, LogNormalPrior, NormalPrior

    from nas_meta_tune.predictors.gp import ExactGP

    loc, scale = gp._ls_prior
    start = ExactGP._values(gp.theta)
    lik = GaussianLikelihood(
        noise_prior=LogNormalPrior(-4.0, 1.0), noise_constraint=GreaterThan(1e-4)
    ).double()
    lik.noise = start["noise"]
    if gp.kind == "transfer":
        d = gp.dim

        class Prior(Mean):
            def __init__(self):
                super().__init__()
                self.register_parameter(
                    "a", torch.nn.Parameter(torch.tensor(1.0, dtype=torch.float64))
                )
                self.register_parameter(
                    "b", torch.nn.Parameter(torch.tensor(0.0, dtype=torch.float64))
                )
                self.register_prior("a_prior", NormalPrior(1.0, 1.0), "a")
                self.register_prior("b_prior", NormalPrior(0.0, 1.0), "b")

            def forward(self, x):
                return self.a * x[..., -1] + self.b

        base = MaternKernel(
            nu=2.5,
            active_dims=tuple(range(d)),
            lengthscale_prior=LogNormalPrior(loc, scale),
            lengthscale_constraint=GreaterThan(2.5e-2),
        )
        kernel = ScaleKernel(base, outputscale_prior=GammaPrior(2.0, 4.0)).double()
        base.lengthscale = start["lengthscale"]
        kernel.outputscale = start["outputscale"]
        mean = Prior().double()
    else:
        kernel = RBFKernel(
            ard_num_dims=gp.dim,
            lengthscale_prior=LogNormalPrior(loc, scale),
            lengthscale_constraint=GreaterThan(2.5e-2),
        ).double()
        kernel.lengthscale = start["lengthscale"]
        mean = ConstantMean().double()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = SingleTaskGP(
            gp.x,
            gp.y.unsqueeze(-1),
            likelihood=lik,
            covar_module=kernel,
            mean_module=mean,
            outcome_transform=None,
        )
        mll = gpytorch.mlls.ExactMarginalLogLikelihood(model.likelihood, model)
        fit_gpytorch_mll(mll)
    ls = (kernel.base_kernel if gp.kind == "transfer" else kernel).lengthscale.detach().reshape(-1)
    theta = {
        "lengthscale": torch.log(ls - 2.5e-2),
        "noise": torch.log(lik.noise.detach().reshape(-1) - 1e-4),
    }
    if gp.kind == "transfer":
        theta["outputscale"] = torch.log(kernel.outputscale.detach().reshape(-1))
        theta["a"] = mean.a.detach().reshape(-1)
        theta["b"] = mean.b.detach().reshape(-1)
    else:
        theta["constant"] = mean.constant.detach().reshape(-1)
    return theta


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--sizes", nargs="*", type=int, default=[20, 50, 100])
    p.add_argument("--reps", type=int, default=5)
    p.add_argument("--smoke-test", action="store_true")
    args = p.parse_args(argv)
    if args.smoke_test:
        args.sizes, args.reps = [10], 1
    torch.set_num_threads(1)
    from nas_meta_tune.predictors.gp import ExactGP

    started = time.perf_counter()
    out: dict = {}
    for n in args.sizes:
        tin, oh, y = _data(n, seed=n)
        for kind, make in (
            ("transfer", lambda: ExactGP.transfer(tin[:, :-1], tin[:, -1], y)),
            ("target", lambda: ExactGP.plain(oh, y)),
        ):
            ours_t, ref_t, ours_obj, ref_obj = [], [], [], []
            for _ in range(args.reps):
                gp = make()
                t0 = time.perf_counter()
                gp.fit()
                ours_t.append(1000 * (time.perf_counter() - t0))
                ours_obj.append(float(gp.log_posterior()))
                twin = make()
                t0 = time.perf_counter()
                theta = _gpytorch_fit(twin)
                ref_t.append(1000 * (time.perf_counter() - t0))
                ref_obj.append(float(twin.log_posterior(theta)))
            out[f"{kind}@{n}"] = {
                "ours_ms": float(np.median(ours_t)),
                "gpytorch_botorch_ms": float(np.median(ref_t)),
                "ours_map_objective": float(np.median(ours_obj)),
                "gpytorch_botorch_map_objective": float(np.median(ref_obj)),
            }
            print(kind, n, out[f"{kind}@{n}"], flush=True)
    if args.smoke_test:
        print(json.dumps(out))
        return 0
    run = meta(
        "python benchmarks/gp_fit.py " + " ".join(sys.argv[1:] if argv is None else argv), started
    )
    write_json("gp_fit", {"results": out, "meta": run})
    rows = [
        "| model | n | hand-written fit (ms) | GPyTorch + BoTorch fit (ms) | MAP objective, ours | MAP objective, GPyTorch + BoTorch |",
        "|---|---|---|---|---|---|",
    ]
    for key, e in out.items():
        kind, n = key.split("@")
        rows.append(
            f"| {kind} | {n} | {e['ours_ms']:.1f} | {e['gpytorch_botorch_ms']:.1f} | "
            f"{e['ours_map_objective']:.3f} | {e['gpytorch_botorch_map_objective']:.3f} |"
        )
    body = (
        f"Command: `{run['command']}` ({run['wall_time_s']:.0f} s, commit {run['commit']}, one torch "
        "thread; median of the repetitions). Same data (NB201 cells embedded by the shipped "
        "predictor, their CIFAR-100 accuracy rank-normalised), same model, priors and "
        "constraints; a higher MAP objective is a better fit.\n\n" + "\n".join(rows)
    )
    update_results_md(SECTION, body)
    print(body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
