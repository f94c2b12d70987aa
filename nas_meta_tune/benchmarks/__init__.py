"""Real, offline NAS benchmarks behind one interface (:class:`Benchmark`).

>>> from nas_meta_tune.benchmarks import load_benchmark
>>> bench = load_benchmark("nasbench_graph")
>>> archs, scores = bench.table("cora")
>>> len(archs)
26206

Data that no PyPI package ships (NB201 12-epoch values and curves, TransNAS-Bench-101, the NASLib
subsets) is read in place from a data root: the ``data_root`` argument, the environment variable
``NAS_META_TUNE_DATA``, or ``../shared/data`` beside a source checkout.
"""

from __future__ import annotations

import importlib
import os
import threading
from typing import Any

from ..exceptions import DataNotFoundError, UnknownNameError
from ._base import Benchmark, NotInBenchmarkError, TaskTable
from ._data import ENV_VAR, resolve_data_file

__all__ = [
    "Benchmark",
    "TaskTable",
    "NotInBenchmarkError",
    "DataNotFoundError",
    "ENV_VAR",
    "available_benchmarks",
    "load_benchmark",
    "resolve_data_file",
]

_REGISTRY: dict[str, tuple[str, bool]] = {
    # name -> ("module:Class", takes data_root)
    "nasbench_graph": ("nas_meta_tune.benchmarks.nasbench_graph:NASBenchGraphBenchmark", False),
    "analognas": ("nas_meta_tune.benchmarks.analognas:AnalogNASBenchmark", False),
    "nb201": ("nas_meta_tune.benchmarks.nb201:NB201Benchmark", True),
    "transnas_micro": ("nas_meta_tune.benchmarks.transnas:TransNASMicroBenchmark", True),
    "nb101": ("nas_meta_tune.benchmarks.naslib:NB101SubsetBenchmark", True),
    "darts": ("nas_meta_tune.benchmarks.naslib:DARTSSubsetBenchmark", True),
}
_CACHE: dict[tuple[str, str | None], Benchmark] = {}
_LOCK = threading.Lock()


def available_benchmarks() -> list[str]:
    """Names accepted by :func:`load_benchmark`."""
    return list(_REGISTRY)


def load_benchmark(
    name: str, data_root: str | os.PathLike[str] | None = None, **kwargs: Any
) -> Benchmark:
    """Load a benchmark by name (instances without extra ``kwargs`` are cached and shared).

    Args:
        name: One of :func:`available_benchmarks`.
        data_root: Folder holding the data that no PyPI package ships.
        **kwargs: Passed to the benchmark class (e.g. ``source=`` or ``api=`` for ``nb201``).

    Raises:
        UnknownNameError: unknown benchmark name.
        DataNotFoundError: a needed file is missing (the message says where it was looked for).
    """
    if name not in _REGISTRY:
        raise UnknownNameError("benchmark", name, available_benchmarks())
    target, takes_root = _REGISTRY[name]
    module, cls = target.split(":")
    factory = getattr(importlib.import_module(module), cls)
    args: dict[str, Any] = dict(kwargs)
    if takes_root:
        args["data_root"] = data_root
    elif data_root is not None:
        raise TypeError(f"benchmark {name!r} ships with its PyPI package and takes no data_root.")
    if kwargs:
        return factory(**args)
    key = (name, None if data_root is None else str(data_root))
    with _LOCK:
        if key not in _CACHE:
            _CACHE[key] = factory(**args)
        return _CACHE[key]
