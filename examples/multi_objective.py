"""Hardware-aware NAS: accuracy against latency (or parameters), a two-objective Optuna study.

``optuna.create_study(directions=["maximize", "minimize"], sampler=MetaNASSampler(...))``: the
meta-predictor models the accuracy, the cost is either known in advance (``costs={1: fn}``: here
the benchmark's recorded latency, as a latency table or a parameter count would be) or, with
``--learn-cost``, modelled from the study's own values. The objective looks both up in the real
NAS-Bench-Graph table of Cora; replace it with your training and measurement. The predictor
is the shipped ``demo_cora_held_out`` weights, meta-trained without Cora, so the run shows
transfer to a task the weights never saw. Prints the Pareto front found and, with matplotlib,
plots it against the table's true front.

    python examples/multi_objective.py --trials 40 --plot front.png
    python examples/multi_objective.py --cost params --learn-cost
    python examples/multi_objective.py --smoke-test
"""

from __future__ import annotations

import argparse

import numpy as np
import optuna

from nas_meta_tune import load_benchmark
from nas_meta_tune.predictors import MetaPredictor
from nas_meta_tune.samplers import MetaNASSampler
from nas_meta_tune.search.multi import hypervolume_2d, pareto_mask


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--cost", choices=("latency", "params"), default="latency")
    p.add_argument("--learn-cost", action="store_true", help="model the cost from the trials")
    p.add_argument("--trials", type=int, default=40)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--plot", default=None, help="write the fronts to this PNG (needs matplotlib)")
    p.add_argument("--smoke-test", action="store_true", help="a few trials only")
    args = p.parse_args(argv)
    if args.smoke_test:
        args.trials = 6
    optuna.logging.set_verbosity(optuna.logging.WARNING)

    bench = load_benchmark("nasbench_graph")
    space = bench.space
    archs, acc = bench.table("cora")
    cost = bench.values(archs, "cora", args.cost)
    table = {a.key: (float(v), float(c)) for a, v, c in zip(archs, acc, cost)}

    def objective(trial: optuna.Trial) -> tuple[float, float]:
        arch = space.suggest(trial)
        trial.set_user_attr("arch", space.to_string(arch))
        return table[arch.key]  # your training and measurement go here

    known = None if args.learn_cost else {1: lambda a: table[a.key][1]}
    sampler = MetaNASSampler(
        space, MetaPredictor.pretrained("demo_cora_held_out"), seed=args.seed, costs=known
    )
    study = optuna.create_study(directions=["maximize", "minimize"], sampler=sampler)
    study.optimize(objective, n_trials=args.trials)

    found = np.array([t.values for t in study.trials])
    every = np.column_stack([acc, cost])
    ref = np.array([np.nanmin(acc), -np.nanmax(cost)])  # maximise accuracy and -cost

    def hv(points: np.ndarray) -> float:
        signed = np.column_stack([points[:, 0], -points[:, 1]])
        signed = signed[np.isfinite(signed).all(1)]
        return hypervolume_2d(signed[pareto_mask(signed)], ref)

    print(f"{len(study.trials)} trials, {len(study.best_trials)} on the front found:")
    for t in sorted(study.best_trials, key=lambda t: t.values[1]):
        print(
            f"  accuracy {t.values[0]:6.2f}  {args.cost} {t.values[1]:.4g}  {t.user_attrs['arch']}"
        )
    print(f"hypervolume relative to the table's true front: {hv(found) / hv(every):.4f}")
    if args.plot:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(5, 4))
        ok = np.isfinite(every).all(1)
        ax.scatter(every[ok, 1], every[ok, 0], s=2, c="0.8", label="every architecture")
        signed = np.column_stack([every[ok, 0], -every[ok, 1]])
        true = every[ok][pareto_mask(signed)]
        true = true[np.argsort(true[:, 1])]
        ax.step(true[:, 1], true[:, 0], where="post", c="k", label="true front")
        ax.scatter(found[:, 1], found[:, 0], s=12, c="tab:blue", label="trials")
        ax.set_xlabel(f"{args.cost} (lower is better)")
        ax.set_ylabel("validation accuracy (%)")
        ax.set_xscale("log")
        ax.legend(loc="lower right")
        fig.tight_layout()
        fig.savefig(args.plot, dpi=120)
        print(f"wrote {args.plot}")


if __name__ == "__main__":
    main()
