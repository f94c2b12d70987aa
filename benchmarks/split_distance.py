"""Split-distance study (Ly-Manson et al., "Understanding Few-Shot NAS with Zero-Cost Proxies", Fig. 1
and 2) on the NAS-Bench-Graph supernet, trained on the real Cora graph.

For every metric and seed, a splitting tree is built with the constant policy (branching ``b``,
depth ``d``: ``b ** d`` leaves; the paper's setting is b=2, d=3). Every node trains ``--warmup`` SPOS
steps before it is split, children inherit their parent's weights (warm-up between splits, as the
paper's policy allows), and the edge of each depth level is fixed by ``--edges`` (default 1, 2, 3:
one computing node per level, so every split partitions the same 9 GNN operations and any two
splits can be compared). Then, with ``S(A, B)`` the paper's split distance (Definition 1,
:func:`nas_meta_tune.oneshot.split_distance`):

* **internal** distance of a split: its mean distance to the other splits of the same tree;
* **external** distance of a split: its mean distance to the splits of the trees the same metric
  built with the other seeds;
* both overall and **by depth** (compared only with splits at the same depth level: the paper's
  Fig. 2).

Reported per metric: mean and standard deviation over splits (external: over splits of all seeds).
Metrics: ``gm`` (gradient matching, GM-NAS) and zero-cost proxies of
:mod:`nas_meta_tune.proxies` computed on the inherited-weight sub-networks of the real Cora graph.

Run:
    python benchmarks/split_distance.py --seeds 5 --warmup 50 --contexts 2
    python benchmarks/split_distance.py --report    # only rewrite the RESULTS.md section
Results: the ``split_distance`` entry of benchmarks/results/oneshot.json and a RESULTS.md section.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import time
import zlib
from concurrent.futures import ProcessPoolExecutor, as_completed
from multiprocessing import get_context
from pathlib import Path

import numpy as np
from _common import HERE, RESULTS, meta, refresh_oneshot_summary, update_results_md, write_json

DEFAULT_METRICS = (
    "gm",
    "gradnorm",
    "snip",
    "grasp",
    "synflow",
    "jacob_cov",
    "ntk",
    "linear_regions",
)
SECTION = "Split distance of few-shot splitting trees on Cora (issue 6)"


def build_tree(job: dict) -> dict:
    """Build one splitting tree; returns its splits as ``(depth, edge, groups)`` and timing."""
    import torch

    from nas_meta_tune.oneshot import SplitTree, build_supernet

    torch.set_num_threads(1)
    t0 = time.perf_counter()
    root = build_supernet(job["dataset"], seed=job["seed"], data_root=job["data_root"])
    tree = SplitTree(
        root,
        branching=job["branching"],
        depth=job["depth"],
        metric=job["metric"],
        edges=job["edges"],
        num_contexts=job["contexts"],
        warmup_steps=job["warmup"],
        inherit=True,
        seed=job["seed"],
    ).build()
    splits = [
        {
            "path": list(path),
            "depth": len(path),
            "edge": int(edge),
            "groups": [list(g) for g in groups],
        }
        for path, edge, groups in tree.splits()
    ]
    return {
        "metric": job["metric"],
        "seed": job["seed"],
        "splits": splits,
        "seconds": round(time.perf_counter() - t0, 1),
    }


def _stats(values: list[float]) -> dict:
    if not values:
        return {"mean": None, "std": None, "n": 0}
    v = np.asarray(values, float)
    return {"mean": float(v.mean()), "std": float(v.std()), "n": int(v.size)}


def distances(trees: list[dict]) -> dict:
    """Internal / external split distances (overall and by depth) of one metric's trees."""
    from nas_meta_tune.oneshot import split_distance

    def d(a: dict, b: dict) -> float | None:
        ops_a = frozenset(o for g in a["groups"] for o in g)
        ops_b = frozenset(o for g in b["groups"] for o in g)
        return split_distance(a["groups"], b["groups"]) if ops_a == ops_b else None

    out: dict = {}
    depths = sorted({s["depth"] for t in trees for s in t["splits"]})
    for scope in ["all", *depths]:
        internal, external = [], []
        for ti, tree in enumerate(trees):
            mine = [s for s in tree["splits"] if scope == "all" or s["depth"] == scope]
            others = [
                s
                for tj, t in enumerate(trees)
                if tj != ti
                for s in t["splits"]
                if scope == "all" or s["depth"] == scope
            ]
            for s in mine:
                ins = [d(s, o) for o in mine if o is not s]
                ins = [x for x in ins if x is not None]
                if ins:
                    internal.append(float(np.mean(ins)))
                ext = [x for x in (d(s, o) for o in others) if x is not None]
                if ext:
                    external.append(float(np.mean(ext)))
        key = "all" if scope == "all" else f"depth_{scope}"
        out[key] = {"internal": _stats(internal), "external": _stats(external)}
    # how often the metric's first split is the same across seeds (a direct robustness read-out)
    firsts = [
        frozenset(frozenset(g) for g in t["splits"][0]["groups"]) for t in trees if t["splits"]
    ]
    out["same_first_split_pairs"] = (
        float(np.mean([a == b for a, b in itertools.combinations(firsts, 2)]))
        if len(firsts) > 1
        else None
    )
    out["seconds_per_tree"] = float(np.mean([t["seconds"] for t in trees]))
    out["seeds"] = len(trees)
    return out


