"""TransNAS-Bench-101 micro (Duan et al., CVPR 2021): all 4,096 cells x 7 tasks, as stored by
NASLib (``naslib_zc_transnas/transnas101_micro_zen_all.parquet`` under the data root)."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import numpy as np

from .._imports import require
from ..spaces import get_space
from ._base import Benchmark, TaskTable
from ._data import resolve_data_file

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["TransNASMicroBenchmark"]

FILE = "naslib_zc_transnas/transnas101_micro_zen_all.parquet"


class TransNASMicroBenchmark(Benchmark):
    """TransNAS-Bench-101 micro. Metric ``valid`` is each task's final validation score, higher
    is better everywhere: top-1 % (class_scene, class_object, jigsaw), pixel accuracy %
    (segmentsemantic), SSIM (normal, autoencoder), negative L2 loss (room_layout). Metric
    ``zen`` is the Zen-NAS zero-cost score stored with it."""

    name = "transnas_micro"
    tasks = (
        "class_scene",
        "class_object",
        "jigsaw",
        "room_layout",
        "segmentsemantic",
        "normal",
        "autoencoder",
    )
    metrics = ("valid", "zen")

    def __init__(self, data_root: str | os.PathLike[str] | None = None) -> None:
        super().__init__()
        self.space = get_space("transnas_micro")
        self.path = resolve_data_file(FILE, data_root)
        self._df: pd.DataFrame | None = None

    def _load_task(self, task: str) -> TaskTable:
        pd = require("pandas", feature="reading the TransNAS-Bench-101 table")

        if self._df is None:
            self._df = pd.read_parquet(self.path)
        df = self._df[self._df["task"] == task].sort_values("idx")
        codes = df[[f"op{i}" for i in range(6)]].to_numpy()
        names = self.space.param_names
        archs = [
            self.space.to_arch(dict(zip(names, (self.space.ops[c] for c in row)))) for row in codes
        ]
        return TaskTable(
            archs,
            {
                "valid": df["val_accuracy"].to_numpy(np.float64),
                "zen": df["zen_score"].to_numpy(np.float64),
            },
        )
