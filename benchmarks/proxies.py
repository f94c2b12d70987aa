"""Zero-cost proxies on NAS-Bench-201: rank correlation with the real trained accuracies.

For a sample of NB201 cells, every cell's network (:func:`nas_meta_tune.oneshot.build_nb201`,
``--width`` channels in the first stage, ``--cells`` cells per stage, 10 classes) is initialised
from ``--seed`` and scored by each proxy; Spearman and Kendall correlations are taken against

* ``nb201/cifar10-valid``: NB201's 200-epoch CIFAR-10 validation accuracy (mean of the seeds);
* ``analognas/<task>``: AnalogNAS-Bench's CIFAR-10 accuracy of the same cells (digital baseline,
  analog, analog after 30 days of drift), when the ``analog-nasbench`` package is installed.

INPUTS. CIFAR-10 images are not available offline here, so:

* the data-free proxies (synflow, zen, params, flops) are computed exactly as defined (they use
  only the input shape, 3x32x32);
* the data-dependent proxies (snip, grasp, gradnorm, fisher, jacob_cov, naswot, ntk,
  linear_regions) are computed on a STAND-IN batch of standard Gaussian images with random
  labels, NOT CIFAR-10, and reported under keys ``<proxy>@gaussian-standin``; they show what the proxies do without data, not their
  published quality;
* as a reference, ``naslib:<proxy>`` rows report the correlation of NASLib's PRECOMPUTED values
  (real, computed on CIFAR-10 by NASLib; ``naslib_zc_transnas/naslib_zc_subsets.parquet`` under
  the data root, 725 NB201 cells) for the cells of the sample that NASLib covers. The sample
  starts with NASLib's cells (in random order), then other random cells, so a run of up to 725
  cells is entirely paired with NASLib's; our proxies' ``nb201/cifar10-valid@naslib-archs``
  target is taken on exactly those cells.

Run (full): ``python benchmarks/proxies.py --archs 1000 --workers 2``
Results: ``benchmarks/results/proxies.json`` and a RESULTS.md section; ``--out DIR`` writes the
JSON and the section's markdown into DIR instead; ``--smoke-test`` runs a tiny configuration and
writes nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
from _common import meta, refresh_oneshot_summary, update_results_md, write_json

ALL_PROXIES = (
    "synflow",
    "zen",
    "params",
    "flops",
    "snip",
    "grasp",
    "gradnorm",
    "fisher",
    "jacob_cov",
    "naswot",
    "ntk",
    "linear_regions",
)
NASLIB_FILE = "naslib_zc_transnas/naslib_zc_subsets.parquet"
NASLIB_PROXIES = (
    "flops",
    "params",
    "snip",
    "grasp",
    "grad_norm",
    "fisher",
    "jacov",
    "nwot",
    "plain",
    "epe_nas",
    "l2_norm",
)
ANALOG_TASKS = ("baseline", "analog", "analog_drift_2592000")
STANDIN = "gaussian-standin"
TARGET = "nb201/cifar10-valid"
PAIRED = "nb201/cifar10-valid@naslib-archs"


# --------------------------------------------------------------------------------- scoring
def _score_chunk(job: dict) -> dict:
    """Score a chunk of cells (runs in a worker process with one torch thread)."""
    import functools

    import torch

    from nas_meta_tune.oneshot import build_nb201
    from nas_meta_tune.proxies import gaussian_standin_batch, score_architectures

    torch.set_num_threads(1)
    batch = gaussian_standin_batch(job["batch_size"], (3, 32, 32), 10, seed=job["seed"])
    builder = functools.partial(build_nb201, C=job["width"], N=job["cells"])
    timings: dict[str, list[float]] = {}
    scores = score_architectures(
        "nb201",
        job["archs"],
        job["proxies"],
        builder=builder,
        batch=batch,
        device=job["device"],
        seed=job["seed"],
        timings=timings,
    )
    return {"scores": scores, "timings": timings}


def score_all(
    archs: list[str], proxies: list[str], args: argparse.Namespace
) -> tuple[np.ndarray, dict[str, list[float]]]:
    chunks = np.array_split(np.arange(len(archs)), max(1, min(len(archs), 4 * args.workers)))
    jobs = [
        {
            "archs": [archs[i] for i in idx],
            "proxies": proxies,
            "width": args.width,
            "cells": args.cells,
            "batch_size": args.batch_size,
            "seed": args.seed,
            "device": args.device,
        }
        for idx in chunks
        if len(idx)
    ]
    if args.workers <= 1:
        results = []
        for k, job in enumerate(jobs):
            results.append(_score_chunk(job))
            print(f"  chunk {k + 1}/{len(jobs)} done", file=sys.stderr, flush=True)
    else:
        import multiprocessing as mp

        with ProcessPoolExecutor(args.workers, mp_context=mp.get_context("spawn")) as ex:
            results = list(ex.map(_score_chunk, jobs))
    scores = np.concatenate([r["scores"] for r in results], axis=0)
    timings: dict[str, list[float]] = {}
    for r in results:
        for k, v in r["timings"].items():
            timings.setdefault(k, []).extend(v)
    return scores, timings


# ----------------------------------------------------------------------------- statistics
def correlations(x: np.ndarray, y: np.ndarray) -> dict:
    from scipy.stats import kendalltau, spearmanr

    ok = ~np.isnan(x) & ~np.isnan(y)  # +-inf are ranked as the extremes they are
    n = int(ok.sum())
    if n < 3 or np.unique(x[ok]).size < 2:
        return {"spearman": None, "kendall": None, "n": n}
    return {
        "spearman": round(float(spearmanr(x[ok], y[ok])[0]), 4),
        "kendall": round(float(kendalltau(x[ok], y[ok])[0]), 4),
        "n": n,
    }


def load_targets(
    archs: list[str], data_root: str | None
) -> tuple[dict[str, np.ndarray], list[str]]:
    from nas_meta_tune.benchmarks import load_benchmark

    notes = []
    nb = load_benchmark("nb201", data_root=data_root)
    targets = {TARGET: nb.values(nb.space.archs(archs), "cifar10-valid")}
    try:
        an = load_benchmark("analognas")
        for task in ANALOG_TASKS:
            targets[f"analognas/{task}"] = an.values(an.space.archs(archs), task)
    except (ModuleNotFoundError, FileNotFoundError) as e:
        notes.append(f"AnalogNAS targets skipped: {e}")
    return targets, notes


def load_naslib(data_root: str | None) -> dict[str, dict[str, float]]:
    """NASLib's precomputed NB201 CIFAR-10 proxy values: official arch string -> {proxy: value}."""
    import pandas as pd

    from nas_meta_tune.benchmarks import resolve_data_file

    df = pd.read_parquet(resolve_data_file(NASLIB_FILE, data_root))
    df = df[(df["search_space"] == "nasbench201") & (df["task"] == "cifar10")]
    return {
        row["canonical_arch"]: {p: float(row[p]) for p in NASLIB_PROXIES if p in df.columns}
        for _, row in df.iterrows()
    }


