"""Syne Tune trial script: look an architecture up in a tabular benchmark and report it.

Run by Syne Tune's ``LocalBackend`` as ``python _syne_benchmark_entry.py --benchmark nb201
--task cifar100 --edge_0_1 conv3x3 ...`` (see :func:`benchmark_entry_point`).
"""

from __future__ import annotations

import argparse


def main() -> None:
    from syne_tune import Reporter

    from nas_meta_tune import load_benchmark

    p = argparse.ArgumentParser()
    p.add_argument("--benchmark", required=True)
    p.add_argument("--task", required=True)
    p.add_argument("--metric", default="valid")
    p.add_argument("--data_root", default=None)
    args, rest = p.parse_known_args()
    raw = dict(zip((k.lstrip("-") for k in rest[::2]), rest[1::2]))
    kwargs = (
        {} if args.benchmark in ("nasbench_graph", "analognas") else {"data_root": args.data_root}
    )
    bench = load_benchmark(args.benchmark, **kwargs)
    space = bench.space
    params = {}
    for prm in space.params:
        if prm.name in raw:
            # the command line carries strings: map back to the typed choice
            params[prm.name] = next(
                (c for c in prm.choices if str(c) == raw[prm.name]), raw[prm.name]
            )
    arch = space.from_params(params)
    Reporter()(**{args.metric: float(bench.query(arch, args.task, args.metric))})


if __name__ == "__main__":
    main()
