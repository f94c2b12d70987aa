"""Long and heavy runs: a 2,000-trial study's suggest latency and memory, and a Ray Tune run with 8
concurrent trials on 2 CPUs.

Study part: for each method (``meta_nas``: MetaNASSampler with the shipped predictor; ``tpe``:
Optuna's TPESampler) one study of ``--trials`` trials runs in its own fresh process on the real
NAS-Bench-Graph table of ``--task`` (each trial's value is the benchmark's accuracy of the
suggested architecture). The latency of a trial's suggest (``study.ask()`` plus
``space.suggest(trial)``, i.e. everything the sampler does) is recorded for every trial; reported
at trials 100, 500, 1,000 and 2,000 are the median and 95th percentile over the 100 trials ending
there, the process's peak RSS so far (``ru_maxrss``) and its current RSS. Flat latency in the
trial count is the target: MetaNASSampler bounds its adaptation set (``max_history``), so what
still grows is reading the study's trials from storage.

Workers part (``--workers N``, 0 to skip): N worker processes share one study on PostgreSQL (a
throw-away server started here, or ``--pg-server URL``), all with MetaNASSampler, seed 0 (so with an
empty history they all propose alike and the claims must settle it), each asking, suggesting and
telling in a loop with no training time (the harshest contention: 8 processes on 2 cores) until the
study has ``--worker-trials`` complete trials. Reported: the suggest latency over all workers'
trials (median, p95, max), architectures completed twice (the target is none), failed trials and
the wall time.

Ray part (``--ray-trials``, 0 to skip): a local Ray cluster with ``num_cpus=2`` (or the running
cluster at ``RAY_ADDRESS``), MetaNASSearch behind
a ``ConcurrencyLimiter(max_concurrent=8)``, trials requesting 0.25 CPU each, every trial
reporting ``--ray-epochs`` results. Reported: trials completed, the largest number of trials
observed running at once (from their own start/end timestamps) and the wall time.

Run:
    python benchmarks/scale.py --trials 2000 --ray-trials 24
    python benchmarks/scale.py --trials 0 --ray-trials 0 --workers 8 --worker-trials 400
    OMP_NUM_THREADS=1 python benchmarks/scale.py --trials 0 --ray-trials 0 --workers 8
(the workers part is kept per OMP_NUM_THREADS setting)
A part skipped keeps its figures from the saved results.
Results: benchmarks/results/scale.json and a RESULTS.md section.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np
from _common import RESULTS, meta, update_results_md, write_json

from nas_meta_tune.integrations.experiments.postgres import PostgresUnavailableError

CHECKPOINTS = (100, 500, 1000, 2000)
SECTION = "Scale: long studies and concurrent Ray trials (issue 7)"
WINDOW = 100


def _rss_mb() -> float:
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def _timed_trial(study, space, table: dict) -> float:
    """Ask, suggest and tell one trial (a failed evaluation for an architecture outside the
    table); the milliseconds of the ask and suggest, i.e. everything the sampler does."""
    from optuna.trial import TrialState

    t0 = time.perf_counter()
    trial = study.ask()
    arch = space.suggest(trial)
    ms = 1000 * (time.perf_counter() - t0)
    if arch.key in table:
        study.tell(trial, table[arch.key])
    else:
        study.tell(trial, state=TrialState.FAIL)
    return ms


def _study(method: str, task: str, trials: int, seed: int, storage: str | None) -> dict:
    """One long study in this process (run as a child of the main script)."""
    import optuna

    from nas_meta_tune.integrations.experiments.runs import make_sampler
    from nas_meta_tune.predictors import MetaPredictor
    from nas_meta_tune.predictors.tasks import load_task

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    t = load_task(task)
    table = {a.key: float(s) for a, s in zip(t.archs, t.scores)}
    predictor = MetaPredictor.pretrained() if method == "meta_nas" else None
    sampler = make_sampler(method, t.space, seed, predictor)
    study = optuna.create_study(direction="maximize", sampler=sampler, storage=storage)
    latency, marks = [], {}
    checkpoints = sorted({c for c in CHECKPOINTS if c <= trials} | {trials})
    for i in range(1, trials + 1):
        latency.append(_timed_trial(study, t.space, table))
        if i in checkpoints:
            w = np.asarray(latency[max(0, i - WINDOW) : i])
            marks[str(i)] = {
                "median_ms": round(float(np.median(w)), 2),
                "p95_ms": round(float(np.percentile(w, 95)), 2),
                "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
                "rss_mb": round(_rss_mb(), 1),
            }
            print(f"{method} trial {i}: {marks[str(i)]}", file=sys.stderr, flush=True)
    best = max(table.values())
    found = max((tr.value for tr in study.trials if tr.value is not None), default=float("nan"))
    return {"checkpoints": marks, "regret": round(best - found, 4), "trials": trials}


def _run_child(method: str, args: argparse.Namespace) -> dict:
    cmd = [sys.executable, __file__, "--child", method, "--task", args.task]
    cmd += ["--trials", str(args.trials), "--seed", str(args.seed)]
    if args.storage:
        cmd += ["--storage", args.storage.replace("{method}", method)]
    out = subprocess.run(cmd, capture_output=True, text=True)
    sys.stderr.write(out.stderr[-4000:])
    if out.returncode != 0:
        raise RuntimeError(f"{method} study failed (exit {out.returncode})")
    return json.loads(out.stdout.strip().splitlines()[-1])


def _worker(url: str, index: int, total: int, task: str) -> dict:
    """One of ``--workers`` processes on a shared study (run as a child of the main script)."""
    import optuna
    from optuna.trial import TrialState

    from nas_meta_tune.predictors import MetaPredictor
    from nas_meta_tune.predictors.tasks import load_task
    from nas_meta_tune.samplers import MetaNASSampler

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    t = load_task(task)
    table = {a.key: float(s) for a, s in zip(t.archs, t.scores)}
    sampler = MetaNASSampler(t.space, MetaPredictor.pretrained(), seed=0)
    study = optuna.load_study(study_name="scale", storage=url, sampler=sampler)
    latency = []
    while len(study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))) < total:
        latency.append(_timed_trial(study, t.space, table))
    return {"worker": index, "latency_ms": [round(x, 2) for x in latency]}


def _workers_run(n: int, total: int, task: str, server: str | None) -> dict:
    """``n`` worker processes on one PostgreSQL study until it has ``total`` complete trials."""
    import optuna
    from optuna.trial import TrialState

    from nas_meta_tune.integrations.experiments.postgres import create_database, throwaway_server
    from nas_meta_tune.predictors.tasks import load_task

    with contextlib.ExitStack() as stack:
        server = server or stack.enter_context(throwaway_server())
        url = create_database(server)
        optuna.create_study(study_name="scale", storage=url, direction="maximize")
        t0 = time.perf_counter()
        procs = [
            subprocess.Popen(
                [sys.executable, __file__, "--worker-child", url, str(i), str(total), task],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for i in range(n)
        ]
        outs = [p.communicate() for p in procs]
        wall = time.perf_counter() - t0
        for p, (_, err) in zip(procs, outs):
            if p.returncode != 0:
                raise RuntimeError(f"a worker failed (exit {p.returncode}): {err[-2000:]}")
        trials = optuna.load_study(study_name="scale", storage=url).get_trials(deepcopy=False)
    latency = np.concatenate(
        [json.loads(o.strip().splitlines()[-1])["latency_ms"] for o, _ in outs]
    )
    done = [tr for tr in trials if tr.state == TrialState.COMPLETE]
    t = load_task(task)
    keys = [t.space.from_params(tr.params).key for tr in done]
    best = float(np.max(t.scores))
    return {
        "workers": n,
        "complete": len(done),
        "asked": len(trials),
        "failed": sum(tr.state == TrialState.FAIL for tr in trials),
        "duplicate_archs": len(keys) - len(set(keys)),
        "median_ms": round(float(np.median(latency)), 1),
        "p95_ms": round(float(np.percentile(latency, 95)), 1),
        "max_ms": round(float(np.max(latency)), 1),
        "wall_s": round(wall, 1),
        "regret": round(best - max(tr.value for tr in done), 4),
    }


def _ray_run(n_trials: int, epochs: int, task: str, max_concurrent: int = 8) -> dict:
    """MetaNASSearch with 8 concurrent 0.25-CPU trials on a 2-CPU local cluster."""
    import ray
    from ray import tune
    from ray.tune.search import ConcurrencyLimiter

    from nas_meta_tune.predictors import MetaPredictor
    from nas_meta_tune.predictors.tasks import load_task
    from nas_meta_tune.samplers import MetaNASSearch

    t = load_task(task)
    table = {a.key: float(s) for a, s in zip(t.archs, t.scores)}
    space = t.space

    def trainable(config):
        start = time.time()
        arch = space.from_params(config)
        final = table.get(arch.key, 0.0)
        for e in range(1, epochs + 1):
            time.sleep(0.5)  # stands for an epoch of training: the run measures scheduling
            tune.report({"acc": final * (1 - 0.5**e), "start": start, "now": time.time()})

    address = os.environ.get("RAY_ADDRESS")  # a running cluster, else a local one with 2 CPUs
    ray.init(
        address=address,
        num_cpus=None if address else 2,
        include_dashboard=False,
        log_to_driver=False,
    )
    tmp = tempfile.mkdtemp(prefix="scale_ray_")
    try:
        search = ConcurrencyLimiter(
            MetaNASSearch(space, MetaPredictor.pretrained(), metric="acc", mode="max", seed=0),
            max_concurrent=max_concurrent,
        )
        t0 = time.perf_counter()
        results = tune.Tuner(
            tune.with_resources(trainable, {"cpu": 2 / max_concurrent}),
            tune_config=tune.TuneConfig(search_alg=search, num_samples=n_trials),
            run_config=tune.RunConfig(storage_path=tmp, verbose=0),
        ).fit()
        wall = time.perf_counter() - t0
    finally:
        ray.shutdown()
        shutil.rmtree(tmp, ignore_errors=True)
    spans = [(r.metrics["start"], r.metrics["now"]) for r in results if r.metrics]
    events = sorted([(s, 1) for s, _ in spans] + [(e, -1) for _, e in spans])
    running = peak = 0
    for _, d in events:
        running += d
        peak = max(peak, running)
    return {
        "trials": n_trials,
        "completed": sum(1 for r in results if r.error is None and r.metrics),
        "errors": sum(1 for r in results if r.error is not None),
        "max_concurrent_observed": peak,
        "cluster_cpus": 2,
        "cpu_per_trial": 2 / max_concurrent,
        "epochs": epochs,
        "wall_s": round(wall, 1),
    }


def _table(results: dict) -> str:
    rows = [
        "| method | trials | median ms | p95 ms | peak RSS MB | RSS MB |",
        "|---|---|---|---|---|---|",
    ]
    for m in results["meta"]["methods"]:
        for c, e in results[m].items():
            rows.append(
                f"| {m} | {c} | {e['median_ms']:.1f} | {e['p95_ms']:.1f} | "
                f"{e['peak_rss_mb']:.0f} | {e['rss_mb']:.0f} |"
            )
    m = results["meta"]
    text = (
        f"`{m['command']}` (commit {m['commit']}, {m['cpus']} CPUs, torch threads "
        f"{m['torch_threads']}). {m.get('note', '')}\n\n"
        f"Suggest latency over the 100 trials ending at each checkpoint, one study per method "
        f"in its own process on `{results['meta']['task']}` "
        f"(storage: {results['meta']['storage'] or 'in-memory'}):\n\n" + "\n".join(rows)
    )
    regret = ", ".join(f"{k} {v:g}" for k, v in m.get("final_regret", {}).items())
    text += f"\n\nRegret of the best found after all trials (benchmark units): {regret}."
    for threads, w in results.get("workers", {}).items():
        text += (
            f"\n\n{w['workers']} worker processes on one PostgreSQL study (MetaNASSampler, seed 0 "
            f"in each, torch threads per process: {threads}, no training time: {w['workers']} "
            f"processes on {w['cpus']} cores), {w['complete']} complete trials ({w['asked']} "
            f"asked, {w['failed']} failed): {w['duplicate_archs']} architectures completed twice; "
            f"suggest latency median {w['median_ms']} ms, p95 {w['p95_ms']} ms, max "
            f"{w['max_ms']} ms; {w['wall_s']} s; regret {w['regret']:g}. `{w['command']}` "
            f"(commit {w['commit']})."
        )
    if results.get("ray"):
        r = results["ray"]
        text += (
            f"\n\nRay Tune, local cluster with {r['cluster_cpus']} CPUs, MetaNASSearch + "
            f"ConcurrencyLimiter(8), {r['cpu_per_trial']} CPU per trial: {r['completed']}/"
            f"{r['trials']} trials completed ({r['errors']} errors), at most "
            f"{r['max_concurrent_observed']} running at once, {r['wall_s']} s."
        )
    return text


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--task", default="nasbench_graph/cora")
    p.add_argument("--trials", type=int, default=2000)
    p.add_argument("--methods", nargs="+", default=["meta_nas", "tpe"])
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--storage",
        default=None,
        help="Optuna storage URL ('{method}' is replaced by the method); default in-memory",
    )
    p.add_argument("--workers", type=int, default=0, help="processes on one PostgreSQL study")
    p.add_argument("--worker-trials", type=int, default=400)
    p.add_argument("--pg-server", default=None, help="a running server's URL (default: start one)")
    p.add_argument("--ray-trials", type=int, default=24, help="0 skips the Ray run")
    p.add_argument("--ray-epochs", type=int, default=5)
    p.add_argument("--smoke-test", action="store_true", help="tiny run, results not saved")
    p.add_argument(
        "--report", action="store_true", help="only rewrite the RESULTS.md section from scale.json"
    )
    p.add_argument("--child", default=None, help=argparse.SUPPRESS)
    p.add_argument("--worker-child", nargs=4, default=None, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        print(json.dumps(_study(args.child, args.task, args.trials, args.seed, args.storage)))
        return
    if args.worker_child:
        url, index, total, task = args.worker_child
        print(json.dumps(_worker(url, int(index), int(total), task)))
        return
    if args.report:
        results = json.loads((RESULTS / "scale.json").read_text())
        update_results_md(SECTION, _table(results))
        print(_table(results))
        return
    if args.smoke_test:
        args.trials, args.ray_trials, args.ray_epochs = 12, 8, 2
        args.workers, args.worker_trials = 2, 6
    command = " ".join(["python benchmarks/scale.py", *(argv or sys.argv[1:])])
    saved = RESULTS / "scale.json"
    # a part not run keeps its saved figures
    results = {} if args.smoke_test or not saved.exists() else json.loads(saved.read_text())
    started = time.perf_counter()
    if args.trials:
        studies = {m: _run_child(m, args) for m in args.methods}
        results = {
            k: v for k, v in results.items() if k not in results.get("meta", {}).get("methods", [])
        }
        results.update({m: r["checkpoints"] for m, r in studies.items()})
        results["meta"] = {
            **meta(command, started),
            "task": args.task,
            "storage": args.storage,
            "window": WINDOW,
            "methods": list(studies),
            "final_regret": {m: r["regret"] for m, r in studies.items()},
            "torch_threads": os.environ.get("OMP_NUM_THREADS", "default"),
        }
    if args.workers:
        try:
            t0 = time.perf_counter()
            workers = _workers_run(args.workers, args.worker_trials, args.task, args.pg_server)
            threads = os.environ.get("OMP_NUM_THREADS", "default")
            run = meta(
                command if threads == "default" else f"OMP_NUM_THREADS={threads} {command}", t0
            )
            results.setdefault("workers", {})[threads] = {**workers, **run}
        except PostgresUnavailableError as err:
            if not args.smoke_test or os.environ.get("NAS_META_TUNE_REQUIRE_POSTGRES") == "1":
                raise
            print(f"workers part skipped: {err}", file=sys.stderr)
    if args.ray_trials:
        results["ray"] = _ray_run(args.ray_trials, args.ray_epochs, args.task)
    print(_table(results))
    ray_result = results.get("ray")
    if args.ray_trials and ray_result["max_concurrent_observed"] < min(8, args.ray_trials):
        print("warning: fewer than 8 trials ever ran at once", file=sys.stderr)
    if args.smoke_test:
        return
    write_json("scale", results)
    update_results_md(SECTION, _table(results))


if __name__ == "__main__":
    main()
