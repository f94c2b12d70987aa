"""Small real tables from NASLib's zero-cost benchmark files (White et al., NAS-Bench-Suite-Zero):
500 NAS-Bench-101 cells and 725 NAS-Bench-301 (DARTS) cells on CIFAR-10, each with its
validation accuracy and 12-13 zero-cost proxy scores. Read from
``naslib_zc_transnas/naslib_zc_subsets.parquet`` under the data root.
"""

from __future__ import annotations

import ast
import os
from typing import TYPE_CHECKING, Any, cast

import numpy as np

from .._imports import require
from ..spaces import get_space
from ..spaces._base import Architecture
from ._base import Benchmark, TaskTable
from ._data import resolve_data_file

if TYPE_CHECKING:
    from ..spaces.darts import DARTSSpace
    from ..spaces.nb101 import NB101Space

__all__ = ["NB101SubsetBenchmark", "DARTSSubsetBenchmark", "PROXIES"]

FILE = "naslib_zc_transnas/naslib_zc_subsets.parquet"
#: zero-cost proxy columns stored with the accuracies
PROXIES = (
    "flops",
    "params",
    "snip",
    "jacov",
    "grad_norm",
    "plain",
    "epe_nas",
    "fisher",
    "grasp",
    "l2_norm",
    "synflow",
    "nwot",
)
# NASLib's NB101 vertex codes
_NB101_OPS = {0: "input", 1: "output", 2: "maxpool3x3", 3: "conv1x1-bn-relu", 4: "conv3x3-bn-relu"}


class _NASLibSubset(Benchmark):
    search_space = ""
    tasks = ("cifar10",)
    metrics = ("valid",) + PROXIES

    def __init__(self, data_root: str | os.PathLike[str] | None = None) -> None:
        super().__init__()
        self.path = resolve_data_file(FILE, data_root)

    def _decode(self, arch: Any) -> Architecture:
        raise NotImplementedError

    def _load_task(self, task: str) -> TaskTable:
        pd = require("pandas", feature="reading NASLib's tables")

        df = pd.read_parquet(self.path)
        df = df[(df["search_space"] == self.search_space) & (df["task"] == task)].sort_values("idx")
        decoded = [self._decode(ast.literal_eval(s)) for s in df["arch"]]
        # NASLib samples NB101 matrices that prune to the same cell, and stores one randomly drawn
        # training seed per row: merge rows of one cell, averaging its distinct seed values.
        rows: dict[Architecture, list[int]] = {}
        for i, a in enumerate(decoded):
            rows.setdefault(a, []).append(i)
        archs = list(rows)
        acc = df["val_accuracy"].to_numpy(np.float64)
        seed_vals = [sorted(set(acc[r].tolist())) for r in rows.values()]
        seeds = np.full((len(archs), max(len(v) for v in seed_vals)), np.nan)
        for i, v in enumerate(seed_vals):
            seeds[i, : len(v)] = v
        values = {}
        for m in self.metrics:
            if m != "valid":
                col = df[m].to_numpy(np.float64)
                values[m] = np.array(
                    [
                        np.nanmean(col[r]) if np.isfinite(col[r]).any() else np.nan
                        for r in rows.values()
                    ]
                )
        values["valid"] = np.nanmean(seeds, axis=1)
        return TaskTable(archs, values, seeds={"valid": seeds})


class NB101SubsetBenchmark(_NASLibSubset):
    """Real NAS-Bench-101 cells (CIFAR-10 validation accuracy, %) with zero-cost proxies.

    NASLib's 500 rows prune to 301 distinct cells (many random matrices reduce to the same
    small cell); each row holds one randomly drawn training seed, so rows of one cell are merged:
    ``valid`` is the mean of its distinct seed values (``query(..., seed=i)`` for each).

    NASLib stores each cell as the 49 entries of its 7x7 adjacency matrix followed by 7 vertex
    codes (0 input, 1 output, 2 maxpool3x3, 3 conv1x1, 4 conv3x3).
    """

    name = "nb101"
    search_space = "nasbench101"

    def __init__(self, data_root: str | os.PathLike[str] | None = None) -> None:
        super().__init__(data_root)
        self.space = get_space("nb101")

    def _decode(self, arch: Any) -> Architecture:
        flat = list(arch)
        matrix = np.array(flat[:49], dtype=np.int64).reshape(7, 7)
        ops = [_NB101_OPS[int(c)] for c in flat[49:56]]
        return cast("NB101Space", self.space).from_matrix(matrix, ops)


class DARTSSubsetBenchmark(_NASLibSubset):
    """725 real NAS-Bench-301 (DARTS space without ``none``) cells: CIFAR-10 validation
    accuracy (%) from NAS-Bench-301's training data, with zero-cost proxies."""

    name = "darts"
    search_space = "nasbench301"

    def __init__(self, data_root: str | os.PathLike[str] | None = None) -> None:
        super().__init__(data_root)
        self.space = get_space("nb301")

    def _decode(self, arch: Any) -> Architecture:
        return cast("DARTSSpace", self.space).from_naslib(arch)
