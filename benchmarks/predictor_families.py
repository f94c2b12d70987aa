"""Model-based predictor families on three axes: fit time, query time, rank correlation (issue 26).

The stand-alone predictor experiment of White et al., "How Powerful are Performance Predictors in
NAS?" (NeurIPS 2021), on NAS-Bench-201 (200-epoch validation accuracy, %, mean over seeds, of the
``cifar10-valid``, ``cifar100`` and ``ImageNet16-120`` tables of ``load_benchmark("nb201")``).
For every dataset and seed, 1000 cells are drawn as the test set and training sets of each size
from the other cells (nested: the size-20 set holds the size-10 one). Each predictor is fitted
on the training set (initialisation time: the wall time of ``fit``, encoding included) and
predicts the test set (query time: wall time of ``predict`` divided by 1000); the process CPU
times of both are recorded too (``fit_cpu_s``, ``query_cpu_s_per_arch``: on a busy machine
they stay near what an idle one would take as wall time). Scores: Kendall tau, Spearman, Pearson, and the paper's sparse Kendall tau (Kendall tau with the predictions
rounded to 0.1 accuracy points, NASLib's ``kt_1dec``).

Predictors: the families of :mod:`nas_meta_tune.predictors.families` (``bayes_lin_reg``,
``bananas``, ``gp``, ``xgboost``, ``ngboost``) and the existing baselines ``random_forest`` and ``lightgbm``
(:mod:`nas_meta_tune.predictors.baselines`) and ``gcn`` (a GCN trained from scratch,
:func:`nas_meta_tune.predictors.train_from_scratch`, 200 full-batch steps). The baselines learn
rank-normalised targets; their predictions are mapped to accuracy units by the least-squares
line of the training accuracies on the training targets (an affine map: Kendall, Spearman and
Pearson are unchanged; only the sparse Kendall tau needs units). One thread throughout.

Run:
    python benchmarks/predictor_families.py --seeds 10
    python benchmarks/predictor_families.py --smoke-test       # 1 dataset, 2 sizes, 2 seeds
    python benchmarks/predictor_families.py --merge --predictors ngboost --seeds 10  # add one
Results: benchmarks/results/predictor_families.{json,png} and a RESULTS.md section.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
from _common import RESULTS, head_commit, meta, update_results_md, write_json
from scipy.stats import kendalltau, pearsonr, spearmanr

from nas_meta_tune import load_benchmark
from nas_meta_tune.predictors import (
    LightGBMPredictor,
    RandomForestPredictor,
    normalize_scores,
    train_from_scratch,
)
from nas_meta_tune.predictors.families import FAMILY_PREDICTORS

DATASETS = {"cifar10": "cifar10-valid", "cifar100": "cifar100", "ImageNet16-120": "ImageNet16-120"}
SIZES = (10, 20, 50, 100, 200, 500, 1000)
N_TEST = 1000
METRICS = ("kendall", "spearman", "pearson", "sparse_kendall")
TIMES = ("fit_s", "query_s_per_arch", "fit_cpu_s", "query_cpu_s_per_arch")
NAME = "predictor_families"
SECTION = "Predictor families on three axes: fit time, query time, rank correlation (issue 26)"


class _AffineToScores:
    """Wraps a predictor of rank-normalised targets; maps its predictions to the scores' units
    by the least-squares line of the training scores on the training targets."""

    def __init__(self, fit_predict: Callable[[list, np.ndarray], Callable[[list], np.ndarray]]):
        self._fit_predict = fit_predict
        self._predict: Callable[[list], np.ndarray] | None = None
        self._a, self._b = 1.0, 0.0

    def fit(self, archs: list, y: np.ndarray) -> _AffineToScores:
        self._predict = self._fit_predict(archs, y)
        z = normalize_scores(y)
        self._a, self._b = np.polyfit(z, y, 1)
        return self

    def predict(self, archs: list) -> np.ndarray:
        assert self._predict is not None
        return self._a * self._predict(archs) + self._b


def _sklearn_like(make: Callable[[], Any]) -> Callable[[list, np.ndarray], Callable]:
    def fit_predict(archs: list, y: np.ndarray) -> Callable[[list], np.ndarray]:
        return make().fit(archs, y).predict

    return fit_predict


def _gcn(seed: int) -> Callable[[list, np.ndarray], Callable]:
    def fit_predict(archs: list, y: np.ndarray) -> Callable[[list], np.ndarray]:
        model = train_from_scratch(archs, y, steps=200, seed=seed)

        def predict(test: list) -> np.ndarray:
            with torch.no_grad():
                return model(*model.inputs(test)).numpy().astype(np.float64)

        return predict

    return fit_predict


def make_predictor(name: str, seed: int) -> Any:
    """A fresh predictor ``name`` with ``fit(archs, y)`` and ``predict(archs)`` in accuracy units."""
    if name in FAMILY_PREDICTORS:
        return FAMILY_PREDICTORS[name](seed=seed)
    if name == "random_forest":
        return _AffineToScores(_sklearn_like(lambda: RandomForestPredictor(seed=seed, n_jobs=1)))
    if name == "lightgbm":
        return _AffineToScores(_sklearn_like(lambda: LightGBMPredictor(seed=seed)))
    if name == "gcn":
        return _AffineToScores(_gcn(seed))
    raise ValueError(f"unknown predictor {name!r}; choose from {PREDICTORS}.")


PREDICTORS = (*FAMILY_PREDICTORS, "random_forest", "lightgbm", "gcn")


def scores(pred: np.ndarray, true: np.ndarray) -> dict[str, float]:
    """Kendall, Spearman, Pearson and sparse Kendall tau (predictions rounded to 0.1)."""
    if not np.isfinite(pred).all():
        return dict.fromkeys(METRICS, float("nan"))
    rounded = np.round(pred, 1)
    out = {}
    for key, p, fn in (
        ("kendall", pred, kendalltau),
        ("spearman", pred, spearmanr),
        ("pearson", pred, pearsonr),
        ("sparse_kendall", rounded, kendalltau),
    ):
        out[key] = 0.0 if np.ptp(p) == 0 else float(fn(p, true)[0])  # constant: no order
    return out


def run_one(
    archs: Sequence,
    y: np.ndarray,
    sizes: Sequence[int],
    seed: int,
    predictors: Sequence[str],
    skip: set[tuple[str, int]],
    dataset: str,
) -> list[dict[str, Any]]:
    """Every (size, predictor) of one dataset and seed: timing and scores on 1000 test cells."""
    perm = np.random.default_rng(seed).permutation(len(archs))
    test, pool = perm[:N_TEST], perm[N_TEST:]
    a_te, y_te = [archs[i] for i in test], y[test]
    rows = []
    for size in sizes:
        tr = pool[:size]
        a_tr, y_tr = [archs[i] for i in tr], y[tr]
        for name in predictors:
            if (name, size) in skip:
                continue
            model = make_predictor(name, seed)
            t0, c0 = time.perf_counter(), time.process_time()
            model.fit(a_tr, y_tr)
            fit_s, fit_cpu = time.perf_counter() - t0, time.process_time() - c0
            t0, c0 = time.perf_counter(), time.process_time()
            pred = np.asarray(model.predict(a_te), dtype=np.float64)
            query_s = (time.perf_counter() - t0) / len(a_te)
            query_cpu = (time.process_time() - c0) / len(a_te)
            row = {
                "dataset": dataset,
                "size": size,
                "seed": seed,
                "predictor": name,
                "fit_s": fit_s,
                "query_s_per_arch": query_s,
                "fit_cpu_s": fit_cpu,
                "query_cpu_s_per_arch": query_cpu,
                **scores(pred, y_te),
            }
            rows.append(row)
            print(
                f"{dataset} n={size} seed={seed} {name}: tau={row['kendall']:.3f} "
                f"fit={fit_s:.3f}s query={query_s * 1e6:.1f}us",
                flush=True,
            )
    return rows


def summarise(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """``{dataset: {predictor: {size: {metric: mean, metric_std, fit_s, query_s_per_arch, seeds}}}}``
    (and the CPU times where every run of the cell recorded them)."""
    groups: dict[tuple[str, str, int], list[dict[str, Any]]] = {}
    for r in runs:
        groups.setdefault((r["dataset"], r["predictor"], r["size"]), []).append(r)
    out: dict[str, Any] = {}
    for (ds, name, size), rs in sorted(
        groups.items(), key=lambda kv: (kv[0][0], kv[0][1], kv[0][2])
    ):
        cell: dict[str, Any] = {"seeds": len(rs)}
        for m in (*METRICS, *TIMES):
            if not all(m in r for r in rs):  # runs made before the CPU times were recorded
                continue
            vals = np.array([r[m] for r in rs], dtype=np.float64)
            cell[m] = float(np.nanmean(vals))
            if m in METRICS:
                cell[f"{m}_std"] = float(np.nanstd(vals))
        out.setdefault(ds, {}).setdefault(name, {})[str(size)] = cell
    return out


def plot(summary: dict[str, Any], path: Any) -> None:
    """Kendall tau against initialisation time, one line per predictor, one panel per dataset."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    datasets = list(summary)
    fig, axes = plt.subplots(1, len(datasets), figsize=(5 * len(datasets), 4), squeeze=False)
    for ax, ds in zip(axes[0], datasets):
        for name, by_size in summary[ds].items():
            sizes = sorted(by_size, key=int)
            xs = [by_size[s]["fit_s"] for s in sizes]
            ys = [by_size[s]["kendall"] for s in sizes]
            ax.plot(xs, ys, marker="o", label=name)
            for s, x, yv in zip(sizes, xs, ys):
                if s in ("10", "100", "1000"):
                    ax.annotate(s, (x, yv), fontsize=6, xytext=(2, 2), textcoords="offset points")
        ax.set_xscale("log")
        ax.set_xlabel("initialisation (fit) time [s], one core")
        ax.set_ylabel("Kendall tau (1000 test cells)")
        ax.set_title(f"NB201 {ds}")
        ax.grid(alpha=0.3)
    axes[0][-1].legend(fontsize=7, loc="lower right")
    fig.suptitle("Kendall tau vs initialisation time (labels: training-set size)")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def table(summary: dict[str, Any], sizes: Sequence[int]) -> str:
    lines = []
    for ds, by_pred in summary.items():
        cols = [s for s in sizes if any(str(s) in v for v in by_pred.values())]
        lines.append(
            f"**{ds}**: mean Kendall tau (sparse Kendall tau) over seeds, by training-set size; "
            "fit time [s] and query time [us/arch] at the largest size run\n"
        )
        lines.append(
            "| predictor | " + " | ".join(f"n={s}" for s in cols) + " | fit s (n) | query us/arch |"
        )
        lines.append("|---|" + "---|" * (len(cols) + 2))
        for name, by_size in by_pred.items():
            cells = [
                f"{by_size[str(s)]['kendall']:.3f} ({by_size[str(s)]['sparse_kendall']:.3f})"
                if str(s) in by_size
                else "--"
                for s in cols
            ]
            big = max(by_size, key=int)
            lines.append(
                f"| {name} | "
                + " | ".join(cells)
                + f" | {by_size[big]['fit_s']:.3g} ({big}) | {by_size[big]['query_s_per_arch'] * 1e6:.3g} |"
            )
        lines.append("")
    return "\n".join(lines)


