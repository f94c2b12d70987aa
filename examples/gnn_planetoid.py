"""Real NAS on Cora: MetaNASSampler proposes GNNs, each is trained, a learning-curve pruner stops weak ones.

Every trial trains a NAS-Bench-Graph architecture on the Planetoid graph with the benchmark's
protocol (torch-geometric, CPU or CUDA) and reports its validation accuracy each epoch;
``LCExtrapolationPruner`` stops a trial when its extrapolated learning curve is unlikely to end
above the best finished trial (``--pruner median`` uses Optuna's MedianPruner instead). The
value of a trial is its best validation accuracy (%). The table's value of the same architecture
(NAS-Bench-Graph, 400 epochs, 3 seeds) is printed beside it.

Needs the raw Planetoid files under ``<data root>/planetoid/`` (nothing is downloaded; see
``nas_meta_tune.oneshot.load_planetoid``).

    python examples/gnn_planetoid.py --dataset cora --trials 20 --epochs 100
    python examples/gnn_planetoid.py --dataset citeseer --data-root /path/to/data
    python examples/gnn_planetoid.py --smoke-test
"""

from __future__ import annotations

import argparse
import time

import optuna

from nas_meta_tune import load_benchmark
from nas_meta_tune.integrations.objectives import gnn_objective
from nas_meta_tune.samplers import MetaNASSampler
from nas_meta_tune.schedulers import LCExtrapolationPruner


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--dataset", default="cora", choices=["cora", "citeseer"])
    p.add_argument("--trials", type=int, default=20)
    p.add_argument("--epochs", type=int, default=100)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--pruner", default="lce", choices=["lce", "median"])
    p.add_argument("--data-root", default=None, help="folder holding planetoid/<Name>/raw")
    p.add_argument("--smoke-test", action="store_true", help="3 trials of 3 epochs")
    args = p.parse_args(argv)
    if args.smoke_test:
        args.trials, args.epochs = 3, 3
    optuna.logging.set_verbosity(optuna.logging.WARNING)

    bench = load_benchmark("nasbench_graph")
    objective = gnn_objective(
        args.dataset,
        epochs=args.epochs,
        space=bench.space,
        data_root=args.data_root,
        seed=args.seed,
    )
    study = optuna.create_study(
        direction="maximize",
        sampler=MetaNASSampler(bench.space, seed=args.seed),
        pruner=(
            LCExtrapolationPruner(
                max_step=args.epochs, min_step=max(1, args.epochs // 10), value_range=(0, 100)
            )
            if args.pruner == "lce"
            else optuna.pruners.MedianPruner(n_startup_trials=2, n_warmup_steps=args.epochs // 4)
        ),
    )
    t0 = time.perf_counter()
    study.optimize(objective, n_trials=args.trials)

    for t in study.trials:
        arch = t.user_attrs["arch"]
        if t.state == optuna.trial.TrialState.COMPLETE:
            what = f"best valid {t.value:6.2f}"
        else:  # pruned: its last reported validation accuracy
            step = t.last_step
            what = f"valid {t.intermediate_values[step]:6.2f} @ epoch {step}"
        print(
            f"trial {t.number:3d} {t.state.name:8s} {what:26s} "
            f"(table {bench.query(arch, args.dataset):5.2f})  {arch}"
        )
    best = study.best_trial
    print(
        f"{len(study.trials)} trials in {time.perf_counter() - t0:.1f}s on {args.dataset}; best valid "
        f"{best.value:.2f}% (test at best valid {best.user_attrs['test_acc_at_best_valid']:.2f}%): "
        f"{best.user_attrs['arch']}"
    )


if __name__ == "__main__":
    main()
