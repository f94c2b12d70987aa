"""Leave-one-task-out few-shot evaluation of the MP-NAS predictor against its baselines.

For every held-out task of nasbench_graph, nb201, transnas_micro and analognas: meta-train on the
other tasks of its family (``--pool family``, the default: tasks that share the space; ``--pool
all`` adds every other family), adapt on K random architectures (K = 0, 5, 10, 20, 50; the same
draw for every method) and rank all the other architectures of the task; mean Spearman / Kendall
over ``--seeds`` draws. Baselines run on the same draws. Also times ``adapt`` and ``predict`` of
the shipped predictor.

Run (the full figures in RESULTS.md; about an hour on 2 cores):
    python benchmarks/predictor.py --workers 2
    python benchmarks/predictor.py --workers 2 --methods maml anil multitask --tasks <subset> --merge
Results: benchmarks/results/predictor.json (``{task: {method: {K: {...}}}, "meta": ...}``).

Leave-one-space-out (issue 22; see ``_space_out.py``), merged into predictor_space_out.json:
    python benchmarks/predictor.py --hold-out-space darts transnas_micro --hide-tokens 0.15
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed

import numpy as np
from _common import META_CACHE, RESULTS, held_out_config, meta, update_results_md, write_json

from nas_meta_tune.predictors.evaluation import METHODS, evaluate_held_out
from nas_meta_tune.predictors.tasks import EVAL_TASKS
from nas_meta_tune.predictors.training import TrainConfig

KS = (0, 5, 10, 20, 50)


def _one(
    task: str,
    raw_config: dict,
    methods: list[str],
    ks: list[int],
    seeds: int,
    data_root: str | None,
    cache_dir: str | None = None,
) -> tuple[str, dict]:
    import torch

    torch.set_num_threads(1)
    config = TrainConfig(raw_config, "benchmarks/predictor.py")
    t0 = time.perf_counter()
    res = evaluate_held_out(
        task,
        config=config,
        methods=methods,
        ks=ks,
        seeds=seeds,
        data_root=data_root,
        progress=lambda m: print(m, flush=True),
        cache_dir=cache_dir,
    )
    res["_seconds"] = round(time.perf_counter() - t0, 1)
    return task, res


def _timing() -> dict:
    """adapt() and predict() of the shipped predictor on real nb201 / nasbench_graph archs."""
    import torch

    from nas_meta_tune.predictors import MetaPredictor, load_task

    torch.set_num_threads(2)
    p = MetaPredictor.pretrained()
    out: dict = {}
    for name in ("nb201/cifar10-valid", "nasbench_graph/cora"):
        task = load_task(name)
        rng = np.random.default_rng(0)
        for k in (20, 50):
            for steps, label in ((None, "adapt"), ("auto", "adapt steps='auto'")):
                times = []
                for _ in range(15):
                    idx = rng.choice(len(task), k, replace=False)
                    t = time.perf_counter()
                    p.adapt([task.archs[i] for i in idx], task.scores[idx], steps=steps)
                    times.append(time.perf_counter() - t)
                out[f"{name} {label} K={k} median ms"] = round(
                    1000 * statistics.median(times[3:]), 1
                )
        p.predict(task.archs[:1000])
        t = time.perf_counter()
        p.predict(task.archs)
        out[f"{name} predict archs/s"] = round(len(task) / (time.perf_counter() - t))
        t = time.perf_counter()
        p.predict(task.archs, return_std=True)
        out[f"{name} predict+std archs/s"] = round(len(task) / (time.perf_counter() - t))
    return out


def _table(results: dict, methods: list[str]) -> str:
    fams: dict[str, list[str]] = {}
    for task in results:
        if task != "meta":
            fams.setdefault(task.split("/")[0], []).append(task)
    lines = []
    for k in ("20", "5", "50"):
        lines.append(
            f"\nMean Spearman over each family's held-out tasks, K = {k} (tasks with the method / all):\n"
        )
        lines.append("| family | " + " | ".join(methods) + " |")
        lines.append("|---|" + "---|" * len(methods))
        for fam, tasks in fams.items():
            cells = []
            for m in methods:
                vals = [
                    results[t][m][k]["spearman"]
                    for t in tasks
                    if m in results[t] and k in results[t][m]
                ]
                cells.append(f"{np.mean(vals):.3f} ({len(vals)}/{len(tasks)})" if vals else "-")
            lines.append(f"| {fam} | " + " | ".join(cells) + " |")
    lines.append("\nPer task, Spearman at K = 0 / 5 / 10 / 20 / 50:\n")
    lines.append("| task | " + " | ".join(methods) + " |")
    lines.append("|---|" + "---|" * len(methods))
    for tasks in fams.values():
        for t in tasks:
            cells = []
            for m in methods:
                r = results[t].get(m)
                cells.append(" / ".join(f"{r[k]['spearman']:.2f}" for k in r) if r else "-")
            lines.append(f"| {t} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


_BASELINES = {
    "scratch_gcn": "GCN from scratch",
    "random_forest": "random forest",
    "lightgbm": "LightGBM",
    "static_transfer": "static transfer",
    "transfer_ridge": "transfer + ridge",
}
#: issue 3's targets at K = 20: margin over the best baseline of the family
_MARGIN = {"nasbench_graph": 0.05, "transnas_micro": 0.05, "nb201": 0.0, "analognas": 0.0}


def _targets(results: dict) -> str:
    """Issue 3's target table and BOIL vs ``steps="auto"``, both read from predictor.json."""
    fams: dict[str, list[str]] = {}
    for task in results:
        if task != "meta":
            fams.setdefault(task.split("/")[0], []).append(task)

    def mean(fam: str, m: str, k: str = "20") -> float | None:
        v = [results[t][m][k]["spearman"] for t in fams[fam] if m in results[t]]
        return float(np.mean(v)) if v else None

    def fmt(x: float | None) -> str:
        return "-" if x is None else f"{x:.3f}"

    cols = ("boil", "boil_auto", "maml", "anil", "multitask", "zero_shot")
    rows = [
        "| family | "
        + " | ".join(cols)
        + " | best baseline | best of boil / boil_auto - best | target |",
        "|---|" + "---|" * (len(cols) + 3),
    ]
    for fam, tasks in fams.items():
        have = [m for m in _BASELINES if mean(fam, m) is not None]
        if not have or mean(fam, "boil") is None:
            continue
        best_m = max(have, key=lambda m: mean(fam, m))
        ours = max(x for x in (mean(fam, "boil"), mean(fam, "boil_auto")) if x is not None)
        gap, need = ours - mean(fam, best_m), _MARGIN.get(fam, 0.0)
        verdict = "met" if gap >= need else "missed"
        rows.append(
            f"| {fam} ({len(tasks)}) | "
            + " | ".join(fmt(mean(fam, m)) for m in cols)
            + f" | {mean(fam, best_m):.3f} ({_BASELINES[best_m]}) | {gap:+.3f} | {verdict} (>= {need:+.2f}) |"
        )
    ks = ("5", "10", "20", "50")
    rows += [
        "",
        'Family means at K = 5 / 10 / 20 / 50, BOIL with its fixed steps vs `adapt(steps="auto")` '
        "(same meta-initialisations where both ran in one command):",
        "",
        "| family | boil | boil_auto | zero_shot |",
        "|---|---|---|---|",
    ]
    for fam in fams:
        cells = [" / ".join(fmt(mean(fam, m, k)) for k in ks) for m in ("boil", "boil_auto")]
        rows.append(
            f"| {fam} ({len(fams[fam])}) | "
            + " | ".join(cells)
            + f" | {fmt(mean(fam, 'zero_shot'))} |"
        )
    return (
        "Built by `benchmarks/predictor.py` from `benchmarks/results/predictor.json` (the runs listed in the "
        'section above). Targets at K = 20: BOIL (fixed steps or `steps="auto"`) >= the best baseline of '
        "its family, by >= +0.05 on nasbench_graph and transnas_micro.\n\n" + "\n".join(rows)
    )


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument(
        "--tasks", nargs="*", default=None, help="held-out family/task names (default: all)"
    )
    p.add_argument("--methods", nargs="*", default=None, help=f"subset of {list(METHODS)}")
    p.add_argument("--ks", nargs="*", type=int, default=list(KS))
    p.add_argument("--seeds", type=int, default=10)
    p.add_argument("--steps", type=int, default=600, help="meta-training steps per held-out task")
    p.add_argument("--pool", choices=("family", "all"), default="family")
    p.add_argument(
        "--hold-out-space",
        nargs="+",
        default=None,
        help="leave-one-space-out: meta-train without these spaces, evaluate on all their tasks",
    )
    p.add_argument(
        "--hide-tokens",
        type=float,
        default=None,
        help="with --hold-out-space: meta-training's token-hiding rate (default: the shipped config's)",
    )
    p.add_argument("--workers", type=int, default=1)
    p.add_argument("--merge", action="store_true", help="merge into the existing results file")
    p.add_argument("--timing", action="store_true", help="also time the shipped predictor")
    p.add_argument(
        "--timing-only",
        action="store_true",
        help="only time the shipped predictor (merged into the results)",
    )
    p.add_argument(
        "--report-only",
        action="store_true",
        help="run nothing: rebuild the RESULTS.md sections from predictor.json",
    )
    p.add_argument("--data-root", default=None)
    p.add_argument(
        "--no-cache",
        action="store_true",
        help="meta-train afresh instead of reusing benchmarks/.cache (shared with search.py; its key "
        "covers the config, not the code: empty it after changing the meta-training code)",
    )
    p.add_argument(
        "--smoke-test", action="store_true", help="one small task, few steps, no files written"
    )
    args = p.parse_args(argv)
    started = time.perf_counter()
    tasks = args.tasks or [f"{f}/{t}" for f, ts in EVAL_TASKS.items() for t in ts]
    methods = args.methods or list(METHODS)
    if args.smoke_test:
        tasks, args.ks, args.seeds, args.steps, args.workers = (
            ["transnas_micro/jigsaw"],
            [0, 10],
            2,
            10,
            1,
        )
        methods = ["boil", "zero_shot", "random_forest", "transfer_ridge"]
    if args.report_only:
        results = json.loads((RESULTS / "predictor.json").read_text())
        _write_sections(results, results["meta"]["runs"][-1])
        return 0
    if args.timing_only:
        tasks, args.merge, args.timing = [], True, True
    cache = None if args.no_cache or args.smoke_test else str(META_CACHE)
    if args.hold_out_space:
        return _run_space_out(args, cache, argv, started)
    jobs = [
        (
            t,
            held_out_config(t, args.steps, args.pool),
            methods,
            args.ks,
            args.seeds,
            args.data_root,
            cache,
        )
        for t in tasks
    ]
    if args.workers > 1:
        with ProcessPoolExecutor(args.workers) as ex:
            futs = [ex.submit(_one, *j) for j in jobs]
            done = [f.result() for f in as_completed(futs)]
    else:
        done = [_one(*j) for j in jobs]
    results: dict = {}
    path = RESULTS / "predictor.json"
    if args.merge and path.exists():  # read after the runs: another run may have written meanwhile
        results = json.loads(path.read_text())
    suffix = "" if args.pool == "family" else "_all_pool"
    for task, res in done:
        entry = results.setdefault(task, {})
        for m in methods:
            entry[m + suffix] = {str(k): v for k, v in res[m].items()}
        entry.setdefault("_meta_seconds", {}).update(
            {a + suffix: s for a, s in res["_meta_seconds"].items()}
        )
        # meta-initialisations loaded from benchmarks/.cache: the commit of the run that trained them
        cached_from = entry.setdefault("_meta_cached_from", {})
        for a in res["_meta_seconds"]:
            if a in res["_meta_cached"]:
                cached_from[a + suffix] = res["_meta_cached"][a]
            else:
                cached_from.pop(a + suffix, None)
        # meta-training steps per algorithm (entries of older runs without it ran 600)
        entry.setdefault("_meta_steps", {}).update(
            {a + suffix: args.steps for a in res["_meta_seconds"]}
        )
    if args.smoke_test:
        print(json.dumps(results, indent=1))
        return 0
    if args.timing_only:
        results.setdefault("meta", {})["timing"] = _timing()
        results["meta"]["timing_command"] = "python benchmarks/predictor.py --timing-only"
        results["meta"]["timing_date"] = time.strftime("%Y-%m-%d")
        write_json("predictor", results)
        print(results["meta"]["timing"])
        args.timing = False
    run_meta = meta(
        "python benchmarks/predictor.py " + " ".join(sys.argv[1:] if argv is None else argv),
        started,
    )
    runs = results.get("meta", {}).get("runs", []) if args.merge else []
    run_meta.update(
        {
            "tasks": tasks,
            "methods": methods,
            "steps": args.steps,
            "seeds": args.seeds,
            "pool": args.pool,
        }
    )
    results["meta"] = {**results.get("meta", {}), "runs": [*runs, run_meta]}
    if args.timing:
        results["meta"]["timing"] = _timing()
        print(results["meta"]["timing"])
    write_json("predictor", results)
    _write_sections(results, run_meta)
    return 0


