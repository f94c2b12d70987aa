"""NAS tasks for meta-learning: (architectures, scores) of one benchmark task, and task pools.

Scores of different tasks have different units (accuracy %, SSIM, negative loss), so learners see
*rank-normalised* targets: :func:`normalize_scores` maps a sample of scores to standard-normal
quantiles of their ranks, which only keeps the order, the thing a NAS predictor is judged on.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy.special import ndtri
from scipy.stats import rankdata

from ..benchmarks import load_benchmark
from ..spaces._base import Architecture

__all__ = ["NASTask", "FAMILIES", "EVAL_TASKS", "load_task", "load_task_pool", "normalize_scores"]

#: benchmark family -> its tasks used for meta-learning by default
FAMILIES: dict[str, tuple[str, ...]] = {
    "nb201": ("cifar10-valid", "cifar100", "ImageNet16-120"),
    "analognas": ("baseline", "ptq", "qat", "noisy", "analog"),
    "transnas_micro": (
        "class_scene",
        "class_object",
        "jigsaw",
        "room_layout",
        "segmentsemantic",
        "normal",
        "autoencoder",
    ),
    "nasbench_graph": (
        "arxiv",
        "citeseer",
        "computers",
        "cora",
        "cs",
        "photo",
        "physics",
        "pubmed",
    ),
    "nb101": ("cifar10",),
    "darts": ("cifar10",),
}
#: families whose tasks are held out in the leave-one-task-out evaluation
EVAL_TASKS: dict[str, tuple[str, ...]] = {
    f: FAMILIES[f] for f in ("nasbench_graph", "nb201", "transnas_micro", "analognas")
}


def normalize_scores(y: Sequence[float] | np.ndarray) -> np.ndarray:
    """Standard-normal quantiles of the ranks of ``y`` (ties averaged; NaN stays NaN)."""
    y = np.asarray(y, dtype=np.float64)
    out = np.full(y.shape, np.nan)
    ok = np.isfinite(y)
    n = int(ok.sum())
    if n == 0:
        return out
    if n == 1:
        out[ok] = 0.0
        return out
    r = rankdata(y[ok])
    out[ok] = ndtri(r / (n + 1))
    return out


@dataclass
class NASTask:
    """All evaluated architectures of one task.

    Attributes:
        name: ``"family/task"``, e.g. ``"nasbench_graph/cora"``.
        archs: The architectures (one space per task).
        scores: Raw benchmark values, higher is better.
    """

    name: str
    archs: list[Architecture]
    scores: np.ndarray
    _z: np.ndarray | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        self.scores = np.asarray(self.scores, dtype=np.float64)
        ok = np.isfinite(self.scores)
        if not ok.all():
            self.archs = [a for a, keep in zip(self.archs, ok) if keep]
            self.scores = self.scores[ok]
        if len(self.archs) != len(self.scores):
            raise ValueError(
                f"task {self.name!r}: {len(self.archs)} archs but {len(self.scores)} scores."
            )

    @property
    def family(self) -> str:
        """The benchmark family: the task name up to the first ``/``."""
        return self.name.split("/")[0]

    @property
    def space(self):  # noqa: ANN201 - SearchSpace
        """The search space of the task's architectures."""
        return self.archs[0].space

    def __len__(self) -> int:
        return len(self.archs)

    @property
    def z(self) -> np.ndarray:
        """Task-wide rank-normalised scores."""
        if self._z is None:
            self._z = normalize_scores(self.scores)
        return self._z


def load_task(name: str, data_root: str | os.PathLike[str] | None = None) -> NASTask:
    """Load ``"family/task"`` (e.g. ``"transnas_micro/jigsaw"``) from the offline benchmarks."""
    family, _, task = name.partition("/")
    kwargs = {} if family in ("nasbench_graph", "analognas") else {"data_root": data_root}
    bench = load_benchmark(family, **kwargs)
    archs, scores = bench.table(task)
    return NASTask(f"{family}/{task}", archs, scores)


def load_task_pool(
    families: Iterable[str] | None = None,
    *,
    exclude: Iterable[str] = (),
    tasks: Iterable[str] | None = None,
    data_root: str | os.PathLike[str] | None = None,
) -> list[NASTask]:
    """Tasks for meta-training.

    Args:
        families: Benchmark families to draw from (default: all of :data:`FAMILIES`).
        exclude: ``"family/task"`` names to leave out (the held-out task).
        tasks: Explicit ``"family/task"`` names instead of whole families.
        data_root: Data root for benchmarks that need one.
    """
    excluded = set(exclude)
    if tasks is None:
        fams = list(FAMILIES) if families is None else list(families)
        for f in fams:
            if f not in FAMILIES:
                raise ValueError(f"unknown task family {f!r}; choose from {list(FAMILIES)}.")
        tasks = [f"{f}/{t}" for f in fams for t in FAMILIES[f]]
    return [load_task(t, data_root) for t in tasks if t not in excluded]
