"""Command line: ``nas-meta-tune <command>`` (also ``python -m nas_meta_tune.cli``).

Commands:
    spaces       the registered search spaces and the unified operation vocabulary
    benchmarks   per-task summary of every offline benchmark and cross-task rank correlations
    demo         the main job (currently: spaces + benchmark summary on the real data)
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence

import numpy as np

__all__ = ["main"]


def _spaces_report(out: list[str]) -> None:
    from .spaces import available_spaces, get_space, vocabulary_table

    out.append("## Search spaces\n")
    out.append("| space | parameters | conditional | configurations | unique (key) | graph nodes |")
    out.append("|---|---|---|---|---|---|")
    for name in available_spaces():
        s = get_space(name)
        n_cond = sum(p.parent is not None for p in s.params)
        if s.is_enumerable:
            archs = s.enumerate()
            total, uniq = f"{len(archs):,}", f"{len({s.key(a) for a in archs}):,}"
        else:
            total, uniq = "not enumerable", "-"
        out.append(f"| {name} | {len(s.params)} | {n_cond} | {total} | {uniq} | <= {s.max_nodes} |")
    out.append("\n## Unified operation vocabulary\n")
    out.append(vocabulary_table())


def _benchmarks_report(out: list[str], data_root: str | None) -> None:
    from scipy.stats import spearmanr

    from .benchmarks import available_benchmarks, load_benchmark
    from .exceptions import DataNotFoundError

    out.append("\n## Benchmarks (metric `valid`)\n")
    out.append("| benchmark | task | archs | best | median | top-1% threshold |")
    out.append("|---|---|---|---|---|---|")
    corr_lines: list[str] = []
    for name in available_benchmarks():
        try:
            bench = load_benchmark(name, **({} if name in ("nasbench_graph", "analognas") else {"data_root": data_root}))
        except DataNotFoundError as exc:
            out.append(f"| {name} | (data not found: {exc}) | | | | |")
            continue
        columns: dict[str, dict] = {}
        for task in bench.tasks:
            archs, y = bench.table(task)
            ok = np.isfinite(y)
            out.append(
                f"| {name} | {task} | {len(archs):,} | {np.max(y[ok]):.3f} | {np.median(y[ok]):.3f} | "
                f"{np.quantile(y[ok], 0.99):.3f} |"
            )
            columns[task] = dict(zip((a.key if name == "nasbench_graph" else a.spec for a in archs), y))
        if len(columns) > 1:
            tasks = list(columns)
            rhos, sizes = [], []
            for i, t1 in enumerate(tasks):
                for t2 in tasks[i + 1 :]:
                    keys = sorted(set(columns[t1]) & set(columns[t2]), key=str)
                    a = [columns[t1][k] for k in keys]
                    b = [columns[t2][k] for k in keys]
                    rhos.append(spearmanr(a, b).statistic)
                    sizes.append(len(keys))
            rho = np.array(rhos)
            corr_lines.append(
                f"| {name} | {len(tasks)} | {min(sizes):,}-{max(sizes):,} | {rho.mean():.2f} | {rho.min():.2f} | {rho.max():.2f} |"
            )
    out.append("\n## Cross-task Spearman correlation (how much one task tells about another)\n")
    out.append("| benchmark | tasks | archs per pair | mean | min | max |")
    out.append("|---|---|---|---|---|---|")
    out.extend(corr_lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="nas-meta-tune", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for cmd, help_ in (
        ("spaces", "list the search spaces and the unified vocabulary"),
        ("benchmarks", "summarise every offline benchmark"),
        ("demo", "the main job: spaces and benchmark summary on real data"),
    ):
        p = sub.add_parser(cmd, help=help_)
        p.add_argument("--data-root", default=None, help="folder with the shared benchmark data")
        p.add_argument("--output", default=None, help="also write the report (markdown) to this file")
    args = parser.parse_args(argv)

    start = time.perf_counter()
    out: list[str] = [f"# nas-meta-tune {args.command}\n"]
    if args.command in ("spaces", "demo"):
        _spaces_report(out)
    if args.command in ("benchmarks", "demo"):
        _benchmarks_report(out, args.data_root)
    out.append(f"\n(done in {time.perf_counter() - start:.1f} s)")
    text = "\n".join(out)
    print(text)
    if args.output:
        with open(args.output, "w") as f:
            f.write(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
