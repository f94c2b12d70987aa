"""Syne Tune views of search spaces.

Requires ``pip install 'nas-meta-tune[syne]'``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .._imports import require

if TYPE_CHECKING:
    from ..spaces._base import SearchSpace

__all__ = ["syne_config_space", "benchmark_entry_point"]


def syne_config_space(space: SearchSpace) -> dict[str, Any]:
    """A Syne Tune ``config_space`` with one ``choice`` per parameter of ``space``.

    Inactive (conditional) parameters are sampled too and ignored by
    :meth:`SearchSpace.from_params`.
    """
    cs = require("syne_tune.config_space", feature="Syne Tune search spaces")
    return {p.name: cs.choice(list(p.choices)) for p in space.params}


def benchmark_entry_point() -> str:
    """Path of a Syne Tune training script that looks architectures up in a tabular benchmark.

    For ``LocalBackend(entry_point=benchmark_entry_point())``. The config must hold the space's
    parameters plus ``benchmark`` and ``task`` (and optionally ``metric``, ``data_root``); the
    script reports the benchmark value under the metric's name (e.g. ``valid``).
    """
    from pathlib import Path

    return str(Path(__file__).with_name("_syne_benchmark_entry.py"))