def _run_space_out(args: argparse.Namespace, cache: str | None, argv, started: float) -> int:
    import _space_out

    jobs, variants = [], {}
    methods = args.methods or _space_out.METHODS
    for space in args.hold_out_space:
        raw = _space_out.space_config(space, args.steps, args.hide_tokens)
        for t in _space_out.space_tasks(space):
            variants[t] = _space_out.variant(raw)
            jobs.append((t, raw, methods, args.ks, args.seeds, args.data_root, cache))
    if args.workers > 1:
        with ProcessPoolExecutor(args.workers) as ex:
            done = [f.result() for f in as_completed([ex.submit(_one, *j) for j in jobs])]
    else:
        done = [_one(*j) for j in jobs]
    run = meta(
        "python benchmarks/predictor.py " + " ".join(sys.argv[1:] if argv is None else argv),
        started,
    )
    run.update({"spaces": args.hold_out_space, "steps": args.steps, "seeds": args.seeds})
    print(_space_out.report(_space_out.merge(done, variants, run)))
    return 0


def _steps_note(results: dict) -> str:
    """Meta-training steps per family and algorithm, read from the results (600 before they
    were recorded)."""
    algos = ("boil", "maml", "anil", "multitask")
    per: dict[str, dict[str, set[int]]] = {}
    for task, entry in results.items():
        if task == "meta":
            continue
        fam = per.setdefault(task.split("/")[0], {})
        for algo in entry.get("_meta_seconds", {}):
            steps = entry.get("_meta_steps", {}).get(algo, 600)
            fam.setdefault(algo, set()).add(int(steps))
    if all(v == {600} for f in per.values() for v in f.values()):
        return "600 outer steps per held-out task"
    cells = []
    for fam, by in per.items():
        cells.append(
            f"{fam} "
            + " / ".join("+".join(str(x) for x in sorted(by.get(a, ()))) or "-" for a in algos)
        )
    return "outer steps per held-out task (BOIL / MAML / ANIL / multitask): " + "; ".join(cells)