def merge_runs(
    path: Any,
    runs: list[dict[str, Any]],
    this: dict[str, Any],
    skip: set[tuple[str, int]],
    merge: bool,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[str]]:
    """The runs to save, the commands that made them and the (predictor, size) pairs skipped.

    With ``merge``, the saved runs of cells this command did not run are kept, with their
    commands (older files list bare command strings: they get that file's commit).
    """
    skipped = {f"{n}:{s}" for n, s in skip}
    if not (merge and path.exists()):
        return runs, [this], sorted(skipped)
    done = {(r["dataset"], r["size"], r["seed"], r["predictor"]) for r in runs}
    old = json.loads(path.read_text())
    old_meta = old.get("meta", {})
    kept = [
        r
        for r in old.get("runs", [])
        if (r["dataset"], r["size"], r["seed"], r["predictor"]) not in done
    ]
    commands = [
        c
        if isinstance(c, dict)
        else {
            "command": c,
            "commit": old_meta.get("commit"),
            "omp_num_threads": old_meta.get("omp_num_threads"),
        }
        for c in old_meta.get("commands", [])
    ]
    ran = {(r["predictor"], r["size"]) for r in runs}
    for item in old_meta.get("skipped", []):
        name, _, size = item.partition(":")
        if (name, int(size)) not in ran:
            skipped.add(item)
    return kept + runs, [*commands, this], sorted(skipped)


