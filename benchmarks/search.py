"""NAS search on real benchmarks: MetaNASSampler vs Optuna TPE / Random / GP, Syne Tune RE and static transfer.

Leave-one-task-out: for each held-out task the predictor is meta-trained (BOIL, the shipped
config, ``--steps`` steps) on the other tasks of its family only, then every method runs a real
Optuna study of ``--trials`` trials per seed on the held-out task's table (the Syne Tune
baselines run their searcher's suggest / on_trial_complete loop on the same table). Reported: mean
regret (task best minus best found, benchmark units) at 10/20/50/100 trials, trials to reach the
top 1%, and the median per-trial sampler overhead. ``--overhead-trials 500`` also runs one long
study per method on the first task and reports the median overhead over trials 1-100 and the last
100 (flat in the trial count is the target).

Run:
    python benchmarks/search.py --tasks nasbench_graph/cora transnas_micro/class_object --seeds 10
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
from _common import META_CACHE, RESULTS, held_out_config, meta, update_results_md, write_json

from nas_meta_tune.predictors import MetaPredictor
from nas_meta_tune.predictors.evaluation import held_out_meta_init
from nas_meta_tune.predictors.tasks import EVAL_TASKS, load_task
from nas_meta_tune.predictors.training import TrainConfig

CHECKPOINTS = (10, 20, 50, 100)
CACHE = META_CACHE  # the smoke test points it elsewhere


def held_out_predictor(task: str, steps: int) -> MetaPredictor:
    """BOIL meta-trained on the task's family without the task (the cached file predictor.py
    scores for the same steps)."""
    config = TrainConfig(held_out_config(task, steps), "benchmarks/search.py")
    return held_out_meta_init(task, config, algorithm="boil", cache_dir=CACHE)[0]


def _predictor(task: str, steps: int, weights: str | None) -> MetaPredictor:
    if weights:
        predictor = MetaPredictor.pretrained(weights)
        if task in predictor.info.get("tasks", []):
            raise ValueError(
                f"shipped weights {weights!r} were meta-trained on {task}: not a held-out evaluation."
            )
        return predictor
    return held_out_predictor(task, steps)


def _uses_predictor(methods: list[str]) -> bool:
    """Whether a method is MetaNASSampler (``meta_nas`` or a ``meta_nas:option=value`` variant)."""
    return any(m.partition(":")[0] == "meta_nas" for m in methods)


def _one(
    task: str, methods: list[str], seeds: int, trials: int, steps: int, weights: str | None = None
) -> tuple[str, dict]:
    import torch

    torch.set_num_threads(1)
    from nas_meta_tune.integrations.optuna import compare

    predictor = _predictor(task, steps, weights) if _uses_predictor(methods) else None
    t = load_task(task)
    top1 = float(np.quantile(t.scores, 0.99))
    runs = compare(task, methods, n_trials=trials, seeds=list(range(seeds)), predictor=predictor)
    out: dict = {}
    for m, rs in runs.items():
        reg = np.array([r["regret"] for r in rs])
        entry = {
            str(c): {
                "regret": float(reg[:, c - 1].mean()),
                "std": float(reg[:, c - 1].std()),
                "seeds": len(rs),
            }
            for c in CHECKPOINTS
            if c <= trials
        }
        hits = [next((i + 1 for i, v in enumerate(r["values"]) if v >= top1), None) for r in rs]
        med = float(np.median([h if h is not None else np.inf for h in hits]))
        entry["trials_to_top1pct"] = {
            "median": med if np.isfinite(med) else None,  # None: most seeds never reached it
            "reached": int(sum(h is not None for h in hits)),
        }
        ms = [x for r in rs for x in r["overhead_ms"]]
        entry["overhead_ms_median"] = float(np.median(ms)) if ms else None
        if m.partition(":")[0] == "meta_nas":
            if weights:
                entry["weights"] = weights  # shipped weights instead of a held-out meta-training
            else:
                entry["meta_train_steps"] = steps  # of its held-out predictor
        out[m] = entry
        print(
            f"{task} {m}: "
            + " ".join(f"@{c}:{entry[str(c)]['regret']:.2f}" for c in CHECKPOINTS if c <= trials),
            flush=True,
        )
    return task, out


PEERS = ("tpe", "gp", "syne_re", "syne_bore")


def _predictor_of(row: dict) -> str:
    """Which predictor a meta_nas row ran on: shipped weights' name, or held-out meta-training
    steps (600 for rows recorded before the steps were)."""
    return row.get("weights") or str(int(row.get("meta_train_steps", 600)))


def _variant_predictors(tasks_done: dict, variants: list[str]) -> str:
    """The predictors the ablation variants ran on ("600-step held-out", shipped weights' name)."""
    kinds = sorted(
        {_predictor_of(res[v]) for res in tasks_done.values() for v in variants if v in res}
    )
    return ", ".join(f"{k}-step held-out" if k.isdigit() else f"weights {k}" for k in kinds) or "-"


def _steps_note(tasks_done: dict) -> str:
    """The meta-training steps of the meta_nas rows' held-out predictors (600 before recorded)."""
    by: dict[int, list[str]] = {}
    for task, res in tasks_done.items():
        if "meta_nas" in res:
            by.setdefault(int(res["meta_nas"].get("meta_train_steps", 600)), []).append(task)
    if len(by) <= 1:
        return f"{next(iter(by), 600)} steps"
    return "; ".join(f"{s} steps for {', '.join(ts)}" for s, ts in sorted(by.items()))


def _overhead(task: str, methods: list[str], trials: int, steps: int, weights: str | None) -> dict:
    """Median (and p95) per-trial overhead over trials 1-100 and the last 100 of one long study."""
    import torch

    torch.set_num_threads(2)  # the user's setting on 2 cores
    from nas_meta_tune.integrations.optuna import run_method

    predictor = _predictor(task, steps, weights) if _uses_predictor(methods) else None
    out = {}
    for m in methods:
        if m == "static_transfer":
            continue
        ms = np.array(
            run_method(m, task, n_trials=trials, seed=0, predictor=predictor)["overhead_ms"]
        )
        first, last = ms[: min(100, len(ms))], ms[-min(100, len(ms)) :]
        out[m] = {
            "task": task,
            "100": float(np.median(first)),
            str(trials): float(np.median(last)),
            f"p95_{trials}": float(np.percentile(last, 95)),
        }
        print(f"overhead {m}: {out[m]}", flush=True)
    return out


def _targets(tasks: dict) -> str:
    """The issue's targets, task by task: MetaNAS at 20 trials vs the best peer at 100, and vs static transfer."""
    rows = [
        "| task | meta_nas @20 | best peer @100 | met | meta_nas @20 / @50 | static @20 / @50 |",
        "|---|---|---|---|---|---|",
    ]
    for task, res in tasks.items():
        peers = {m: res[m]["100"]["regret"] for m in PEERS if m in res and "100" in res[m]}
        if "meta_nas" not in res or not peers or "50" not in res["meta_nas"]:
            continue
        best = min(peers, key=peers.get)
        mn = res["meta_nas"]
        st = res.get("static_transfer")
        static = f"{st['20']['regret']:.2f} / {st['50']['regret']:.2f}" if st else "-"
        rows.append(
            f"| {task} | {mn['20']['regret']:.2f} | {peers[best]:.2f} ({best}) | {'yes' if mn['20']['regret'] <= peers[best] else 'no'} "
            f"| {mn['20']['regret']:.2f} / {mn['50']['regret']:.2f} | {static} |"
        )
    return "Targets (regret, lower is better):\n\n" + "\n".join(rows)


def _overhead_table(overhead: dict) -> str:
    rows = [
        "| method | task | median ms, trials 1-100 | median ms, last 100 | p95 ms, last 100 |",
        "|---|---|---|---|---|",
    ]
    for m, e in overhead.items():
        n = next(k for k in e if k not in ("task", "100") and not k.startswith("p95"))
        rows.append(
            f"| {m} | {e['task']} | {e['100']:.1f} | {e[n]:.1f} (at {n} trials) | {e['p95_' + n]:.1f} |"
        )
    return "Per-trial sampler overhead of one long study (2 torch threads):\n\n" + "\n".join(rows)


def _without_note(argv: list[str]) -> list[str]:
    """The command line without ``--note TEXT`` (the note is printed beside it)."""
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
    # no abbreviations: the recorded command leaves out exactly "--note TEXT"
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0], allow_abbrev=False)
    p.add_argument("--tasks", nargs="*", default=None)
    p.add_argument(
        "--methods",
        nargs="*",
        default=["meta_nas", "tpe", "random", "gp", "syne_re", "static_transfer"],
    )
    p.add_argument("--seeds", type=int, default=10)
    p.add_argument("--trials", type=int, default=100)
    p.add_argument("--steps", type=int, default=600)
    p.add_argument("--workers", type=int, default=1)
    p.add_argument(
        "--weights",
        default=None,
        help="shipped weights that left the task(s) out, instead of meta-training",
    )
    p.add_argument("--merge", action="store_true")
    p.add_argument(
        "--overhead-trials",
        type=int,
        default=0,
        help="also time one study of this many trials per method",
    )
    p.add_argument(
        "--note", default=None, help="a remark kept with this run's command in RESULTS.md"
    )
    p.add_argument(
        "--report-only",
        action="store_true",
        help="run nothing: rebuild the RESULTS.md section from search.json",
    )
    p.add_argument("--smoke-test", action="store_true")
    args = p.parse_args(argv)
    started = time.perf_counter()
    tasks = args.tasks or [f"{f}/{t}" for f, ts in EVAL_TASKS.items() for t in ts]
    if args.smoke_test:
        tasks, args.seeds, args.trials, args.steps, args.methods = (
            ["transnas_micro/jigsaw"],
            1,
            10,
            5,
            ["meta_nas", "random", "syne_re", "static_transfer"],
        )
        args.overhead_trials = 8
        global CACHE
        CACHE = Path(os.environ.get("TMPDIR", "/tmp")) / "nmt-search-smoke"
    CACHE.mkdir(parents=True, exist_ok=True)
    # --seeds 0 with --overhead-trials: only the long-study overhead run (merged with --merge)
    jobs = (
        [(t, args.methods, args.seeds, args.trials, args.steps, args.weights) for t in tasks]
        if args.seeds > 0 and not args.report_only
        else []
    )
    if args.report_only:
        if not (RESULTS / "search.json").exists():
            raise SystemExit(f"--report-only: no {RESULTS / 'search.json'} to report.")
        args.merge, args.overhead_trials = True, 0
    if args.workers > 1 and jobs:
        with ProcessPoolExecutor(args.workers) as ex:
            done = [f.result() for f in as_completed([ex.submit(_one, *j) for j in jobs])]
    else:
        done = [_one(*j) for j in jobs]
    overhead = (
        _overhead(tasks[0], args.methods, args.overhead_trials, args.steps, args.weights)
        if args.overhead_trials
        else None
    )
    if args.smoke_test:
        print(json.dumps({"results": dict(done), "overhead_ms": overhead}))
        return 0
    path = RESULTS / "search.json"
    results = json.loads(path.read_text()) if args.merge and path.exists() else {}
    for task, res in done:
        entry = results.setdefault(task, {})
        old = entry.get("meta_nas")
        new = res.get("meta_nas")
        if old and new and _predictor_of(old) != _predictor_of(new):
            # the ablation variants of earlier runs used the old predictor: keep the default
            # sampler's row on it as their reference
            entry[f"meta_nas@{_predictor_of(old)}"] = old
        entry.update(res)
    run = meta(
        "python benchmarks/search.py "
        + " ".join(_without_note(sys.argv[1:] if argv is None else argv)),
        started,
    )
    run.update(
        {
            "tasks": tasks,
            "methods": args.methods,
            "seeds": args.seeds,
            "trials": args.trials,
            "meta_train_steps": args.steps,
            **({"note": args.note} if args.note else {}),
        }
    )
    if overhead is not None:
        results["overhead_ms"] = overhead
        run["overhead_trials"] = args.overhead_trials
    results["meta"] = {
        "runs": [
            *(results.get("meta", {}).get("runs", []) if args.merge else []),
            *([] if args.report_only else [run]),
        ]
    }
    write_json("search", results)
    order = ("meta_nas", "tpe", "random", "gp", "syne_re", "syne_bore", "static_transfer")
    tasks_done = {k: v for k, v in results.items() if k not in ("meta", "overhead_ms")}
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
            cells = [
                f"{e[str(c)]['regret']:.2f} ± {e[str(c)]['std']:.2f}" if str(c) in e else "-"
                for c in CHECKPOINTS
            ]
            tt = e["trials_to_top1pct"]
            ms = "-" if e["overhead_ms_median"] is None else f"{e['overhead_ms_median']:.0f}"
            to_top = f">{args.trials}" if tt["median"] is None else f"{tt['median']:.0f}"
            lines.append(
                f"| {task} | {m} | "
                + " | ".join(cells)
                + f" | {to_top} ({tt['reached']}/{e['10']['seeds']}) | {ms} |"
            )
    # the default sampler on older predictors first, then the option variants
    variants = sorted(
        {m for v in tasks_done.values() for m in v if m.startswith(("meta_nas:", "meta_nas@"))},
        key=lambda m: (m.startswith("meta_nas:"), m.partition("@")[2].zfill(8), m),
    )
    ablation = ""
    if variants:
        rows = [
            "| task | variant | " + " | ".join(f"@{c}" for c in CHECKPOINTS) + " |",
            "|---|---|" + "---|" * len(CHECKPOINTS),
        ]
        for task, res in tasks_done.items():
            for m in ["meta_nas", *variants]:
                if m in res:
                    rows.append(
                        f"| {task} | {m} | "
                        + " | ".join(
                            f"{res[m][str(c)]['regret']:.2f}" if str(c) in res[m] else "-"
                            for c in CHECKPOINTS
                        )
                        + " |"
                    )
        ablation = (
            "\n\nAblations of MetaNASSampler (`meta_nas:option=value` runs the proposer with that "
            "option changed, same seeds). Each variant ran on the held-out predictor of its own run "
            "(the meta-training steps of the commands above): compare it with the default sampler "
            "on the same predictor, `meta_nas` where they agree, else `meta_nas@STEPS` (the "
            "default sampler's row kept from before its predictor was re-trained). Predictors of "
            "the variants listed here: "
            + _variant_predictors(tasks_done, [v for v in variants if v.startswith("meta_nas:")])
            + "; of `meta_nas`: "
            + _steps_note(tasks_done)
            + ". Mean regret:\n\n"
            + "\n".join(rows)
        )
    body = (
        "Optuna studies on real tables (`benchmarks/results/search.json`); regret in the benchmark's units "
        "(accuracy points), mean ± std over seeds; MetaNASSampler's predictor was meta-trained (BOIL, "
        + _steps_note(tasks_done)
        + ") on the "
        "other tasks of the held-out task's family only (`--weights NAME` would use shipped weights that left the task out). "
        "The Syne Tune baselines (`syne_re`: RegularizedEvolution, `syne_bore`: BORE with its logistic-regression "
        "classifier) run their searcher on the same table. Commands:\n\n"
        + "\n".join(
            f"- `{r['command']}` ({r['wall_time_s']:.0f} s, commit {r['commit']})"
            + (f". {r['note']}" if r.get("note") else "")
            for r in results["meta"]["runs"]
        )
        + "\n\n"
        + "\n".join(lines)
        + "\n\n"
        + _targets(tasks_done)
        + ablation
        + ("\n\n" + _overhead_table(results["overhead_ms"]) if "overhead_ms" in results else "")
    )
    update_results_md("Search: MetaNASSampler vs Optuna peers", body)
    print(body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
