"""Tune a weight-sharing supernet with Optuna: which learning rate trains the best supernet?

Each trial trains a NAS-Bench-Graph supernet on Cora (SPOS, or first-order DARTS with
``--strategy darts``) with the learning rate Optuna suggests, and reports after every iteration the
mean inherited-weight validation accuracy of a fixed probe set of architectures; MedianPruner stops
poor learning rates early. On a GPU machine the supernet trains on CUDA.

    python examples/supernet_optuna.py --trials 8 --iterations 10
    python examples/supernet_optuna.py --strategy darts --trials 4
    python examples/supernet_optuna.py --smoke-test
"""

from __future__ import annotations

import argparse


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--dataset", default="cora", choices=["cora", "citeseer"])
    p.add_argument("--strategy", default="spos", choices=["spos", "darts"])
    p.add_argument("--trials", type=int, default=8)
    p.add_argument("--iterations", type=int, default=10)
    p.add_argument("--steps-per-iter", type=int, default=20)
    p.add_argument("--hidden", type=int, default=64)
    p.add_argument("--data-root", default=None)
    p.add_argument("--smoke-test", action="store_true")
    args = p.parse_args(argv)
    if args.smoke_test:
        args.trials, args.iterations, args.steps_per_iter, args.hidden = 2, 2, 1, 16

    import optuna

    from nas_meta_tune.integrations.objectives import supernet_objective

    objective = supernet_objective(
        args.dataset,
        iterations=args.iterations,
        steps_per_iter=args.steps_per_iter,
        strategy=args.strategy,
        probe_archs=4 if args.smoke_test else 16,
        suggest=lambda t: {
            "lr": t.suggest_float("lr", 1e-3, 3e-2, log=True),
            "hidden": args.hidden,
        },
        data_root=args.data_root,
    )
    study = optuna.create_study(
        direction="maximize",
        sampler=optuna.samplers.TPESampler(seed=0),
        pruner=optuna.pruners.MedianPruner(n_startup_trials=2, n_warmup_steps=2),
    )
    study.optimize(objective, n_trials=args.trials)
    best = study.best_trial
    print(f"best lr {best.params['lr']:.4g}: probe validation accuracy {best.value:.2f}%")
    print(f"best probe architecture: {best.user_attrs['probe_best_arch']}")
    if "derived_arch" in best.user_attrs:
        print(f"DARTS-derived architecture: {best.user_attrs['derived_arch']}")
    states = [t.state.name for t in study.trials]
    print({s: states.count(s) for s in sorted(set(states))})


if __name__ == "__main__":
    main()