def _seed_counts(runs: list[dict[str, Any]]) -> str:
    """How many seeds each predictor's (dataset, size) cells hold, in words."""
    cells: dict[str, dict[tuple[str, int], set[int]]] = {}
    for r in runs:
        cells.setdefault(r["predictor"], {}).setdefault((r["dataset"], r["size"]), set()).add(
            r["seed"]
        )
    counts = {}
    for name, by_cell in sorted(cells.items()):
        n = sorted({len(seeds) for seeds in by_cell.values()})
        counts[name] = str(n[0]) if len(n) == 1 else f"{n[0]}-{n[-1]}"
    if len(set(counts.values())) == 1:
        return f"{next(iter(counts.values()))} seeds for every predictor"
    return "seeds: " + ", ".join(f"{name} {c}" for name, c in counts.items())


def describe(result: dict[str, Any]) -> str:
    """The RESULTS.md paragraph above the tables: provenance and protocol."""
    parts = []
    for c in result["meta"]["commands"]:
        env = f"OMP_NUM_THREADS={c['omp_num_threads']} " if c.get("omp_num_threads") else ""
        extra = f"commit {c.get('commit')}"
        if "load_average_at_start" in c:
            extra += f", load average {c['load_average_at_start']} on {c['cpus']} CPUs at start"
        parts.append(f"`{env}{c['command'].strip()}` ({extra})")
    skipped = result["meta"]["skipped"]
    skipped_text = (
        ", ".join(f"`{s.partition(':')[0]}` at n={s.partition(':')[2]}" for s in skipped)
        or "nothing"
    )
    return (
        "; ".join(parts) + ". One thread per run. NAS-Bench-201, target the 200-epoch validation "
        f"accuracy; per seed {N_TEST} random test cells and nested training sets from the other "
        "cells (White et al. 2021's stand-alone protocol); "
        f"{_seed_counts(result['runs'])} (per dataset and training-set size). Fit time "
        "includes encoding the training cells; query time is `predict` on the test cells "
        "divided by their number; both are wall times (the JSON also holds CPU times for the "
        "runs that recorded them). Sparse Kendall tau: predictions rounded to 0.1 accuracy "
        "points. Random forest, LightGBM and the GCN learn rank-normalised targets and are "
        "mapped to accuracy units by an affine fit on the training set. A constant prediction "
        "scores 0 on every correlation: NGBoost's below 60 training cells, where NASLib's "
        "minimum leaf size (min(n // 2, 15)) exceeds half of each boosting round's mini-batch "
        "(0.508 n), so no tree splits. Skipped: "
        f"{skipped_text}. Plot: `benchmarks/results/{NAME}.png`."
    )


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--datasets", nargs="*", default=list(DATASETS), choices=list(DATASETS))
    p.add_argument("--sizes", nargs="*", type=int, default=list(SIZES))
    p.add_argument("--seeds", type=int, default=10, help="seeds 0 .. N-1")
    p.add_argument("--predictors", nargs="*", default=list(PREDICTORS), choices=list(PREDICTORS))
    p.add_argument(
        "--skip",
        nargs="*",
        default=[],
        metavar="PREDICTOR:SIZE",
        help="leave these (predictor, size) pairs out, e.g. gp:1000",
    )
    p.add_argument("--data-root", default=None)
    p.add_argument(
        "--merge",
        action="store_true",
        help="keep the saved runs of other (dataset, size, seed, predictor) cells",
    )
    p.add_argument(
        "--smoke-test", action="store_true", help="cifar10, sizes 10 and 20, 2 seeds; nothing saved"
    )
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    if args.smoke_test:
        args.datasets, args.sizes, args.seeds = ["cifar10"], [10, 20], 2
        if importlib.util.find_spec("ngboost") is None:  # an extra of its own, not in `all`
            args.predictors = [n for n in args.predictors if n != "ngboost"]
            print("ngboost is not installed (pip install 'nas-meta-tune[ngboost]'): left out")
    skip = set()
    for item in args.skip:
        name, _, size = item.partition(":")
        if name not in PREDICTORS or not size.isdigit():
            p.error(f"--skip takes PREDICTOR:SIZE, but got {item!r}.")
        skip.add((name, int(size)))
    started, commit = time.perf_counter(), head_commit()
    load_at_start = os.getloadavg()[0]
    bench = load_benchmark("nb201", data_root=args.data_root)
    runs: list[dict[str, Any]] = []
    for ds in args.datasets:
        archs, y = bench.table(DATASETS[ds], "valid")
        ok = np.isfinite(y)
        archs, y = [a for a, k in zip(archs, ok) if k], y[ok]
        for seed in range(args.seeds):
            runs.extend(run_one(archs, y, args.sizes, seed, args.predictors, skip, ds))
    summary = summarise(runs)
    text = table(summary, args.sizes)
    print(text)
    if args.smoke_test:
        return 0
    cmd = "python benchmarks/predictor_families.py " + " ".join(
        sys.argv[1:] if argv is None else argv
    )
    this = {
        "command": cmd,
        "commit": commit,
        "omp_num_threads": os.environ.get("OMP_NUM_THREADS"),
        "load_average_at_start": round(load_at_start, 2),
        "cpus": os.cpu_count(),
    }
    runs, commands, skipped = merge_runs(RESULTS / f"{NAME}.json", runs, this, skip, args.merge)
    summary = summarise(runs)
    result = {
        "meta": {
            **meta(cmd, started, commit),
            "commands": commands,
            "threads": 1,
            "omp_num_threads": this["omp_num_threads"],
            "n_test": N_TEST,
            "target": "nb201 'valid': 200-epoch validation accuracy (%), mean over seeds",
            "skipped": skipped,
        },
        "summary": summary,
        "runs": runs,
    }
    write_json(NAME, result)
    plot(summary, RESULTS / f"{NAME}.png")
    update_results_md(
        SECTION, describe(result) + "\n\n" + table(summary, sorted({r["size"] for r in runs}))
    )
    print(json.dumps(result["meta"]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