def sample_archs(n: int, seed: int, naslib_archs: list[str]) -> list[str]:
    from nas_meta_tune.spaces import get_space

    rng = np.random.default_rng(seed)
    first = [naslib_archs[i] for i in rng.permutation(len(naslib_archs))]
    seen = set(first)
    rest = [a.to_string() for a in get_space("nb201").enumerate()]
    rest = [rest[i] for i in rng.permutation(len(rest)) if rest[i] not in seen]
    return (first + rest)[:n]


# ------------------------------------------------------------------------------------ main
def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--archs", type=int, default=1000, help="number of NB201 cells")
    p.add_argument(
        "--proxies", default="all", help=f"comma-separated subset of {','.join(ALL_PROXIES)}"
    )
    p.add_argument("--width", type=int, default=16, help="channels of the first stage (C)")
    p.add_argument("--cells", type=int, default=5, help="cells per stage (N)")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--workers", type=int, default=1, help="processes (one torch thread each)")
    p.add_argument("--device", default="cpu")
    p.add_argument("--data-root", default=None)
    p.add_argument("--out", default=None, help="write proxies.json and RESULTS_section.md here")
    p.add_argument("--smoke-test", action="store_true", help="tiny run, no files written")
    args = p.parse_args(argv)
    if args.smoke_test:
        args.archs, args.width, args.cells, args.batch_size = 8, 4, 1, 8
    proxies = list(ALL_PROXIES) if args.proxies == "all" else args.proxies.split(",")
    bad = [x for x in proxies if x not in ALL_PROXIES]
    if bad:
        p.error(f"unknown proxies {bad}; choose from {list(ALL_PROXIES)}")
    if args.archs < 3 or args.width < 1 or args.cells < 1 or args.workers < 1:
        p.error("need --archs >= 3, --width >= 1, --cells >= 1, --workers >= 1")
    started = time.perf_counter()
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    import torch

    torch.set_num_threads(1)

    naslib = load_naslib(args.data_root)
    archs = sample_archs(args.archs, args.seed, sorted(naslib))
    targets, notes = load_targets(archs, args.data_root)
    print(f"scoring {len(archs)} cells with {proxies}", file=sys.stderr, flush=True)
    scores, timings = score_all(archs, proxies, args)

    from nas_meta_tune.proxies import DATA_FREE

    in_naslib = np.array([a in naslib for a in archs])
    results: dict[str, dict] = {}
    inputs: dict[str, str] = {}
    for j, name in enumerate(proxies):
        key = name if name in DATA_FREE else f"{name}@{STANDIN}"
        inputs[key] = (
            "data-free (input shape only), exact"
            if name in DATA_FREE
            else "STAND-IN batch of Gaussian images with random labels, NOT CIFAR-10"
        )
        row = {t: correlations(scores[:, j], v) for t, v in targets.items()}
        row[PAIRED] = correlations(scores[in_naslib, j], targets[TARGET][in_naslib])
        results[key] = row
    for name in NASLIB_PROXIES:
        vals = np.array([naslib[a][name] if a in naslib else np.nan for a in archs])
        if np.isnan(vals).all():
            continue
        key = f"naslib:{name}"
        inputs[key] = "NASLib's PRECOMPUTED value (real CIFAR-10 minibatch, NASLib's code)"
        results[key] = {t: correlations(vals, v) for t, v in targets.items()}
    ms = {
        k: {
            "mean": round(1000 * float(np.mean(v)), 2),
            "median": round(1000 * float(np.median(v)), 2),
        }
        for k, v in timings.items()
    }
    settings = {
        "archs": len(archs),
        "archs_in_naslib_subset": int(in_naslib.sum()),
        "width": args.width,
        "cells": args.cells,
        "batch_size": args.batch_size,
        "seed": args.seed,
        "workers": args.workers,
        "device": args.device,
        "torch_threads_per_worker": 1,
    }
    cmd = "python benchmarks/proxies.py " + " ".join(sys.argv[1:] if argv is None else argv)
    info = meta(cmd.strip(), started)
    info.update(settings=settings, inputs=inputs, ms_per_arch=ms, notes=notes)
    payload = {**results, "meta": info}
    body = markdown(results, inputs, ms, settings, cmd.strip())
    if args.smoke_test:
        print(json.dumps(payload, default=float))
        return 0
    if args.out:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        (out / "proxies.json").write_text(json.dumps(payload, indent=2) + "\n")
        (out / "RESULTS_section.md").write_text(body + "\n")
        print(f"wrote {out / 'proxies.json'}", file=sys.stderr)
    else:
        write_json("proxies", payload)
        update_results_md("Zero-cost proxies on NB201", body)
        refresh_oneshot_summary()  # oneshot.json's "proxies" summary (issue 6's results format)
    print(body)
    return 0


