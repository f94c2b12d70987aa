"""Curve cleaning and loaders of real learning curves for tests and benchmarks.

* :func:`clean_curve` turns any ``(steps, values)`` pair into sorted finite float arrays.
* :func:`load_nb201_curves`: the real NATS-Bench / NAS-Bench-201 per-epoch logs of
  ``nb201_curves_sample`` (3 cells x 3 seeds x 4 datasets for the 200-epoch schedule; the size
  space has 90-epoch runs). Genuine training logs, noisy, cosine learning-rate schedule.
* :func:`load_lcbench_curves`: LCBench curves (epochs 1..52) from the YAHPO Gym ONNX *surrogate*
  (:class:`~nas_meta_tune.benchmarks.lcbench.LCBenchSurrogate`): realistic but smooth model
  outputs, not training logs.

Both return :class:`LearningCurve` tuples ``(steps, values, final)`` with steps starting at 1
(epochs are 1-based) and ``final`` the value at the last step; ``return_meta=True`` also returns
one dict per curve (task, configuration or architecture, seed).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any, Literal, NamedTuple, overload

import numpy as np

from .._imports import require

__all__ = ["LearningCurve", "clean_curve", "load_nb201_curves", "load_lcbench_curves"]


class LearningCurve(NamedTuple):
    """One learning curve: ``steps`` and ``values`` (``float64[n]``, steps ascending from 1) and
    the ``final`` value (the value at the last step)."""

    steps: np.ndarray
    values: np.ndarray
    final: float


def clean_curve(steps: Any, values: Any) -> tuple[np.ndarray, np.ndarray]:
    """Clean a partial learning curve.

    Drops points whose value or step is NaN or infinite and points with a step ``<= 0``; of
    several points with the same step keeps the one given last; sorts by step. Never raises on
    real-number input (lists, tuples, arrays of any shape, which are flattened).

    Args:
        steps: Steps (epochs, iterations, budget fractions), any real numbers.
        values: Values at those steps, same length.

    Returns:
        ``(steps, values)`` as ``float64`` arrays of equal length (possibly empty).

    Raises:
        ValueError: If ``steps`` and ``values`` have different lengths.

    Example:
        >>> clean_curve([3, 1, 2, 2, -1], [0.3, 0.1, 0.5, 0.2, 0.9])
        (array([1., 2., 3.]), array([0.1, 0.2, 0.3]))
    """
    s = np.asarray(steps, dtype=np.float64).reshape(-1)
    v = np.asarray(values, dtype=np.float64).reshape(-1)
    if s.size != v.size:
        raise ValueError(
            f"steps and values must have the same length, but got {s.size=} and {v.size=}."
        )
    keep = np.isfinite(s) & np.isfinite(v) & (s > 0)
    s, v = s[keep], v[keep]
    if s.size == 0:
        return s.copy(), v.copy()
    order = np.argsort(s, kind="stable")  # equal steps stay in input order
    s, v = s[order], v[order]
    last_of_run = np.ones(s.size, dtype=bool)
    last_of_run[:-1] = s[1:] != s[:-1]
    return s[last_of_run], v[last_of_run]


# ------------------------------------------------------------------------- NB201
_NB201_DATASETS = ("cifar10-valid", "cifar10", "cifar100", "ImageNet16-120")


@overload
def load_nb201_curves(
    data_root: str | os.PathLike[str] | None = ...,
    *,
    space: str = ...,
    budget: int | None = ...,
    datasets: Sequence[str] | None = ...,
    per_seed: bool = ...,
    return_meta: Literal[False] = ...,
) -> list[LearningCurve]: ...


@overload
def load_nb201_curves(
    data_root: str | os.PathLike[str] | None = ...,
    *,
    space: str = ...,
    budget: int | None = ...,
    datasets: Sequence[str] | None = ...,
    per_seed: bool = ...,
    return_meta: Literal[True],
) -> tuple[list[LearningCurve], list[dict[str, Any]]]: ...


def load_nb201_curves(
    data_root: str | os.PathLike[str] | None = None,
    *,
    space: str = "tss",
    budget: int | None = None,
    datasets: Sequence[str] | None = None,
    per_seed: bool = True,
    return_meta: bool = False,
) -> list[LearningCurve] | tuple[list[LearningCurve], list[dict[str, Any]]]:
    """Real NATS-Bench per-epoch accuracy curves (%) from ``nb201_curves_sample``.

    The data root is resolved as in :mod:`nas_meta_tune.benchmarks._data`. The metric follows
    :meth:`nas_meta_tune.benchmarks.nb201.NB201Benchmark.learning_curve`: the validation accuracy
    where it is logged every epoch, else the accuracy on the original test set.

    Args:
        data_root: Data root holding ``nb201_curves_sample``.
        space: ``"tss"`` (topology space, the NAS-Bench-201 cells) or ``"sss"`` (size space).
        budget: Training schedule in epochs (tss: 12 or 200; sss: 1, 12 or 90); default the
            longest (200 for tss, 90 for sss).
        datasets: Datasets to include (default all four: cifar10-valid, cifar10, cifar100,
            ImageNet16-120).
        per_seed: One curve per training seed (``True``) or the seed mean per cell and dataset,
            which for tss equals ``NB201Benchmark.learning_curve``.
        return_meta: Also return one dict per curve (``space, arch_index, arch_str, dataset,
            seed, budget, metric``; ``seed`` is ``None`` for seed means).

    Returns:
        The curves (steps are epochs ``1..budget``), and their metadata if ``return_meta``.

    Raises:
        DataNotFoundError: A ``FileNotFoundError`` naming the missing file.
        ValueError: On an unknown ``space``, ``budget`` or dataset.
    """
    pd = require("pandas", feature="reading benchmark learning curves")

    from ..benchmarks._data import resolve_data_file
    from ..benchmarks.nb201 import CURVES

    budget, dsets = _nb201_options(space, budget, datasets)

    path = resolve_data_file(CURVES, data_root)
    runs = pd.read_parquet(path.parent / "nats_sample_runs.parquet")
    curves = pd.read_parquet(path)
    curves = curves[(curves["space"] == space) & (curves["budget_hp"] == budget)]
    names = runs[["space", "arch_index", "arch_str"]].drop_duplicates()
    curves = curves.merge(names, on=["space", "arch_index"])

    out: list[LearningCurve] = []
    meta: list[dict[str, Any]] = []
    for dataset in dsets:
        sel = curves[curves["dataset"] == dataset]
        if not sel.empty:
            _nb201_dataset_curves(sel, dataset, space, budget, per_seed, out, meta)
    return (out, meta) if return_meta else out


def _nb201_options(
    space: str, budget: int | None, datasets: Sequence[str] | None
) -> tuple[int, tuple[str, ...]]:
    """``load_nb201_curves``'s budget (default: the longest) and datasets, checked."""
    if space not in ("tss", "sss"):
        raise ValueError(f"space must be 'tss' or 'sss', but got {space=}.")
    budgets = {"tss": (12, 200), "sss": (1, 12, 90)}[space]
    if budget is None:
        budget = budgets[-1]
    if budget not in budgets:
        raise ValueError(f"budget must be one of {budgets} for {space=}, but got {budget=}.")
    dsets = tuple(_NB201_DATASETS if datasets is None else datasets)
    bad = [d for d in dsets if d not in _NB201_DATASETS]
    if bad:
        raise ValueError(f"datasets must be among {_NB201_DATASETS}, but got {datasets=}.")
    return budget, dsets


