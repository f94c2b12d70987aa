"""NAS-Bench-Graph (Qin et al., NeurIPS 2022 D&B), from the PyPI package ``nas-bench-graph``.

26,206 unique GNN architectures trained on 9 node-classification datasets. Accuracies are
reported in percent (the package stores fractions). ogbn-proteins was run with a reduced set of
5 operations, so its table holds 2,021 architectures.
"""

from __future__ import annotations

import pickle
from functools import cache
from importlib import resources

import numpy as np

from .._imports import require
from ..spaces import get_space
from ..spaces._base import Architecture
from ._base import Benchmark, TaskTable

__all__ = ["NASBenchGraphBenchmark"]


@cache
def _representatives() -> dict[str, Architecture]:
    """Benchmark key -> first architecture of the full space with that key."""
    space = get_space("nasbench_graph")
    reps: dict[str, Architecture] = {}
    for arch in space.enumerate():
        reps.setdefault(space.key(arch), arch)
    return reps


class NASBenchGraphBenchmark(Benchmark):
    """NAS-Bench-Graph: tasks are the 9 datasets; metrics ``valid``/``test`` accuracy (%),
    ``latency`` (s) and ``params`` (millions).

    Lookups go through the benchmark's own canonical hash, so any of the 59,040 configurations
    finds the value of its equivalence class. ``table(task)`` returns one representative per class.
    """

    name = "nasbench_graph"
    tasks = (
        "arxiv",
        "citeseer",
        "computers",
        "cora",
        "cs",
        "photo",
        "physics",
        "proteins",
        "pubmed",
    )
    metrics = ("valid", "test", "latency", "params")

    def __init__(self) -> None:
        super().__init__()
        self.space = get_space("nasbench_graph")

    def _load_task(self, task: str) -> TaskTable:
        require("nas_bench_graph", feature="NAS-Bench-Graph's tables")
        path = resources.files("nas_bench_graph") / "light" / f"{task}.bench"
        with path.open("rb") as f:
            bench: dict[int, dict[str, float]] = pickle.load(f)  # noqa: S301 - the package's own file
        reps = _representatives()
        keys = sorted(bench)
        archs = [reps[str(k)] for k in keys]
        col = lambda name, scale=1.0: np.array([float(bench[k][name]) * scale for k in keys])  # noqa: E731
        values = {
            "valid": col("valid_perf", 100.0),
            "test": col("perf", 100.0),
            "latency": col("latency"),
            "params": col("para"),
        }
        return TaskTable(archs, values, by_key=True)

    def _missing_hint(self, arch: Architecture, task: str) -> str:
        if task == "proteins":
            return " (proteins was run only with the operations gcn, sage, arma, fc, skip)."
        return "."
