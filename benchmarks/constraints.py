"""Constrained NAS on NB201: the best accuracy among cells under a parameter budget (issue 27).

Each task ``nb201/<dataset>``: maximise the table's validation accuracy subject to the cell's
parameter count being at most the table's ``--quantile`` quantile (30 %: 30 % of the cells are
feasible). The objective reports the constraint with Optuna's ``trial.set_constraint("params",
params - budget)``; every sampler of Optuna 5 reads it:

* ``meta_nas``: MetaNASSampler (leave-one-task-out predictor of ``search.py``), which ranks
  infeasible trials below feasible ones (``nas_meta_tune.search.policy.penalise_infeasible``);
* ``meta_nas:blind``: the same sampler, the constraint not reported (what a user gets without
  ``set_constraint``): the ablation that shows what reading it is worth;
* ``tpe``, ``gp``: Optuna's TPESampler and GPSampler, both constraint-aware; ``random``.

Metric: regret of the best *feasible* trial so far against the best feasible cell of the table
(accuracy points) at 10 / 20 / 50 trials (before a feasible trial: the best feasible accuracy
minus the worst feasible one), and the share of feasible trials.

    python benchmarks/constraints.py --seeds 10
    python benchmarks/constraints.py --smoke-test
Results: benchmarks/results/constraints.json and a RESULTS.md section.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings

import numpy as np
from _common import RESULTS, merge_and_write, scratch_predictor_cache, update_results_md

SECTION = "Constrained search: accuracy under a parameter budget (issue 27)"
TASKS = ("nb201/cifar100", "nb201/ImageNet16-120", "nb201/cifar10-valid")
METHODS = ("meta_nas", "meta_nas:blind", "tpe", "gp", "random")
BUDGETS = (10, 20, 50)


def load(task: str, quantile: float):
    """``(space, {key: accuracy}, {key: params}, budget, best feasible, worst feasible)``."""
    from nas_meta_tune import load_benchmark
    from nas_meta_tune.predictors.tasks import load_task

    family, name = task.split("/")
    t = load_task(task)
    cost = load_benchmark(family).values(t.archs, name, "params")
    ok = np.isfinite(cost) & np.isfinite(t.scores)
    budget = float(np.quantile(cost[ok], quantile))
    feasible = t.scores[ok & (cost <= budget)]
    acc = {a.key: float(s) for a, s, k in zip(t.archs, t.scores, ok) if k}
    params = {a.key: float(c) for a, c, k in zip(t.archs, cost, ok) if k}
    return t.space, acc, params, budget, float(feasible.max()), float(feasible.min())


def sampler_for(method: str, space, task: str, seed: int, steps: int):
    from nas_meta_tune.integrations.experiments.runs import make_sampler

    if method.startswith("meta_nas"):
        from search import held_out_predictor

        return make_sampler("meta_nas", space, seed, held_out_predictor(task, steps))
    return make_sampler(method, space, seed)


def run(task: str, method: str, seeds: int, trials: int, steps: int, quantile: float) -> dict:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    space, acc, params, budget, best, worst = load(task, quantile)
    regret, share, secs = [], [], []
    for seed in range(seeds):
        study = optuna.create_study(
            direction="maximize", sampler=sampler_for(method, space, task, seed, steps)
        )
        seen: list[tuple[float, bool]] = []

        def objective(trial):
            arch = space.suggest(trial)
            value, p = acc.get(arch.key, np.nan), params.get(arch.key, np.inf)
            if method != "meta_nas:blind":
                trial.set_constraint("params", p - budget)
            seen.append((value, p <= budget))
            return value

        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            study.optimize(objective, n_trials=trials)
        secs.append(time.perf_counter() - t0)
        feasible_best = np.maximum.accumulate(
            [v if ok and np.isfinite(v) else -np.inf for v, ok in seen]
        )
        curve = np.where(np.isfinite(feasible_best), best - feasible_best, best - worst)
        regret.append([float(curve[min(b, len(curve)) - 1]) for b in BUDGETS])
        share.append(float(np.mean([ok for _, ok in seen])))
    r = np.asarray(regret)
    n = len(r)
    return {
        str(b): {
            "regret": float(r[:, i].mean()),
            "se": float(r[:, i].std(ddof=1) / np.sqrt(n)) if n > 1 else 0.0,
        }
        for i, b in enumerate(BUDGETS)
    } | {
        "feasible_share": float(np.mean(share)),
        "seconds_per_study": float(np.mean(secs)),
        "seeds": seeds,
        "budget_params": budget,
    }


def report(results: dict) -> str:
    lines = [
        "Regret (accuracy points) of the best feasible trial against the best feasible cell, "
        "mean ± standard error over seeds, at "
        + " / ".join(map(str, BUDGETS))
        + " trials; in brackets the share of feasible trials. Feasible: parameters <= the "
        "table's 30 % quantile (30 % of the cells). Commands:\n",
        *(
            f"- `{r['command']}` ({r['wall_time_s']:.0f} s, commit {r['commit']})"
            for r in results["meta"]["runs"]
        ),
        "",
        "| task | " + " | ".join(METHODS) + " |",
        "|---|" + "---|" * len(METHODS),
    ]
    for task, res in results.items():
        if task == "meta":
            continue
        cells = []
        for m in METHODS:
            e = res.get(m)
            cells.append(
                " / ".join(f"{e[str(b)]['regret']:.2f} ± {e[str(b)]['se']:.2f}" for b in BUDGETS)
                + f" ({100 * e['feasible_share']:.0f} %)"
                if e
                else "-"
            )
        lines.append(f"| {task} | " + " | ".join(cells) + " |")
    body = "\n".join(lines)
    update_results_md(SECTION, body)
    return body


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--tasks", nargs="*", default=list(TASKS))
    p.add_argument("--methods", nargs="*", default=list(METHODS))
    p.add_argument("--seeds", type=int, default=10)
    p.add_argument("--trials", type=int, default=50)
    p.add_argument("--quantile", type=float, default=0.3, help="the parameter budget's quantile")
    p.add_argument("--steps", type=int, default=3000, help="meta-training steps (held out)")
    p.add_argument("--merge", action="store_true")
    p.add_argument("--report-only", action="store_true")
    p.add_argument("--smoke-test", action="store_true")
    args = p.parse_args(argv)
    started = time.perf_counter()
    path = RESULTS / "constraints.json"
    if args.report_only:
        print(report(json.loads(path.read_text())))
        return 0
    for m in args.methods:
        if m not in METHODS:
            p.error(f"unknown method {m!r}; choose from {METHODS}.")
    if args.smoke_test:
        global BUDGETS
        BUDGETS = (5, 10)
        args.tasks, args.seeds, args.trials, args.steps = ["nb201/cifar100"], 1, 10, 5
        args.methods = ["meta_nas", "random"]
        scratch_predictor_cache("constraints")
    done: dict = {}
    for task in args.tasks:
        for m in args.methods:
            done.setdefault(task, {})[m] = e = run(
                task, m, args.seeds, args.trials, args.steps, args.quantile
            )
            print(task, m, {b: round(e[str(b)]["regret"], 3) for b in BUDGETS}, flush=True)
    if args.smoke_test:
        print(json.dumps(done))
        return 0
    results = merge_and_write("constraints", done, argv, started, merge=args.merge)
    print(report(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