def _nb201_dataset_curves(
    sel: Any,
    dataset: str,
    space: str,
    budget: int,
    per_seed: bool,
    out: list[LearningCurve],
    meta: list[dict[str, Any]],
) -> None:
    """Append one dataset's curves (``sel``: its rows of the curves table) to ``out`` / ``meta``."""
    col = "x-valid_acc" if sel["x-valid_acc"].notna().all() else "ori-test_acc"
    keys = ["arch_index", "seed"] if per_seed else ["arch_index"]
    for key, grp in sel.groupby(keys, sort=True):
        key_t = key if isinstance(key, tuple) else (key,)
        per_epoch = grp.groupby("epoch")[col].mean().sort_index()
        steps = per_epoch.index.to_numpy(np.float64) + 1.0
        values = per_epoch.to_numpy(np.float64)
        steps, values = clean_curve(steps, values)
        if values.size == 0:
            continue
        out.append(LearningCurve(steps, values, float(values[-1])))
        meta.append(
            {
                "space": space,
                "arch_index": int(key_t[0]),
                "arch_str": str(grp["arch_str"].iloc[0]),
                "dataset": dataset,
                "seed": int(key_t[1]) if per_seed else None,
                "budget": int(budget),
                "metric": col,
            }
        )


# ----------------------------------------------------------------------- LCBench
@overload
def load_lcbench_curves(
    data_root: str | os.PathLike[str] | None = ...,
    *,
    task_ids: Sequence[str | int] | None = ...,
    n_configs: int = ...,
    seed: int | None = ...,
    metric: str = ...,
    return_meta: Literal[False] = ...,
) -> list[LearningCurve]: ...


