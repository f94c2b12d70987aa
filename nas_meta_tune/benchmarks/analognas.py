"""AnalogNAS-Bench (PyPI ``analog-nasbench``): all 15,625 NAS-Bench-201 cells on CIFAR-10
under analog in-memory-computing conditions.

The package's module imports ``pkg_resources`` (gone from recent setuptools); this loader reads
its pickle directly. Mapping of the package's architecture tuples (verified against the 341 cells
with no input->output path, which score exactly 10%): six op indices over the edges
``(1<-0), (2<-0), (3<-0), (2<-1), (3<-1), (3<-2)`` with codes ``0`` skip_connect, ``1`` none,
``2`` nor_conv_3x3, ``3`` nor_conv_1x1, ``4`` avg_pool_3x3.
"""

from __future__ import annotations

import importlib.util
import pickle
from pathlib import Path
from typing import Any

import numpy as np

from ..spaces import get_space
from ._base import Benchmark, TaskTable

__all__ = ["AnalogNASBenchmark", "decode_analog_tuple"]

_CODES = ("skip_connect", "none", "nor_conv_3x3", "nor_conv_1x1", "avg_pool_3x3")
# package tuple position -> our edge order (1<-0),(2<-0),(2<-1),(3<-0),(3<-1),(3<-2)
_ORDER = (0, 1, 3, 2, 4, 5)

_TASK_ATTR = {
    "baseline": "baseline_accuracy",
    "ptq": "ptq_accuracy",
    "qat": "qat_accuracy",
    "noisy": "noisy_accuracy",
    "analog": "analog_accuracy",
    "analog_drift_60": "analog_drift_60",
    "analog_drift_3600": "analog_drift_3600",
    "analog_drift_86400": "analog_drift_86400",
    "analog_drift_2592000": "analog_drift_2592000",
}


def decode_analog_tuple(t: tuple[int, ...]) -> tuple[str, ...]:
    """The NB201 spec (ops in official string order) of an ``analog-nasbench`` tuple."""
    return tuple(_CODES[t[i]] for i in _ORDER)


def _data_file() -> Path:
    """``analognasbench/data.anb``, located without importing the package (it needs pkg_resources)."""
    spec = importlib.util.find_spec("analognasbench")
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError(
            "AnalogNAS-Bench data needs the PyPI package 'analog-nasbench'. Install it with: "
            "pip install 'nas-meta-tune[benchmarks]'"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "data.anb"


class _Record:
    """Stand-in for the package's classes: unpickling only needs attribute storage."""

    # what a DriftMeasurement holds (records of other classes hold other attributes)
    value: Any
    uncertainty: Any

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)


class _Unpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if module.startswith("analognasbench"):
            return _Record
        return super().find_class(module, name)


def _value(x: Any) -> tuple[float, float]:
    if isinstance(x, _Record):  # DriftMeasurement(value, uncertainty)
        return float(x.value), float(x.uncertainty)
    return float(x), float("nan")


class AnalogNASBenchmark(Benchmark):
    """AnalogNAS-Bench on the ``nb201`` space. Tasks: ``baseline`` (digital), ``ptq``, ``qat``,
    ``noisy``, ``analog`` and ``analog_drift_{60,3600,86400,2592000}`` (accuracy after that many
    seconds of conductance drift). Metrics: ``valid`` (accuracy, %) and ``uncertainty`` (the
    drift measurements' +/-, NaN for the other tasks)."""

    name = "analognas"
    tasks = tuple(_TASK_ATTR)
    metrics = ("valid", "uncertainty")

    def __init__(self) -> None:
        super().__init__()
        self.space = get_space("nb201")
        self._raw: dict[tuple[int, ...], _Record] | None = None

    def _records(self) -> dict[tuple[int, ...], _Record]:
        if self._raw is None:
            with _data_file().open("rb") as f:
                self._raw = _Unpickler(f).load()
        return self._raw

    def _load_task(self, task: str) -> TaskTable:
        raw = self._records()
        attr = _TASK_ATTR[task]
        keys = sorted(raw)
        archs = [
            self.space.to_arch(dict(zip(self.space.param_names, decode_analog_tuple(k))))
            for k in keys
        ]
        vals = np.array([_value(getattr(raw[k], attr)) for k in keys])
        return TaskTable(archs, {"valid": vals[:, 0], "uncertainty": vals[:, 1]})
