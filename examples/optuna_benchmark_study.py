"""Architecture search on a real NAS benchmark with a plain Optuna study.

The objective asks the trial for an architecture with ``space.suggest(trial)`` and looks it up in
the tabular benchmark, so any Optuna sampler (here TPE and random search) searches the space.

    python examples/optuna_benchmark_study.py --benchmark nasbench_graph --task cora --trials 100
    python examples/optuna_benchmark_study.py --smoke-test
"""

from __future__ import annotations

import argparse

import numpy as np
import optuna

from nas_meta_tune import load_benchmark


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--benchmark", default="nasbench_graph")
    p.add_argument("--task", default="cora")
    p.add_argument("--trials", type=int, default=100)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--storage", default=None, help="e.g. sqlite:///nas.db to keep the study")
    p.add_argument("--smoke-test", action="store_true", help="a few trials only")
    args = p.parse_args(argv)
    if args.smoke_test:
        args.trials = 8
    optuna.logging.set_verbosity(optuna.logging.WARNING)

    bench = load_benchmark(args.benchmark)
    _, scores = bench.table(args.task)
    best_possible = np.nanmax(scores)
    for name, sampler in (
        ("tpe", optuna.samplers.TPESampler(seed=args.seed)),
        ("random", optuna.samplers.RandomSampler(seed=args.seed)),
    ):
        study = optuna.create_study(
            study_name=f"{args.benchmark}-{args.task}-{name}",
            storage=args.storage,
            load_if_exists=True,
            direction=bench.direction(),
            sampler=sampler,
        )
        study.optimize(bench.objective(args.task), n_trials=args.trials)
        best = study.best_trial
        print(
            f"{name:>6}: best {best.value:.3f} after {len(study.trials)} trials "
            f"(regret {best_possible - best.value:.3f}) arch {best.user_attrs['arch']}"
        )


if __name__ == "__main__":
    main()
