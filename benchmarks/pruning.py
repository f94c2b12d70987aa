"""Early stopping on real learning curves: our pruners vs Optuna's and Ray's, in replayed studies.

Each testbed is a pool of learning curves. One study (per seed) runs ``--trials`` trials, trial i
replaying a curve drawn at random from the pool epoch by epoch through ``trial.report`` /
``trial.should_prune`` (Ray's ASHA gets the same results through its ``on_trial_result``). Pruned
trials stop consuming epochs and never become the incumbent. Reported per method, mean over seeds:

* ``epochs``: total epochs trained; ``speedup``: the no-pruning total divided by it;
* ``regret``: best final value among the study's curves minus the final value of the best
  *completed* trial (0 for no pruning), in the curves' units (accuracy points);
* ``decision_ms``: median time of one ``should_prune`` call (warm-up calls, which fit no model,
  included: trials pruned early make them the majority for our pruners);
* anytime regret against cumulative epochs (``pruning.png``).

Methods: ``none``, Optuna's ``median``, ``percentile`` (25th), ``sha`` (SuccessiveHalving),
``hyperband``, ``wilcoxon``, Ray's ``asha`` and Syne Tune's ``syne_asha``, and ours: ``lce`` (parametric extrapolation, intervals calibrated on the study's
completed curves), ``lce_raw`` (the same with the ensemble's own intervals), ``lce_learned``
(learned extrapolator fitted on the study's completed curves), ``lce_pfn`` / ``lce_pfn_raw`` (the
shipped LC-PFN, trained on the parametric prior only, with / without the same calibration) and
``lcrank`` (LCRankNet pre-trained on other tasks' curves, fine-tuned on the study's), and
``lch`` / ``lch_pfn`` / ``lch_learned``: successive halving whose rungs compare extrapolated final
values (``RungHalving``, every size inferred; options ``lch@eta=3,r=3,h=0.5,b=1,m=3,t=0.05``).

Testbeds: ``lcbench/<task>`` (the YAHPO LCBench surrogate: per-epoch validation accuracy of MLPs,
52 epochs; a surrogate of real runs), ``nb201/<dataset>`` (the real NATS-Bench per-epoch logs of
one dataset: 9 runs of 200 epochs, so fewer than ``MIN_DISTINCT`` distinct curves: reported, not
counted) and ``gnn/<dataset>`` (curves this project recorded by training
NAS-Bench-Graph architectures, ``benchmarks/data/gnn_curves.npz`` when present, or ``--gnn-curves``;
the seed-0 run of each architecture).

Also: extrapolation error of the predicted final value from 10/20/50% of each curve vs the last
value seen.

Run:
    python benchmarks/pruning.py --seeds 10 --workers 2
Results: benchmarks/results/pruning.json, benchmarks/results/pruning.png, a RESULTS.md section.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import warnings
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
from _common import HERE, RESULTS, meta, update_results_md, write_json

METHODS = (
    "none",
    "median",
    "percentile",
    "sha",
    "hyperband",
    "wilcoxon",
    "asha",
    "syne_asha",
    "lce",
    "lce_raw",
    "lce_learned",
    "lce_pfn",
    "lce_pfn_raw",
    "lcrank",
    "lch",
    "lch_pfn",
    "lch_learned",
)
OURS = METHODS[METHODS.index("lce") :]  # the methods that take @threshold / @key=value,...
HALVING = ("lch", "lch_pfn", "lch_learned")
#: ``lch@eta=4,r=1,h=0.5,b=1,m=3,t=0.05``: reduction factor, min_resource, rung threshold,
#: stop_below_best (0/1), min_points, the rule's threshold
_HALVING_KEYS = {
    "eta": "reduction_factor",
    "r": "min_resource",
    "h": "threshold",
    "b": "stop_below_best",
    "m": "min_points",
}
#: testbeds with fewer distinct curves are reported, not counted toward the targets
MIN_DISTINCT = 100
NB201_DATASETS = ("cifar10-valid", "cifar10", "cifar100", "ImageNet16-120")
LCBENCH_TASKS = ("3945", "7593", "34539", "126025")
FRACTIONS = (0.1, 0.2, 0.5)
GNN_FILE = HERE / "data" / "gnn_curves.npz"


# ------------------------------------------------------------------------------- testbeds
def load_testbed(name: str, data_root: str | None) -> tuple[np.ndarray, float]:
    """``(curves float[n, E], value_range upper)``: a pool of complete, equally long curves."""
    from nas_meta_tune.curves import load_lcbench_curves, load_nb201_curves

    if name.startswith("lcbench/"):
        cs = load_lcbench_curves(data_root, task_ids=[name.split("/", 1)[1]], n_configs=600, seed=0)
        return np.stack([c.values for c in cs]), 100.0
    if name.startswith("nb201/"):  # one dataset per testbed: no mixing of datasets' curves
        cs = load_nb201_curves(data_root, datasets=[name.split("/", 1)[1]])
        return np.stack([c.values for c in cs if len(c.values) == 200]), 100.0
    if name.startswith("gnn/"):
        return gnn_curves(name.split("/", 1)[1]), 100.0
    raise ValueError(f"unknown testbed {name!r}.")


def _gnn_file() -> Path:
    """The recorded GNN curve set (``--gnn-curves`` / ``$NAS_META_TUNE_GNN_CURVES`` override)."""
    return Path(os.environ.get("NAS_META_TUNE_GNN_CURVES", GNN_FILE))


def gnn_curves(dataset: str) -> np.ndarray:
    """Validation-accuracy curves [archs, epochs] of one dataset of the recorded GNN set: the
    seed-0 run of every architecture (repeats with other seeds are left out of the pool), only
    runs that completed every epoch."""
    with np.load(_gnn_file(), allow_pickle=False) as z:
        names = [str(d) for d in z["datasets"]]
        if dataset not in names:
            raise ValueError(f"no {dataset!r} curves in {_gnn_file()} (it has {names}).")
        mask = (z["run_dataset"] == names.index(dataset)) & (z["run_seed"] == 0)
        curves = z["valid_acc"][mask].astype(np.float64)
    return curves[np.isfinite(curves).all(axis=1)]


def prior_curves(name: str, data_root: str | None) -> list[np.ndarray]:
    """Curves of *other* tasks for pre-training LCRankNet (transfer across tasks)."""
    from nas_meta_tune.curves import load_lcbench_curves

    if name.startswith("gnn/"):  # the other graph's curves
        return [c for d in ("cora", "citeseer") if f"gnn/{d}" != name for c in gnn_curves(d)]
    if name.startswith("lcbench/"):
        others = [
            t
            for t in ("167149", "167152", "167161", "167168", "167181")
            if t != name.split("/", 1)[1]
        ]
    else:
        others = ["3945", "7593", "34539"]
    cs = load_lcbench_curves(data_root, task_ids=others, n_configs=100, seed=1)
    return [c.values for c in cs]


# ------------------------------------------------------------------------------- one study
def _pretrained_rank(name: str, data_root: str | None, epochs: int):
    from nas_meta_tune.curves import LCRankNet

    prior = prior_curves(name, data_root)
    # prior curves have their own length: rescale each to this testbed's number of epochs
    steps = np.arange(1, epochs + 1, dtype=np.float64)
    curves = []
    for v in prior:
        x = np.linspace(1, epochs, len(v))
        curves.append((steps, np.interp(steps, x, v)))
    return LCRankNet(seed=0).fit(
        curves, [c[1][-1] for c in curves], target_step=float(epochs), epochs=40
    )


def _pruner(method: str, epochs: int, rank_model, seed: int):
    """The pruner a method name stands for; ``lce@0.1`` (any of ours) sets its ``threshold``."""
    import optuna

    from nas_meta_tune.curves import LCRankModel, RungHalving
    from nas_meta_tune.schedulers import LCExtrapolationPruner

    warm = max(1, epochs // 10)
    method, at, thr = method.partition("@")
    if at and (method not in OURS or not thr):
        raise ValueError(
            f"a threshold (@T) is for {OURS} only, given as lce@0.1; got {method}{at}{thr!r}."
        )
    ours: dict = {}
    halving: dict = {}
    for part in filter(None, thr.split(",")):
        key, eq, val = part.partition("=")
        if not eq:
            ours["threshold"] = float(key)
        elif key == "t":
            ours["threshold"] = float(val)
        elif key in _HALVING_KEYS and method in HALVING:
            halving[_HALVING_KEYS[key]] = (
                bool(int(val)) if key == "b" else int(val) if key == "m" else float(val)
            )
        else:
            raise ValueError(
                f"unknown option {key!r} of {method} (halving: {list(_HALVING_KEYS)})."
            )
    if method == "none":
        return optuna.pruners.NopPruner()
    if method == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=warm)
    if method == "percentile":
        return optuna.pruners.PercentilePruner(25.0, n_startup_trials=5, n_warmup_steps=warm)
    if method in HALVING:  # successive halving on extrapolated finals, everything inferred
        return LCExtrapolationPruner(
            method={"lch": "parametric", "lch_pfn": "pfn", "lch_learned": "learned"}[method],
            value_range=(0, 100),
            refit_every=5,
            seed=seed,
            halving=RungHalving(**halving),
            **ours,
        )
    if method == "sha":
        return optuna.pruners.SuccessiveHalvingPruner()
    if method == "hyperband":
        return optuna.pruners.HyperbandPruner(min_resource=1, max_resource=epochs)
    if method == "wilcoxon":
        return optuna.pruners.WilcoxonPruner(p_threshold=0.1, n_startup_steps=warm)
    if method in ("lce", "lce_raw"):  # lce_raw: the ensemble's own, uncalibrated intervals
        return LCExtrapolationPruner(
            max_step=epochs,
            min_step=warm,
            value_range=(0, 100),
            seed=seed,
            calibrate=method == "lce",
            **ours,
        )
    if method in ("lce_pfn", "lce_pfn_raw"):
        return LCExtrapolationPruner(
            max_step=epochs,
            min_step=warm,
            value_range=(0, 100),
            method="pfn",
            seed=seed,
            calibrate=method == "lce_pfn",
            **ours,
        )
    if method == "lce_learned":
        return LCExtrapolationPruner(
            max_step=epochs,
            min_step=warm,
            value_range=(0, 100),
            method="learned",
            refit_every=5,
            seed=seed,
            **ours,
        )
    if method == "lcrank":
        return LCExtrapolationPruner(
            model=LCRankModel(rank_model, epochs=15),
            min_completed=2,
            max_step=epochs,
            min_step=warm,
            refit_every=5,
            seed=seed,
            **ours,
        )
    raise ValueError(method)


def run_optuna(method: str, pool: np.ndarray, order: np.ndarray, rank_model, seed: int) -> dict:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    epochs = pool.shape[1]
    study = optuna.create_study(
        direction="maximize",
        pruner=_pruner(method, epochs, rank_model, seed),
        sampler=optuna.samplers.RandomSampler(seed),
    )
    used, finals, decide_ms = [], [], []

    def objective(trial):
        curve = pool[order[trial.number]]
        for e, v in enumerate(curve, start=1):
            trial.report(float(v), e)
            t0 = time.perf_counter()
            prune = trial.should_prune()
            decide_ms.append(1000 * (time.perf_counter() - t0))
            if prune:
                used.append(e)
                finals.append(np.nan)
                raise optuna.TrialPruned()
        used.append(epochs)
        finals.append(float(curve[-1]))
        return float(curve[-1])

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        study.optimize(objective, n_trials=len(order))
    return {
        "used": used,
        "finals": finals,
        "decision_ms": float(np.median(decide_ms)) if decide_ms else 0.0,
    }


def run_asha(pool: np.ndarray, order: np.ndarray, seed: int) -> dict:
    from ray.tune.experiment import Trial
    from ray.tune.schedulers import AsyncHyperBandScheduler, TrialScheduler

    np.random.seed(seed)  # ASHA draws its bracket from numpy's global RNG
    epochs = pool.shape[1]
    sched = AsyncHyperBandScheduler(
        time_attr="epoch",
        metric="acc",
        mode="max",
        max_t=epochs,
        grace_period=1,
        reduction_factor=3,
    )
    used, finals, decide_ms = [], [], []
    for i in order:
        trial = Trial("__replay", stub=True)
        sched.on_trial_add(None, trial)
        stopped = False
        for e, v in enumerate(pool[i], start=1):
            t0 = time.perf_counter()
            d = sched.on_trial_result(None, trial, {"epoch": e, "acc": float(v)})
            decide_ms.append(1000 * (time.perf_counter() - t0))
            if d == TrialScheduler.STOP and e < epochs:
                stopped = True
                break
        used.append(e)
        finals.append(np.nan if stopped else float(pool[i][-1]))
        sched.on_trial_complete(None, trial, {"epoch": e, "acc": float(pool[i][e - 1])})
    return {"used": used, "finals": finals, "decision_ms": float(np.median(decide_ms))}


def run_syne_asha(pool: np.ndarray, order: np.ndarray, seed: int) -> dict:
    """Syne Tune's ASHA (one bracket, as Ray's), fed the same results through its own calls."""
    from datetime import datetime

    from syne_tune.backend.trial_status import Trial
    from syne_tune.config_space import randint
    from syne_tune.optimizer.scheduler import SchedulerDecision
    from syne_tune.optimizer.schedulers.asha import AsynchronousSuccessiveHalving

    np.random.seed(seed)  # Syne's ASHA draws brackets from numpy's global RNG too
    epochs = pool.shape[1]
    sched = AsynchronousSuccessiveHalving(
        {"i": randint(0, len(pool) - 1), "epochs": epochs},
        metric="acc",
        do_minimize=False,
        time_attr="epoch",
        max_t=epochs,
        grace_period=1,
        reduction_factor=3,
        random_seed=seed,
    )
    used, finals, decide_ms = [], [], []
    for n, i in enumerate(order):
        trial = Trial(
            trial_id=n, config={"i": int(i), "epochs": epochs}, creation_time=datetime.now()
        )
        sched.on_trial_add(trial)
        stopped = False
        for e, v in enumerate(pool[i], start=1):
            t0 = time.perf_counter()
            d = sched.on_trial_result(trial, {"epoch": e, "acc": float(v)})
            decide_ms.append(1000 * (time.perf_counter() - t0))
            if d == SchedulerDecision.STOP and e < epochs:
                stopped = True
                break
        used.append(e)
        finals.append(np.nan if stopped else float(pool[i][-1]))
        if stopped:
            sched.on_trial_remove(trial)
        else:
            sched.on_trial_complete(trial, {"epoch": e, "acc": float(pool[i][e - 1])})
    return {"used": used, "finals": finals, "decision_ms": float(np.median(decide_ms))}


def draw_order(n_curves: int, trials: int, seed: int) -> np.ndarray:
    """The curves of one study: without replacement while the pool is large enough, else with."""
    rng = np.random.default_rng(seed)
    if trials <= n_curves:
        return rng.permutation(n_curves)[:trials]
    return rng.integers(n_curves, size=trials)


def one_job(
    testbed: str, seed: int, trials: int, methods: list[str], data_root: str | None
) -> tuple[str, int, dict]:
    import torch

    torch.set_num_threads(1)
    pool, _ = load_testbed(testbed, data_root)
    order = draw_order(len(pool), trials, seed)
    rank_model = (
        _pretrained_rank(testbed, data_root, pool.shape[1])
        if any(m.partition("@")[0] == "lcrank" for m in methods)
        else None
    )
    best = float(np.max(pool[order, -1]))
    out = {}
    for m in methods:
        t0 = time.perf_counter()
        if m == "asha":
            r = run_asha(pool, order, seed)
        elif m == "syne_asha":
            r = run_syne_asha(pool, order, seed)
        else:
            r = run_optuna(m, pool, order, rank_model, seed)
        finals = np.array(r["finals"], dtype=np.float64)
        inc = np.fmax.accumulate(np.where(np.isnan(finals), -np.inf, finals))
        out[m] = {
            "epochs": int(np.sum(r["used"])),
            "regret": float(best - inc[-1]) if np.isfinite(inc[-1]) else float("nan"),
            "decision_ms": r["decision_ms"],
            "cum_epochs": np.cumsum(r["used"]).tolist(),
            "anytime_regret": np.where(np.isfinite(inc), best - inc, np.nan).tolist(),
            "seconds": round(time.perf_counter() - t0, 2),
            "distinct_curves": int(len(np.unique(pool, axis=0))),
        }
        print(
            f"{testbed} seed {seed} {m}: epochs {out[m]['epochs']} regret {out[m]['regret']:.3f} ({out[m]['seconds']} s)",
            flush=True,
        )
    return testbed, seed, out


# ------------------------------------------------------------------------------- extrapolation
def extrapolation_errors(testbed: str, data_root: str | None, n_eval: int = 60) -> dict:
    """MAE of the predicted final value from 10/20/50% of each curve: parametric, learned,
    LC-PFN, last value; and how often the final value falls inside LC-PFN's central 80%."""
    from nas_meta_tune.curves import LearnedExtrapolator, ParametricEnsemble
    from nas_meta_tune.curves.pfn import LCPFN

    pool, hi = load_testbed(testbed, data_root)
    rng = np.random.default_rng(0)
    idx = rng.permutation(len(pool))
    n_eval = min(n_eval, len(pool) // 2)
    test, train = pool[idx[:n_eval]], pool[idx[n_eval:]][:200]
    epochs = pool.shape[1]
    steps = np.arange(1, epochs + 1, dtype=np.float64)
    par = ParametricEnsemble(seed=0, bounds=(0.0, hi))
    learned = LearnedExtrapolator(seed=0).fit(
        [(steps, c) for c in train], train[:, -1], float(epochs)
    )
    pfn = LCPFN.pretrained()
    out = {}
    for f in FRACTIONS:
        k = max(2, int(round(f * epochs)))
        err = {"parametric": [], "learned": [], "pfn": [], "last_value": [], "pfn_cover80": []}
        for c in test:
            err["parametric"].append(abs(par.predict(steps[:k], c[:k], float(epochs)).mean - c[-1]))
            err["learned"].append(
                abs(learned.predict(steps[:k], c[:k], float(epochs)).mean - c[-1])
            )
            p = pfn.predict(steps[:k], c[:k], float(epochs), bounds=(0.0, hi))
            err["pfn"].append(abs(p.mean - c[-1]))
            err["pfn_cover80"].append(0.1 <= p.prob_at_least(c[-1]) <= 0.9)
            err["last_value"].append(abs(c[k - 1] - c[-1]))
        out[str(f)] = {m: float(np.mean(v)) for m, v in err.items()}
    return out


# ------------------------------------------------------------------------------- report
def _plot(results: dict, path: Path) -> None:
    import matplotlib
    import matplotlib.ticker

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    beds = [b for b in results if b != "meta"]
    fig, axes = plt.subplots(1, len(beds), figsize=(4.2 * len(beds), 3.6), squeeze=False)
    for ax, bed in zip(axes[0], beds):
        for m, e in results[bed].items():
            if m.startswith("_"):
                continue
            grid = np.asarray(e["curve_epochs"])
            mean = np.asarray(e["curve_regret"], dtype=np.float64)
            ax.plot(grid, mean, label=m)
        ax.set_xscale("log")
        ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        ax.set_title(bed, fontsize=9)
        ax.set_xlabel("cumulative epochs")
        ax.set_ylabel("regret of the incumbent")
    axes[0][-1].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def aggregate(runs: list[tuple[str, int, dict]]) -> dict:
    res: dict = {}
    by_bed: dict = {}
    for bed, _seed, out in runs:
        by_bed.setdefault(bed, []).append(out)
    for bed, outs in by_bed.items():
        res[bed] = {"_distinct_curves": next(iter(outs[0].values()))["distinct_curves"]}
        total = max(max(o[m]["cum_epochs"][-1] for m in o) for o in outs)
        grid = np.unique(np.geomspace(10, total, 40).astype(int))
        for m in outs[0]:
            eps = [o[m]["epochs"] for o in outs]
            regs = [o[m]["regret"] for o in outs]
            curves = []
            for o in outs:
                ce, ar = (
                    np.asarray(o[m]["cum_epochs"]),
                    np.asarray(o[m]["anytime_regret"], dtype=np.float64),
                )
                pos = np.searchsorted(ce, grid, side="right") - 1
                curves.append(np.where(pos >= 0, ar[np.clip(pos, 0, None)], np.nan))
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                mean_curve = np.nanmean(np.array(curves), axis=0)
            res[bed][m] = {
                "epochs": float(np.mean(eps)),
                "regret": float(np.nanmean(regs)),
                "regret_std": float(np.nanstd(regs)),
                "seeds": len(outs),
                "decision_ms": float(np.median([o[m]["decision_ms"] for o in outs])),
                "curve_epochs": grid.tolist(),
                "curve_regret": [None if not np.isfinite(x) else float(x) for x in mean_curve],
            }
    return res


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--testbeds", nargs="*", default=None)
    p.add_argument("--methods", nargs="*", default=list(METHODS))
    p.add_argument("--seeds", type=int, default=10)
    p.add_argument("--trials", type=int, default=100)
    p.add_argument("--workers", type=int, default=1)
    p.add_argument("--data-root", default=None)
    p.add_argument(
        "--gnn-curves", default=None, help=f"the recorded GNN curve set (default {GNN_FILE})"
    )
    p.add_argument(
        "--merge",
        action="store_true",
        help="replace only these methods' rows in the existing pruning.json (same seeds/trials)",
    )
    p.add_argument("--smoke-test", action="store_true")
    p.add_argument(
        "--replot", action="store_true", help="only redraw pruning.png from pruning.json"
    )
    args = p.parse_args(argv)
    started = time.perf_counter()
    if args.replot:
        saved = json.loads((RESULTS / "pruning.json").read_text())
        _plot(
            {
                b: {m: e for m, e in r.items() if not m.startswith("_")}
                for b, r in saved.items()
                if b != "meta"
            },
            RESULTS / "pruning.png",
        )
        return 0
    if args.gnn_curves:
        os.environ["NAS_META_TUNE_GNN_CURVES"] = args.gnn_curves  # inherited by the workers
    beds = args.testbeds or [f"lcbench/{t}" for t in LCBENCH_TASKS] + [
        f"nb201/{d}" for d in NB201_DATASETS
    ] + ([f"gnn/{d}" for d in ("cora", "citeseer")] if _gnn_file().exists() else [])
    if args.smoke_test:
        beds, args.seeds, args.trials = args.testbeds or ["lcbench/3945"], 1, 8
    jobs = [
        (b, s, args.trials, args.methods, args.data_root) for b in beds for s in range(args.seeds)
    ]
    if args.workers > 1:
        with ProcessPoolExecutor(args.workers) as ex:
            runs = list(ex.map(one_job, *zip(*jobs)))
    else:
        runs = [one_job(*j) for j in jobs]
    results = aggregate(runs)
    extrap = {
        b: extrapolation_errors(b, args.data_root, n_eval=10 if args.smoke_test else 60)
        for b in beds
    }
    if args.smoke_test:
        print(
            json.dumps(
                {
                    b: {
                        m: {k: v for k, v in e.items() if not k.startswith("curve")}
                        for m, e in r.items()
                        if not m.startswith("_")
                    }
                    for b, r in results.items()
                }
            )
        )
        print(json.dumps(extrap))
        return 0
    for b in beds:
        results[b]["_extrapolation_mae"] = extrap[b]
    run = meta(
        "python benchmarks/pruning.py " + " ".join(sys.argv[1:] if argv is None else argv), started
    )
    run.update(
        {"testbeds": beds, "methods": args.methods, "seeds": args.seeds, "trials": args.trials}
    )
    runs = [run]
    path = RESULTS / "pruning.json"
    if args.merge and path.exists():
        old = json.loads(path.read_text())
        old_runs = old["meta"].get("runs") or [
            {k: v for k, v in old["meta"].items() if k != "runs"}
        ]
        for r in old_runs:
            # one seed count everywhere; a testbed's rows all come from one trial count
            shared = set(r.get("testbeds") or []) & set(beds)
            if r.get("seeds") != args.seeds or (shared and r.get("trials") != args.trials):
                raise SystemExit(
                    f"--merge: the stored run has seeds={r.get('seeds')}, trials={r.get('trials')} "
                    f"on {sorted(shared) or r.get('testbeds')}; this one {args.seeds}, {args.trials}."
                )
        for b, entry in results.items():
            old.setdefault(b, {}).update(entry)
        results, runs = old, [*old_runs, run]
        beds = [b for b in results if b != "meta"]
    for b in beds:  # rows merged from a run that did not store it
        if "_distinct_curves" not in results[b]:
            pool, _ = load_testbed(b, args.data_root)
            results[b]["_distinct_curves"] = int(len(np.unique(pool, axis=0)))
    results["meta"] = {"runs": runs}
    write_json("pruning", results)
    _plot(
        {
            b: {m: e for m, e in r.items() if not m.startswith("_")}
            for b, r in results.items()
            if b != "meta"
        },
        RESULTS / "pruning.png",
    )
    lines = [
        "| testbed (distinct curves) | method | epochs (speed-up) | final regret | median ms per should_prune call (warm-up calls included) |",
        "|---|---|---|---|---|",
    ]
    for b in beds:
        none = results[b].get("none", {}).get("epochs")
        distinct = results[b].get("_distinct_curves")
        tag = (
            ""
            if distinct is None
            else f" ({distinct}{'' if distinct >= MIN_DISTINCT else ', not counted'})"
        )
        for m in [m for m in results[b] if not m.startswith("_")]:
            e = results[b][m]
            sp = f" ({none / e['epochs']:.1f}x)" if none else ""
            lines.append(
                f"| {b}{tag} | {m} | {e['epochs']:.0f}{sp} | {e['regret']:.2f} ± {e['regret_std']:.2f} | {e['decision_ms']:.2f} |"
            )
    ex_lines = [
        "| testbed | fraction seen | parametric | learned | LC-PFN | last value | LC-PFN 80% interval coverage |",
        "|---|---|---|---|---|---|---|",
    ]
    for b in beds:
        for f, e in results[b]["_extrapolation_mae"].items():
            ex_lines.append(
                f"| {b} | {float(f):.0%} | {e['parametric']:.2f} | {e['learned']:.2f} | {e['pfn']:.2f} "
                f"| {e['last_value']:.2f} | {e['pfn_cover80']:.2f} |"
            )
    body = (
        "Commands (a later `--merge` run replaces only its methods' rows):\n\n"
        + "\n".join(
            f"- `{r['command']}` ({r['wall_time_s']:.0f} s, commit {r['commit']}; methods {', '.join(r['methods'])})"
            for r in runs
        )
        + "\n\nTrials per study: "
        + "; ".join(sorted({f"{r['trials']} on {', '.join(r['testbeds'])}" for r in runs}))
        + f". {args.seeds} seeds, mean over seeds. Regret in accuracy points against the best "
        "curve of the study (so `none` has 0). Plot: `benchmarks/results/pruning.png`.\n\n"
        + "\n".join(lines)
        + "\n\nExtrapolation: mean absolute error of the predicted final value (accuracy points) after seeing a "
        "fraction of the curve; the learned extrapolator is trained on other curves of the same testbed, LC-PFN "
        "on prior curves only (no data of any testbed); coverage: share of final values inside LC-PFN's "
        "central 80% interval.\n\n" + "\n".join(ex_lines)
    )
    update_results_md("Early stopping on learning curves", body)
    print(body)
    return 0


if __name__ == "__main__":
    os.environ.setdefault("RAY_DEDUP_LOGS", "0")
    sys.exit(main())
