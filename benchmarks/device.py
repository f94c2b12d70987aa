"""CPU vs GPU: supernet training and proxy scoring throughput, and CUDA agreeing with the CPU.

The device check of issue 6, as one short script: on every device it finds (the CPU, and CUDA when
``torch.cuda.is_available()``) it measures

* ``gnn_spos``: SPOS steps/s of the NAS-Bench-Graph supernet on the real Cora graph
  (``../shared/data/planetoid``; one step = one full-batch epoch of one sampled path), and
  inherited-weight evaluations/s (``rank``);
* ``nb201_spos``: SPOS steps/s of the NAS-Bench-201 supernet (C=16, N=5; minibatch 64) on
  scikit-learn's real 8x8 handwritten digits (NB201's CIFAR images are not available offline);
* ``proxies``: architectures/s of synflow, snip and jacob_cov on NB201 networks (C=16, N=5), on a
  Gaussian stand-in batch of 64 3x32x32 images: timing only, the scores are not compared with any
  accuracy here.

On CUDA it also checks that the work really ran there (parameters on the device) and that the
proxies agree with the CPU's on the same networks: the Spearman correlation of the CPU and CUDA
scores over the architectures (TF32 convolutions may move the values slightly, not the order) and
the largest relative difference. A machine without a GPU records the CPU figures, no ``cuda``
entry, and the reason under ``cuda_missing``.

Run:
    python benchmarks/device.py                    # the full check (about 2 min on 2 CPU cores)
    python benchmarks/device.py --smoke-test       # tiny, nothing written
Results: benchmarks/results/device.json and a RESULTS.md section. Each run replaces the ``cpu``
entry with its own machine's; a run on a GPU machine therefore records both devices of that one
machine (a CPU-only run later keeps that ``cuda`` entry and says so by its own meta).
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np
import torch
from _common import RESULTS, meta, update_results_md, write_json

from nas_meta_tune import get_space
from nas_meta_tune.oneshot import build_nb201_supernet, build_supernet, load_digits
from nas_meta_tune.proxies import gaussian_standin_batch, score_architectures

PROXIES = ("synflow", "snip", "jacob_cov")


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def _rate(fn, n: int, device: str) -> float:
    """Calls of ``fn`` per second over ``n`` calls (after the caller's warm-up)."""
    _sync(device)
    t0 = time.perf_counter()
    for _ in range(n):
        fn()
    _sync(device)
    return n / (time.perf_counter() - t0)


def _devices(module: torch.nn.Module) -> list[str]:
    """The device types its parameters live on (proof that the work ran there)."""
    return sorted({p.device.type for p in module.parameters()})


def gnn_spos(device: str, steps: int, evals: int, data_root: str | None) -> dict:
    trainer = build_supernet("cora", seed=0, device=device, data_root=data_root)
    trainer.train(5)  # warm-up: allocations, kernels
    steps_per_s = _rate(trainer.step, steps, device)
    archs = get_space("nasbench_graph").sample(evals, seed=0, unique=True)
    evals_per_s = evals * _rate(lambda: trainer.rank(archs), 1, device)
    return {
        "steps_per_s": round(steps_per_s, 2),
        "evals_per_s": round(evals_per_s, 2),
        "param_devices": _devices(trainer.supernet),
    }


def nb201_spos(device: str, steps: int, width: int, cells: int) -> dict:
    train, valid = load_digits(seed=0)
    trainer = build_nb201_supernet(
        train, valid, C=width, N=cells, seed=0, device=device, batch_size=64
    )
    trainer.train(3)
    steps_per_s = _rate(trainer.step, steps, device)
    return {"steps_per_s": round(steps_per_s, 2), "param_devices": _devices(trainer.supernet)}


def proxies(device: str, n_archs: int, width: int, cells: int) -> tuple[dict, np.ndarray]:
    from functools import partial

    from nas_meta_tune.oneshot import build_nb201

    archs = get_space("nb201").sample(n_archs, seed=0, unique=True)
    batch = gaussian_standin_batch(64, (3, 32, 32), 10, seed=0)
    builder = partial(build_nb201, C=width, N=cells)
    score = partial(score_architectures, space="nb201", builder=builder, batch=batch, device=device)
    out, scores = {}, []
    for name in PROXIES:
        score(name, archs[:1])  # warm-up
        rate = _rate(lambda n=name: scores.append(score(n, archs, seed=0)), 1, device)
        out[name] = {"archs_per_s": round(n_archs * rate, 2)}
    return out, np.array(scores)


def run_device(device: str, args: argparse.Namespace) -> tuple[dict, np.ndarray]:
    res = {
        "gnn_spos": gnn_spos(device, args.gnn_steps, args.evals, args.data_root),
        "nb201_spos": nb201_spos(device, args.nb201_steps, args.width, args.cells),
    }
    res["proxies"], scores = proxies(device, args.archs, args.width, args.cells)
    if device.startswith("cuda"):
        res["name"] = torch.cuda.get_device_name(0)
    return res, scores


def report(results: dict) -> str:
    rows = [
        "| device | machine | GNN supernet SPOS steps/s | GNN inherited-weight evals/s | NB201 supernet SPOS steps/s | "
        + " | ".join(f"{p} archs/s" for p in PROXIES)
        + " |",
        "|---|---|---|---|---|" + "---|" * len(PROXIES),
    ]
    for dev in ("cpu", "cuda"):
        r = results.get(dev)
        if not r:
            continue
        rows.append(
            f"| {dev} | {r.get('name', r['meta']['machine'] + ', ' + str(r['meta']['cpus']) + ' CPUs')} "
            f"| {r['gnn_spos']['steps_per_s']} | {r['gnn_spos']['evals_per_s']} "
            f"| {r['nb201_spos']['steps_per_s']} | "
            + " | ".join(str(r["proxies"][p]["archs_per_s"]) for p in PROXIES)
            + " |"
        )
    cuda = results.get("cuda")
    if cuda:
        tail = (
            f"CUDA agreement with the CPU on the same {cuda['meta']['archs']} networks: Spearman of the "
            f"scores per proxy {cuda.get('spearman_vs_cpu')}, largest relative difference "
            f"{cuda['max_rel_diff_vs_cpu']}; parameters on "
            f"{cuda['gnn_spos']['param_devices']} / {cuda['nb201_spos']['param_devices']}."
        )
    else:
        tail = f"No CUDA figures: {results.get('cuda_missing', 'not run on a GPU machine yet')}."
    cmds = "; ".join(
        f"`{results[d]['meta']['command']}` ({d}, commit {results[d]['meta']['commit']}, {results[d]['meta']['date']})"
        for d in ("cpu", "cuda")
        if results.get(d)
    )
    body = (
        f"{cmds}. Throughput of the one-shot and proxy code per device (torch threads: "
        f"{results['cpu']['meta'].get('threads')} on the CPU). GNN: NAS-Bench-Graph supernet (hidden 64) on the "
        "real Cora graph, one step = one full-batch epoch of one sampled path. NB201: supernet C=16, N=5 on "
        "scikit-learn's 8x8 digits, minibatch 64. Proxies: NB201 networks C=16, N=5 on a Gaussian stand-in "
        "batch of 64 3x32x32 images (timing only).\n\n" + "\n".join(rows) + "\n\n" + tail
    )
    update_results_md("Devices: CPU vs GPU throughput (issue 6)", body)
    return body


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--gnn-steps", type=int, default=100)
    p.add_argument("--evals", type=int, default=100)
    p.add_argument("--nb201-steps", type=int, default=20)
    p.add_argument("--archs", type=int, default=20, help="NB201 networks per proxy")
    p.add_argument("--width", type=int, default=16)
    p.add_argument("--cells", type=int, default=5)
    p.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    p.add_argument("--data-root", default=None)
    p.add_argument("--smoke-test", action="store_true")
    args = p.parse_args(argv)
    if args.smoke_test:
        args.gnn_steps, args.evals, args.nb201_steps, args.archs = 3, 3, 2, 2
        args.width, args.cells = 4, 1
    torch.set_num_threads(args.threads)
    started = time.perf_counter()
    cmd = " ".join(["python benchmarks/device.py", *(sys.argv[1:] if argv is None else argv)])
    path = RESULTS / "device.json"
    results = json.loads(path.read_text()) if path.exists() and not args.smoke_test else {}
    cpu, cpu_scores = run_device("cpu", args)
    results["cpu"] = cpu
    if torch.cuda.is_available():
        gpu, gpu_scores = run_device("cuda", args)
        from scipy.stats import spearmanr

        denom = np.maximum(np.abs(cpu_scores), 1e-6)
        gpu["max_rel_diff_vs_cpu"] = {
            name: float(np.nanmax(np.abs(gpu_scores[i] - cpu_scores[i]) / denom[i]))
            for i, name in enumerate(PROXIES)
        }
        gpu["spearman_vs_cpu"] = {
            name: float(spearmanr(gpu_scores[i], cpu_scores[i]).statistic)
            if len(cpu_scores[i]) > 2
            else None
            for i, name in enumerate(PROXIES)
        }
        results["cuda"] = gpu
        results.pop("cuda_missing", None)
    elif "cuda" not in results:
        results["cuda_missing"] = (
            "torch.cuda.is_available() was False on every machine this ran on "
            "(no GPU was lent to this project's sessions)"
        )
    run_meta = meta(cmd, started) | {"threads": args.threads, "archs": args.archs}
    results["cpu"]["meta"] = run_meta
    if "cuda" in results and torch.cuda.is_available():
        results["cuda"]["meta"] = run_meta
    if args.smoke_test:
        print(json.dumps(results, indent=1, default=str))
        return 0
    write_json("device", results)
    print(report(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