def report(result: dict) -> str:
    sd = result["split_distance"]
    m = sd["meta"]
    depths = sorted(
        {k for e in sd["metrics"].values() for k in e if k.startswith("depth_")},
        key=lambda k: int(k.split("_")[1]),
    )

    def cell(e: dict) -> str:
        return "-" if e["mean"] is None else f"{e['mean']:.3f} ± {e['std']:.3f}"

    head = ["metric", "internal", "external"]
    for k in depths:
        head += [f"internal d{k.split('_')[1]}", f"external d{k.split('_')[1]}"]
    head += ["same first split (seed pairs)", "s per tree"]
    rows = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name, e in sd["metrics"].items():
        row = [name, cell(e["all"]["internal"]), cell(e["all"]["external"])]
        for k in depths:
            row += [cell(e[k]["internal"]), cell(e[k]["external"])]
        same = e["same_first_split_pairs"]
        row += ["-" if same is None else f"{same:.2f}", f"{e['seconds_per_tree']:.0f}"]
        rows.append("| " + " | ".join(row) + " |")
    body = (
        f"`{m['command']}` (commit {m['commit']}, {m['date']}): NAS-Bench-Graph supernet (hidden 64) on the "
        f"real Cora graph; constant policy, branching {m['branching']}, depth {m['depth']} "
        f"({m['branching'] ** m['depth']} leaves), split edges {m['edges']} (one computing node per depth "
        f"level, 9 operations each), {m['warmup']} SPOS warm-up steps on every node before its split, "
        f"children inherit their parent's weights, {m['contexts']} context paths per metric evaluation, "
        f"{m['seeds']} seeds. Split distance = Ly-Manson et al.'s Definition 1; internal: mean distance "
        "of a split to the other splits of its tree; external: to the splits of the same metric's trees "
        "with other seeds; dN: only splits at depth N compared (the paper's Fig. 2). Mean ± std over "
        "splits. 'same first split': share of seed pairs whose root split is identical. A metric that "
        "ties every operation gives an all-zero distance matrix and always the same split: "
        "linear_regions does on this graph (each of the 2,708 nodes falls in its own linear region "
        "whatever the operation; measured, distance 0 in all 5 trees), so it is not listed.\n\n"
        + "\n".join(rows)
    )
    update_results_md(SECTION, body)
    return body


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--dataset", default="cora", choices=["cora", "citeseer"])
    p.add_argument(
        "--metrics", nargs="+", default=None, help=f"default: {' '.join(DEFAULT_METRICS)}"
    )
    p.add_argument("--seeds", type=int, default=5)
    p.add_argument("--branching", type=int, default=2)
    p.add_argument("--depth", type=int, default=3)
    p.add_argument("--edges", type=int, nargs="+", default=[1, 2, 3])
    p.add_argument(
        "--warmup", type=int, default=50, help="SPOS steps on every node before its split"
    )
    p.add_argument("--contexts", type=int, default=2, help="context paths per metric evaluation")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--data-root", default=None)
    p.add_argument("--report", action="store_true", help="only rewrite the RESULTS.md section")
    p.add_argument("--smoke-test", action="store_true")
    args = p.parse_args(argv)
    started = time.perf_counter()
    saved = RESULTS / "oneshot.json"
    if args.report:
        print(report(json.loads(saved.read_text())))
        return 0
    from nas_meta_tune.proxies import PROXIES

    metrics = args.metrics or [m for m in DEFAULT_METRICS if m == "gm" or m in PROXIES]
    unknown = [m for m in metrics if m != "gm" and m not in PROXIES]
    if unknown:
        raise SystemExit(f"unknown metrics {unknown}; choose 'gm' or from {sorted(PROXIES)}.")
    if args.smoke_test:
        metrics, args.seeds, args.depth, args.edges = metrics[:2], 2, 2, [1, 2]
        args.warmup, args.contexts = 1, 1
    if len(args.edges) != args.depth:
        raise SystemExit(
            f"--edges needs one node per depth level ({args.depth}), got {args.edges}."
        )
    jobs = [
        {
            "dataset": args.dataset,
            "metric": m,
            "seed": s,
            "branching": args.branching,
            "depth": args.depth,
            "edges": list(args.edges),
            "contexts": args.contexts,
            "warmup": args.warmup,
            "data_root": args.data_root,
        }
        for m in metrics
        for s in range(args.seeds)
    ]
    # the cheap metrics first, the costly ones (jacob_cov, ntk: one backward pass per training
    # node) last; finished trees are kept, so a run cut short still leaves the cheap ones
    cost = {"jacob_cov": 1, "ntk": 2}
    jobs.sort(key=lambda j: (cost.get(j["metric"], 0), j["seed"]))
    # every finished tree is kept under benchmarks/.cache (not in a smoke test), so an interrupted
    # run resumes, and a rerun with more seeds or metrics builds only the new trees
    cache = HERE / ".cache" / "split_distance"

    def cached(job: dict) -> Path:
        key = json.dumps({k: job[k] for k in sorted(job) if k != "data_root"}, sort_keys=True)
        return cache / f"{job['metric']}_s{job['seed']}_{zlib.crc32(key.encode()):08x}.json"

    done: dict[int, dict] = {}
    if not args.smoke_test:
        cache.mkdir(parents=True, exist_ok=True)
        done = {
            i: json.loads(cached(j).read_text()) for i, j in enumerate(jobs) if cached(j).exists()
        }
    todo = [i for i in range(len(jobs)) if i not in done]
    print(f"{len(jobs)} trees, {len(done)} cached, {args.workers} workers", flush=True)

    def finish(i: int, tree: dict) -> None:
        done[i] = tree
        if not args.smoke_test:
            cached(jobs[i]).write_text(json.dumps(tree))
        print(f"  {tree['metric']} seed {tree['seed']}: {tree['seconds']:.0f} s", flush=True)

    if args.workers > 1 and todo:
        with ProcessPoolExecutor(args.workers, mp_context=get_context("spawn")) as pool:
            futures = {pool.submit(build_tree, jobs[i]): i for i in todo}
            for fut in as_completed(futures):
                finish(futures[fut], fut.result())
    else:
        for i in todo:
            finish(i, build_tree(jobs[i]))
    trees = [done[i] for i in range(len(jobs))]
    by_metric = {m: [t for t in trees if t["metric"] == m] for m in metrics}
    summary = {m: distances(ts) for m, ts in by_metric.items()}
    for m, e in summary.items():
        print(
            f"{m:15s} internal {e['all']['internal']['mean']:.3f} external {e['all']['external']['mean']:.3f} "
            f"({e['seconds_per_tree']:.0f} s per tree)",
            flush=True,
        )
    if args.smoke_test:
        return 0
    cmd = "python benchmarks/split_distance.py " + " ".join(sys.argv[1:] if argv is None else argv)
    this = meta(cmd, started) | {
        "dataset": args.dataset,
        "seeds": args.seeds,
        "branching": args.branching,
        "depth": args.depth,
        "edges": list(args.edges),
        "warmup": args.warmup,
        "contexts": args.contexts,
    }
    result = json.loads(saved.read_text()) if saved.exists() else {}
    result["split_distance"] = {
        "metrics": summary,
        "trees": [{k: t[k] for k in ("metric", "seed", "splits", "seconds")} for t in trees],
        "meta": this,
    }
    write_json("oneshot", result)
    refresh_oneshot_summary()
    print(report(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
