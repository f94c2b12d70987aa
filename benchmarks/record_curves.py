"""Record real GNN learning curves: NAS-Bench-Graph architectures trained on Cora and CiteSeer.

A seeded sample of ``--archs`` unique ``nasbench_graph`` architectures is trained with the
benchmark's protocol (``nas_meta_tune.oneshot.train_gnn``, sparse input features) for
``--epochs`` epochs on every dataset with seed 0; the first ``--repeat-archs`` of them are also
trained with seeds 1 .. ``--repeat-seeds - 1`` (seed-to-seed spread). Jobs run in
``--workers`` processes with one torch thread each.

Resumable across machines: every finished run is saved at once as a small compressed file (about
3 KB) under ``--parts`` (default ``benchmarks/data/gnn_curves_parts_e<epochs>_a<arch-seed>/``,
committed with the repository, so a recording spread over several sessions or machines keeps what
each one trained); a re-run skips what is there. The compact ``--out`` file (default
``benchmarks/data/gnn_curves.npz``) is written from the parts once every run is done; until then
``partial.npz`` beside the parts (git-ignored) is rewritten every ``--merge-every`` runs, so an
interrupted run leaves a usable file that nothing picks up by mistake.

The npz holds (``R`` runs, ``A`` architectures, ``D`` datasets, ``E`` epochs):
``archs`` / ``trained_archs`` (official / canonical strings) and ``arch_keys`` [A];
``datasets`` [D]; ``run_arch``, ``run_dataset``, ``run_seed``, ``run_epochs``, ``run_params`` [R];
float32 curves [R, E] ``train_loss``, ``train_acc``, ``valid_loss``, ``valid_acc``, ``test_acc``,
``epoch_time`` (accuracies in %, NaN after an early stop); float32 ``bench_valid``,
``bench_test`` [A, D] (NAS-Bench-Graph's values, %); ``meta``, a JSON string with the command,
the protocol, library versions and the rank correlations of the recorded final and best validation
accuracies (mean over seeds per architecture) with the benchmark's validation accuracy.

Run:
    OMP_NUM_THREADS=1 python benchmarks/record_curves.py --archs 300 --epochs 100 --workers 2
    python benchmarks/record_curves.py --smoke-test     # 3 archs x 2 epochs, into a temp dir
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, replace
from multiprocessing import get_context
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
CURVES = ("train_loss", "train_acc", "valid_loss", "valid_acc", "test_acc", "epoch_time")


# ----------------------------------------------------------------------------- worker side
def _init_worker() -> None:
    import torch

    torch.set_num_threads(1)


def _run_job(job: dict) -> dict:
    """Train one (architecture, dataset, seed); returns float32 curves and scalars."""
    from nas_meta_tune.oneshot import load_planetoid, train_gnn

    ds = load_planetoid(job["dataset"], job["data_root"], cache_dir=job["cache_dir"])
    run = train_gnn(
        job["arch"], ds, epochs=job["epochs"], seed=job["seed"], device="cpu", sparse_features=True
    )
    out = {k: np.asarray(run[k], dtype=np.float32) for k in CURVES}
    out.update(params=run["params"], trained_arch=run["trained_arch"], wall=sum(run["epoch_time"]))
    return out


# ------------------------------------------------------------------------------- main side
def _part_path(parts: Path, job: dict) -> Path:
    return parts / f"{job['dataset']}__{job['key']}__s{job['seed']}.npz"


def _save_part(path: Path, job: dict, res: dict) -> None:
    tmp = path.with_name(path.stem + ".tmp.npz")
    np.savez_compressed(
        tmp,
        **{k: res[k] for k in CURVES},
        params=res["params"],
        wall=res["wall"],
        trained_arch=res["trained_arch"],
        arch=job["arch"],
    )
    os.replace(tmp, path)


def _rank_corr(x: np.ndarray, y: np.ndarray) -> dict[str, float]:
    from scipy.stats import kendalltau, spearmanr

    ok = np.isfinite(x) & np.isfinite(y)
    if ok.sum() < 3:
        return {"spearman": float("nan"), "kendall": float("nan"), "n": int(ok.sum())}
    return {
        "spearman": float(spearmanr(x[ok], y[ok]).statistic),
        "kendall": float(kendalltau(x[ok], y[ok]).statistic),
        "n": int(ok.sum()),
    }


def _versions() -> dict[str, str]:
    import importlib.metadata as md

    out = {"python": sys.version.split()[0]}
    for pkg in ("torch", "torch_geometric", "nas-meta-tune", "nas-bench-graph", "numpy"):
        try:
            out[pkg] = md.version(pkg)
        except md.PackageNotFoundError:
            out[pkg] = "not installed"
    return out


def merge(
    out: Path, parts: Path, archs: list, datasets: list[str], jobs: list[dict], meta: dict
) -> dict:
    """Write the compact npz from the part files of ``jobs``; returns the correlation summary."""
    from nas_meta_tune import load_benchmark

    bench = load_benchmark("nasbench_graph")
    E = meta["epochs"]
    done = [(j, _part_path(parts, j)) for j in jobs if _part_path(parts, j).is_file()]
    done.sort(key=lambda jp: (jp[0]["dataset_idx"], jp[0]["arch_idx"], jp[0]["seed"]))
    R = len(done)
    curves = {k: np.full((R, E), np.nan, dtype=np.float32) for k in CURVES}
    run_arch = np.zeros(R, np.int16)
    run_dataset = np.zeros(R, np.int8)
    run_seed = np.zeros(R, np.int16)
    run_epochs = np.zeros(R, np.int16)
    run_params = np.zeros(R, np.int32)
    trained = [""] * len(archs)
    wall = 0.0
    for r, (job, path) in enumerate(done):
        with np.load(path) as z:
            n = len(z["valid_acc"])
            for k in CURVES:
                curves[k][r, :n] = z[k][:E].astype(np.float32)
            run_params[r] = int(z["params"])
            wall += float(z["wall"])
            trained[job["arch_idx"]] = str(z["trained_arch"])
        run_arch[r], run_dataset[r] = job["arch_idx"], job["dataset_idx"]
        run_seed[r], run_epochs[r] = job["seed"], n

    A, D = len(archs), len(datasets)
    bench_valid = np.array(
        [[bench.query(a, d, "valid") for d in datasets] for a in archs], np.float32
    ).reshape(A, D)
    bench_test = np.array(
        [[bench.query(a, d, "test") for d in datasets] for a in archs], np.float32
    ).reshape(A, D)

    corr: dict[str, dict] = {}
    for di, d in enumerate(datasets):
        final = np.full(A, np.nan)
        best = np.full(A, np.nan)
        test = np.full(A, np.nan)
        spread = []
        for ai in range(A):
            rows = np.flatnonzero((run_arch == ai) & (run_dataset == di))
            if rows.size == 0:
                continue
            va = curves["valid_acc"][rows].astype(np.float64)
            last = va[np.arange(rows.size), run_epochs[rows] - 1]
            final[ai] = last.mean()
            best[ai] = np.nanmax(va, axis=1).mean()
            te = curves["test_acc"][rows].astype(np.float64)
            test[ai] = te[np.arange(rows.size), run_epochs[rows] - 1].mean()
            if rows.size > 1:
                spread.append(float(last.std(ddof=1)))
        corr[d] = {
            "final_valid_vs_bench_valid": _rank_corr(final, bench_valid[:, di]),
            "best_valid_vs_bench_valid": _rank_corr(best, bench_valid[:, di]),
            "final_test_vs_bench_test": _rank_corr(test, bench_test[:, di]),
            "mean_final_valid": float(np.nanmean(final)) if np.isfinite(final).any() else None,
            "mean_bench_valid": float(np.nanmean(bench_valid[np.isfinite(final), di]))
            if np.isfinite(final).any()
            else None,
            "seed_std_final_valid": float(np.mean(spread)) if spread else None,
            "archs_with_repeats": len(spread),
        }
    meta = {
        **meta,
        "runs": R,
        "runs_planned": len(jobs),
        "train_wall_s": round(wall, 1),  # summed over runs (parallel workers overlap)
        "s_per_100_epochs": {
            d: round(
                float(100 * np.nansum(curves["epoch_time"][run_dataset == di].astype(np.float64)))
                / max(int(run_epochs[run_dataset == di].sum()), 1),
                2,
            )
            for di, d in enumerate(datasets)
        },
        "correlation": corr,
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp.npz")
    np.savez_compressed(
        tmp,
        archs=np.array([a.to_string() for a in archs]),
        trained_archs=np.array(trained),
        arch_keys=np.array([int(a.key) for a in archs], np.int64),
        datasets=np.array(datasets),
        run_arch=run_arch,
        run_dataset=run_dataset,
        run_seed=run_seed,
        run_epochs=run_epochs,
        run_params=run_params,
        bench_valid=bench_valid,
        bench_test=bench_test,
        meta=np.array(json.dumps(meta)),
        **curves,
    )
    os.replace(tmp, out)
    return meta


def _print_corr(meta: dict) -> None:
    print(
        f"{meta['runs']}/{meta['runs_planned']} runs; s per 100 epochs (1 thread): {meta['s_per_100_epochs']}"
    )
    for d, c in meta["correlation"].items():
        f, b = c["final_valid_vs_bench_valid"], c["best_valid_vs_bench_valid"]
        print(
            f"  {d:9s} vs NAS-Bench-Graph valid (n={f['n']}): final valid spearman {f['spearman']:.3f} "
            f"kendall {f['kendall']:.3f} | best valid spearman {b['spearman']:.3f} kendall {b['kendall']:.3f}"
            + (
                f" | seed std of final valid {c['seed_std_final_valid']:.2f} ({c['archs_with_repeats']} archs)"
                if c["seed_std_final_valid"] is not None
                else ""
            )
        )


def _epochs_remark(meta: dict) -> str:
    from nas_meta_tune.oneshot import PROTOCOLS

    full = {d: PROTOCOLS[d].epochs for d in meta["correlation"] if d in PROTOCOLS}
    if all(e == meta["epochs"] for e in full.values()):
        return ""
    return (
        f"The runs train {meta['epochs']} epochs (one full-batch step each) of the benchmark's "
        f"{', '.join(f'{e} ({d})' for d, e in full.items())}, so their accuracies sit below "
        "NAS-Bench-Graph's."
    )


def _report(meta: dict, out: Path) -> None:
    """Save the summary as ``benchmarks/results/gnn_curves.json`` and a RESULTS.md section."""
    sys.path.insert(0, str(HERE))
    from _common import update_results_md, write_json

    write_json("gnn_curves", meta)
    rows = [
        "| dataset | runs | mean final valid (ours / NAS-Bench-Graph) | final valid vs bench valid: Spearman / Kendall | best valid vs bench valid: Spearman | final test vs bench test: Spearman | seed std of final valid |",
        "|---|---|---|---|---|---|---|",
    ]
    for d, c in meta["correlation"].items():
        f, b, t = (
            c["final_valid_vs_bench_valid"],
            c["best_valid_vs_bench_valid"],
            c.get("final_test_vs_bench_test", {"spearman": float("nan")}),
        )
        bench = c.get("mean_bench_valid")
        rows.append(
            f"| {d} | {f['n']} archs | {c['mean_final_valid']:.2f} / "
            + (f"{bench:.2f}" if bench is not None else "-")
            + f" | {f['spearman']:.3f} / {f['kendall']:.3f} | {b['spearman']:.3f} | {t['spearman']:.3f} | "
            + (
                f"{c['seed_std_final_valid']:.2f} points ({c['archs_with_repeats']} archs x {meta.get('repeat_seeds', '?')} seeds)"
                if c["seed_std_final_valid"] is not None
                else "-"
            )
            + " |"
        )
    body = (
        f"`{meta['command']}` ({meta['date']}; {meta['runs']} of {meta['runs_planned']} runs; "
        f"{meta['epochs']} epochs each; training time summed over runs {meta['train_wall_s'] / 3600:.1f} h on "
        f"one torch thread per run, s per 100 epochs {meta['s_per_100_epochs']}; file `{out.relative_to(HERE.parent) if out.is_relative_to(HERE.parent) else out}`, "
        f"{out.stat().st_size / 1e6:.2f} MB). Real training of NAS-Bench-Graph architectures with the "
        "benchmark's protocol (`nas_meta_tune.oneshot.train_gnn`, sparse input features) on the "
        "Planetoid splits from `../shared/data/planetoid`; accuracies in %. Rank correlations are "
        "per architecture (mean over its seeds) against NAS-Bench-Graph's values for the same "
        "architecture. " + _epochs_remark(meta) + "\n\n" + "\n".join(rows)
    )
    update_results_md("Real GNN learning curves (issue 5)", body)
    print(body)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--archs", type=int, default=300, help="unique architectures")
    p.add_argument("--datasets", nargs="+", default=["cora", "citeseer"])
    p.add_argument("--epochs", type=int, default=100)
    p.add_argument("--arch-seed", type=int, default=0, help="seed of the architecture sample")
    p.add_argument("--repeat-archs", type=int, default=20, help="archs also run with more seeds")
    p.add_argument("--repeat-seeds", type=int, default=3, help="seeds of the repeated archs")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--merge-every", type=int, default=25, help="rewrite --out every N runs")
    p.add_argument("--out", default=str(HERE / "data" / "gnn_curves.npz"))
    p.add_argument("--parts", default=None, help="folder of per-run files (resume from here)")
    p.add_argument("--data-root", default=None)
    p.add_argument("--cache-dir", default=None, help="writable folder for processed Planetoid")
    p.add_argument("--smoke-test", action="store_true", help="3 archs x 2 epochs into a temp dir")
    p.add_argument(
        "--merge-only",
        action="store_true",
        help="train nothing: merge the parts there are into --out and report",
    )
    args = p.parse_args(argv)
    command = "python benchmarks/record_curves.py " + " ".join(
        shlex.quote(a) for a in (sys.argv[1:] if argv is None else argv) if a != "--merge-only"
    )
    if args.smoke_test:
        tmp = Path(tempfile.mkdtemp(prefix="record_curves_"))
        args.archs, args.epochs, args.repeat_archs, args.repeat_seeds = 3, 2, 1, 2
        args.workers = min(args.workers, 2)
        args.out, args.parts = str(tmp / "gnn_curves.npz"), str(tmp / "parts")
    for name in ("archs", "epochs", "workers", "repeat_seeds", "merge_every"):
        if getattr(args, name) < 1:
            raise SystemExit(f"--{name.replace('_', '-')} must be >= 1, got {getattr(args, name)}.")
    os.environ["OMP_NUM_THREADS"] = "1"  # inherited by the worker processes
    import torch

    torch.set_num_threads(1)
    from nas_meta_tune.oneshot import PROTOCOLS, load_planetoid
    from nas_meta_tune.spaces import get_space

    for d in args.datasets:
        if d not in PROTOCOLS:
            raise SystemExit(f"unknown dataset {d!r}; choose from {sorted(PROTOCOLS)}.")
        load_planetoid(d, args.data_root, cache_dir=args.cache_dir)  # processes it once, here

    space = get_space("nasbench_graph")
    archs = space.sample(args.archs, seed=args.arch_seed, unique=True)
    jobs = []
    for seed in range(args.repeat_seeds):
        for ai, arch in enumerate(archs if seed == 0 else archs[: args.repeat_archs]):
            for di, d in enumerate(args.datasets):
                jobs.append(
                    {
                        "arch": arch.to_string(),
                        "key": arch.key,
                        "arch_idx": ai,
                        "dataset": d,
                        "dataset_idx": di,
                        "seed": seed,
                        "epochs": args.epochs,
                        "data_root": args.data_root,
                        "cache_dir": args.cache_dir,
                    }
                )
    parts = (
        Path(args.parts)
        if args.parts
        else HERE / "data" / f"gnn_curves_parts_e{args.epochs}_a{args.arch_seed}"
    )
    parts.mkdir(parents=True, exist_ok=True)
    # sparse features: the same network and loss as the dense path, 1.5-3x faster on CPU, but another
    # input-dropout random stream, so runs of the two paths are not mixed in one folder
    protocol = {
        d: {**asdict(replace(PROTOCOLS[d], epochs=args.epochs)), "sparse_features": True}
        for d in args.datasets
    }
    cfg = parts / "config.json"
    if cfg.exists() and json.loads(cfg.read_text()) != protocol:
        raise SystemExit(f"{parts} holds runs of another protocol; pass another --parts.")
    cfg.write_text(json.dumps(protocol, indent=1))
    meta = {
        "command": command,
        "epochs": args.epochs,
        "arch_seed": args.arch_seed,
        "protocol": protocol,
        "versions": _versions(),
        "date": time.strftime("%Y-%m-%d"),
        "accuracy_unit": "percent",
        "repeat_archs": args.repeat_archs,
        "repeat_seeds": args.repeat_seeds,
    }
    todo = [j for j in jobs if not _part_path(parts, j).is_file()]
    if args.merge_only:
        if todo:
            raise SystemExit(
                f"--merge-only: {len(todo)} of {len(jobs)} runs are not in {parts} yet; "
                f"{parts / 'partial.npz'} holds what is there."
            )
        todo = []
    print(
        f"{len(jobs)} runs planned ({len(archs)} archs x {len(args.datasets)} datasets, "
        f"{args.repeat_archs} archs x {args.repeat_seeds} seeds), {len(jobs) - len(todo)} already "
        f"in {parts}; {args.workers} workers",
        flush=True,
    )

    out = Path(args.out)
    t0 = time.perf_counter()
    finished = 0

    def on_result(job: dict, res: dict) -> None:
        nonlocal finished
        _save_part(_part_path(parts, job), job, res)
        finished += 1
        if finished % args.merge_every == 0:
            el = time.perf_counter() - t0
            eta = el / finished * (len(todo) - finished)
            print(f"  {finished}/{len(todo)} runs, {el:.0f}s elapsed, ETA {eta:.0f}s", flush=True)
            # the interim merge stays beside the parts: --out is written only once every run is done
            # (benchmarks/pruning.py uses --out as soon as it exists)
            merge(parts / "partial.npz", parts, archs, args.datasets, jobs, meta)

    if args.workers == 1:
        _init_worker()
        for job in todo:
            on_result(job, _run_job(job))
    elif todo:
        with ProcessPoolExecutor(
            args.workers, mp_context=get_context("spawn"), initializer=_init_worker
        ) as pool:
            futures = {pool.submit(_run_job, j): j for j in todo}
            for fut in as_completed(futures):
                on_result(futures[fut], fut.result())

    meta = merge(out, parts, archs, args.datasets, jobs, meta)
    size = out.stat().st_size
    print(f"wrote {out} ({size / 1e6:.2f} MB) in {time.perf_counter() - t0:.0f}s")
    _print_corr(meta)
    if not args.smoke_test:
        _report(meta, out)


if __name__ == "__main__":
    main()
