"""OMNI-style combined predictor vs its parts on NAS-Bench-201 (issue 6).

Data (all real): NASLib's precomputed zero-cost proxies of 725 NB201 cells per dataset
(``naslib_zc_transnas/naslib_zc_subsets.parquet``: 11 proxies, synflow is absent for NB201),
joined on the official cell string with ``nb201_tabular``: the target is the 200-epoch validation
accuracy (mean over seeds), the learning-curve feature the accuracy after NB201's 12-epoch
schedule (``valid_12``, a cheap low-fidelity run; White et al. used SoTL-E, the training loss of
an early epoch, which the tables do not hold).

For each dataset and seed, K cells are drawn as the evaluated ones and every predictor is scored
by Spearman and Kendall tau on the other cells. Predictors: single features used as scores
(``jacov``, ``nwot``, ``snip``, ``valid_12``: no training), LightGBM on the adjacency encoding
(``lgb_encoding``), and :class:`~nas_meta_tune.predictors.omni.OMNIPredictor` with White et al.'s
choice (encoding + jacob_cov + the learning-curve feature: ``omni``), without the curve feature
(``omni_no_lc``), and with every proxy (``omni_all``).

Run:
    python benchmarks/omni.py --seeds 10
Results: benchmarks/results/omni.json and a RESULTS.md section.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np
from _common import meta, update_results_md, write_json
from scipy.stats import kendalltau, spearmanr

from nas_meta_tune import get_space, load_benchmark
from nas_meta_tune.benchmarks import resolve_data_file
from nas_meta_tune.benchmarks.naslib import FILE as NASLIB_FILE
from nas_meta_tune.benchmarks.naslib import PROXIES as NASLIB_PROXIES
from nas_meta_tune.predictors import LightGBMPredictor
from nas_meta_tune.predictors.omni import OMNIPredictor

PROXIES = tuple(p for p in NASLIB_PROXIES if p != "synflow")  # NASLib has no synflow for NB201
TASKS = {"cifar10": "cifar10-valid", "cifar100": "cifar100", "ImageNet16-120": "ImageNet16-120"}
SINGLE = ("jacov", "nwot", "snip", "valid_12")
METHODS = (*SINGLE, "lgb_encoding", "omni_no_lc", "omni", "omni_all")


def load(task: str, data_root: str | None) -> tuple[list, np.ndarray, dict[str, np.ndarray]]:
    """(archs, 200-epoch validation accuracy, {feature: values}) of the NASLib cells of ``task``."""
    import pandas as pd

    df = pd.read_parquet(resolve_data_file(NASLIB_FILE, data_root))
    df = df[(df["search_space"] == "nasbench201") & (df["task"] == task)]
    space = get_space("nb201")
    bench = load_benchmark("nb201", data_root=data_root, source="parquet")
    archs = [space.from_string(s) for s in df["canonical_arch"]]
    target = bench.values(archs, TASKS[task], "valid")
    feats = {p: df[p].to_numpy(np.float64) for p in PROXIES}
    feats["valid_12"] = bench.values(archs, TASKS[task], "valid_12")
    ok = np.isfinite(target)
    return [a for a, k in zip(archs, ok) if k], target[ok], {k: v[ok] for k, v in feats.items()}


def evaluate(archs, y, feats, k: int, seed: int) -> dict[str, tuple[float, float]]:
    rng = np.random.default_rng(seed)
    idx = rng.permutation(len(archs))
    tr, te = idx[:k], idx[k:]
    a_tr, a_te = [archs[i] for i in tr], [archs[i] for i in te]
    out = {}
    for m in METHODS:
        if m in SINGLE:
            pred = feats[m][te]
        elif m == "lgb_encoding":
            pred = LightGBMPredictor(seed=seed).fit(a_tr, y[tr]).predict(a_te)
        else:
            names = {"omni_no_lc": ("jacov",), "omni": ("jacov", "valid_12")}.get(
                m, (*PROXIES, "valid_12")
            )
            f_tr = {n: feats[n][tr] for n in names}
            f_te = {n: feats[n][te] for n in names}
            pred = (
                OMNIPredictor(seed=seed)
                .fit(a_tr, y[tr], features=f_tr)
                .predict(a_te, features=f_te)
            )
        out[m] = (float(spearmanr(pred, y[te]).statistic), float(kendalltau(pred, y[te]).statistic))
    return out


def _table(results: dict, ks: list[int]) -> str:
    rows = ["| dataset | K | " + " | ".join(METHODS) + " |", "|---|---|" + "---|" * len(METHODS)]
    for task, by_k in results.items():
        for k in ks:
            r = by_k[str(k)]
            cells = [f"{r[m]['spearman']:.3f} / {r[m]['kendall']:.3f}" for m in METHODS]
            rows.append(f"| {task} | {k} | " + " | ".join(cells) + " |")
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--tasks", nargs="*", default=list(TASKS))
    p.add_argument("--ks", nargs="*", type=int, default=[20, 100])
    p.add_argument("--seeds", type=int, default=10)
    p.add_argument("--data-root", default=None)
    p.add_argument("--smoke-test", action="store_true", help="one dataset, one seed, nothing saved")
    args = p.parse_args(argv)
    if args.smoke_test:
        args.tasks, args.ks, args.seeds = ["cifar10"], [20], 1
    started = time.perf_counter()
    results: dict = {}
    for task in args.tasks:
        archs, y, feats = load(task, args.data_root)
        results[task] = {}
        for k in args.ks:
            runs = [evaluate(archs, y, feats, k, s) for s in range(args.seeds)]
            results[task][str(k)] = {
                m: {
                    "spearman": float(np.mean([r[m][0] for r in runs])),
                    "spearman_std": float(np.std([r[m][0] for r in runs])),
                    "kendall": float(np.mean([r[m][1] for r in runs])),
                    "seeds": len(runs),
                    "n_test": len(archs) - k,
                }
                for m in METHODS
            }
            print(
                task,
                k,
                {m: round(v["spearman"], 3) for m, v in results[task][str(k)].items()},
                flush=True,
            )
    table = _table(results, args.ks)
    print(table)
    if args.smoke_test:
        return 0
    cmd = "python benchmarks/omni.py " + " ".join(sys.argv[1:] if argv is None else argv)
    results["meta"] = {
        **meta(cmd, started),
        "ks": args.ks,
        "seeds": args.seeds,
        "methods": list(METHODS),
    }
    write_json("omni", results)
    update_results_md(
        "OMNI-style combined predictor on NAS-Bench-201 (issue 6)",
        f"`{cmd.strip()}` (commit {results['meta']['commit']}): mean Spearman / Kendall tau over "
        f"{args.seeds} seeds on the cells not among the K evaluated ones (NASLib's 725 cells per "
        "dataset; target: 200-epoch validation accuracy; `valid_12`: the 12-epoch schedule's "
        "accuracy; single features are used as scores without training).\n\n" + table,
    )
    print(json.dumps(results["meta"]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