def _write_sections(results: dict, run: dict) -> None:
    all_methods = [
        m
        for m in [*METHODS, *(x + "_all_pool" for x in METHODS)]
        if any(m in v for k, v in results.items() if k != "meta")
    ]
    body = (
        "Leave-one-task-out few-shot ranking (`benchmarks/results/predictor.json`). Commands:\n\n"
        + "\n".join(
            f"- `{r['command']}` ({r['wall_time_s']:.0f} s, commit {r['commit']})"
            for r in results["meta"]["runs"]
        )
        + "\n\nMeta-training: BOIL/MAML/ANIL/multitask on the other tasks of the held-out task's family, "
        + _steps_note(results)
        + f"; {run['seeds']} seeds (random K-samples, the same for every method); Spearman on all other archs of the task.\n"
        + _table(results, all_methods)
    )
    if "timing" in results["meta"]:
        body += (
            "\n\nShipped predictor (2 CPU threads; `"
            + results["meta"].get("timing_command", "python benchmarks/predictor.py --timing")
            + "`"
            + (f", {results['meta']['timing_date']}" if "timing_date" in results["meta"] else "")
            + "; timings move with the machine's load: run it on an otherwise idle machine):"
            "\n\n| measurement | value |\n|---|---|\n"
            + "\n".join(f"| {k} | {v} |" for k, v in results["meta"]["timing"].items())
        )
    update_results_md("Meta-predictor: leave-one-task-out few-shot ranking", body)
    update_results_md(
        "Meta-predictor: targets (issue 3), read from the tables above", _targets(results)
    )
    print(body)


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    sys.exit(main())
