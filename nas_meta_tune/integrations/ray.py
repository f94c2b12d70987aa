"""Ray Tune views of search spaces and benchmarks.

Requires ``pip install 'nas-meta-tune[ray]'``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .._imports import require

if TYPE_CHECKING:
    from ..benchmarks._base import Benchmark
    from ..spaces._base import SearchSpace

__all__ = ["ray_param_space", "benchmark_trainable"]


def ray_param_space(space: SearchSpace) -> dict[str, Any]:
    """A Ray Tune ``param_space`` with one ``tune.choice`` per parameter of ``space``.

    Ray has no conditional parameters: every parameter is sampled, and
    :meth:`SearchSpace.from_params` ignores the inactive ones. Constraints ConfigSpace cannot
    express (NB101's edge limit) make some draws invalid; use a searcher that proposes valid
    architectures (``MetaNASSearch``) or catch ``InvalidArchitectureError`` in the trainable.
    """
    tune = require("ray.tune", feature="Ray Tune search spaces")
    return {p.name: tune.choice(list(p.choices)) for p in space.params}


def benchmark_trainable(
    benchmark: Benchmark, task: str, metric: str = "valid"
) -> Callable[[dict[str, Any]], None]:
    """A Ray Tune function trainable that looks ``config`` up in a tabular benchmark.

    It reports ``{metric: value, "arch": official string}``, once per epoch of the learning
    curve where the benchmark has one for the architecture, else once.
    """
    require("ray.tune", feature="Ray Tune trainables")
    benchmark.check_task(task)
    benchmark.check_metric(metric)

    def trainable(config: dict[str, Any]) -> None:
        from ray import tune

        arch = benchmark.space.from_params(config)
        curve = benchmark.curve_or_none(arch, task, metric)
        if curve is not None:
            for value in curve:
                tune.report({metric: float(value), "arch": arch.to_string()})
        else:
            tune.report({metric: benchmark.query(arch, task, metric), "arch": arch.to_string()})

    trainable.__name__ = f"{benchmark.name}_{task}_{metric}".replace("-", "_")
    return trainable
