"""Throughput of turning architectures into GNN inputs and vector encodings (CPU).

Run: ``python benchmarks/encodings.py`` (writes results/encodings.json and a RESULTS.md section).
Target (foundation issue): >= 20,000 architectures/s to PyG tensors on CPU.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

import torch
from _common import meta, update_results_md, write_json

from nas_meta_tune import get_space
from nas_meta_tune.encodings import encode, to_pyg_batch

SPACES = ("nb201", "transnas_micro", "nasbench_graph", "nb101", "darts")


def _time(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--n", type=int, default=20_000, help="architectures per batch")
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--smoke-test", action="store_true", help="tiny run, no files written")
    args = p.parse_args(argv)
    if args.smoke_test:
        args.n, args.repeats = 500, 1
    started = time.perf_counter()
    torch.set_num_threads(2)
    to_pyg_batch(
        get_space("nb201").sample(4, seed=0)
    )  # import torch_geometric and warm torch up once
    rows = {}
    for name in SPACES:
        space = get_space(name)
        archs = space.sample(args.n, seed=0)
        # cold: graphs not cached yet (a fresh space instance), i.e. what a first predict() pays
        fresh = type(space)(**({"variant": "darts"} if name == "darts" else {}))
        fresh_archs = [type(a)(fresh, a.spec) for a in archs]
        t_cold = _time(lambda: to_pyg_batch(fresh_archs), 1)
        t_warm = _time(lambda: to_pyg_batch(archs), args.repeats)
        m = min(args.n, 2_000)
        t_adj = _time(lambda: encode(archs[:m], "adjacency_onehot"), 1)
        t_path = _time(lambda: encode(archs[:m], "path"), 1)
        rows[name] = {
            "n": args.n,
            "pyg_cold_archs_per_s": round(args.n / t_cold),
            "pyg_warm_archs_per_s": round(args.n / t_warm),
            "adjacency_onehot_archs_per_s": round(m / t_adj),
            "path_archs_per_s": round(m / t_path),
        }
        print(name, rows[name], flush=True)
    if args.smoke_test:
        return 0
    cmd = "python benchmarks/encodings.py " + " ".join(sys.argv[1:])
    write_json("encodings", {"spaces": rows, "meta": meta(cmd.strip(), started)})
    lines = [
        f"Command: `{cmd.strip()}` (2 CPU cores, torch threads = 2). Target: >= 20,000 archs/s to PyG tensors.",
        "",
        "| space | batch | to PyG, cold (archs/s) | to PyG, cached graphs (archs/s) | adjacency one-hot (archs/s) | path encoding (archs/s) |",
        "|---|---|---|---|---|---|",
    ]
    for name, r in rows.items():
        lines.append(
            f"| {name} | {r['n']:,} | {r['pyg_cold_archs_per_s']:,} | {r['pyg_warm_archs_per_s']:,} | "
            f"{r['adjacency_onehot_archs_per_s']:,} | {r['path_archs_per_s']:,} |"
        )
    update_results_md("Encodings throughput (foundation)", "\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
