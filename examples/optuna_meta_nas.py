"""NAS with Optuna's MetaNASSampler: the meta-learned predictor proposes, adapting as trials finish.

The objective asks for the architecture with ``space.suggest(trial)`` and any other
hyperparameter as usual (here a learning rate, sampled by TPE). It looks the architecture up in a
real tabular benchmark; replace the lookup with your training code.

    python examples/optuna_meta_nas.py --benchmark nasbench_graph --task cora --trials 50
    python examples/optuna_meta_nas.py --storage sqlite:///nas.db   # resumable, multi-process
    python examples/optuna_meta_nas.py --smoke-test
"""

from __future__ import annotations

import argparse

import numpy as np
import optuna

from nas_meta_tune import load_benchmark
from nas_meta_tune.exceptions import UnknownNameError
from nas_meta_tune.predictors import MetaPredictor
from nas_meta_tune.samplers import MetaNASSampler


def held_out_predictor(benchmark: str, task: str) -> MetaPredictor:
    """Shipped weights that never saw the task, so the run shows transfer; where none left it
    out, the default weights, with a plain warning that the result shows what they memorised."""
    try:
        return MetaPredictor.pretrained_without(f"{benchmark}/{task}")
    except UnknownNameError:
        print(
            f"note: every shipped predictor was meta-trained on {benchmark}/{task}; this run shows "
            "what it memorised, not transfer to a new task (the default, nasbench_graph/cora, is "
            "held out by the shipped 'demo_cora_held_out' weights)."
        )
        return MetaPredictor.pretrained()


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--benchmark", default="nasbench_graph")
    p.add_argument("--task", default="cora")
    p.add_argument("--trials", type=int, default=50)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--storage", default=None, help="e.g. sqlite:///nas.db")
    p.add_argument("--smoke-test", action="store_true", help="a few trials only")
    args = p.parse_args(argv)
    if args.smoke_test:
        args.trials = 6
    optuna.logging.set_verbosity(optuna.logging.WARNING)

    bench = load_benchmark(args.benchmark)
    space = bench.space
    _, all_scores = bench.table(args.task)

    def objective(trial: optuna.Trial) -> float:
        arch = space.suggest(trial)  # proposed by MetaNASSampler
        trial.suggest_float("lr", 1e-4, 1e-1, log=True)  # sampled by TPE (independent)
        trial.set_user_attr("arch", space.to_string(arch))
        return bench.query(arch, args.task)  # your training goes here

    study = optuna.create_study(
        study_name=f"meta-nas-{args.benchmark}-{args.task}",
        storage=args.storage,
        load_if_exists=True,
        direction="maximize",
        sampler=MetaNASSampler(
            space, held_out_predictor(args.benchmark, args.task), seed=args.seed
        ),
    )
    study.optimize(objective, n_trials=args.trials)
    best = study.best_trial
    print(
        f"{len(study.trials)} trials; best {best.value:.3f} (task best {np.nanmax(all_scores):.3f}): {best.user_attrs['arch']}"
    )


if __name__ == "__main__":
    main()