def _short(label: str) -> str:
    if label.startswith("data-free"):
        return "data-free, exact"
    if label.startswith("STAND-IN"):
        return "Gaussian stand-in, NOT CIFAR-10"
    return "NASLib precomputed, CIFAR-10"


def markdown(results: dict, inputs: dict, ms: dict, settings: dict, cmd: str) -> str:
    def f(r: dict | None) -> str:
        if not r or r["spearman"] is None:
            return "-"
        return f"{r['spearman']:.3f} / {r['kendall']:.3f} ({r['n']})"

    analog = [
        t for t in (f"analognas/{t}" for t in ANALOG_TASKS) if any(t in r for r in results.values())
    ]
    lines = [
        f"Command: `{cmd}` ({settings['archs']} NB201 cells, {settings['archs_in_naslib_subset']} of "
        f"them in NASLib's precomputed subset; networks C={settings['width']}, N={settings['cells']}, "
        f"seed {settings['seed']}; batch {settings['batch_size']}; 1 torch thread per worker, "
        f"{settings['device']}).",
        "",
        "Spearman / Kendall (n) against NB201 CIFAR-10 200-epoch validation accuracy and AnalogNAS-Bench "
        "accuracies. **Inputs**: data-free proxies are exact; rows marked `@gaussian-standin` were computed "
        "on Gaussian noise images with random labels (**not CIFAR-10**: CIFAR-10 is not available offline "
        "here); `naslib:` rows are NASLib's **precomputed** values (computed by NASLib on real CIFAR-10), "
        "on the sampled cells NASLib covers.",
        "",
        "| proxy | input | NB201 C10 valid | same, NASLib's cells | "
        + " | ".join(analog)
        + " | ms/arch (1 thread) |",
        "|---|---|---|---|" + "---|" * len(analog) + "---|",
    ]
    for key, row in results.items():
        name = key.split("@")[0]
        t = ms.get(name)
        lines.append(
            f"| {key} | {_short(inputs[key])} | {f(row.get(TARGET))} | {f(row.get(PAIRED))} | "
            + " | ".join(f(row.get(a)) for a in analog)
            + f" | {t['median'] if t and not key.startswith('naslib:') else '-'} |"
        )
    if "build" in ms:
        lines += ["", f"Network construction: {ms['build']['median']} ms per cell (median)."]
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
