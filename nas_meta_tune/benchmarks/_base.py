"""The tabular benchmark interface shared by every loader.

A benchmark answers, for each of its tasks, the measured value of every architecture it holds.
Subclasses only load their data into :class:`TaskTable` objects; queries, vectorised tables,
Optuna objectives and Ray trainables are implemented once here.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..exceptions import InvalidArchitectureError, UnknownNameError
from ..spaces._base import Architecture, SearchSpace

__all__ = ["Benchmark", "TaskTable", "NotInBenchmarkError"]


class NotInBenchmarkError(InvalidArchitectureError, KeyError):
    """A valid architecture of the space that the benchmark has no value for (on that task)."""

    def __str__(self) -> str:
        return str(self.args[0])


@dataclass
class TaskTable:
    """All values of one task.

    Attributes:
        archs: One architecture per row.
        values: metric name -> ``float64[len(archs)]`` (``NaN`` where missing).
        by_key: Look architectures up by their isomorphism key instead of their exact spec
            (benchmarks that store one entry per isomorphism class, like NAS-Bench-Graph).
        seeds: metric name -> ``float64[len(archs), n_seeds]`` per-seed values, if any.
    """

    archs: list[Architecture]
    values: dict[str, np.ndarray]
    by_key: bool = False
    seeds: dict[str, np.ndarray] = field(default_factory=dict)
    _index: dict[Hashable, int] | None = None

    def index(self) -> dict[Hashable, int]:
        if self._index is None:
            if self.by_key:
                self._index = {a.key: i for i, a in enumerate(self.archs)}
            else:
                self._index = {a.spec: i for i, a in enumerate(self.archs)}
        return self._index

    def row(self, arch: Architecture) -> int | None:
        return self.index().get(arch.key if self.by_key else arch.spec)


class Benchmark(ABC):
    """Base class of the offline NAS benchmarks (see :func:`load_benchmark`).

    Attributes:
        name: Registry name.
        space: The search space its architectures live in.
        tasks: Task names (datasets, targets).
        metrics: Metric names; ``"valid"`` (validation accuracy / the task's score, higher is
            better) always exists.
    """

    name: str = ""
    space: SearchSpace
    tasks: tuple[str, ...] = ()
    metrics: tuple[str, ...] = ("valid",)
    #: metrics where lower is better
    minimize_metrics: frozenset[str] = frozenset({"latency", "params", "train_time", "flops"})

    def __init__(self) -> None:
        self._tables: dict[str, TaskTable] = {}

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, tasks={list(self.tasks)})"

    # -------------------------------------------------------------- loading
    @abstractmethod
    def _load_task(self, task: str) -> TaskTable:
        """Read one task's values (called once per task, then cached)."""

    def _table_of(self, task: str) -> TaskTable:
        self.check_task(task)
        tab = self._tables.get(task)
        if tab is None:
            tab = self._tables[task] = self._load_task(task)
        return tab

    def check_task(self, task: str) -> str:
        if task not in self.tasks:
            raise UnknownNameError(f"task of benchmark {self.name!r}", task, self.tasks)
        return task

    def check_metric(self, metric: str) -> str:
        if metric not in self.metrics:
            raise UnknownNameError(f"metric of benchmark {self.name!r}", metric, self.metrics)
        return metric

    def direction(self, metric: str = "valid") -> str:
        """``"maximize"`` or ``"minimize"`` for ``metric`` (Optuna's spelling)."""
        return "minimize" if self.check_metric(metric) in self.minimize_metrics else "maximize"

    # -------------------------------------------------------------- queries
    def _coerce(self, arch: Architecture | str | Mapping[str, Any]) -> Architecture:
        return self.space.archs([arch])[0]

    def query(
        self,
        arch: Architecture | str | Mapping[str, Any],
        task: str,
        metric: str = "valid",
        *,
        seed: int | None = None,
    ) -> float:
        """The benchmark's value of ``arch`` on ``task``.

        Args:
            arch: An architecture of :attr:`space`, its official string, or its parameters.
            task: One of :attr:`tasks`.
            metric: One of :attr:`metrics`.
            seed: Index of a training seed where the benchmark has several (default: mean).

        Raises:
            NotInBenchmarkError: the benchmark has no value for this architecture.
        """
        arch = self._coerce(arch)
        tab = self._table_of(task)
        self.check_metric(metric)
        i = tab.row(arch)
        if i is None:
            raise NotInBenchmarkError(
                f"{arch!r} is not in benchmark {self.name!r} for task {task!r}"
                + self._missing_hint(arch, task),
                space=self.space.name,
            )
        if seed is not None:
            if metric not in tab.seeds:
                raise ValueError(
                    f"metric {metric!r} of {self.name!r}/{task!r} has no per-seed values."
                )
            per_seed = tab.seeds[metric]
            if not 0 <= seed < per_seed.shape[1] or np.isnan(per_seed[i, seed]):
                raise ValueError(f"seed index {seed} not available for {arch!r} on {task!r}.")
            return float(per_seed[i, seed])
        if metric not in tab.values:
            raise ValueError(
                f"metric {metric!r} is not available for task {task!r} of {self.name!r}."
            )
        return float(tab.values[metric][i])

    def _missing_hint(self, arch: Architecture, task: str) -> str:
        return "."

    def table(self, task: str, metric: str = "valid") -> tuple[list[Architecture], np.ndarray]:
        """Every architecture of ``task`` and its value: ``(archs, float64[len(archs)])``.

        The arrays are computed once; the returned list and array are copies.
        """
        tab = self._table_of(task)
        self.check_metric(metric)
        if metric not in tab.values:
            raise ValueError(
                f"metric {metric!r} is not available for task {task!r} of {self.name!r}."
            )
        return list(tab.archs), tab.values[metric].copy()

    def values(self, archs: Sequence[Architecture], task: str, metric: str = "valid") -> np.ndarray:
        """Vectorised :meth:`query` for many architectures (``NaN`` where missing)."""
        tab = self._table_of(task)
        col = tab.values[self.check_metric(metric)]
        idx = np.array([-1 if (i := tab.row(a)) is None else i for a in archs], dtype=np.int64)
        out = np.full(len(archs), np.nan)
        ok = idx >= 0
        out[ok] = col[idx[ok]]
        return out

    def learning_curve(
        self, arch: Architecture | str | Mapping[str, Any], task: str, metric: str = "valid"
    ) -> np.ndarray:
        """Per-epoch values of ``metric`` while training ``arch`` on ``task``.

        Raises:
            NotImplementedError: this benchmark has no learning curves.
        """
        raise NotImplementedError(
            f"benchmark {self.name!r} has no learning curves (final values only)."
        )

    def curve_or_none(
        self, arch: Architecture, task: str, metric: str = "valid"
    ) -> np.ndarray | None:
        """:meth:`learning_curve` or ``None`` where there is none for this architecture."""
        try:
            return self.learning_curve(arch, task, metric)
        except (NotImplementedError, KeyError):
            return None

    # ------------------------------------------------------------ frameworks
    def objective(self, task: str, metric: str = "valid") -> Callable[[Any], float]:
        """An Optuna objective: ``arch = space.suggest(trial)``, returns the benchmark value.

        Pair it with ``optuna.create_study(direction=benchmark.direction(metric))``. The
        official architecture string is stored as the trial's user attribute ``"arch"``. A draw
        that is no valid architecture (samplers that draw each parameter independently, such as
        TPE on NB101) returns NaN, so Optuna records the trial as FAIL and the study goes on; the
        reason is in the user attribute ``"invalid_architecture"``.
        """
        self.check_task(task)
        self.check_metric(metric)

        def objective(trial: Any) -> float:
            try:
                arch = self.space.suggest(trial)
            except InvalidArchitectureError as exc:
                trial.set_user_attr("invalid_architecture", str(exc))
                return float("nan")
            trial.set_user_attr("arch", arch.to_string())
            return self.query(arch, task, metric)

        return objective