@overload
def load_lcbench_curves(
    data_root: str | os.PathLike[str] | None = ...,
    *,
    task_ids: Sequence[str | int] | None = ...,
    n_configs: int = ...,
    seed: int | None = ...,
    metric: str = ...,
    return_meta: Literal[True],
) -> tuple[list[LearningCurve], list[dict[str, Any]]]: ...


def load_lcbench_curves(
    data_root: str | os.PathLike[str] | None = None,
    *,
    task_ids: Sequence[str | int] | None = None,
    n_configs: int = 50,
    seed: int | None = 0,
    metric: str = "val_accuracy",
    return_meta: bool = False,
) -> list[LearningCurve] | tuple[list[LearningCurve], list[dict[str, Any]]]:
    """LCBench curves over epochs ``1..52`` from the YAHPO Gym surrogate (not training logs).

    For every task, ``n_configs`` configurations are drawn with
    :meth:`~nas_meta_tune.benchmarks.lcbench.LCBenchSurrogate.sample_configs` (the same
    configurations for every task, reproducible for an int ``seed``).

    Args:
        data_root: Data root holding ``yahpo_lcbench_surrogate/lcbench``.
        task_ids: OpenML task ids (default: all 34).
        n_configs: Configurations per task.
        seed: Seed of the configuration sample.
        metric: A surrogate output, default ``"val_accuracy"`` (%); note that
            ``*_cross_entropy`` is lower-is-better (negate it for the curve models).
        return_meta: Also return one dict per curve: ``task_id``, ``config`` and ``features``
            (the configuration scaled to ``[0, 1]``, log scale where the space is log, as a
            ``float64[7]`` array usable as ``features=`` of the curve models).

    Raises:
        DataNotFoundError: A ``FileNotFoundError`` naming the missing surrogate file.
    """
    from ..benchmarks.lcbench import LCBENCH_HYPERPARAMETERS, LCBenchSurrogate

    bench = LCBenchSurrogate(data_root)
    tasks = [str(t) for t in (bench.task_ids if task_ids is None else task_ids)]
    configs = bench.sample_configs(n_configs, seed)
    feats = np.zeros((len(configs), len(LCBENCH_HYPERPARAMETERS)))
    for j, name in enumerate(LCBENCH_HYPERPARAMETERS):
        lo, hi, log, _ = bench.bounds[name]
        col = np.array([float(c[name]) for c in configs])
        if log:
            feats[:, j] = (np.log(col) - np.log(lo)) / (np.log(hi) - np.log(lo))
        else:
            feats[:, j] = (col - lo) / (hi - lo)
    steps = bench.epochs.astype(np.float64)
    out: list[LearningCurve] = []
    meta: list[dict[str, Any]] = []
    for task in tasks:
        values = bench.curves(task, configs, metric=metric)
        for i, row in enumerate(values):
            out.append(LearningCurve(steps.copy(), row.copy(), float(row[-1])))
            meta.append({"task_id": task, "config": dict(configs[i]), "features": feats[i].copy()})
    return (out, meta) if return_meta else out
