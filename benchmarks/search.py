"""NAS search on real benchmarks: MetaNASSampler (transfer BO) vs Optuna TPE / GP / Random, Syne Tune RE /
BORE, the static transfer order and the previous MetaNASSampler.

Leave-one-task-out: for each held-out task the predictor is meta-trained (BOIL, the shipped
config, ``--steps`` steps) on the other tasks of its family only, then every method runs a real
Optuna study of ``--trials`` trials per seed on the held-out task's table (the Syne Tune
baselines run their searcher's suggest / on_trial_complete loop on the same table). Tasks are the
23 held-out tasks of the four families plus hardware-aware objectives built from NB201's own
measurements: ``nb201/<dataset>+latency`` (or ``+params``) is the validation accuracy minus
``HW_PENALTY`` points times the cell's latency (parameter count) scaled to [0, 1] over the
space, so the accuracy-trained prior is partly wrong by construction; their predictor is the
held-out predictor of the dataset's accuracy task. Reported: mean regret (task best minus best
found, benchmark units) at 10/20/50/100 trials with its standard error over seeds, trials to the
top 1%, the median per-trial sampler overhead, the issue's targets task by task, and per-task
regret curves with bands (``benchmarks/results/search.png``). ``--batch 4`` runs the methods as 4
synchronous workers (each of 4 trials is asked while the others run, then all are told), stored
as ``METHOD|q4``, to compare with 1 worker at equal total trials.

Run:
    python benchmarks/search.py --workers 2 --seeds 10
    python benchmarks/search.py --workers 2 --seeds 10 --merge --batch 4 --methods meta_nas
Results: benchmarks/results/search.json and a RESULTS.md section (merged per task with --merge).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

import numpy as np
from _common import (
    META_CACHE,
    RESULTS,
    head_commit,
    held_out_config,
    meta,
    update_results_md,
    write_json,
)

from nas_meta_tune.predictors import MetaPredictor
from nas_meta_tune.predictors.evaluation import held_out_meta_init
from nas_meta_tune.predictors.tasks import EVAL_TASKS, NASTask, load_task
from nas_meta_tune.predictors.training import TrainConfig

CHECKPOINTS = (10, 20, 50, 100)
CACHE = META_CACHE  # the smoke test points it elsewhere
SECTION = "Search: MetaNASSampler (transfer BO) vs peers (issue 21)"
#: accuracy points subtracted for the most expensive cell of the space
HW_PENALTY = 5.0
HW_TASKS = tuple(f"nb201/{d}+{m}" for m in ("latency", "params") for d in EVAL_TASKS["nb201"])
PEERS = ("tpe", "gp", "random", "syne_re", "syne_bore")
DEFAULT_METHODS = (
    "meta_nas",
    "meta_nas:surrogate=dropout",
    "tpe",
    "random",
    "gp",
    "syne_re",
    "syne_bore",
    "static_transfer",
)


def base_task(task: str) -> str:
    """The benchmark task a (derived) task is built on: ``nb201/cifar100+latency`` -> ``nb201/cifar100``."""
    return task.split("+")[0]


def build_task(task: str) -> NASTask | str:
    """A task name, or for ``family/task+metric`` the hardware-aware objective (accuracy minus
    ``HW_PENALTY`` times the metric scaled to [0, 1] over the task's table)."""
    if "+" not in task:
        return task
    from nas_meta_tune import load_benchmark

    base, metric = task.split("+")
    family, name = base.split("/")
    t = load_task(base)
    cost = load_benchmark(family).values(t.archs, name, metric)
    scaled = (cost - np.nanmin(cost)) / (np.nanmax(cost) - np.nanmin(cost))
    return NASTask(task, t.archs, t.scores - HW_PENALTY * scaled)


def held_out_predictor(task: str, steps: int) -> MetaPredictor:
    """BOIL meta-trained on the task's family without the (base) task (the cached file
    predictor.py scores for the same steps)."""
    base = base_task(task)
    config = TrainConfig(held_out_config(base, steps), "benchmarks/search.py")
    return held_out_meta_init(base, config, algorithm="boil", cache_dir=CACHE)[0]


def _uses_predictor(methods: list[str]) -> bool:
    return any(m.partition(":")[0] == "meta_nas" for m in methods)


def _summary(runs: list[dict], trials: int, top1: float) -> dict:
    reg = np.array([r["regret"] for r in runs])
    n = len(runs)
    entry: dict = {
        str(c): {
            "regret": float(reg[:, c - 1].mean()),
            "std": float(reg[:, c - 1].std()),
            "se": float(reg[:, c - 1].std(ddof=1) / np.sqrt(n)) if n > 1 else 0.0,
            "seeds": n,
        }
        for c in CHECKPOINTS
        if c <= trials
    }
    entry["curve"] = [round(float(x), 4) for x in reg.mean(0)]
    entry["curve_se"] = [
        round(float(x), 4) for x in (reg.std(0, ddof=1) / np.sqrt(n) if n > 1 else 0 * reg[0])
    ]
    hits = [next((i + 1 for i, v in enumerate(r["values"]) if v >= top1), None) for r in runs]
    med = float(np.median([h if h is not None else np.inf for h in hits]))
    entry["trials_to_top1pct"] = {
        "median": med if np.isfinite(med) else None,
        "reached": int(sum(h is not None for h in hits)),
    }
    ms = [x for r in runs for x in r["overhead_ms"]]
    entry["overhead_ms_median"] = float(np.median(ms)) if ms else None
    return entry


def _one(
    task: str,
    methods: list[str],
    seeds: int,
    trials: int,
    steps: int,
    batch: int,
) -> tuple[str, dict]:
    import torch

    torch.set_num_threads(1)
    from nas_meta_tune.integrations.experiments.runs import compare

    predictor = held_out_predictor(task, steps) if _uses_predictor(methods) else None
    t = build_task(task)
    scores = (t if isinstance(t, NASTask) else load_task(t)).scores
    top1 = float(np.quantile(scores, 0.99))
    runs = compare(
        t, methods, n_trials=trials, seeds=list(range(seeds)), predictor=predictor, batch=batch
    )
    out: dict = {}
    for m, rs in runs.items():
        key = m if batch == 1 else f"{m}|q{batch}"
        entry = _summary(rs, trials, top1)
        if m.partition(":")[0] == "meta_nas":
            entry["meta_train_steps"] = steps
        out[key] = entry
        print(
            f"{task} {key}: "
            + " ".join(f"@{c}:{entry[str(c)]['regret']:.2f}" for c in CHECKPOINTS if c <= trials),
            flush=True,
        )
    return task, out


# ---------------------------------------------------------------- report
def _fmt(e: dict, c: int) -> str:
    x = e.get(str(c))
    return "-" if x is None else f"{x['regret']:.2f} ± {x.get('se', 0.0):.2f}"


def _no_worse(ours: dict, peer: dict, c: int) -> bool:
    """Mean regret at ``c`` no worse than the peer's within one standard error (of the
    difference of the two means)."""
    a, b = ours[str(c)], peer[str(c)]
    return a["regret"] - b["regret"] <= np.hypot(a.get("se", 0.0), b.get("se", 0.0)) + 1e-9


def _targets(tasks: dict, trials: int) -> tuple[str, dict]:
    cps = [c for c in CHECKPOINTS if c <= trials]
    rows = [
        "| task | vs TPE @"
        + " / @".join(map(str, cps))
        + " | meta_nas @20 | best peer @100 | @20 <= best @100 | zero-std rows at regret > 0 |",
        "|---|---|---|---|---|---|",
    ]
    summary = {"tpe_all": 0, "tasks": 0, "at20_met": 0, "by_family": {}, "zero_std": []}
    for task, res in tasks.items():
        if "meta_nas" not in res or "tpe" not in res:
            continue
        ours = res["meta_nas"]
        vs = [_no_worse(ours, res["tpe"], c) for c in cps]
        peers = {m: res[m]["100"]["regret"] for m in PEERS if m in res and "100" in res[m]}
        best = min(peers, key=peers.get) if peers else None
        met20 = best is not None and ours["20"]["regret"] <= peers[best] + 1e-9
        zero = [str(c) for c in cps if ours[str(c)]["std"] == 0 and ours[str(c)]["regret"] > 1e-9]
        summary["tasks"] += 1
        summary["tpe_all"] += all(vs)
        summary["at20_met"] += met20
        fam = task.split("/")[0] + ("+hw" if "+" in task else "")
        f = summary["by_family"].setdefault(fam, [0, 0])
        f[0] += met20
        f[1] += 1
        if zero:
            summary["zero_std"].append(f"{task} @{','.join(zero)}")
        rows.append(
            f"| {task} | {' / '.join('yes' if v else '**no**' for v in vs)} | {ours['20']['regret']:.2f} | "
            + (f"{peers[best]:.2f} ({best})" if best else "-")
            + f" | {'yes' if met20 else 'no'} | {', '.join('@' + z for z in zero) or '-'} |"
        )
    means = {}
    for c in (20, 50):
        if c > trials:
            continue
        ours = [
            r["meta_nas"][str(c)]["regret"]
            for r in tasks.values()
            if "meta_nas" in r and "tpe" in r
        ]
        tpe = [r["tpe"][str(c)]["regret"] for r in tasks.values() if "meta_nas" in r and "tpe" in r]
        if ours:
            means[c] = (float(np.mean(ours)), float(np.mean(tpe)))
    summary["means"] = {str(c): v for c, v in means.items()}
    lines = [
        'Targets of issue 21 (regret, lower is better; "vs TPE": mean regret no worse than TPE\'s '
        "within one standard error of the difference of the means):",
        "",
        *rows,
        "",
        f"- Every checkpoint no worse than TPE: {summary['tpe_all']} of {summary['tasks']} tasks.",
        f"- Regret after 20 trials <= the best peer's after 100: {summary['at20_met']} of "
        f"{summary['tasks']} tasks ("
        + ", ".join(f"{k} {v[0]}/{v[1]}" for k, v in summary["by_family"].items())
        + "; target: 3 of every 4).",
    ]
    for c, (o, t) in means.items():
        lines.append(
            f"- Mean regret over the tasks @{c}: MetaNASSampler {o:.3f} vs TPE {t:.3f} "
            f"(ratio {o / t:.2f}; target <= 0.5)."
        )
    lines.append(
        "- Rows where all seeds gave the same regret above 0: "
        + ("; ".join(summary["zero_std"]) if summary["zero_std"] else "none")
        + "."
    )
    return "\n".join(lines), summary


def _plot(tasks: dict, methods: list[str], path: Path) -> Path | None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    names = [t for t in tasks if any(m in tasks[t] for m in methods)]
    if not names:
        return None
    cols = 4
    rows = int(np.ceil(len(names) / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 2.9 * rows), squeeze=False)
    colors = dict(zip(methods, plt.rcParams["axes.prop_cycle"].by_key()["color"] * 3))
    for ax, task in zip(axes.ravel(), names):
        for m in methods:
            e = tasks[task].get(m)
            if not e or "curve" not in e:
                continue
            mean = np.array(e["curve"])
            se = np.array(e["curve_se"])
            x = np.arange(1, len(mean) + 1)
            ax.plot(x, mean, label=m, color=colors[m], lw=1.6 if m == "meta_nas" else 1.0)
            ax.fill_between(x, np.maximum(mean - se, 0), mean + se, color=colors[m], alpha=0.15)
        ax.set_title(task, fontsize=9)
        ax.set_xlabel("trials", fontsize=8)
        ax.set_ylabel("regret (points)", fontsize=8)
        ax.set_ylim(bottom=0)
        ax.grid(alpha=0.3)
        ax.tick_params(labelsize=7)
    for ax in axes.ravel()[len(names) :]:
        ax.axis("off")
    handles, labels = axes.ravel()[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="upper center", ncol=min(len(labels), 8), fontsize=8)
    fig.tight_layout(rect=(0, 0, 1, 0.97))
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _batch_table(tasks: dict) -> str:
    rows = [
        "| task | 1 worker @"
        + " / @".join(map(str, CHECKPOINTS))
        + " | 4 workers @"
        + " / @".join(map(str, CHECKPOINTS))
        + " |",
        "|---|---|---|",
    ]
    found = False
    for task, res in tasks.items():
        for m in [k for k in res if k.endswith("|q4")]:
            base = m[: -len("|q4")]
            if base not in res:
                continue
            found = True
            one = " / ".join(_fmt(res[base], c) for c in CHECKPOINTS)
            four = " / ".join(_fmt(res[m], c) for c in CHECKPOINTS)
            rows.append(f"| {task} ({base}) | {one} | {four} |")
    if not found:
        return ""
    return (
        "Parallel workers at equal total trials (`--batch 4`: four trials asked while the others "
        "run, then told; the sampler sees them as pending and proposes by kriging believer). "
        "Mean regret ± SE:\n\n" + "\n".join(rows)
    )


def _report(results: dict, trials: int) -> str:
    tasks_done = {k: v for k, v in results.items() if k not in ("meta", "overhead_ms")}
    order = [*DEFAULT_METHODS]
    methods = [m for m in order if any(m in v for v in tasks_done.values())]
    lines = [
        "| task | method | "
        + " | ".join(f"regret @{c}" for c in CHECKPOINTS)
        + " | trials to top-1% (median, reached) | ms/trial |",
        "|---|---|" + "---|" * (len(CHECKPOINTS) + 2),
    ]
    for task, res in tasks_done.items():
        for m in methods:
            if m not in res:
                continue
            e = res[m]
            tt = e["trials_to_top1pct"]
            ms = "-" if e["overhead_ms_median"] is None else f"{e['overhead_ms_median']:.0f}"
            to_top = f">{trials}" if tt["median"] is None else f"{tt['median']:.0f}"
            seeds = e[str(CHECKPOINTS[0])]["seeds"]
            lines.append(
                f"| {task} | {m} | "
                + " | ".join(_fmt(e, c) for c in CHECKPOINTS)
                + f" | {to_top} ({tt['reached']}/{seeds}) | {ms} |"
            )
    target_text, summary = _targets(tasks_done, trials)
    results.setdefault("meta", {})["targets"] = summary
    plot = _plot(tasks_done, methods, RESULTS / "search.png")
    runs = results.get("meta", {}).get("runs", [])
    body = (
        "Optuna studies on real tables (`benchmarks/results/search.json`); regret in the benchmark's "
        "units (accuracy points; for `+latency` / `+params` tasks accuracy minus "
        f"{HW_PENALTY:g} points times the cell's NB201 latency / parameter count scaled to [0, 1]), "
        "mean ± standard error over seeds. MetaNASSampler's predictor was meta-trained (BOIL) on the "
        "other tasks of the held-out task's family only (for the hardware-aware tasks: without the "
        "dataset's accuracy task). `meta_nas` is the transfer-BO sampler (guarded transfer GP, "
        "log-EI); `meta_nas:surrogate=dropout` the previous MetaNASSampler (adapted predictor with "
        "MC-dropout UCB), as ablation. The Syne Tune baselines (`syne_re`: RegularizedEvolution, "
        "`syne_bore`: BORE with its logistic-regression classifier) run their searcher on the same "
        "table. Commands:\n\n"
        + "\n".join(
            f"- `{r['command']}` ({r['wall_time_s']:.0f} s, commit {r['commit']})"
            + (f". {r['note']}" if r.get("note") else "")
            for r in runs
        )
        + "\n\n"
        + "\n".join(lines)
        + "\n\n"
        + target_text
        + ("\n\n" + _batch_table(tasks_done) if _batch_table(tasks_done) else "")
        + (
            f"\n\nRegret curves with ± SE bands: `{plot.relative_to(RESULTS.parent.parent)}`."
            if plot
            else ""
        )
    )
    return body


def _without_note(argv: list[str]) -> list[str]:
    out, skip = [], False
    for a in argv:
        if skip:
            skip = False
        elif a == "--note":
            skip = True
        elif not a.startswith("--note="):
            out.append(a)
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0], allow_abbrev=False)
    p.add_argument(
        "--tasks",
        nargs="*",
        default=None,
        help="default: the 23 held-out tasks and the hardware-aware ones",
    )
    p.add_argument("--methods", nargs="*", default=list(DEFAULT_METHODS))
    p.add_argument("--seeds", type=int, default=10)
    p.add_argument("--trials", type=int, default=100)
    p.add_argument(
        "--steps", type=int, default=3000, help="meta-training steps of the held-out predictors"
    )
    p.add_argument("--workers", type=int, default=1, help="processes (tasks run in parallel)")
    p.add_argument("--batch", type=int, default=1, help="simulated parallel workers per study")
    p.add_argument("--merge", action="store_true", help="merge into the existing search.json")
    p.add_argument(
        "--note", default=None, help="a remark kept with this run's command in RESULTS.md"
    )
    p.add_argument("--report-only", action="store_true", help="rebuild the report from search.json")
    p.add_argument("--smoke-test", action="store_true")
    args = p.parse_args(argv)
    started = time.perf_counter()
    commit = head_commit()  # the code this run executes
    tasks = args.tasks or [*(f"{f}/{t}" for f, ts in EVAL_TASKS.items() for t in ts), *HW_TASKS]
    if args.smoke_test:
        tasks, args.seeds, args.trials, args.steps = ["transnas_micro/jigsaw"], 1, 10, 5
        args.methods = ["meta_nas", "random", "syne_re", "static_transfer"]
        global CACHE
        CACHE = Path(os.environ.get("TMPDIR", "/tmp")) / "nmt-search-smoke"
    CACHE.mkdir(parents=True, exist_ok=True)
    path = RESULTS / "search.json"
    if args.report_only:
        if not path.exists():
            raise SystemExit(f"--report-only: no {path} to report.")
        results = json.loads(path.read_text())
        body = _report(results, args.trials)
        write_json("search", results)
        update_results_md(SECTION, body)
        print(body)
        return 0
    jobs = [(t, args.methods, args.seeds, args.trials, args.steps, args.batch) for t in tasks]
    if args.workers > 1:
        with ProcessPoolExecutor(args.workers) as ex:
            done = [f.result() for f in as_completed([ex.submit(_one, *j) for j in jobs])]
    else:
        done = [_one(*j) for j in jobs]
    if args.smoke_test:
        print(
            json.dumps(
                {"results": {t: {m: {"10": e["10"]} for m, e in r.items()} for t, r in done}}
            )
        )
        return 0
    results = json.loads(path.read_text()) if args.merge and path.exists() else {}
    for task, res in done:
        results.setdefault(task, {}).update(res)
    run = meta(
        "python benchmarks/search.py "
        + " ".join(_without_note(sys.argv[1:] if argv is None else argv)),
        started,
        commit=commit,
    )
    run.update(
        {
            "tasks": tasks,
            "methods": args.methods,
            "seeds": args.seeds,
            "trials": args.trials,
            "meta_train_steps": args.steps,
            "batch": args.batch,
        }
    )
    if args.note:
        run["note"] = args.note
    old = results.get("meta", {}).get("runs", []) if args.merge else []
    results["meta"] = {"runs": [*old, run]}
    body = _report(results, args.trials)
    write_json("search", results)
    update_results_md(SECTION, body)
    print(body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
