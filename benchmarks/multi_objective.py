"""Multi-objective NAS on real tables: accuracy against the benchmark's own cost (issue 27).

Tasks ``family/dataset+metric``: maximise the benchmark's validation accuracy, minimise its
``params`` or ``latency`` (NB201 and NAS-Bench-Graph record both per architecture). Every method
runs a real Optuna study with ``directions=["maximize", "minimize"]`` whose objective looks the
architecture up in the table, 100 trials, over ``--seeds`` seeds; the peers run in the same
command on the same seeds:

* ``meta_nas``: MetaNASSampler with the cost known (``costs={1: table lookup}``) and the
  leave-one-task-out predictor of ``search.py`` (meta-trained without the task's dataset);
* ``meta_nas:gp_cost``: the same, the cost modelled by a target-only GP on the study's values;
* ``nsga2``, ``tpe``, ``gp``, ``random``: Optuna's NSGAIISampler, TPESampler, GPSampler (both in
  their multi-objective modes) and RandomSampler, seeded.

Metric: the hypervolume dominated by the trials so far, relative to the true front's (every
architecture of the table), at 10 / 20 / 50 / 100 trials; the reference point is fixed per task:
the table's lowest accuracy and highest cost. The gap ``1 - relative HV`` is reported as well
(the relative HV is close to 1 for every method on these tables).

    python benchmarks/multi_objective.py --seeds 10
    python benchmarks/multi_objective.py --smoke-test
Results: benchmarks/results/multi_objective.json and a RESULTS.md section.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings

import numpy as np
from _common import RESULTS, merge_and_write, scratch_predictor_cache, update_results_md

from nas_meta_tune.integrations.experiments.runs import make_sampler

SECTION = "Multi-objective search: accuracy vs cost (hypervolume)"
TASKS = tuple(
    f"nb201/{d}+{m}"
    for m in ("params", "latency")
    for d in ("cifar10-valid", "cifar100", "ImageNet16-120")
)
METHODS = ("meta_nas", "meta_nas:gp_cost", "nsga2", "tpe", "gp", "random")
BUDGETS = (10, 20, 50, 100)


def load(task: str):
    """``(space, base task name, {key: accuracy}, {key: cost}, reference, true HV)``."""
    from nas_meta_tune import load_benchmark
    from nas_meta_tune.predictors.tasks import load_task
    from nas_meta_tune.search.multi import hypervolume_2d, pareto_mask

    base, metric = task.split("+")
    family, name = base.split("/")
    t = load_task(base)
    cost = load_benchmark(family).values(t.archs, name, metric)
    ok = np.isfinite(cost) & np.isfinite(t.scores)
    archs = [a for a, k in zip(t.archs, ok) if k]
    acc = {a.key: float(s) for a, s in zip(archs, t.scores[ok])}
    cst = {a.key: float(c) for a, c in zip(archs, cost[ok])}
    pts = np.column_stack([t.scores[ok], -cost[ok]])
    ref = np.array([pts[:, 0].min(), pts[:, 1].min()])
    return t.space, base, acc, cst, ref, hypervolume_2d(pts[pareto_mask(pts)], ref)


def sampler_for(method: str, space, base: str, costs: dict, seed: int, steps: int):
    import optuna

    if method.startswith("meta_nas"):
        from search import held_out_predictor

        from nas_meta_tune.samplers import MetaNASSampler

        known = {1: lambda a: costs[a.key]} if method == "meta_nas" else None
        return MetaNASSampler(space, held_out_predictor(base, steps), seed=seed, costs=known)
    if method == "nsga2":
        return optuna.samplers.NSGAIISampler(seed=seed)
    if method in ("tpe", "gp", "random"):
        return make_sampler(method, space, seed)  # the single-objective harness's peers
    raise SystemExit(f"unknown method {method!r}; choose from {METHODS}.")


def run(task: str, method: str, seeds: int, trials: int, steps: int) -> dict:
    import optuna

    from nas_meta_tune.search.multi import hypervolume_2d

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    space, base, acc, costs, ref, true_hv = load(task)
    rel, secs = [], []
    for seed in range(seeds):
        sampler = sampler_for(method, space, base, costs, seed, steps)
        study = optuna.create_study(directions=["maximize", "minimize"], sampler=sampler)
        values: list[tuple[float, float]] = []

        def objective(trial):
            arch = space.suggest(trial)
            v = (acc.get(arch.key, np.nan), costs.get(arch.key, np.nan))
            values.append(v)
            return v

        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            study.optimize(objective, n_trials=trials)
        secs.append(time.perf_counter() - t0)
        pts = np.array([(a, -c) for a, c in values], dtype=np.float64)
        curve = []
        for b in BUDGETS:
            p = pts[: min(b, len(pts))]
            p = p[np.isfinite(p).all(1)]
            curve.append(hypervolume_2d(p, ref) / true_hv if len(p) else 0.0)
        rel.append(curve)
    r = np.asarray(rel)
    return {
        str(b): {
            "rel_hv": float(r[:, i].mean()),
            "rel_hv_se": float(r[:, i].std(ddof=1) / np.sqrt(len(r))) if len(r) > 1 else 0.0,
            "gap": float(1 - r[:, i].mean()),
        }
        for i, b in enumerate(BUDGETS)
    } | {"seconds_per_study": float(np.mean(secs)), "seeds": seeds}


def report(results: dict) -> str:
    lines = [
        "Hypervolume relative to the true front's at 10 / 20 / 50 / 100 trials, as the gap "
        "`1 - relative HV` x 1000 (lower is better; mean over seeds, ± standard error). "
        "Reference point per task: the table's lowest accuracy and highest cost. Commands:\n",
        *(
            f"- `{r['command']}` ({r['wall_time_s']:.0f} s, commit {r['commit']})"
            for r in results["meta"]["runs"]
        ),
        "",
        "| task | " + " | ".join(METHODS) + " |",
        "|---|" + "---|" * len(METHODS),
    ]
    wins20 = met = total = 0
    for task, res in results.items():
        if task == "meta":
            continue
        cells = []
        for m in METHODS:
            e = res.get(m)
            cells.append(
                " / ".join(f"{1000 * e[str(b)]['gap']:.1f}" for b in BUDGETS) if e else "-"
            )
        lines.append(f"| {task} | " + " | ".join(cells) + " |")
        peers = [m for m in METHODS if not m.startswith("meta_nas") and m in res]
        if "meta_nas" in res and peers:
            total += 1
            best100 = min(res[p]["100"]["gap"] for p in peers)
            wins20 += res["meta_nas"]["20"]["gap"] <= best100
            met += all(
                res["meta_nas"][str(b)]["gap"]
                <= min(res[p][str(b)]["gap"] for p in peers) + res["meta_nas"][str(b)]["rel_hv_se"]
                for b in BUDGETS
            )
    missing = {t: [m for m in METHODS if m not in r] for t, r in results.items() if t != "meta"}
    missing = {t: ms for t, ms in missing.items() if ms}
    if missing:
        lines += [
            "",
            "Not run (absent from the comparison): "
            + "; ".join(f"{t}: {', '.join(ms)}" for t, ms in missing.items())
            + ".",
        ]
    if total:
        lines += [
            "",
            f"- meta_nas never below the best peer (within one SE) at every budget: {met}/{total} tasks.",
            f"- meta_nas @20 >= the best peer @100: {wins20}/{total} tasks (target: 3 of every 4).",
        ]
    body = "\n".join(lines)
    update_results_md(SECTION, body)
    return body


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--tasks", nargs="*", default=list(TASKS))
    p.add_argument("--methods", nargs="*", default=list(METHODS))
    p.add_argument("--seeds", type=int, default=10)
    p.add_argument("--trials", type=int, default=100)
    p.add_argument(
        "--steps", type=int, default=3000, help="meta-training steps (held-out predictors)"
    )
    p.add_argument("--merge", action="store_true")
    p.add_argument("--report-only", action="store_true")
    p.add_argument("--smoke-test", action="store_true")
    args = p.parse_args(argv)
    started = time.perf_counter()
    path = RESULTS / "multi_objective.json"
    if args.report_only:
        print(report(json.loads(path.read_text())))
        return 0
    if args.smoke_test:
        global BUDGETS
        BUDGETS = (5, 10)
        args.tasks, args.seeds, args.trials, args.steps = ["nb201/cifar100+params"], 1, 10, 5
        args.methods = ["meta_nas", "random"]
        scratch_predictor_cache("mo")
    done = {}
    for task in args.tasks:
        for m in args.methods:
            done.setdefault(task, {})[m] = run(task, m, args.seeds, args.trials, args.steps)
            print(
                task,
                m,
                {b: round(done[task][m][str(b)]["gap"] * 1000, 2) for b in BUDGETS},
                flush=True,
            )
    if args.smoke_test:
        print(json.dumps(done))
        return 0
    info = {"tasks": args.tasks, "methods": args.methods, "seeds": args.seeds}
    info["trials"] = args.trials
    results = merge_and_write("multi_objective", done, argv, started, merge=args.merge, **info)
    print(report(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
