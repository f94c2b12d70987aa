"""Zero-cost proxies on NAS-Bench-Graph, computed on the real Cora / CiteSeer graphs.

NAS-Bench-201's images (CIFAR-10) are not available offline, so ``benchmarks/proxies.py`` can run
the data-dependent proxies there only on a labelled Gaussian stand-in. The citation graphs are
here (``../shared/data/planetoid``): this script scores ``--archs`` sampled NAS-Bench-Graph
architectures with every proxy on the real graph (full batch: all nodes, labels of the public
training split where a proxy needs labels), each network built by
:func:`nas_meta_tune.oneshot.build_gnn` (the benchmark's macro structure and width) and initialised
from ``--seed``, and takes the Spearman / Kendall correlation with NAS-Bench-Graph's validation
accuracy of the same architecture on the same dataset (the benchmark's own training, 3 seeds).

Run:
    python benchmarks/proxies_graph.py --archs 300 --workers 2
    python benchmarks/proxies_graph.py --report     # only rewrite the RESULTS.md section
Results: ``benchmarks/results/proxies_graph.json``, a RESULTS.md section, and the
``nasbench_graph/<dataset>`` rows of ``oneshot.json``'s ``proxies`` summary.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context

import numpy as np
from _common import RESULTS, meta, refresh_oneshot_summary, update_results_md, write_json
from proxies import correlations

SECTION = "Zero-cost proxies on NAS-Bench-Graph (real Cora / CiteSeer graphs)"


def _score_chunk(job: dict) -> dict:
    import torch

    from nas_meta_tune.oneshot import load_planetoid
    from nas_meta_tune.proxies import score_architectures

    torch.set_num_threads(1)
    # a torch_geometric Data: the loss of label-using proxies is taken on its train_mask nodes
    data = load_planetoid(job["dataset"], job["data_root"])[0]
    timings: dict[str, list[float]] = {}
    scores = score_architectures(
        "nasbench_graph",
        job["archs"],
        job["proxies"],
        batch=data,
        seed=job["seed"],
        device="cpu",
        timings=timings,
    )
    return {"scores": scores, "timings": timings}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--archs", type=int, default=300)
    p.add_argument("--datasets", nargs="+", default=["cora"], choices=["cora", "citeseer"])
    p.add_argument("--proxies", nargs="+", default=None, help="default: every registered proxy")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--data-root", default=None)
    p.add_argument("--report", action="store_true")
    p.add_argument("--smoke-test", action="store_true")
    args = p.parse_args(argv)
    saved = RESULTS / "proxies_graph.json"
    if args.report:
        print(report(json.loads(saved.read_text())))
        return 0
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    from nas_meta_tune import get_space, load_benchmark
    from nas_meta_tune.proxies import PROXIES

    proxies = args.proxies or list(PROXIES)
    bad = [x for x in proxies if x not in PROXIES]
    if bad:
        p.error(f"unknown proxies {bad}; choose from {sorted(PROXIES)}")
    if args.smoke_test:
        args.archs, args.workers, proxies = 4, 1, ["params", "synflow", "snip"]
    if args.archs < 3 or args.workers < 1:
        p.error("need --archs >= 3 and --workers >= 1")
    started = time.perf_counter()
    space = get_space("nasbench_graph")
    bench = load_benchmark("nasbench_graph")
    archs = [a.to_string() for a in space.sample(args.archs, seed=args.seed, unique=True)]
    results: dict = {}
    speed: dict = {}
    for ds in args.datasets:
        chunks = np.array_split(np.arange(len(archs)), max(1, min(len(archs), 4 * args.workers)))
        jobs = [
            {
                "archs": [archs[i] for i in idx],
                "proxies": proxies,
                "dataset": ds,
                "seed": args.seed,
                "data_root": args.data_root,
            }
            for idx in chunks
            if len(idx)
        ]
        if args.workers > 1:
            with ProcessPoolExecutor(args.workers, mp_context=get_context("spawn")) as pool:
                parts = list(pool.map(_score_chunk, jobs))
        else:
            parts = [_score_chunk(j) for j in jobs]
        scores = np.concatenate([r["scores"] for r in parts], axis=0)
        timings: dict[str, list[float]] = {}
        for r in parts:
            for k, v in r["timings"].items():
                timings.setdefault(k, []).extend(v)
        truth = np.array([bench.query(a, ds) for a in archs], dtype=float)
        results[f"nasbench_graph/{ds}"] = {
            name: correlations(scores[:, j], truth) for j, name in enumerate(proxies)
        }
        speed[ds] = {k: round(1000 * float(np.median(v)), 2) for k, v in timings.items()}
        for name, c in results[f"nasbench_graph/{ds}"].items():
            print(f"{ds} {name:15s} {c}  ({speed[ds].get(name)} ms)", flush=True)
    if args.smoke_test:
        return 0
    cmd = "python benchmarks/proxies_graph.py " + " ".join(sys.argv[1:] if argv is None else argv)
    info = meta(cmd.strip(), started) | {
        "archs": len(archs),
        "seed": args.seed,
        "workers": args.workers,
        "torch_threads_per_worker": 1,
        "device": "cpu",
        "ms_per_arch_median": speed,
        "input": "the real graph (all nodes, features, edges; labels of the public training split)",
    }
    payload = {**results, "meta": info}
    write_json("proxies_graph", payload)
    refresh_oneshot_summary()
    print(report(payload))
    return 0


def report(payload: dict) -> str:
    m = payload["meta"]
    tasks = [k for k in payload if k != "meta"]
    names = list(payload[tasks[0]])
    head = (
        ["proxy"]
        + [f"{t}: Spearman / Kendall (n)" for t in tasks]
        + [f"ms/arch {t.split('/')[1]} (1 thread)" for t in tasks]
    )
    rows = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name in names:
        row = [name]
        for t in tasks:
            c = payload[t][name]
            row.append(
                "-"
                if c["spearman"] is None
                else f"{c['spearman']:.3f} / {c['kendall']:.3f} ({c['n']})"
            )
        for t in tasks:
            row.append(str(m["ms_per_arch_median"][t.split("/")[1]].get(name, "-")))
        rows.append("| " + " | ".join(row) + " |")
    body = (
        f"`{m['command']}` (commit {m['commit']}, {m['date']}): {m['archs']} sampled NAS-Bench-Graph "
        "architectures, each network built with the benchmark's macro structure and initialised from "
        f"seed {m['seed']}, scored on the real graph ({m['input']}); correlation with NAS-Bench-Graph's "
        "validation accuracy on the same dataset. Higher proxy = predicted better.\n\n"
        + "\n".join(rows)
    )
    update_results_md(SECTION, body)
    return body


if __name__ == "__main__":
    sys.exit(main())
